// reservation.cpp: the renewal step. See reservation.h for the rules.
#include "reservation.h"

#include <algorithm>

#include "layout.h"

namespace snowflake {

int64_t ReservationTarget(int64_t now_ms, int64_t last_issued_ms, int64_t needed_ms,
                          int64_t start_ms) {
  const int64_t ahead = std::max(last_issued_ms, needed_ms);
  const int64_t progress = start_ms < ahead ? ahead - start_ms : 0;
  const int64_t margin = std::clamp(progress, kReserveAheadOfNeedMs, kReserveAheadMs);
  const int64_t target = std::max(now_ms + kReserveAheadMs, ahead + margin);
  return std::min(target, kMaxTimestampMs);
}

bool ShouldRenewAhead(const GeneratorState& state, int64_t now_ms) {
  const int64_t reserved = state.reserved_until_ms.load(std::memory_order_acquire);
  if (reserved >= kMaxTimestampMs) return false;
  const uint64_t last = state.last_issued.load(std::memory_order_relaxed);
  const int64_t last_ms = LastIssuedMs(last);
  const bool used_recently = last != state.start_last_issued.load(std::memory_order_relaxed) &&
                             last_ms + kKeepRenewingMs > now_ms;
  const int64_t headroom = reserved - std::max(now_ms, last_ms);
  return used_recently && headroom < kRenewBelowMs;
}

Status RenewReservation(GeneratorState* state, StateStore* store, int64_t now_ms, int64_t needed_ms,
                        int64_t cap_ms) {
  const int64_t reserved = state->reserved_until_ms.load(std::memory_order_acquire);
  if (reserved >= needed_ms && !ShouldRenewAhead(*state, now_ms)) return Status::Ok();
  if (needed_ms > cap_ms)
    return Status::Error(StatusCode::kBeyondHighWater,
                         "the reservation needed lies past the node id's high-water mark");

  const uint64_t last = state->last_issued.load(std::memory_order_acquire);
  const int64_t target =
      ReservationTarget(now_ms, LastIssuedMs(last), needed_ms,
                        LastIssuedMs(state->start_last_issued.load(std::memory_order_relaxed)));
  const int64_t capped = std::min(target, cap_ms);
  if (capped <= reserved) return Status::Ok();

  const Status saved =
      store->Save(PersistedState{state->node_id.load(std::memory_order_relaxed), capped});
  if (!saved.ok()) {
    state->reservation_failures.fetch_add(1, std::memory_order_relaxed);
    return saved;
  }
  state->reservation_writes.fetch_add(1, std::memory_order_relaxed);
  // Release: whoever sees the new bound also sees that the write completed.
  // A maximum, not a store: WAL replay (RaiseFloor) may have raised it too.
  int64_t seen = reserved;
  while (seen < capped &&
         !state->reserved_until_ms.compare_exchange_weak(seen, capped, std::memory_order_acq_rel)) {
  }
  return Status::Ok();
}

}  // namespace snowflake
