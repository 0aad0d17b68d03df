#pragma once
/// CSV files as igx writes them (a header line, then records; fields quoted with "..." when they
/// hold a comma, a quote or a line break, quotes doubled inside), read back with errors that name
/// the file, the line and the column.

#include <cstddef>
#include <cstdint>
#include <limits>
#include <optional>
#include <string>
#include <vector>

namespace igx {

/// A parsed CSV file: the header's column names and the records, each with as many fields.
class CsvTable {
 public:
  /// Parses `text`; `source_name` names it in messages. igx::Error for an empty text, a quote
  /// that is never closed, a record with more or fewer fields than the header, or a header that
  /// names a column twice. Blank lines are skipped.
  static CsvTable parse(const std::string& text, const std::string& source_name);

  /// One record, with typed access to its fields by column name.
  class Row {
   public:
    /// The field as written; igx::Error when the table has no such column.
    const std::string& text(const std::string& column) const;
    /// Whether the table has the column (one added by a later version of the writer).
    bool has(const std::string& column) const;
    /// An integer (written in full) from `minimum` to `maximum`.
    int64_t integer(const std::string& column, int64_t minimum = std::numeric_limits<int64_t>::min(),
                    int64_t maximum = std::numeric_limits<int64_t>::max()) const;
    /// A finite number.
    double number(const std::string& column) const;
    /// A finite number, or none for an empty field.
    std::optional<double> optional_number(const std::string& column) const;
    /// "true" or "false".
    bool boolean(const std::string& column) const;
    /// "FILE line N" for messages about this record.
    std::string where() const;

   private:
    friend class CsvTable;
    Row(const CsvTable& table, size_t index) : table_(&table), index_(index) {}
    [[noreturn]] void fail(const std::string& column, const std::string& expected) const;
    const CsvTable* table_;
    size_t index_;
  };

  size_t size() const { return records_.size(); }  ///< records, the header not counted
  Row row(size_t index) const { return Row(*this, index); }
  const std::vector<std::string>& header() const { return header_; }
  const std::string& source_name() const { return source_name_; }

 private:
  std::string source_name_;
  std::vector<std::string> header_;
  std::vector<std::vector<std::string>> records_;
  std::vector<int64_t> line_numbers_;  ///< the line each record starts on (1-based)
};

}  // namespace igx
