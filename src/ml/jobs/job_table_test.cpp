// The job table as a state machine: bad commands refused with nothing
// changed, leases and completions checked against the shard plan,
// completions counted once, phases pausing and resuming jobs, set-batch
// applying to the next shards only, and snapshots that restore equal.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "ml/jobs/job_table.hpp"
#include "ml/jobs/job_table_codec.hpp"

namespace idunno::ml::jobs {
namespace {

namespace json = boost::json;

JobEntry job_named(const std::string& name, std::uint64_t queries, std::uint64_t batch) {
  JobEntry job;
  job.name = name;
  job.model = ModelRef{"lenet", true, 1, 0};
  job.data.images = "data/x";
  job.data.queries = queries;
  job.batch = batch;
  return job;
}

class JobTableTest : public ::testing::Test {
 protected:
  json::object run(const json::object& command) {
    return json::parse(table.apply(++index, json::serialize(command))).as_object();
  }
  bool ok(const json::object& command) { return run(command).at("ok").as_bool(); }
  std::string error(const json::object& command) {
    const auto reply = run(command);
    EXPECT_FALSE(reply.at("ok").as_bool());
    return reply.contains("error") ? std::string(reply.at("error").as_string()) : "";
  }
  ShardOutcome outcome(const std::string& job, std::uint64_t shard, std::uint64_t queries, std::uint64_t batch) {
    ShardOutcome o;
    o.job = job;
    o.shard = shard;
    o.worker = "w1";
    o.queries = queries;
    for (std::uint64_t q = 0; q < queries; q += batch) {
      o.batch_queries.push_back(std::min(batch, queries - q));
      o.batch_ns.push_back(1'000'000);
    }
    o.labelled = queries;
    o.correct = queries / 2;
    o.finished_ms = 1000;
    return o;
  }

