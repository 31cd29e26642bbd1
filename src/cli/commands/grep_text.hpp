#pragma once
// The text form of a `grep` result: `node1: LINE` per match, in the order
// of the result (nodes by name, each node's lines in log order), then a
// `note:` line per node that did not answer or whose answer was cut short.
// Pure; safe anywhere.

#include <boost/json/value.hpp>
#include <string>

namespace idunno::cli {

std::string render_grep(const boost::json::value& result);

}  // namespace idunno::cli
