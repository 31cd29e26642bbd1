#pragma once
// Small helpers that turn JSON results into aligned text for people.
// Pure functions; safe anywhere.

#include <boost/json/object.hpp>
#include <boost/json/value.hpp>
#include <string>
#include <vector>

namespace idunno::cli {

// The value of `key` as text ("" when absent; strings without quotes).
std::string field(const boost::json::object& object, const char* key);

// A table of the objects in `result[list]`: one row each, with the fields
// `keys` (one column per key, under `header`).
std::string object_table(const boost::json::value& result, const char* list, std::vector<std::string> header,
                         const std::vector<const char*>& keys);

// Left-aligned columns with a header row.
class Table {
 public:
  explicit Table(std::vector<std::string> header);
  void add(std::vector<std::string> row);
  std::string str() const;

 private:
  std::vector<std::vector<std::string>> rows_;
};

}  // namespace idunno::cli
