// lease_keeper_test.cpp: the holder's schedule (LeaseKeeper) against the
// in-memory etcd (fake_etcd.h) and a fake monotonic clock: what it sends
// and when, and what it tells its host. The schedule is what a fleet's etcd
// sees from every server, so its cadence is asserted request by request.
#include "lease_keeper.h"

#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "fake_clock.h"
#include "fake_etcd.h"
#include "printers.h"
#include "reservation.h"

namespace {

using snowflake::ClaimOutcome;
using snowflake::LeaseKeeper;
using snowflake::LeaseKeeperInput;
using snowflake::NodeLease;
using snowflake::Status;
using snowflake::StatusCode;
using snowflake_test::FakeClock;
using snowflake_test::FakeEtcd;
using snowflake_test::FakeEtcdMethod;

constexpr int64_t kTtlMs = 9000;
// Keep-alives every 3.6 s: the fence (9 s less 1.8 s) less two request timeouts of 1.8 s.
const int64_t kKeepAliveMs = snowflake::KeepAliveIntervalMs(kTtlMs);
constexpr int64_t kWallStartMs = 100'000'000;

snowflake::HolderIdentity Server(const std::string& host) {
  snowflake::HolderIdentity h;
  h.host = host;
  h.port = 5432;
  h.system_identifier = 7412345678901234567ULL;
  h.data_directory = "/srv/" + host;
  h.started_at_ms = 1;
  return h;
}

// Records what the keeper tells its host, as the reservation writer would
// publish it.
class RecordingHost final : public snowflake::LeaseKeeperHost {
 public:
  explicit RecordingHost(snowflake::GeneratorState* generator) : generator_(generator) {}
  void LockRenewals() override {
    EXPECT_FALSE(locked_);
    locked_ = true;
  }
  void UnlockRenewals() override {
    EXPECT_TRUE(locked_);
    locked_ = false;
  }
  void OnClaimedLocked(const ClaimOutcome& outcome, int64_t start_after_ms) override {
    EXPECT_TRUE(locked_) << "the node id switches under the renewal lock";
    snowflake::SetNodeId(generator_, outcome.node_id, start_after_ms);
    events.push_back("claimed-locked " + std::to_string(outcome.node_id));
  }
  void OnClaimed(const ClaimOutcome& outcome) override {
    EXPECT_FALSE(locked_);
    events.push_back("claimed " + std::to_string(outcome.node_id));
  }
  void OnClaimFailed(const Status& status, const ClaimOutcome& outcome,
                     bool previous_run) override {
    last_failure = status.code;
    last_holder_ttl_left_s = outcome.holder_ttl_left_s;
    last_previous_run = previous_run;
    events.push_back("claim failed");
  }
  void OnLeaseLost(int32_t node_id) override {
    events.push_back("lost " + std::to_string(node_id));
  }
  void OnSecondHolder(int32_t node_id) override {
    events.push_back("second holder " + std::to_string(node_id));
  }
  void OnRoundFailed(const Status&, int32_t) override { events.push_back("round failed"); }
  void OnKeptAlive(int32_t) override { events.push_back("kept alive"); }
  void OnHighWaterRaised() override { events.push_back("raised"); }

  std::vector<std::string> events;
  StatusCode last_failure = StatusCode::kOk;
  int64_t last_holder_ttl_left_s = -2;
  bool last_previous_run = false;

 private:
  snowflake::GeneratorState* generator_;
  bool locked_ = false;
};

class LeaseKeeperTest : public ::testing::Test {
 protected:
  LeaseKeeperTest() {
    snowflake::InitGeneratorState(&generator_, -1, -1, snowflake::ClockCondition::kNormal);
  }

  // A keeper for a server; fixed: its snowflake.node_id, -1 to be assigned.
  LeaseKeeper MakeKeeper(NodeLease* lease, int32_t fixed) {
    return LeaseKeeper(lease, &generator_, &host_, fixed, kTtlMs);
  }

  LeaseKeeperInput Input() const {
    LeaseKeeperInput in;
    in.now_ms = kWallStartMs + mono_.Get();
    in.monotonic_ms = mono_.Get();
    return in;
  }

  snowflake::NodeLeaseOptions Options() const {
    snowflake::NodeLeaseOptions o;
    o.ttl_ms = kTtlMs;
    return o;
  }

