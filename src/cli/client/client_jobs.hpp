#pragma once
// The client's part of the job commands whose files are on the client's
// machine: `sub JOB DATA ...` with a local DATA (and `train` with a local
// --data or --eval) uploads it (and the labels file beside it, by the usual
// -images-/-labels- naming) to SDFS as data/FILENAME first and submits
// `sdfs:data/FILENAME`; `get-results JOB LOCAL` asks for the job and then
// downloads its merged results (a training job's model) into LOCAL. Blocking; the client's thread.

#include <functional>
#include <optional>
#include <string>
#include <vector>

#include "core/config.hpp"
#include "net/console/file_transfer.hpp"

namespace idunno::cli {

// Called with (bytes done, bytes total when known) while a file moves.
using TransferProgressFn = std::function<void(std::uint64_t done, std::optional<std::uint64_t> total)>;

// What a failed HTTP transfer says went wrong: its JSON error, or the
// status and body.
std::string transfer_error(const net::console::TransferOutcome& outcome);

// The SDFS name a local dataset file is uploaded as: "data/FILENAME".
std::string uploaded_data_name(const std::string& path);

// Uploads `path` and its labels file (when one exists) through the node's
// HTTP file API; returns "sdfs:data/FILENAME". Throws std::runtime_error
// with the reason.
std::string upload_job_data(const core::HostPort& node, const std::string& token, const std::string& path,
                            const TransferProgressFn& progress);

// Downloads version `version` of SDFS file `name` into `local` (atomically).
// Throws std::runtime_error with the reason.
void download_results(const core::HostPort& node, const std::string& token, const std::string& name,
                      std::uint64_t version, const std::string& local, const TransferProgressFn& progress);

}  // namespace idunno::cli
