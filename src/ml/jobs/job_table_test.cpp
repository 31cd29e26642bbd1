// The job table as a state machine: bad commands refused with nothing
// changed, leases and completions checked against the shard plan,
// completions counted once, phases pausing and resuming jobs, set-batch
// applying to the next shards only, and snapshots that restore equal.

#include <gtest/gtest.h>

#include <boost/json.hpp>

#include "ml/jobs/job_table.hpp"
#include "ml/jobs/job_table_codec.hpp"
#include "ml/jobs/scheduler.hpp"

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

// A new coordinator asks each worker what it holds: a lease the worker
// does not hold is orphaned (its start was never sent), unless the table
// moved on since the worker was asked (done, or leased again).
TEST_F(JobTableTest, LeasesAWorkerDoesNotHoldAreOrphanedUnlessTheTableMovedOn) {
  ASSERT_TRUE(ok(add_job_command(job_named("a", 40, 10), 1)));
  ASSERT_TRUE(ok(lease_command("a", 0, 0, 10, 10, "w1", 2)));
  ASSERT_TRUE(ok(lease_command("a", 1, 10, 20, 10, "w1", 2)));
  ASSERT_TRUE(ok(lease_command("a", 2, 20, 30, 10, "w1", 2)));
  ASSERT_TRUE(ok(lease_command("a", 3, 30, 40, 10, "w2", 2)));
  const std::vector<LeaseKey> asked = leases_of(table, "w1");
  EXPECT_EQ(asked, (std::vector<LeaseKey>{{"a", 0, 1}, {"a", 1, 1}, {"a", 2, 1}}));
  EXPECT_EQ(leases_of(table, "w3"), std::vector<LeaseKey>{});
  // w1 runs shard 0 and holds nothing else. Before its answer arrives,
  // shard 1 completes (its report was in flight), and shard 2 is released
  // and leased to w1 again (a newer attempt, its start on its way).
  ASSERT_TRUE(ok(complete_command(outcome("a", 1, 10, 10))));
  ASSERT_EQ(run(release_shard_command("a", 2, 1, 3)).at("released").to_number<int>(), 1);
  ASSERT_TRUE(ok(lease_command("a", 2, 20, 30, 10, "w1", 4)));
  EXPECT_EQ(orphaned_leases(table, "w1", asked, {{"a", 0, 1}}), std::vector<LeaseKey>{});
  // With none of that, shards 1 and 2 are orphaned; a worker's answer
  // never touches another worker's leases.
  JobTable fresh;
  raft::Index i = 0;
  const auto apply = [&](const json::object& command) { fresh.apply(++i, json::serialize(command)); };
  apply(add_job_command(job_named("a", 40, 10), 1));
  apply(lease_command("a", 0, 0, 10, 10, "w1", 2));
  apply(lease_command("a", 1, 10, 20, 10, "w1", 2));
  apply(lease_command("a", 2, 20, 30, 10, "w2", 2));
  EXPECT_EQ(orphaned_leases(fresh, "w1", leases_of(fresh, "w1"), {{"a", 0, 1}}), (std::vector<LeaseKey>{{"a", 1, 1}}));
  EXPECT_EQ(orphaned_leases(fresh, "w1", leases_of(fresh, "w1"), {}),
            (std::vector<LeaseKey>{{"a", 0, 1}, {"a", 1, 1}}));
}

TEST(LeaseKeyJson, RoundTripsAndBadShapesThrow) {
  const LeaseKey lease{"a/b", 7, 3};
  EXPECT_EQ(lease_key_from_json(json::parse(json::serialize(to_json(lease)))), lease);
  EXPECT_THROW(lease_key_from_json(json::parse(R"({"job":"a","shard":1})")), std::invalid_argument);
  EXPECT_THROW(lease_key_from_json(json::parse(R"([1,2])")), std::invalid_argument);
}

