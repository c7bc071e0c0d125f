// lease_keeper.h: the holder's side of a node-id lease, round by round.
//
// Owns: the schedule (when to claim, to keep the lease alive, to raise the
// node id's high-water mark), the choices between rounds (which id to ask
// for, how long to wait for this server's previous run to let go of its id)
// and the first window after a claim. NodeLease (node_lease.h) sends the
// requests. The reservation writer runs a LeaseKeeper (src/pg/coordination.cpp),
// and so does every simulated server of the fleet simulator (bench/fleet/),
// so that what the simulator measures is what servers send etcd.
//
// The host owns everything else: the generator state other processes read,
// the renewal lock, the fence other processes check, the log.
//
// Threading: one thread (the reservation writer). The host's callbacks run
// on it, inside Step(); OnClaimedLocked() runs with the host's renewal lock
// held (LockRenewals()), the others without.
#ifndef SNOWFLAKE_CORE_LEASE_KEEPER_H
#define SNOWFLAKE_CORE_LEASE_KEEPER_H

#include <cstdint>

#include "generator.h"
#include "node_lease.h"
#include "status.h"

namespace snowflake {

// What the keeper tells its host. Every callback may read the NodeLease.
class LeaseKeeperHost {
 public:
  virtual ~LeaseKeeperHost() = default;

  // The renewal lock: no reservation may grow against the old node id's
  // mark while a claim switches node ids.
  virtual void LockRenewals() = 0;
  virtual void UnlockRenewals() = 0;

  // A claim succeeded and its first window is confirmed in etcd: under the
  // renewal lock, switch the generator to outcome.node_id above
  // start_after_ms (SetNodeId) and publish the lease's mark.
  virtual void OnClaimedLocked(const ClaimOutcome& outcome, int64_t start_after_ms) = 0;
  // ... and then, without the lock: publish the rest, log.
  virtual void OnClaimed(const ClaimOutcome& outcome) = 0;

  // A claim failed. kNodeIdTaken: outcome has the holder, its lease's TTL
  // left (holder_ttl_left_s) and whether it is this server's previous run.
  virtual void OnClaimFailed(const Status& status, const ClaimOutcome& outcome,
                             bool previous_run) = 0;

  // The lease on node_id is gone (expired, revoked, the holder key taken):
  // stop issuing at once; the keeper claims again at the next step.
  virtual void OnLeaseLost(int32_t node_id) = 0;

  // Another process raised node_id's mark under this server's own lease (a
  // copy of this server's memory: a cloned or restored virtual machine).
  // The lease is revoked already, and OnLeaseLost() came first.
  virtual void OnSecondHolder(int32_t node_id) = 0;

  // etcd did not answer (or refused) a keep-alive or a mark raise: the
  // fence runs out unless a later round succeeds.
  virtual void OnRoundFailed(const Status& status, int32_t node_id) = 0;

  // A keep-alive succeeded.
  virtual void OnKeptAlive(int32_t node_id) = 0;

  // The mark was raised (high_water_ms() of the lease).
  virtual void OnHighWaterRaised() = 0;
};

// One step's view of the server.
struct LeaseKeeperInput {
  int64_t now_ms = 0;                 // the wall clock IDs are stamped with (layout ms)
  int64_t monotonic_ms = 0;           // the fence's clock
  int64_t wanted_high_water_ms = -1;  // a caller needs the mark this high; -1: none
  int32_t preferred_node_id = -1;     // an assigned id to ask for first (the state file's); -1
};

class LeaseKeeper {
 public:
  // fixed_node_id: snowflake.node_id, or -1 when etcd assigns one.
  LeaseKeeper(NodeLease* lease, GeneratorState* generator, LeaseKeeperHost* host,
              int32_t fixed_node_id, int64_t ttl_ms);

  // One round: a claim when nothing is held and one is due; otherwise a
  // keep-alive when due, and a mark raise when the generator (or a caller)
  // needs one. Sends nothing when nothing is due.
  void Step(const LeaseKeeperInput& input);

  // The next monotonic time a step has something to send, for the caller's
  // sleep (a caller's wanted mark, or the generator nearing the mark, can
  // make one due sooner).
  int64_t next_due_ms() const;

  NodeLease* lease() const { return lease_; }

 private:
  void Claim(const LeaseKeeperInput& input);
  void AfterClaim(const ClaimOutcome& outcome, const LeaseKeeperInput& input);
  void KeepAliveIfDue(int64_t monotonic_ms);
  void RaiseHighWaterIfNeeded(const LeaseKeeperInput& input);
  void RoundFailed(const Status& status, int32_t node_id);
  // ms plus the mark's lead, within the layout.
  int64_t WithLead(int64_t ms) const;
  // A pseudo-random number, for spreading retries.
  uint64_t NextRandom();

  NodeLease* lease_;
  GeneratorState* generator_;
  LeaseKeeperHost* host_;
  int32_t fixed_node_id_;
  int64_t ttl_ms_;
  int64_t keepalive_interval_ms_;  // KeepAliveIntervalMs(ttl_ms_)
  int64_t lead_ms_;                // HighWaterLeadMs(ttl_ms_)
  int64_t next_claim_ms_ = 0;      // monotonic: the next claim attempt
  int64_t next_keepalive_ms_ = 0;  // monotonic: the next keep-alive
  // An assigned node id held by this same server's previous run (killed
  // without releasing it): its lease expires within the TTL, so the id is
  // kept by waiting until then rather than taking another. Monotonic ms; 0:
  // not waiting.
  int64_t own_run_wait_until_ms_ = 0;
  // The generator's last_issued at the last keep-alive (KeepAliveIfDue()).
  uint64_t last_issued_at_keepalive_ = 0;
  int consecutive_failures_ = 0;  // claim rounds failed in a row
  uint64_t random_state_ = 0;     // NextRandom()
};

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_LEASE_KEEPER_H
