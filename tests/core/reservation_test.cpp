// reservation_test.cpp: the reservation window (DESIGN.md section 3) with a
// fake store and a fake clock, up to crash-and-restart with the clock moved.
#include "reservation.h"

#include <algorithm>
#include <cerrno>
#include <cstdint>
#include <cstdio>
#include <random>
#include <vector>

#include <gtest/gtest.h>

#include "printers.h"

#include "fake_clock.h"
#include "generator.h"
#include "layout.h"
#include "state_store.h"

namespace snowflake {
namespace {

using snowflake_test::FakeClock;

constexpr int32_t kNode = 77;
constexpr int64_t kHourMs = 3'600'000;

// Records every Save; can be told to fail. What Load returns is the last
// successful Save: exactly what survives a crash.
class FakeStore final : public StateStore {
 public:
  Status Load(PersistedState* state) override {
    ++loads;
    if (!has_durable) return Status::Error(StatusCode::kNotFound, "fake: nothing saved");
    *state = durable;
    return Status::Ok();
  }
  Status Save(const PersistedState& state) override {
    attempts.push_back(state);
    if (fail_with_errno != 0) {
      return Status::Error(StatusCode::kIoError, "fake: write failed", fail_with_errno);
    }
    saves.push_back(state);
    durable = state;
    has_durable = true;
    return Status::Ok();
  }

  int fail_with_errno = 0;  // non-zero: every Save fails with this errno
  std::vector<PersistedState> attempts;
  std::vector<PersistedState> saves;  // the successful ones
  PersistedState durable{-1, -1};
  bool has_durable = false;
  int loads = 0;
};

class ReservationTest : public ::testing::Test {
 protected:
  void SetUp() override {
    InitGeneratorState(&state_, kNode, -1, ClockCondition::kNormal);
    clock_.Set(kStart);
  }

  // Issues one ID directly, for tests that set reserved_until by hand.
  int64_t IssueAt(int64_t now_ms) {
    clock_.Set(now_ms);
    const NextIdResult r = NextId(&state_, &clock_, 1000);
    EXPECT_EQ(r.outcome, NextIdOutcome::kIssued);
    return r.id;
  }