  FakeClock mono_{1'000'000};
  FakeEtcd etcd_{&mono_};
  snowflake::GeneratorState generator_{};
  RecordingHost host_{&generator_};
};

TEST_F(LeaseKeeperTest, ClaimsThenKeepsAliveEveryIntervalAndSendsNothingBetween) {
  NodeLease lease(&etcd_, &mono_, Options(), Server("a"));
  LeaseKeeper keeper = MakeKeeper(&lease, 7);
  keeper.Step(Input());
  ASSERT_TRUE(lease.held());
  EXPECT_EQ(generator_.node_id.load(), 7);
  // A grant, and the claim, which confirms the first window (and the
  // lead) in etcd in the same transaction.
  EXPECT_EQ(etcd_.calls(FakeEtcdMethod::kGrantLease), 1);
  EXPECT_EQ(etcd_.total_calls(), 2);
  EXPECT_GE(lease.high_water_ms(),
            Input().now_ms + snowflake::kReserveAheadMs + snowflake::HighWaterLeadMs(kTtlMs));
  EXPECT_EQ(host_.events, (std::vector<std::string>{"claimed-locked 7", "claimed 7"}));

  // Idle: every 50 ms a step, and only a keep-alive every interval, without
  // a holder read (no ID was issued that a lost holder key could repeat).
  ASSERT_EQ(kKeepAliveMs % 50, 0);
  const int64_t after_claim = etcd_.total_calls();
  for (int round = 1; round <= 3; ++round) {
    for (int64_t step = 0; step < kKeepAliveMs / 50 - 1; ++step) {
      mono_.Advance(50);
      keeper.Step(Input());
    }
    EXPECT_EQ(etcd_.total_calls(), after_claim + round - 1) << "nothing between keep-alives";
    mono_.Advance(50);
    keeper.Step(Input());
    EXPECT_EQ(etcd_.calls(FakeEtcdMethod::kKeepAliveLease), round);
    EXPECT_EQ(etcd_.total_calls(), after_claim + round) << "a keep-alive alone";
    EXPECT_EQ(keeper.next_due_ms(), mono_.Get() + kKeepAliveMs);
  }
}

TEST_F(LeaseKeeperTest, ARefusedClaimIsRetriedAboutASecondLaterAndSaysWhoHoldsTheId) {
  NodeLease other(&etcd_, &mono_, Options(), Server("b"));
  ClaimOutcome out;
  ASSERT_TRUE(other.Claim(7, -1, &out).ok());
  NodeLease lease(&etcd_, &mono_, Options(), Server("a"));
  LeaseKeeper keeper = MakeKeeper(&lease, 7);
  keeper.Step(Input());
  EXPECT_FALSE(lease.held());
  EXPECT_EQ(host_.last_failure, StatusCode::kNodeIdTaken);
  EXPECT_GE(host_.last_holder_ttl_left_s, 0) << "the holder's lease TTL, for the message";
  EXPECT_FALSE(host_.last_previous_run);
  const int64_t calls = etcd_.total_calls();
  mono_.Advance(450);
  keeper.Step(Input());
  EXPECT_EQ(etcd_.total_calls(), calls) << "no retry within half a second";
  // The holder stops cleanly: the next try (0.5 to 1.5 s after the first,
  // spread so that servers refused together do not retry together) takes
  // the id.
  ASSERT_TRUE(other.Release().ok());
  for (int step = 0; step < 21 && !lease.held(); ++step) {
    mono_.Advance(50);
    keeper.Step(Input());
  }
  EXPECT_TRUE(lease.held());
  EXPECT_EQ(lease.node_id(), 7);
}

// A server that waited for its id (another server held it) claims it on a
// lease granted long ago: the fence it publishes must still be a whole one.
TEST_F(LeaseKeeperTest, AClaimAfterAWaitRenewsTheLeaseBeforeItPublishesTheFence) {
  NodeLease other(&etcd_, &mono_, Options(), Server("b"));
  ClaimOutcome out;
  ASSERT_TRUE(other.Claim(7, -1, &out).ok());
  NodeLease lease(&etcd_, &mono_, Options(), Server("a"));
  LeaseKeeper keeper = MakeKeeper(&lease, 7);
  keeper.Step(Input());  // refused: b holds 7; a's lease is granted now
  ASSERT_FALSE(lease.held());
  // b keeps 7 for most of a's fence, then releases it.
  for (int i = 0; i < 6; ++i) {
    mono_.Advance(1000);
    ASSERT_TRUE(other.KeepAlive().ok());
    keeper.Step(Input());
  }
  ASSERT_TRUE(other.Release().ok());
  for (int step = 0; step < 40 && !lease.held(); ++step) {
    mono_.Advance(50);
    keeper.Step(Input());
  }
  ASSERT_TRUE(lease.held());
  const int64_t fence_length = kTtlMs - snowflake::FenceMarginMs(kTtlMs);
  EXPECT_GE(lease.valid_until_ms() - mono_.Get(), fence_length - 100)
      << "the fence published with the claim runs from a renewal at the claim";
}

TEST_F(LeaseKeeperTest, ClaimsBackOffWhileEtcdDoesNotAnswer) {
  NodeLease lease(&etcd_, &mono_, Options(), Server("a"));
  LeaseKeeper keeper = MakeKeeper(&lease, 7);
  etcd_.SetDown(true);
  // A minute of etcd down, a step every 50 ms: the tries come ever rarer,
  // at most every 12 s (8 s, spread by half either way) once backed off.
  for (int step = 0; step < 1200; ++step) {
    keeper.Step(Input());
    mono_.Advance(50);
  }
  const int64_t tries = etcd_.total_calls();
  EXPECT_GE(tries, 6);
  EXPECT_LE(tries, 15) << "a retry a second would be 60";
  etcd_.SetDown(false);
  for (int step = 0; step < 240 && !lease.held(); ++step) {
    keeper.Step(Input());
    mono_.Advance(50);
  }
  EXPECT_TRUE(lease.held()) << "within 12 s of etcd answering again";
}

TEST_F(LeaseKeeperTest, ALostLeaseStopsAndIsClaimedAgainAtTheNextStep) {
  NodeLease lease(&etcd_, &mono_, Options(), Server("a"));
  LeaseKeeper keeper = MakeKeeper(&lease, 7);
  keeper.Step(Input());
  ASSERT_TRUE(lease.held());
  etcd_.ExpireLease(lease.lease_id());
  mono_.Advance(kKeepAliveMs);
  keeper.Step(Input());
  EXPECT_FALSE(lease.held());
  EXPECT_EQ(host_.events.back(), "lost 7");
  mono_.Advance(50);
  keeper.Step(Input());
  EXPECT_TRUE(lease.held()) << "claimed again without waiting";
  EXPECT_EQ(host_.events.back(), "claimed 7");
}

TEST_F(LeaseKeeperTest, AnUnansweredKeepAliveIsRetriedSoonerThanAFullInterval) {
  NodeLease lease(&etcd_, &mono_, Options(), Server("a"));
  LeaseKeeper keeper = MakeKeeper(&lease, 7);
  keeper.Step(Input());
  mono_.Advance(kKeepAliveMs);
  etcd_.SetDown(true);
  keeper.Step(Input());
  EXPECT_EQ(host_.events.back(), "round failed");
  EXPECT_EQ(keeper.next_due_ms(), mono_.Get() + 500);
  etcd_.SetDown(false);
  mono_.Advance(500);
  keeper.Step(Input());
  EXPECT_EQ(host_.events.back(), "kept alive");
}

TEST_F(LeaseKeeperTest, IssuingRaisesTheMarkAheadOfTheWindowAndACallerCanAskForMore) {
  NodeLease lease(&etcd_, &mono_, Options(), Server("a"));
  LeaseKeeper keeper = MakeKeeper(&lease, 7);
  keeper.Step(Input());
  const int64_t first_mark = lease.high_water_ms();
  // A caller needs more than the mark allows.
  LeaseKeeperInput in = Input();
  in.wanted_high_water_ms = first_mark + 5000;
  keeper.Step(in);
  EXPECT_GE(lease.high_water_ms(), first_mark + 5000);
  EXPECT_EQ(host_.events.back(), "raised");
}

// The previous run (same host, port, system identifier, data directory)
// holds id 3 (it was killed, or is still alive); this run was assigned 3
// before and asks for it first.
class PreviousRunTest : public LeaseKeeperTest {
 protected:
  void SetUp() override {
    ClaimOutcome out;
    ASSERT_TRUE(previous_.Claim(3, -1, &out).ok());
    StepPreferring3();
    ASSERT_FALSE(lease_.held()) << "waits for its own id rather than taking another";
    EXPECT_TRUE(host_.last_previous_run);
  }
  void StepPreferring3() {
    LeaseKeeperInput in = Input();
    in.preferred_node_id = 3;
    keeper_.Step(in);
  }
  NodeLease previous_{&etcd_, &mono_, Options(), Server("a")};
  NodeLease lease_{&etcd_, &mono_, Options(), Server("a")};
  LeaseKeeper keeper_ = MakeKeeper(&lease_, -1);
};

TEST_F(PreviousRunTest, ItsIdIsWaitedForNotReplaced) {
  // Not asked for again every second: only once the old lease can have
  // run out (its time to live, whole seconds, and one more).
  const int64_t calls = etcd_.total_calls();
  for (int64_t t = 0; t < kTtlMs; t += 1000) {
    mono_.Advance(1000);
    StepPreferring3();
  }
  EXPECT_EQ(etcd_.total_calls(), calls) << "no claims while the old lease surely lives";
  EXPECT_FALSE(lease_.held());
  // The previous run's lease expires (no keep-alives): the id comes back.
  mono_.Advance(1100);
  StepPreferring3();
  ASSERT_TRUE(lease_.held());
  EXPECT_EQ(lease_.node_id(), 3);
}

TEST_F(PreviousRunTest, AfterATtlAndMoreItTakesAnother) {
  // The old run is still alive after all (its keep-alives go on).
  for (int64_t t = 0; t <= kTtlMs + 1000; t += 1000) {
    mono_.Advance(1000);
    ASSERT_TRUE(previous_.KeepAlive().ok());
    StepPreferring3();
  }
  ASSERT_TRUE(lease_.held());
  EXPECT_NE(lease_.node_id(), 3);
}

}  // namespace