TEST(TrainTaskJson, RoundTripsWithItsAugmentationAndScheduleAndAnOldTaskHasNeither) {
  TrainTask task;
  task.job = "t";
  task.attempt = 2;
  task.group = {"w1", "w2"};
  task.rank = 1;
  task.host_ranks = 2;
  task.rendezvous_host = "127.0.0.1";
  task.rendezvous_port = 17001;
  task.bind_host = "127.0.0.1";
  task.model = ModelRef{"resnet-fmnist", true, 1, 0};
  task.checkpoint = "checkpoints/t";
  task.epochs = 3;
  task.data.images = "data/x";
  task.batch = 64;
  task.augment_flip = true;
  task.augment_shift = 2;
  task.schedule = "cosine";
  task.weight_decay = 5e-4;
  task.model_out = "models/t";
  auto value = to_json(task);
  EXPECT_EQ(train_task_from_json(json::parse(json::serialize(value))), task);
  for (const char* key : {"augment_flip", "augment_shift", "schedule", "weight_decay"}) value.as_object().erase(key);
  const TrainTask old = train_task_from_json(value);
  EXPECT_FALSE(old.augment_flip);
  EXPECT_EQ(old.augment_shift, 0U);
  EXPECT_EQ(old.schedule, "exponential");
  EXPECT_EQ(old.weight_decay, 0.0);
  value.as_object()["schedule"] = "linear";
  EXPECT_THROW(train_task_from_json(value), std::invalid_argument);
  value.as_object().erase("schedule");
  value.as_object()["augment_shift"] = 9;
  EXPECT_THROW(train_task_from_json(value), std::invalid_argument);
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

JobEntry training_job(const std::string& name, std::uint64_t epochs, std::uint64_t workers) {
  JobEntry job = job_named(name, 600, 32);
  job.kind = "train";
  job.data.labels = "data/x-labels";
  job.train.epochs = epochs;
  job.train.workers = workers;
  job.train.optimizer = "adam";
  job.train.lr = 0.002;
  job.train.augment_flip = true;
  job.train.augment_shift = 2;
  job.train.schedule = "cosine";
  job.train.weight_decay = 5e-4;
  return job;
}

EpochEntry epoch_record(std::uint64_t epoch, std::uint64_t checkpoint_version) {
  EpochEntry e;
  e.epoch = epoch;
  e.loss = 1.0 / static_cast<double>(epoch);
  e.accuracy = 0.8;
  e.images_per_s = 1000;
  e.checkpoint_version = checkpoint_version;
  return e;
}

// Training jobs: leased whole to a group, epochs recorded in order and
// once, a dead rank's lease given back and taken up after the last
// recorded epoch, the last epoch ending the job with its model.
TEST_F(JobTableTest, TrainingJobsRecordEpochsOnceAndResumeAfterAReleasedLease) {
  auto bad = training_job("t", 2, 2);
  bad.data.labels.reset();
  EXPECT_EQ(error(add_job_command(bad, 1)), "training needs labels: the dataset has none");
  bad = training_job("t", 0, 1);
  EXPECT_NE(error(add_job_command(bad, 1)).find("epochs"), std::string::npos);
  bad = training_job("t", 1, 1);
  bad.train.augment_shift = 9;
  EXPECT_NE(error(add_job_command(bad, 1)).find("at most 8 pixels"), std::string::npos);
  bad = training_job("t", 1, 1);
  bad.train.schedule = "linear";
  EXPECT_EQ(error(add_job_command(bad, 1)), "the schedule is exponential or cosine");
  bad = training_job("t", 1, 1);
  bad.train.weight_decay = -1;
  EXPECT_EQ(error(add_job_command(bad, 1)), "the weight decay must be in [0, 1]");
  bad = training_job("t", 1, 30);  // 30 ranks x 32 > 600 images
  EXPECT_NE(error(add_job_command(bad, 1)).find("larger than the dataset"), std::string::npos);
  EXPECT_TRUE(table.jobs().empty());

  const auto added = run(add_job_command(training_job("t", 3, 2), 10));
  ASSERT_TRUE(added.at("ok").as_bool());
  EXPECT_EQ(added.at("phase").as_string(), "train");  // the idle cluster starts the job's phase
  EXPECT_EQ(table.job("t")->state, JobState::running);
  EXPECT_EQ(table.job("t")->train.model_out, "models/t");
  // Shards are not for training jobs; a group must have the job's size.
  EXPECT_EQ(error(lease_command("t", 0, 0, 32, 32, "w1", 11)), "a training job is leased whole (train_lease)");
  EXPECT_NE(error(train_lease_command("t", {"w1"}, 11)).find("2 workers"), std::string::npos);
  EXPECT_EQ(error(train_lease_command("t", {"w1", "w1"}, 11)), "a worker appears twice");

  auto lease = run(train_lease_command("t", {"w1", "w2"}, 12));
  ASSERT_TRUE(lease.at("ok").as_bool());
  EXPECT_EQ(lease.at("attempt").to_number<std::uint64_t>(), 1U);
  EXPECT_EQ(lease.at("epoch").to_number<std::uint64_t>(), 1U);
  EXPECT_EQ(error(train_lease_command("t", {"w3", "w4"}, 13)), "the job is leased already");
  ASSERT_TRUE(ok(epoch_command("t", 1, epoch_record(1, 5), 0, 20)));
  // A retried report changes nothing; an epoch that skips ahead is refused.
  EXPECT_TRUE(run(epoch_command("t", 1, epoch_record(1, 5), 0, 21)).contains("duplicate"));
  EXPECT_EQ(error(epoch_command("t", 1, epoch_record(3, 6), 0, 22)), "the epoch does not continue the history");
  EXPECT_EQ(table.job("t")->train.history.size(), 1U);

  // w2 dies: the group's lease goes back; a late report of the old lease
  // is refused; the next lease starts at epoch 2.
  EXPECT_EQ(run(release_command("w2", 30)).at("released").to_number<std::uint64_t>(), 1U);
  EXPECT_TRUE(table.job("t")->train.group.empty());
  EXPECT_EQ(error(epoch_command("t", 1, epoch_record(2, 6), 0, 31)), "the lease is not current");
  lease = run(train_lease_command("t", {"w3", "w1"}, 32));
  EXPECT_EQ(lease.at("attempt").to_number<std::uint64_t>(), 2U);
  EXPECT_EQ(lease.at("epoch").to_number<std::uint64_t>(), 2U);
  // A group silent for longer than its lease time gives it back.
  SchedulerPolicy policy;
  EXPECT_TRUE(expired_leases(table, 32 + 30 * 60'000, policy).empty());
  EXPECT_EQ(expired_leases(table, 33 + 30 * 60'000, policy), (std::vector<LeaseKey>{{"t", 0, 2}}));
  // Each rank of the group holds the lease; a rank that does not is
  // orphaned (its start never reached it).
  EXPECT_EQ(leases_of(table, "w3"), (std::vector<LeaseKey>{{"t", 0, 2}}));
  EXPECT_EQ(leases_of(table, "w2"), std::vector<LeaseKey>{});
  EXPECT_EQ(orphaned_leases(table, "w1", leases_of(table, "w1"), {{"t", 0, 2}}), std::vector<LeaseKey>{});
  EXPECT_EQ(orphaned_leases(table, "w1", leases_of(table, "w1"), {{"t", 0, 1}}), (std::vector<LeaseKey>{{"t", 0, 2}}));
  // A stale release (attempt 1) changes nothing.
  EXPECT_EQ(run(release_train_command("t", 1, 33)).at("released").to_number<std::uint64_t>(), 0U);
  ASSERT_TRUE(ok(epoch_command("t", 2, epoch_record(2, 7), 0, 40)));
  // The last epoch needs the model's version, then ends the job.
  EXPECT_EQ(error(epoch_command("t", 2, epoch_record(3, 8), 0, 50)),
            "the last epoch names the trained model's version");
  EXPECT_EQ(table.job("t")->train.history.size(), 2U);
  const auto last = run(epoch_command("t", 2, epoch_record(3, 8), 4, 51));
  EXPECT_TRUE(last.contains("done"));
  const JobEntry& done = *table.job("t");
  EXPECT_EQ(done.state, JobState::done);
  EXPECT_EQ(done.train.model_version, 4U);
  EXPECT_TRUE(done.train.group.empty());
  EXPECT_EQ(done.finished_ms, 51U);

  // What get-results shows: epochs done of the job's epochs, the model.
  const auto reply = json::parse(table.query(R"({"q":"job","job":"t"})")).as_object();
  EXPECT_EQ(reply.at("kind").as_string(), "train");
  EXPECT_EQ(reply.at("done").to_number<std::uint64_t>(), 3U);
  EXPECT_EQ(reply.at("model").as_string(), "models/t");
  EXPECT_EQ(reply.at("epochs").as_array().size(), 3U);
  EXPECT_DOUBLE_EQ(reply.at("accuracy").as_double(), 0.8);

  // The snapshot holds the training state.
  JobTable copy;
  copy.restore(table.snapshot());
  EXPECT_TRUE(copy == table);
}

// Phases: a job of the other phase waits; switching pauses the running
// ones (a training group stops) and resumes the waiting ones.
TEST_F(JobTableTest, PhasesKeepTrainingAndInferenceApart) {
  ASSERT_TRUE(ok(add_job_command(training_job("t", 2, 1), 1)));
  ASSERT_TRUE(ok(add_job_command(job_named("i", 100, 10), 2)));
  EXPECT_EQ(table.phase(), Phase::train);
  EXPECT_EQ(table.job("i")->state, JobState::queued);
  ASSERT_TRUE(ok(train_lease_command("t", {"w1"}, 3)));
  ASSERT_TRUE(ok(epoch_command("t", 1, epoch_record(1, 1), 0, 4)));

  ASSERT_TRUE(ok(phase_command(Phase::infer, 5)));
  EXPECT_EQ(table.job("t")->state, JobState::paused);
  EXPECT_TRUE(table.job("t")->train.group.empty());
  EXPECT_EQ(table.job("i")->state, JobState::running);
  EXPECT_EQ(error(train_lease_command("t", {"w1"}, 6)), "the job is not running");

  ASSERT_TRUE(ok(phase_command(Phase::stopped, 7)));
  EXPECT_EQ(table.job("i")->state, JobState::paused);
  EXPECT_EQ(table.job("t")->state, JobState::paused);

  ASSERT_TRUE(ok(phase_command(Phase::train, 8)));
  EXPECT_EQ(table.job("t")->state, JobState::running);
  EXPECT_EQ(table.job("i")->state, JobState::paused);
  const auto lease = run(train_lease_command("t", {"w2"}, 9));
  EXPECT_EQ(lease.at("epoch").to_number<std::uint64_t>(), 2U);  // nothing lost: epoch 1 stays done
}

}  // namespace
}  // namespace idunno::ml::jobs