  JobTable table;
  raft::Index index = 0;
};

TEST_F(JobTableTest, BadJobsAreRefusedAndChangeNothing) {
  ASSERT_TRUE(ok(add_job_command(job_named("a", 100, 10), 1)));
  const std::string before = table.snapshot();
  EXPECT_NE(error(add_job_command(job_named("a", 100, 10), 2)).find("exists"), std::string::npos);
  EXPECT_NE(error(add_job_command(job_named("b", 100, 0), 2)).find("at least 1"), std::string::npos);
  EXPECT_NE(error(add_job_command(job_named("b", 100, 101), 2)).find("larger than the dataset"), std::string::npos);
  EXPECT_NE(error(add_job_command(job_named("b", 0, 1), 2)).find("no queries"), std::string::npos);
  EXPECT_NE(error(set_batch_command("missing", 5)).find("no job"), std::string::npos);
  EXPECT_NE(error(set_batch_command("a", 0)).find("at least 1"), std::string::npos);
  EXPECT_NE(error(remove_job_command("missing")).find("no job"), std::string::npos);
  EXPECT_FALSE(run(json::object{{"op", "nonsense"}}).at("ok").as_bool());
  EXPECT_EQ(json::parse(table.apply(++index, "not json")).at("ok").as_bool(), false);
  // Only the stamped time may have moved.
  JobTable restored;
  restored.restore(before);
  EXPECT_EQ(restored.jobs(), table.jobs());
}

TEST_F(JobTableTest, AddingAnInferenceJobStartsTheInferencePhase) {
  ASSERT_EQ(table.phase(), Phase::stopped);
  const auto reply = run(add_job_command(job_named("a", 100, 10), 1));
  EXPECT_EQ(reply.at("state").as_string(), "running");
  EXPECT_EQ(table.phase(), Phase::infer);
  ASSERT_TRUE(ok(phase_command(Phase::train, 2)));
  EXPECT_EQ(table.job("a")->state, JobState::paused);
  EXPECT_EQ(run(add_job_command(job_named("b", 100, 10), 3)).at("state").as_string(), "queued");
  ASSERT_TRUE(ok(phase_command(Phase::infer, 4)));
  EXPECT_EQ(table.job("a")->state, JobState::running);
  EXPECT_EQ(table.job("b")->state, JobState::running);
}

TEST_F(JobTableTest, LeasesFollowThePlanAndCompletionsCountOnce) {
  ASSERT_TRUE(ok(add_job_command(job_named("a", 25, 10), 1)));
  // A new shard must start where the plan ends and hold whole batches.
  EXPECT_FALSE(run(lease_command("a", 1, 0, 10, 10, "w1", 2)).at("ok").as_bool());
  EXPECT_FALSE(run(lease_command("a", 0, 5, 15, 10, "w1", 2)).at("ok").as_bool());
  ASSERT_TRUE(ok(lease_command("a", 0, 0, 20, 10, "w1", 2)));
  EXPECT_FALSE(run(lease_command("a", 0, 0, 20, 10, "w2", 2)).at("ok").as_bool()) << "already leased";
  // set-batch applies to the next shard only.
  ASSERT_TRUE(ok(set_batch_command("a", 5)));
  EXPECT_EQ(table.job("a")->shards.at(0).batch, 10U);
  ASSERT_TRUE(ok(lease_command("a", 1, 20, 25, 5, "w2", 2)));
  // An outcome whose queries do not match the shard is refused.
  EXPECT_FALSE(run(complete_command(outcome("a", 0, 19, 10))).at("ok").as_bool());
  auto done = run(complete_command(outcome("a", 0, 20, 10)));
  ASSERT_TRUE(done.at("ok").as_bool());
  EXPECT_FALSE(done.at("all_done").as_bool());
  EXPECT_TRUE(run(complete_command(outcome("a", 0, 20, 10))).at("duplicate").as_bool());
  EXPECT_EQ(table.job("a")->done, 20U);
  EXPECT_EQ(table.job("a")->stats.done(), 20U);
  // A lease released (worker presumed dead) that completes late still counts.
  const auto released = run(release_command("w2", 3));
  EXPECT_EQ(released.at("released").to_number<int>(), 1);
  EXPECT_EQ(table.job("a")->shards.at(1).state, ShardState::queued);
  EXPECT_TRUE(run(complete_command(outcome("a", 1, 5, 5))).at("all_done").as_bool());
  EXPECT_FALSE(run(lease_command("a", 1, 20, 25, 5, "w3", 4)).at("ok").as_bool()) << "done shards are not leased";
  EXPECT_EQ(table.job("a")->done, 25U);
  EXPECT_NE(error(finish_command("missing", 1, 5)).find("no such job"), std::string::npos);
  ASSERT_TRUE(ok(finish_command("a", 7, 5)));
  EXPECT_EQ(table.job("a")->state, JobState::done);
  EXPECT_EQ(table.job("a")->results_version, 7U);
}

TEST_F(JobTableTest, AShardWhoseResultsWereLostRunsAgainWithoutCountingTwice) {
  ASSERT_TRUE(ok(add_job_command(job_named("a", 20, 10), 1)));
  ASSERT_TRUE(ok(lease_command("a", 0, 0, 20, 10, "w1", 2)));
  ASSERT_TRUE(ok(complete_command(outcome("a", 0, 20, 10))));
  ASSERT_TRUE(table.job("a")->all_done());
  EXPECT_FALSE(run(redo_shard_command("a", 1, 3)).at("ok").as_bool());
  ASSERT_TRUE(ok(redo_shard_command("a", 0, 3)));
  EXPECT_FALSE(table.job("a")->all_done()) << "the merge waits for the re-run";
  EXPECT_TRUE(table.job("a")->has_work());
  ASSERT_TRUE(ok(lease_command("a", 0, 0, 20, 10, "w2", 4)));
  auto again = outcome("a", 0, 20, 10);
  again.results_version = 2;
  ASSERT_TRUE(run(complete_command(again)).at("all_done").as_bool());
  EXPECT_EQ(table.job("a")->done, 20U);
  EXPECT_EQ(table.job("a")->stats.done(), 20U);
  EXPECT_EQ(table.job("a")->correct, 10U);
  EXPECT_EQ(table.job("a")->shards.at(0).results_version, 2U);
  JobTable copy;
  copy.restore(table.snapshot());
  EXPECT_TRUE(copy == table);
}

TEST_F(JobTableTest, ReleasingOneShardNeedsItsCurrentAttempt) {
  ASSERT_TRUE(ok(add_job_command(job_named("a", 20, 10), 1)));
  ASSERT_TRUE(ok(lease_command("a", 0, 0, 10, 10, "w1", 2)));
  EXPECT_EQ(run(release_shard_command("a", 0, 2, 3)).at("released").to_number<int>(), 0);
  EXPECT_EQ(run(release_shard_command("a", 0, 1, 3)).at("released").to_number<int>(), 1);
  EXPECT_EQ(run(lease_command("a", 0, 0, 10, 10, "w2", 4)).at("attempt").to_number<int>(), 2);
}

TEST_F(JobTableTest, AJobThatStartsLateIsLiftedToTheOthersVirtualTime) {
  ASSERT_TRUE(ok(add_job_command(job_named("a", 1000, 10), 1)));
  ASSERT_TRUE(ok(lease_command("a", 0, 0, 300, 10, "w1", 2)));
  ASSERT_TRUE(ok(add_job_command(job_named("b", 1000, 10), 3)));
  EXPECT_DOUBLE_EQ(table.job("b")->vtime, table.job("a")->vtime);
}

TEST_F(JobTableTest, SnapshotsRestoreEqualAndBadOnesChangeNothing) {
  ASSERT_TRUE(ok(add_job_command(job_named("a", 25, 10), 1)));
  ASSERT_TRUE(ok(lease_command("a", 0, 0, 20, 10, "w1", 2)));
  ASSERT_TRUE(ok(complete_command(outcome("a", 0, 20, 10))));
  JobTable copy;
  copy.restore(table.snapshot());
  EXPECT_TRUE(copy == table);
  EXPECT_EQ(copy.snapshot(), table.snapshot());
  EXPECT_THROW(copy.restore("{\"version\":99}"), std::invalid_argument);
  EXPECT_THROW(copy.restore("garbage"), std::invalid_argument);
  EXPECT_TRUE(copy == table);
  copy.restore("");
  EXPECT_TRUE(copy.jobs().empty());
}

TEST_F(JobTableTest, QueriesAnswerWithTheContractsFields) {
  ASSERT_TRUE(ok(add_job_command(job_named("a", 25, 10), 1)));
  ASSERT_TRUE(ok(lease_command("a", 0, 0, 20, 10, "w1", 2)));
  ASSERT_TRUE(ok(complete_command(outcome("a", 0, 20, 10))));
  const auto rates = json::parse(table.query(R"({"q":"rates","now_ms":2000})")).as_object();
  const auto& row = rates.at("jobs").as_array().at(0).as_object();
  EXPECT_EQ(row.at("done").to_number<int>(), 20);
  EXPECT_EQ(row.at("total").to_number<int>(), 25);
  EXPECT_DOUBLE_EQ(row.at("rate_10s").to_number<double>(), 2.0);
  const auto stats = json::parse(table.query(R"({"q":"stats","job":"a"})")).as_object();
  EXPECT_EQ(stats.at("jobs").as_array().at(0).at("count").to_number<int>(), 20);
  EXPECT_DOUBLE_EQ(stats.at("jobs").as_array().at(0).at("p99_ms").to_number<double>(), 1.0);
  EXPECT_FALSE(json::parse(table.query(R"({"q":"stats","job":"x"})")).at("ok").as_bool());
  const auto job = json::parse(table.query(R"({"q":"job","job":"a"})")).as_object();
  EXPECT_DOUBLE_EQ(job.at("accuracy").to_number<double>(), 0.5);
  EXPECT_EQ(job.at("results").as_string(), "results/a");
  ASSERT_TRUE(ok(lease_command("a", 1, 20, 25, 10, "w2", 3)));
  const auto workers = json::parse(table.query(R"({"q":"workers"})")).as_object();
  EXPECT_EQ(workers.at("workers").at("w2").as_array().at(0).as_string(), "a/1");
}

}  // namespace
}  // namespace idunno::ml::jobs