  static constexpr int64_t kStart = 50'000'000;
  GeneratorState state_;
  FakeClock clock_;
  FakeStore store_;
};

TEST(ReservationTargetTest, IsTheClockPlusTheWindow) {
  EXPECT_EQ(ReservationTarget(1000, 0, 0), 1000 + kReserveAheadMs);
  EXPECT_EQ(ReservationTarget(1000, 500, -1), 1000 + kReserveAheadMs);
  EXPECT_EQ(ReservationTarget(1000, 2000, 0), 1000 + kReserveAheadMs);
  EXPECT_EQ(ReservationTarget(0, 0, 0), kReserveAheadMs);
}

TEST(ReservationTargetTest, StaysCloseToIdsThatRunAheadOfTheClock) {
  // Far ahead (borrowing, or a start after a stored reservation): only a
  // small margin past what is needed, so quick restarts do not push the
  // floor further ahead of the clock each time.
  EXPECT_EQ(ReservationTarget(1000, 5000, 0), 5000 + kReserveAheadOfNeedMs);
  EXPECT_EQ(ReservationTarget(1000, 2000, 5000), 5000 + kReserveAheadOfNeedMs);
  EXPECT_EQ(ReservationTarget(1000, 5000, 4000), 5000 + kReserveAheadOfNeedMs);
  EXPECT_LT(kReserveAheadOfNeedMs, kReserveAheadMs);
}

TEST(ReservationTargetTest, IsClampedAtTheEndOfTheLayout) {
  EXPECT_EQ(ReservationTarget(kMaxTimestampMs - kReserveAheadMs, 0, 0), kMaxTimestampMs);
  EXPECT_EQ(ReservationTarget(kMaxTimestampMs - 1, 0, 0), kMaxTimestampMs);
  EXPECT_EQ(ReservationTarget(0, kMaxTimestampMs, 0), kMaxTimestampMs);
  EXPECT_EQ(ReservationTarget(0, 0, kMaxTimestampMs), kMaxTimestampMs);
  EXPECT_EQ(ReservationTarget(kMaxTimestampMs - kReserveAheadMs - 1, 0, 0), kMaxTimestampMs - 1);
}

TEST(ReservationWindowTest, Constants) {
  EXPECT_GT(kReserveAheadMs, kRenewBelowMs);
  EXPECT_GT(kRenewBelowMs, 0);
}

TEST_F(ReservationTest, RenewWritesClockPlusWindow) {
  const Status s = RenewReservation(&state_, &store_, kStart, kStart);
  ASSERT_TRUE(s.ok());
  ASSERT_EQ(store_.saves.size(), 1u);
  EXPECT_EQ(store_.saves[0].node_id, kNode);
  EXPECT_EQ(store_.saves[0].reserved_until_ms, kStart + kReserveAheadMs);
  EXPECT_EQ(state_.reserved_until_ms.load(), kStart + kReserveAheadMs);
  EXPECT_EQ(state_.reservation_writes.load(), 1u);
  EXPECT_EQ(state_.reservation_failures.load(), 0u);
}

TEST_F(ReservationTest, RenewCoversWhatIsNeeded) {
  // Needed past the clock, and far past where this run started (a first
  // start starts at the beginning of the layout): a full window past it.
  ASSERT_TRUE(RenewReservation(&state_, &store_, kStart, kStart + 700).ok());
  ASSERT_EQ(store_.saves.size(), 1u);
  EXPECT_EQ(store_.saves[0].reserved_until_ms, kStart + 700 + kReserveAheadMs);
  ASSERT_TRUE(RenewReservation(&state_, &store_, kStart, kStart + 5000).ok());
  ASSERT_EQ(store_.saves.size(), 2u);
  EXPECT_EQ(store_.saves[1].reserved_until_ms, kStart + 5000 + kReserveAheadMs);
  EXPECT_EQ(state_.reserved_until_ms.load(), kStart + 5000 + kReserveAheadMs);
}

TEST_F(ReservationTest, RenewWritesLastIssuedPlusWindowWhenTheClockIsBehind) {
  // After a restart the floor is ahead of the clock.
  const int64_t floor = kStart + 10'000;
  InitGeneratorState(&state_, kNode, floor, ClockCondition::kNormal);
  ASSERT_TRUE(RenewReservation(&state_, &store_, kStart, floor + 1).ok());
  ASSERT_EQ(store_.saves.size(), 1u);
  EXPECT_EQ(store_.saves[0].reserved_until_ms, floor + 1 + kReserveAheadOfNeedMs);

  // A start is not a use: no ahead-of-need renewal until an ID is issued.
  InitGeneratorState(&state_, kNode, floor, ClockCondition::kNormal);
  EXPECT_FALSE(ShouldRenewAhead(state_, kStart));
  ASSERT_TRUE(RenewReservation(&state_, &store_, kStart, -1).ok());
  ASSERT_EQ(store_.saves.size(), 1u);
}

TEST_F(ReservationTest, NoWriteWhenAlreadyReservedAndNotDue) {
  ASSERT_TRUE(RenewReservation(&state_, &store_, kStart, kStart).ok());
  ASSERT_EQ(store_.attempts.size(), 1u);
  const int64_t reserved = state_.reserved_until_ms.load();

  // Needed is covered and nothing was issued: nothing to do.
  for (int64_t now : {kStart, kStart + 100, reserved - 1, reserved}) {
    ASSERT_TRUE(RenewReservation(&state_, &store_, now, now).ok());
    ASSERT_TRUE(RenewReservation(&state_, &store_, now, -1).ok());
  }
  EXPECT_EQ(store_.attempts.size(), 1u);

  // IDs issued, but plenty of headroom left: still nothing.
  IssueAt(kStart + 1);
  IssueAt(kStart + 2);
  ASSERT_TRUE(RenewReservation(&state_, &store_, kStart + 2, kStart + 2).ok());
  ASSERT_TRUE(RenewReservation(&state_, &store_, kStart + 2, -1).ok());
  EXPECT_EQ(store_.attempts.size(), 1u);
  EXPECT_EQ(state_.reserved_until_ms.load(), reserved);
  EXPECT_EQ(state_.reservation_writes.load(), 1u);
}

TEST_F(ReservationTest, AFailingStoreLeavesTheReservationUnchanged) {
  ASSERT_TRUE(RenewReservation(&state_, &store_, kStart, kStart).ok());
  const int64_t reserved = state_.reserved_until_ms.load();

  store_.fail_with_errno = ENOSPC;
  const int64_t later = reserved + 10;
  for (uint64_t n = 1; n <= 3; ++n) {
    const Status s = RenewReservation(&state_, &store_, later, later);
    EXPECT_EQ(s.code, StatusCode::kIoError);
    EXPECT_EQ(s.sys_errno, ENOSPC);
    EXPECT_EQ(state_.reserved_until_ms.load(), reserved);
    EXPECT_EQ(state_.reservation_failures.load(), n);
    EXPECT_EQ(state_.reservation_writes.load(), 1u);
  }
  EXPECT_EQ(store_.durable.reserved_until_ms, reserved);

  // No ID past the durable reservation while the store fails.
  clock_.Set(later);
  EXPECT_EQ(NextId(&state_, &clock_, 1000).outcome, NextIdOutcome::kNeedsReservation);

  store_.fail_with_errno = 0;
  ASSERT_TRUE(RenewReservation(&state_, &store_, later, later).ok());
  EXPECT_EQ(state_.reserved_until_ms.load(), later + kReserveAheadMs);
  EXPECT_EQ(store_.durable.reserved_until_ms, later + kReserveAheadMs);
  EXPECT_EQ(state_.reservation_failures.load(), 3u);
  EXPECT_EQ(state_.reservation_writes.load(), 2u);
  EXPECT_EQ(NextId(&state_, &clock_, 1000).outcome, NextIdOutcome::kIssued);
}

TEST_F(ReservationTest, ShouldRenewAheadOnlyWhenUsedAndLow) {
  ASSERT_TRUE(RenewReservation(&state_, &store_, kStart, kStart).ok());
  const int64_t reserved = state_.reserved_until_ms.load();

  // Idle: however little headroom is left, no renewal ahead of need.
  for (int64_t now : {kStart, reserved - kRenewBelowMs, reserved - 1, reserved, reserved + 5000}) {
    EXPECT_FALSE(ShouldRenewAhead(state_, now)) << now;
  }

  // IDs issued after the renewal, headroom still at least kRenewBelowMs.
  IssueAt(kStart + 1);
  EXPECT_FALSE(ShouldRenewAhead(state_, kStart + 1));
  EXPECT_FALSE(ShouldRenewAhead(state_, reserved - kRenewBelowMs));
  // Less than kRenewBelowMs left.
  EXPECT_TRUE(ShouldRenewAhead(state_, reserved - kRenewBelowMs + 1));
  EXPECT_TRUE(ShouldRenewAhead(state_, reserved - 1));
  EXPECT_TRUE(ShouldRenewAhead(state_, reserved));

  // The last issued ID itself can be what leaves too little headroom.
  IssueAt(reserved - 10);
  EXPECT_TRUE(ShouldRenewAhead(state_, kStart));

  // A due renewal is done by RenewReservation even when nothing is needed.
  ASSERT_TRUE(RenewReservation(&state_, &store_, reserved - 10, -1).ok());
  EXPECT_EQ(store_.saves.size(), 2u);
  EXPECT_EQ(state_.reserved_until_ms.load(), reserved - 10 + kReserveAheadMs);
  // ... after which it is idle again.
  EXPECT_FALSE(ShouldRenewAhead(state_, reserved - 10));
}

TEST_F(ReservationTest, KeepsRenewingForAWhileAfterTheLastIdThenStops) {
  // Calls a few seconds apart must not each wait for a write: renewal ahead
  // of need goes on for kKeepRenewingMs after the newest ID, then stops.
  ASSERT_TRUE(RenewReservation(&state_, &store_, kStart, kStart).ok());
  IssueAt(kStart + 1);
  const int64_t quiet_until = kStart + 1 + kKeepRenewingMs;
  for (int64_t now = kStart + 1000; now < quiet_until; now += 1000) {
    ASSERT_TRUE(ShouldRenewAhead(state_, now) ||
                state_.reserved_until_ms.load() - now >= kRenewBelowMs)
        << now;
    ASSERT_TRUE(RenewReservation(&state_, &store_, now, -1).ok());
    ASSERT_GE(state_.reserved_until_ms.load() - now, kRenewBelowMs) << now;
  }
  const size_t writes = store_.saves.size();
  EXPECT_GT(writes, 10u);
  // Past it: idle, however little headroom is left.
  EXPECT_FALSE(ShouldRenewAhead(state_, quiet_until));
  EXPECT_FALSE(ShouldRenewAhead(state_, quiet_until + 100'000));
  ASSERT_TRUE(RenewReservation(&state_, &store_, quiet_until + 100'000, -1).ok());
  EXPECT_EQ(store_.saves.size(), writes);
}

TEST_F(ReservationTest, TargetIsClampedAndTheEndIsNeverRenewed) {
  InitGeneratorState(&state_, kNode, kMaxTimestampMs - 600, ClockCondition::kNormal);
  clock_.Set(kMaxTimestampMs - 100);
  ASSERT_TRUE(RenewReservation(&state_, &store_, clock_.Get(), clock_.Get()).ok());
  ASSERT_EQ(store_.saves.size(), 1u);
  EXPECT_EQ(store_.saves[0].reserved_until_ms, kMaxTimestampMs);
  EXPECT_EQ(state_.reserved_until_ms.load(), kMaxTimestampMs);

  IssueAt(kMaxTimestampMs - 1);
  EXPECT_FALSE(ShouldRenewAhead(state_, kMaxTimestampMs - 1));
  ASSERT_TRUE(RenewReservation(&state_, &store_, kMaxTimestampMs, kMaxTimestampMs).ok());
  EXPECT_EQ(store_.attempts.size(), 1u) << "nothing past the end to reserve";
  // Even when asked for a millisecond past the end: the clamped target is
  // what is already durable, so it is not written again.
  RenewReservation(&state_, &store_, kMaxTimestampMs, kMaxTimestampMs + 1);
  EXPECT_EQ(store_.attempts.size(), 1u);
  EXPECT_EQ(state_.reserved_until_ms.load(), kMaxTimestampMs);
}

// Drives the generator the way the PostgreSQL glue does: renew on
// kNeedsReservation, wait (advance the fake clock) on kSequenceExhausted, and a
// "background worker" renewal ahead of need. Checks, for every ID, that its
// millisecond was durably reserved when it was returned.
class Server {
 public:
  Server(FakeClock* clock, FakeStore* store, int64_t max_drift_ms)
      : clock_(clock), store_(store), max_drift_ms_(max_drift_ms) {
    // Not started: no reservation, so nothing can be issued before Start().
    InitGeneratorState(&state_, kNode, -1, ClockCondition::kNormal);
  }

  // A (re)start: the floor is whatever the store durably holds.
  void Start() {
    PersistedState persisted{};
    const Status s = store_->Load(&persisted);
    int64_t floor = -1;
    if (s.ok()) {
      floor = persisted.reserved_until_ms;
      EXPECT_EQ(persisted.node_id, kNode);
    } else {
      EXPECT_EQ(s.code, StatusCode::kNotFound);
    }
    InitGeneratorState(&state_, kNode, floor, ClockCondition::kNormal);
  }

  // kIssued and *id, or the outcome that stopped it.
  NextIdOutcome Issue(int64_t* id) {
    for (int guard = 0; guard < 10; ++guard) {
      const NextIdResult r = NextId(&state_, clock_, max_drift_ms_);
      switch (r.outcome) {
        case NextIdOutcome::kIssued: {
          DecodedId d{};
          EXPECT_TRUE(DecodeId(r.id, &d).ok());
          EXPECT_TRUE(store_->has_durable);
          EXPECT_LE(d.timestamp_ms, store_->durable.reserved_until_ms)
              << "an ID was returned outside the durable reservation";
          EXPECT_EQ(d.node_id, kNode);
          *id = r.id;
          return r.outcome;
        }
        case NextIdOutcome::kNeedsReservation:
          if (!RenewReservation(&state_, store_, r.now_ms, r.candidate_ms).ok()) return r.outcome;
          break;
        case NextIdOutcome::kSequenceExhausted:
          clock_->Advance(1);  // the wait for the next millisecond
          break;
        default:
          return r.outcome;
      }
    }
    ADD_FAILURE() << "no progress";
    return NextIdOutcome::kClockBeforeEpoch;
  }

  // The background worker's step.
  void Tick() {
    const int64_t now = clock_->NowMs();
    if (ShouldRenewAhead(state_, now)) {
      const Status s = RenewReservation(&state_, store_, now, -1);
      if (store_->fail_with_errno == 0) {
        EXPECT_TRUE(s.ok());
      }
    }
  }

  GeneratorState& state() { return state_; }

 private:
  FakeClock* clock_;
  FakeStore* store_;
  int64_t max_drift_ms_;
  GeneratorState state_;
};

void ExpectAllGreater(const std::vector<int64_t>& before, const std::vector<int64_t>& after) {
  ASSERT_FALSE(before.empty());
  ASSERT_FALSE(after.empty());
  const int64_t max_before = *std::max_element(before.begin(), before.end());
  const int64_t min_after = *std::min_element(after.begin(), after.end());
  EXPECT_GT(min_after, max_before);
}

void ExpectStrictlyIncreasing(const std::vector<int64_t>& ids) {
  for (size_t i = 1; i < ids.size(); ++i) ASSERT_LT(ids[i - 1], ids[i]) << "index " << i;
}

TEST_F(ReservationTest, CrashWithClockMovedBackAnHourNeverRepeatsAnId) {
  Server server(&clock_, &store_, 2 * kHourMs);
  server.Start();
  EXPECT_EQ(store_.loads, 1);

  // Run: IDs in bursts over about 5 seconds, with the worker renewing ahead.
  std::vector<int64_t> before;
  for (int step = 0; step < 5000; ++step) {
    for (int i = 0; i < (step % 7) * 40; ++i) {
      int64_t id = 0;
      ASSERT_EQ(server.Issue(&id), NextIdOutcome::kIssued);
      before.push_back(id);
    }
    if (step % 10 == 0) server.Tick();
    clock_.Advance(1);
  }
  ExpectStrictlyIncreasing(before);
  EXPECT_GT(store_.saves.size(), 2u) << "the window was renewed as time went on";
  EXPECT_LT(store_.saves.size(), 20u) << "renewals are amortised, not per ID";
  const int64_t durable = store_.durable.reserved_until_ms;
  DecodedId last{};
  ASSERT_TRUE(DecodeId(before.back(), &last).ok());
  EXPECT_LE(last.timestamp_ms, durable);

  // Crash, and the clock is an hour behind at restart.
  clock_.Advance(-kHourMs);
  server.Start();
  EXPECT_EQ(server.state().reserved_until_ms.load(), durable);
  std::vector<int64_t> after;
  for (int step = 0; step < 3000; ++step) {
    for (int i = 0; i < 50; ++i) {
      int64_t id = 0;
      ASSERT_EQ(server.Issue(&id), NextIdOutcome::kIssued);
      after.push_back(id);
    }
    if (step % 10 == 0) server.Tick();
    clock_.Advance(1);
  }
  ExpectStrictlyIncreasing(after);
  ExpectAllGreater(before, after);
  DecodedId first_after{};
  ASSERT_TRUE(DecodeId(after.front(), &first_after).ok());
  EXPECT_GT(first_after.timestamp_ms, durable);

  // A second crash, the clock now correct again.
  clock_.Advance(kHourMs);
  server.Start();
  std::vector<int64_t> again;
  for (int i = 0; i < 10000; ++i) {
    int64_t id = 0;
    ASSERT_EQ(server.Issue(&id), NextIdOutcome::kIssued);
    again.push_back(id);
    if (i % 1000 == 999) clock_.Advance(1);
  }
  ExpectStrictlyIncreasing(again);
  ExpectAllGreater(after, again);
}

TEST_F(ReservationTest, CrashWithClockTooFarBehindFailsClosed) {
  Server server(&clock_, &store_, kHourMs);
  server.Start();
  int64_t id = 0;
  ASSERT_EQ(server.Issue(&id), NextIdOutcome::kIssued);
  const int64_t durable = store_.durable.reserved_until_ms;

  clock_.Advance(-2 * kHourMs);
  server.Start();
  int64_t next = 0;
  EXPECT_EQ(server.Issue(&next), NextIdOutcome::kClockTooFarBehind);
  EXPECT_EQ(store_.durable.reserved_until_ms, durable) << "nothing reserved for a failed call";
}

// Borrowing far ahead at the full rate (issue 8, item 6): the IDs move one
// millisecond per clock millisecond, 5 s ahead of the clock, and the worker
// wakes every 50 ms. The state file must be written about once a second, not
// at every wake: a margin of 100 ms past the IDs was used up before the next
// wake, so every wake wrote (20 writes a second).
TEST_F(ReservationTest, BorrowingFarAheadWritesAboutOnceASecond) {
  Server server(&clock_, &store_, 10'000);
  clock_.Set(kStart);
  server.Start();
  int64_t id = 0;
  ASSERT_EQ(server.Issue(&id), NextIdOutcome::kIssued);
  clock_.Set(kStart - 5'000);  // the clock steps back 5 s

  constexpr int64_t kTickMs = 50;
  constexpr int64_t kRunMs = 20'000;
  size_t writes_after_warmup = 0;
  int64_t max_lead = 0;
  for (int64_t elapsed = 0; elapsed < kRunMs; elapsed += kTickMs) {
    // kTickMs milliseconds of IDs, each one full (4096 IDs), as fast as the
    // clock lets borrowing move on; the worker wakes once per tick.
    for (int64_t ms = 0; ms < kTickMs; ++ms) {
      clock_.Advance(1);
      for (int i = 0; i < kIdsPerMs; ++i) {
        const NextIdOutcome o = server.Issue(&id);
        ASSERT_EQ(o, NextIdOutcome::kIssued) << Name(o);
      }
    }
    if (elapsed == 2'000) writes_after_warmup = store_.saves.size();
    server.Tick();
    DecodedId d{};
    ASSERT_TRUE(DecodeId(id, &d).ok());
    max_lead = std::max(max_lead, d.timestamp_ms - clock_.Get());
  }
  ASSERT_GT(max_lead, 4'000) << "the run did not borrow far ahead";
  const double seconds = (kRunMs - 2'000) / 1000.0;
  const double per_second = (store_.saves.size() - writes_after_warmup) / seconds;
  EXPECT_LE(per_second, 1.5) << store_.saves.size() << " writes in " << kRunMs << " ms";
  EXPECT_GE(per_second, 0.5);
  std::printf("%zu writes in %lld ms, %.2f per second after the first 2 s\n", store_.saves.size(),
              static_cast<long long>(kRunMs), per_second);
}

// The margin past IDs that run ahead grows only with how far they moved since
// the start: right after a start it is the minimum, so a quick restart with
// few IDs does not push the next start's floor further ahead of the clock.
TEST(ReservationTargetTest, MarginPastIdsAheadGrowsWithTheirProgressSinceStart) {
  // No progress since the start (floor 5000): the minimum margin.
  EXPECT_EQ(ReservationTarget(1000, 5001, 0, 5000), 5001 + kReserveAheadOfNeedMs);
  // 700 ms of progress: 700 ms past them.
  EXPECT_EQ(ReservationTarget(1000, 5700, 0, 5000), 5700 + 700);
  EXPECT_EQ(ReservationTarget(1000, 5000, 5700, 5000), 5700 + 700);
  // Far along: at most the full window.
  EXPECT_EQ(ReservationTarget(1000, 9000, 0, 5000), 9000 + kReserveAheadMs);
  // With the clock ahead of the IDs, the clock decides as before.
  EXPECT_EQ(ReservationTarget(9000, 8000, 0, 5000), 9000 + kReserveAheadMs);
}

TEST_F(ReservationTest, ClockSteppingBackWhileRunning) {
  constexpr int64_t kDrift = 200;
  Server server(&clock_, &store_, kDrift);
  server.Start();
  std::vector<int64_t> ids;
  auto issue = [&](int n) {
    for (int i = 0; i < n; ++i) {
      int64_t id = 0;
      ASSERT_EQ(server.Issue(&id), NextIdOutcome::kIssued);
      ids.push_back(id);
    }
  };

  issue(5000);
  clock_.Advance(1000);
  issue(100);
  const uint64_t borrow_before = server.state().borrow_events.load();

  // Back by less than the drift limit: borrowing.
  clock_.Advance(-150);
  issue(5000);
  EXPECT_EQ(server.state().borrow_events.load(), borrow_before + 1);
  for (int step = 0; step < 100; ++step) {
    issue(50);
    server.Tick();
    clock_.Advance(1);
  }

  // Back by far more than the limit: a clear error, nothing issued.
  const uint64_t last_before = server.state().last_issued.load();
  clock_.Advance(-10 * kDrift);
  int64_t id = 0;
  EXPECT_EQ(server.Issue(&id), NextIdOutcome::kClockTooFarBehind);
  EXPECT_EQ(server.Issue(&id), NextIdOutcome::kClockTooFarBehind);
  EXPECT_EQ(server.state().last_issued.load(), last_before);
  EXPECT_EQ(server.state().clock_behind_errors.load(), 2u);

  // The clock comes back: IDs continue, still increasing.
  clock_.Advance(10 * kDrift + 500);
  issue(5000);
  ExpectStrictlyIncreasing(ids);
  EXPECT_EQ(ClockConditionOf(server.state().clock_condition.load()), ClockCondition::kNormal);
}

TEST_F(ReservationTest, FailingStoreDuringARunIssuesNothingUnreserved) {
  Server server(&clock_, &store_, 1000);
  server.Start();
  std::vector<int64_t> ids;
  int64_t id = 0;
  ASSERT_EQ(server.Issue(&id), NextIdOutcome::kIssued);
  ids.push_back(id);

  store_.fail_with_errno = ENOSPC;
  // Within the window IDs still come; past it, none.
  int failures = 0;
  for (int step = 0; step < 3000; ++step) {
    const NextIdOutcome o = server.Issue(&id);
    if (o == NextIdOutcome::kIssued) {
      ASSERT_EQ(failures, 0) << "an ID after a failed renewal must also be reserved";
      ids.push_back(id);
    } else {
      ASSERT_EQ(o, NextIdOutcome::kNeedsReservation);
      ++failures;
    }
    server.Tick();
    clock_.Advance(1);
  }
  EXPECT_GT(failures, 0);
  EXPECT_GT(server.state().reservation_failures.load(), 0u);

  // Crash while the disk is still failing, then it recovers.
  server.Start();
  store_.fail_with_errno = 0;
  for (int i = 0; i < 100; ++i) {
    ASSERT_EQ(server.Issue(&id), NextIdOutcome::kIssued);
    ids.push_back(id);
  }
  ExpectStrictlyIncreasing(ids);
}

// Many crash/restart cycles with the clock jumping both ways (within the
// drift bound): every ID is greater than every earlier one.
TEST_F(ReservationTest, RandomCrashesAndClockJumps) {
  std::mt19937_64 rng(20240101);
  Server server(&clock_, &store_, 2 * kHourMs);
  std::vector<int64_t> ids;
  for (int cycle = 0; cycle < 40; ++cycle) {
    SCOPED_TRACE(cycle);
    server.Start();
    const int steps = static_cast<int>(rng() % 400);
    for (int step = 0; step < steps; ++step) {
      const int n = static_cast<int>(rng() % 3000);
      for (int i = 0; i < n; ++i) {
        int64_t id = 0;
        ASSERT_EQ(server.Issue(&id), NextIdOutcome::kIssued);
        ids.push_back(id);
      }
      if (rng() % 4 == 0) server.Tick();
      clock_.Advance(static_cast<int64_t>(rng() % 5));
    }
    // Between runs the clock jumps to up to an hour either side of the last
    // issued millisecond (within the drift bound of two hours).
    const int64_t last_ms = LastIssuedMs(server.state().last_issued.load());
    clock_.Set(last_ms + static_cast<int64_t>(rng() % (2 * kHourMs)) - kHourMs);
  }
  ASSERT_GT(ids.size(), 100000u);
  ExpectStrictlyIncreasing(ids);
}

}  // namespace
}  // namespace snowflake
