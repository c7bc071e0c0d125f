// fake_clock.h: a Clock whose time the test sets, for the core unit tests.
#ifndef SNOWFLAKE_TESTS_CORE_FAKE_CLOCK_H
#define SNOWFLAKE_TESTS_CORE_FAKE_CLOCK_H

#include <atomic>
#include <cstdint>

#include "clock.h"

namespace snowflake_test {

// Thread-safe: the time is an atomic, so a test may move it while other
// threads read it.
class FakeClock final : public snowflake::Clock {
 public:
  explicit FakeClock(int64_t now_ms = 0) : now_ms_(now_ms) {}
  int64_t NowMs() override {
    reads_.fetch_add(1, std::memory_order_relaxed);
    return now_ms_.load(std::memory_order_relaxed);
  }
  void Set(int64_t now_ms) { now_ms_.store(now_ms, std::memory_order_relaxed); }
  void Advance(int64_t delta_ms) { now_ms_.fetch_add(delta_ms, std::memory_order_relaxed); }
  int64_t Get() const { return now_ms_.load(std::memory_order_relaxed); }
  uint64_t reads() const { return reads_.load(std::memory_order_relaxed); }

 private:
  std::atomic<int64_t> now_ms_;
  std::atomic<uint64_t> reads_{0};
};

}  // namespace snowflake_test

#endif  // SNOWFLAKE_TESTS_CORE_FAKE_CLOCK_H
