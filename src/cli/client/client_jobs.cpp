#include "cli/client/client_jobs.hpp"

#include <boost/json.hpp>
#include <filesystem>
#include <stdexcept>

#include "cli/commands/command_table.hpp"
#include "ml/base/idx_dataset.hpp"
#include "net/console/file_transfer.hpp"

namespace idunno::cli {

namespace json = boost::json;

namespace {

void upload(const core::HostPort& node, const std::string& token, const std::string& path,
            const TransferProgressFn& progress) {
  std::error_code ec;
  if (!std::filesystem::is_regular_file(path, ec)) throw std::runtime_error("cannot read " + path + ": no such file");
  net::console::TransferOptions options;
  options.progress = [&progress](const net::console::TransferProgress& p) {
    if (progress) progress(p.done, p.total);
  };
  options.via_replica = true;
  const auto outcome = net::console::upload_file(
      node, token, "PUT", "/v1/files/" + percent_encode(uploaded_data_name(path)), path, options);
  if (!outcome.ok()) throw std::runtime_error("uploading " + path + " failed: " + transfer_error(outcome));
}

}  // namespace

std::string transfer_error(const net::console::TransferOutcome& outcome) {
  bool is_json = true;
  json::value value;
  try {
    value = json::parse(outcome.body);
  } catch (const std::exception&) {
    is_json = false;
  }
  if (is_json && value.is_object() && value.as_object().contains("error")) {
    return std::string(value.at("error").as_string());
  }
  std::string body = outcome.body;
  while (!body.empty() && (body.back() == '\n' || body.back() == '\r')) body.pop_back();
  return "the node answered HTTP " + std::to_string(outcome.status) + (body.empty() ? "" : ": " + body);
}

std::string uploaded_data_name(const std::string& path) {
  return "data/" + std::filesystem::path(path).filename().string();
}

std::string upload_job_data(const core::HostPort& node, const std::string& token, const std::string& path,
                            const TransferProgressFn& progress) {
  upload(node, token, path, progress);
  if (const auto labels = ml::labels_path_for(path)) upload(node, token, *labels, progress);
  return "sdfs:" + uploaded_data_name(path);
}

void download_results(const core::HostPort& node, const std::string& token, const std::string& name,
                      std::uint64_t version, const std::string& local, const TransferProgressFn& progress) {
  net::console::TransferOptions options;
  options.progress = [&progress](const net::console::TransferProgress& p) {
    if (progress) progress(p.done, p.total);
  };
  options.via_replica = true;
  const auto outcome = net::console::download_file(
      node, token, "/v1/files/" + percent_encode(name) + "?version=" + std::to_string(version), local, options);
  if (!outcome.ok()) throw std::runtime_error("downloading " + name + " failed: " + transfer_error(outcome));
}

}  // namespace idunno::cli
