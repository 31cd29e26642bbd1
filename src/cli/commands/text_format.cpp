#include "cli/commands/text_format.hpp"

#include <boost/json.hpp>

namespace idunno::cli {

std::string field(const boost::json::object& object, const char* key) {
  const auto* value = object.if_contains(key);
  if (!value || value->is_null()) return "";
  if (value->is_string()) return std::string(value->as_string());
  return boost::json::serialize(*value);
}

std::string object_table(const boost::json::value& result, const char* list, std::vector<std::string> header,
                         const std::vector<const char*>& keys) {
  Table table(std::move(header));
  for (const auto& item : result.at(list).as_array()) {
    const auto& o = item.as_object();
    std::vector<std::string> row;
    row.reserve(keys.size());
    for (const char* key : keys) row.push_back(field(o, key));
    table.add(std::move(row));
  }
  return table.str();
}

Table::Table(std::vector<std::string> header) { rows_.push_back(std::move(header)); }

void Table::add(std::vector<std::string> row) { rows_.push_back(std::move(row)); }

std::string Table::str() const {
  std::vector<std::size_t> widths;
  for (const auto& row : rows_) {
    if (widths.size() < row.size()) widths.resize(row.size(), 0);
    for (std::size_t i = 0; i < row.size(); ++i) widths[i] = std::max(widths[i], row[i].size());
  }
  std::string out;
  for (const auto& row : rows_) {
    std::string line;
    for (std::size_t i = 0; i < row.size(); ++i) {
      line += row[i];
      if (i + 1 < row.size()) line += std::string(widths[i] - row[i].size() + 2, ' ');
    }
    out += line + "\n";
  }
  return out;
}

}  // namespace idunno::cli
