#pragma once
// The JSON form of the job table's entries (snapshots, the add command) and
// the builders of its commands. Part of the replicated state's definition:
// equal tables give equal bytes. Pure functions; any thread.

#include <boost/json/value.hpp>

#include "ml/jobs/job_table.hpp"

namespace idunno::ml::jobs {

boost::json::value job_to_json(const JobEntry& job);
// Fields missing from `value` keep their defaults except name, model,
// data and batch. Throws std::invalid_argument.
JobEntry job_from_json(const boost::json::value& value);
boost::json::value epoch_to_json(const EpochEntry& epoch);
EpochEntry epoch_from_json(const boost::json::value& value);

}  // namespace idunno::ml::jobs
