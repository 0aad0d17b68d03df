// CSV as igx writes it, read back with errors naming the file, line and column.
#include <gtest/gtest.h>

#include "igx/csv.h"
#include "igx/error.h"
#include "../test_support.h"

namespace {

using igx_test::contains;
using igx_test::error_of;

TEST(Csv, ReadsQuotedFieldsAndTypedValues) {
  const igx::CsvTable table = igx::CsvTable::parse(
      "id,n,x,ok,maybe\r\n\"a, \"\"quoted\"\"\nline\",3,-1.5e-3,true,\n\nb,4,2,false,0.25\n", "t.csv");
  ASSERT_EQ(table.size(), 2u);
  EXPECT_EQ(table.header(), (std::vector<std::string>{"id", "n", "x", "ok", "maybe"}));
  EXPECT_EQ(table.row(0).text("id"), "a, \"quoted\"\nline");
  EXPECT_EQ(table.row(0).integer("n", 1), 3);
  EXPECT_DOUBLE_EQ(table.row(0).number("x"), -1.5e-3);
  EXPECT_TRUE(table.row(0).boolean("ok"));
  EXPECT_FALSE(table.row(0).optional_number("maybe").has_value());
  EXPECT_EQ(table.row(1).optional_number("maybe"), 0.25);
  EXPECT_EQ(table.row(1).where(), "t.csv line 5");  // the quoted line break counts
}

TEST(Csv, ErrorsNameFileLineAndColumn) {
  const igx::CsvTable table = igx::CsvTable::parse("n,x\n0,inf\nabc,1\n", "s.csv");
  EXPECT_EQ(error_of([&] { table.row(0).integer("n", 1); }), "s.csv line 2, column n: expected an integer ≥ 1, got '0'");
  EXPECT_EQ(error_of([&] { table.row(0).number("x"); }), "s.csv line 2, column x: expected a finite number, got 'inf'");
  EXPECT_EQ(error_of([&] { table.row(1).integer("n"); }), "s.csv line 3, column n: expected an integer, got 'abc'");
  EXPECT_EQ(error_of([&] { table.row(1).text("y"); }), "s.csv has no column 'y'");
  EXPECT_EQ(error_of([&] { table.row(1).integer("n", 0, 5); }),
            "s.csv line 3, column n: expected an integer from 0 to 5, got 'abc'");
  EXPECT_EQ(error_of([] { igx::CsvTable::parse("a,b\n1,2,3\n", "f.csv"); }),
            "f.csv line 2 has 3 fields; the header names 2");
  EXPECT_EQ(error_of([] { igx::CsvTable::parse("a,b\n\"1,2\n", "q.csv"); }), "q.csv line 2: a quoted field is never closed");
  EXPECT_EQ(error_of([] { igx::CsvTable::parse("\n\n", "e.csv"); }), "e.csv is empty; expected a header line and records");
  EXPECT_TRUE(contains(error_of([] { igx::CsvTable::parse("a,a\n", "d.csv"); }), "names column 'a' twice"));
  EXPECT_EQ(error_of([] { igx::CsvTable::parse("a\n99999999999999999999\n", "o.csv").row(0).integer("a"); }),
            "o.csv line 2, column a: expected an integer, got '99999999999999999999'");
}

}  // namespace
