// reservation.h: keeping reserved_until durable and ahead of demand.
//
// Owns: the reservation window policy and the renewal step (DESIGN.md
// section 3). An ID may carry millisecond m only if m <= reserved_until, and
// reserved_until grows only after the store has made the new value durable,
// so every ID issued before a crash is at or below what the next start reads.
//
// Locking rules: RenewReservation() must be called by one renewer at a time
// (PostgreSQL: the snowflake LWLock in exclusive mode; tests: one thread or a
// mutex). Readers of reserved_until need no lock (see generator.h).
#ifndef SNOWFLAKE_CORE_RESERVATION_H
#define SNOWFLAKE_CORE_RESERVATION_H

#include <cstdint>

#include "generator.h"
#include "layout.h"
#include "state_store.h"
#include "status.h"

namespace snowflake {

// A renewal reserves this far past the clock ...
inline constexpr int64_t kReserveAheadMs = 1500;
// ... or, when IDs run ahead of the clock (borrowing, or continuing after a
// stored reservation at start), as far past what is needed as the IDs have
// moved since the start, at least this and at most kReserveAheadMs. Past IDs
// that stay ahead at the full rate (they move one millisecond per clock
// millisecond), a full window keeps the writes at about one a second; right
// after a start it is this small margin, so that a quick restart with few IDs
// cannot push the next start's floor further ahead of the clock each time.
inline constexpr int64_t kReserveAheadOfNeedMs = 100;
// Renewal ahead of need continues while an ID was issued within this long, so
// that calls at a low rate do not each wait for a write; an idle server
// stops writing after it.
inline constexpr int64_t kKeepRenewingMs = 60000;
// Renewal ahead of need starts once less than this is left, so the headroom
// stays between 0.5 s and 1.5 s and one renewal (one fsync) covers about
// one second of IDs.
inline constexpr int64_t kRenewBelowMs = 500;

// The reserved_until a renewal should write:
//   max(now + kReserveAheadMs, ahead + margin), ahead = max(last issued, needed),
//   margin = ahead - start_ms within [kReserveAheadOfNeedMs, kReserveAheadMs],
// capped at the end of the layout. start_ms is the floor this run started
// from (the default: no progress, the smallest margin). In normal operation
// that is the clock plus a window; while IDs run ahead of the clock it stays
// as close to them as their progress allows.
int64_t ReservationTarget(int64_t now_ms, int64_t last_issued_ms, int64_t needed_ms,
                          int64_t start_ms = INT64_MAX);

// Whether a renewal ahead of need is due: an ID was issued since start-up
// (a server that just started writes nothing), the newest within
// kKeepRenewingMs (an idle server stops writing), and less than
// kRenewBelowMs is left ahead of max(clock, last issued).
bool ShouldRenewAhead(const GeneratorState& state, int64_t now_ms);

// Makes reserved_until >= needed_ms durable, writing the store only if no
// other renewer already did. On failure reserved_until is unchanged, the
// failure is counted, and the store's status is returned.
// cap_ms: reserved_until never goes past it (with etcd, the node id's
// high-water mark, node_lease.h); a needed_ms past it is kBeyondHighWater,
// with nothing written.
Status RenewReservation(GeneratorState* state, StateStore* store, int64_t now_ms, int64_t needed_ms,
                        int64_t cap_ms = kMaxTimestampMs);

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_RESERVATION_H
