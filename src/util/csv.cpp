#include "igx/csv.h"

#include <algorithm>
#include <cerrno>
#include <cmath>
#include <cstdlib>
#include <set>

#include "igx/error.h"
#include "igx/json_text.h"

namespace igx {

CsvTable CsvTable::parse(const std::string& text, const std::string& source_name) {
  CsvTable table;
  table.source_name_ = source_name;
  std::vector<std::string> fields(1);
  bool quoted = false;
  bool record_has_text = false;
  int64_t line = 1, record_line = 1, quote_line = 0;

  const auto end_record = [&] {
    if (record_has_text) {
      if (table.header_.empty()) {
        std::set<std::string> seen;
        for (const std::string& name : fields) {
          if (!seen.insert(name).second) {
            throw Error(source_name + " line " + std::to_string(record_line) + ": the header names column '" +
                        clip_text(name) + "' twice");
          }
        }
        table.header_ = fields;
      } else {
        if (fields.size() != table.header_.size()) {
          throw Error(source_name + " line " + std::to_string(record_line) + " has " + std::to_string(fields.size()) +
                      " fields; the header names " + std::to_string(table.header_.size()));
        }
        table.records_.push_back(fields);
        table.line_numbers_.push_back(record_line);
      }
    }
    fields.assign(1, std::string());
    record_has_text = false;
  };

  for (size_t k = 0; k < text.size(); ++k) {
    const char c = text[k];
    if (quoted) {
      if (c == '"' && k + 1 < text.size() && text[k + 1] == '"') {
        fields.back() += '"';
        ++k;
      } else if (c == '"') {
        quoted = false;
      } else {
        if (c == '\n') ++line;
        fields.back() += c;
      }
      continue;
    }
    if (c == '\n' || (c == '\r' && k + 1 < text.size() && text[k + 1] == '\n')) {
      if (c == '\r') ++k;
      end_record();
      record_line = ++line;
      continue;
    }
    record_has_text = true;
    if (c == '"') {
      quoted = true;
      quote_line = line;
    } else if (c == ',') {
      fields.emplace_back();
    } else {
      fields.back() += c;
    }
  }
  if (quoted) {
    throw Error(source_name + " line " + std::to_string(quote_line) + ": a quoted field is never closed");
  }
  end_record();
  if (table.header_.empty()) throw Error(source_name + " is empty; expected a header line and records");
  return table;
}

bool CsvTable::Row::has(const std::string& column) const {
  const auto& header = table_->header_;
  return std::find(header.begin(), header.end(), column) != header.end();
}

const std::string& CsvTable::Row::text(const std::string& column) const {
  const auto& header = table_->header_;
  const auto found = std::find(header.begin(), header.end(), column);
  if (found == header.end()) {
    throw Error(table_->source_name_ + " has no column '" + column + "'");
  }
  return table_->records_[index_][static_cast<size_t>(found - header.begin())];
}

std::string CsvTable::Row::where() const {
  return table_->source_name_ + " line " + std::to_string(table_->line_numbers_[index_]);
}

void CsvTable::Row::fail(const std::string& column, const std::string& expected) const {
  throw Error(where() + ", column " + column + ": expected " + expected + ", got '" + clip_text(text(column), 40) +
              "'");
}

int64_t CsvTable::Row::integer(const std::string& column, int64_t minimum, int64_t maximum) const {
  const std::string& field = text(column);
  errno = 0;
  char* end = nullptr;
  const long long value = std::strtoll(field.c_str(), &end, 10);
  const bool whole = !field.empty() && !std::isspace(static_cast<unsigned char>(field[0])) &&
                     end == field.c_str() + field.size() && errno != ERANGE;
  if (!whole || value < minimum || value > maximum) {
    std::string expected = "an integer";
    if (minimum != std::numeric_limits<int64_t>::min() && maximum != std::numeric_limits<int64_t>::max()) {
      expected += " from " + std::to_string(minimum) + " to " + std::to_string(maximum);
    } else if (minimum != std::numeric_limits<int64_t>::min()) {
      expected += " ≥ " + std::to_string(minimum);
    }
    fail(column, expected);
  }
  return value;
}

double CsvTable::Row::number(const std::string& column) const {
  const std::string& field = text(column);
  char* end = nullptr;
  const double value = std::strtod(field.c_str(), &end);
  if (field.empty() || std::isspace(static_cast<unsigned char>(field[0])) || end != field.c_str() + field.size() ||
      !std::isfinite(value)) {
    fail(column, "a finite number");
  }
  return value;
}

std::optional<double> CsvTable::Row::optional_number(const std::string& column) const {
  if (text(column).empty()) return std::nullopt;
  return number(column);
}

bool CsvTable::Row::boolean(const std::string& column) const {
  const std::string& field = text(column);
  if (field == "true") return true;
  if (field == "false") return false;
  fail(column, "true or false");
}

}  // namespace igx
