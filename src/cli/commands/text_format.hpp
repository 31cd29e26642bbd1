#pragma once
// Small helpers that turn JSON results into aligned text for people.
// Pure functions; safe anywhere.

#include <boost/json/object.hpp>
#include <string>
#include <vector>

namespace idunno::cli {

// The value of `key` as text ("" when absent; strings without quotes).
std::string field(const boost::json::object& object, const char* key);

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
