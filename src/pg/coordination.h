/*
 * coordination.h: node ids leased from etcd (docs/fleets.md).
 *
 * Owns: the coordination part of shared memory (CoordinationShared), the
 * lease loop that the reservation writer runs (claim, keep-alive, the node
 * id's high-water mark, release at shutdown), the check every call makes
 * before it issues (CheckNodeLease), and a caller's wait for the writer to
 * raise the high-water mark.
 *
 * Locking rules:
 *   - Only the reservation writer talks to etcd and writes the atomics
 *     below; every other process reads them without a lock.
 *   - valid_until_ms is the fence: the monotonic time (CLOCK_BOOTTIME, ms)
 *     until which this server may issue. The writer publishes it with
 *     release order after the node id and the floor (SetNodeId), so a caller
 *     that reads it (acquire) and finds it in the future sees both.
 *   - high_water_ms caps every reservation (RenewReservationLocked): the
 *     mark of the node id held, published only once etcd confirmed it; -1
 *     while none is held. While one node id is held it only grows. A claim
 *     sets it to the claimed id's mark, which may be lower than the mark of
 *     an id held before (the floor goes above both first, AfterClaim); a
 *     lost lease sets -1; both under the renewal lock. The writer's exit
 *     sets -1 without it (the lock may be the one it was holding when it
 *     was told to die): a renewal that read the old mark still stays below
 *     it, and the next holder starts above it.
 *   - The text fields (why the lease is not held, and by whom) are written
 *     by the writer under mutex and copied out under it.
 */
#ifndef SNOWFLAKE_PG_COORDINATION_H
#define SNOWFLAKE_PG_COORDINATION_H

#include <atomic>
#include <cstdint>

#include "../core/clock_guard.h"

/* Where the node-id lease stands, for errors and snowflake_status(). */
enum class LeaseStatus : int32_t {
  kOff = 0,         /* no snowflake.etcd_endpoints */
  kStarting = 1,    /* no answer from etcd yet (or a standby: nothing is claimed) */
  kHeld = 2,        /* held, confirmed within the fence */
  kTaken = 3,       /* another server holds the node id asked for */
  kUnavailable = 4, /* etcd did not answer; issuing stops at the fence */
  kNoFreeNodeId = 5,
  kEtcdError = 6, /* etcd refused (authentication, TLS, configuration) */
  kStopped = 7,   /* released at shutdown */
};

struct CoordinationShared {
  bool enabled;                              /* set by the postmaster before any backend exists */
  std::atomic<int32_t> status;               /* a LeaseStatus */
  std::atomic<int64_t> valid_until_ms;       /* the fence, monotonic ms; 0: do not issue */
  std::atomic<int64_t> high_water_ms;        /* confirmed in etcd for our node id; -1: none */
  std::atomic<int64_t> high_water_wanted_ms; /* a caller needs this much (the writer raises it) */
  std::atomic<int64_t> lease_id;
  std::atomic<int32_t> preferred_node_id;  /* an assigned id from the state file; -1: none */
  std::atomic<int32_t> taken_node_id;      /* kTaken: the node id asked for */
  std::atomic<Latch*> writer_latch;        /* the reservation writer's, to wake it */
  std::atomic<uint64_t> claims;            /* statistics: node ids claimed */
  std::atomic<uint64_t> leases_lost;       /* ... leases lost while held */
  std::atomic<uint64_t> fence_expirations; /* ... fences run out while held */
  slock_t mutex;
  char detail[768]; /* kTaken: the holder; kUnavailable/kEtcdError: what etcd said */
};

/* The monotonic clock of the fence (CLOCK_BOOTTIME, shared_state.h). */
extern snowflake::MonotonicClock snowflake_monotonic_clock;

/* Postmaster, at shared memory set-up. */
void InitCoordinationShared(CoordinationShared* coordination, int32_t preferred_node_id,
                            int64_t remembered_lease_id);

[[noreturn]] void ReportNodeLeaseNotHeld(const CoordinationShared* coordination);

/*
 * Raises the ERROR that stops issuing when coordination is on and this
 * server does not hold its node id now. Inline: it is on the hot path (one
 * atomic load and one read of the monotonic clock).
 */
inline void CheckNodeLease(const CoordinationShared* coordination) {
  if (likely(!coordination->enabled)) return;
  const int64_t valid_until = coordination->valid_until_ms.load(std::memory_order_acquire);
  if (unlikely(snowflake_monotonic_clock.NowMs() >= valid_until))
    ReportNodeLeaseNotHeld(coordination);
}

/*
 * A caller needs reservations up to needed_ms, past the high-water mark:
 * asks the writer to raise it and waits (interruptibly) until it did.
 * False when it did not in time, or the lease is not held.
 */
bool WaitForHighWater(struct SnowflakeShared* shared, int64_t needed_ms);

/* The reservation writer's part (reservation_worker.cpp). */
void CoordinationWriterStart(struct SnowflakeShared* shared);
/* One round: claim, keep alive, raise the high-water mark as needed. */
void CoordinationWriterStep(struct SnowflakeShared* shared, int64_t now_ms);

/* What snowflake_status() shows in its state column while the lease is not held. */
const char* LeaseStatusName(LeaseStatus status);

#endif /* SNOWFLAKE_PG_COORDINATION_H */
