// node_lease.h: holding a node id under an etcd lease, and the node id's
// high-water mark.
//
// Owns: the registry's keys and the claim, keep-alive, high-water and
// release steps (README "Fleets and node ids"):
//
//   <prefix>/nodes/<0042>/holder      leased; who holds node id 42 (JSON)
//   <prefix>/nodes/<0042>/high_water  not leased; the highest millisecond
//                                     any holder of node id 42 reserved
//
// Why it cannot repeat an ID: a holder raises high_water in a transaction
// that succeeds only while its holder key carries its lease, and issues
// nothing past what it wrote. A claim succeeds only if no holder key
// exists, and reads high_water in the same transaction; the new holder
// starts above it. etcd orders the two transactions, so the new holder sees
// every millisecond the old one could issue, whatever the clocks, state
// files or WAL of either say.
//
// Fencing: etcd restarts a lease's TTL when a keep-alive arrives, which is
// after it was sent; so the lease cannot expire anywhere before send time +
// TTL. valid_until_ms() is that, on the monotonic clock, less a margin;
// the caller stops issuing past it.
//
// Costs that stay flat with the fleet (docs/fleets.md, "Capacity and
// scale"): a claim without a node id asked for is one transaction that
// takes the first free id of up to kClaimChainLength candidates (nested
// transactions, etcd 3.3 and later), and raises the mark in the same
// request; servers that start at once spread over random candidates once
// they see each other's claims, instead of all racing for the lowest free
// id. The mark is raised ahead of need by a lead (HighWaterLeadMs), so that
// a busy server writes it every few seconds rather than every second, and
// lowered back to what was really reserved when the id is released.
//
// Threading: one thread at a time (the coordinator worker). The values a
// caller publishes to other processes (node id, valid_until, high water)
// are copied out by the caller.
#ifndef SNOWFLAKE_CORE_NODE_LEASE_H
#define SNOWFLAKE_CORE_NODE_LEASE_H

#include <cstdint>
#include <string>
#include <vector>

#include "clock.h"
#include "etcd_api.h"
#include "status.h"

namespace snowflake {

// Who holds a node id: the holder key's value.
struct HolderIdentity {
  std::string host;  // the server's host name
  int32_t port = 0;
  uint64_t system_identifier = 0;
  std::string data_directory;
  int64_t started_at_ms = 0;  // when this run of the server started (Unix ms)
};

// JSON (json.h). Decode is false for a value that is not a holder.
std::string EncodeHolder(const HolderIdentity& holder);
bool DecodeHolder(const std::string& json, HolderIdentity* holder);
// Same server (host, port, system identifier, data directory), any run.
bool SameServer(const HolderIdentity& a, const HolderIdentity& b);

struct NodeLeaseOptions {
  std::string prefix = "/snowflake";  // no trailing '/'
  int64_t ttl_ms = 30000;
};

// The margin valid_until_ms() keeps before the lease could expire: a fifth
// of the TTL, at least a second.
int64_t FenceMarginMs(int64_t ttl_ms);
// How long one etcd request may wait for an answer before the client moves
// on to the next endpoint: a fifth of the TTL, within [0.5 s, 5 s].
int64_t EtcdRequestTimeoutMs(int64_t ttl_ms);
// The interval between keep-alives: as late as leaves the fence room for
// two timed-out requests after it (2 * EtcdRequestTimeoutMs), and at least
// a third of the TTL. 14 s for a TTL of 30 s, 2 s for 5 s.
int64_t KeepAliveIntervalMs(int64_t ttl_ms);
// How far ahead of what the server reserves its mark is raised: a new
// holder of a node id whose holder died without releasing it waits for the
// old lease to expire, at least TTL - KeepAliveIntervalMs(), and the lead
// plus a reservation window fits in that wait (so its clock has passed the
// mark when it starts); at most 10 s. 10 s for a TTL of 30 s, 1 s for 5 s.
int64_t HighWaterLeadMs(int64_t ttl_ms);

// How long a request sent while claiming (nothing held yet, so no fence
// to keep) may wait for one endpoint: half the TTL, within [1 s, 15 s]. A
// renewal's requests wait EtcdRequestTimeoutMs().
int64_t ClaimRequestTimeoutMs(int64_t ttl_ms);

// Candidates one claim transaction tries, in order (nested transactions).
inline constexpr int kClaimChainLength = 16;

// The registry's key names.
std::string HolderKey(const std::string& prefix, int32_t node_id);
std::string HighWaterKey(const std::string& prefix, int32_t node_id);
// high_water as stored: 13 decimal digits, zero-padded, so that etcd's
// byte-wise comparison of values orders them as numbers.
std::string EncodeHighWater(int64_t ms);
bool DecodeHighWater(const std::string& value, int64_t* ms);

struct ClaimOutcome {
  int32_t node_id = -1;        // kOk: the node id now held
  int64_t high_water_ms = -1;  // kOk: its high-water mark when claimed; -1: none yet
  HolderIdentity holder;       // kNodeIdTaken: who holds the id asked for
  int64_t holder_lease_id = 0;
  int64_t holder_ttl_left_s = -1;  // kNodeIdTaken: its lease's TTL left; -1: unknown
};

class NodeLease {
 public:
  NodeLease(EtcdApi* etcd, Clock* monotonic, NodeLeaseOptions options, HolderIdentity self);

  // Grants a lease when none is held, then claims node_id when it is >= 0;
  // otherwise preferred when it is >= 0 and free, else a free id: the lowest
  // when no other server is claiming at the same time, else one of random
  // free candidates. kOk: held (outcome->node_id, ->high_water_ms: the mark
  // as it stood before the claim). kNodeIdTaken: another lease holds the id
  // asked for (outcome->holder). kNoFreeNodeId, kUnavailable, kEtcdError.
  // Already holding: kOk with the held id.
  // first_mark_ms >= 0: the claim also raises the id's mark to it where the
  // mark stands below (high_water_ms() says what etcd confirmed).
  Status Claim(int32_t node_id, int32_t preferred, ClaimOutcome* outcome,
               int64_t first_mark_ms = -1);

  // One keep-alive round: the keep-alive, then (a node id held, and
  // confirm_holder) a read of its holder key. Only kOk moves
  // valid_until_ms() on: a keep-alive whose holder read got no answer
  // returns that error and leaves the fence. kLeaseLost when etcd says the
  // lease is gone or the holder key is not ours (the claim is dropped:
  // Claim() again). Without confirm_holder the keep-alive alone moves the
  // fence: the caller knows the holder key was ours recently
  // (holder_confirmed_ms()).
  Status KeepAlive(bool confirm_holder = true);

  // Raises the node id's high-water mark to ms (never lowers it), in a
  // transaction that checks our holder key still carries our lease and that
  // the mark is as we last saw it (so a late replay of an older write fails).
  // kLeaseLost when it does not (the claim is dropped); kSecondHolder when
  // the holder key is ours but the mark stands above anything this process
  // ever wrote: another process holds the id under this very lease (a
  // cloned or restored virtual machine); the claim is dropped and the lease
  // revoked, so both stop. kUnavailable when no answer came (it may or may
  // not have been applied: high_water_ms() stays at the last confirmed
  // value).
  Status RaiseHighWater(int64_t ms);

  // The seconds left of another holder's lease (for the log), -1 when it
  // no longer exists.
  Status LeaseTimeToLive(int64_t lease_id, int64_t* ttl_left_s) {
    return etcd_->LeaseTimeToLive(lease_id, ttl_left_s);
  }

  // Revokes the lease, which deletes the holder key (a clean shutdown: the
  // next holder need not wait for the TTL). valid_until_ms() is 0 at once.
  // issued_through_ms >= 0: no ID was or will be issued past it (the
  // caller's durable reservation, with issuing stopped): the mark, raised
  // ahead by a lead, comes back down to it first (never below it, nor below
  // the mark as this holder found it), so that the next holder starts there
  // rather than a lead ahead of its clock.
  Status Release(int64_t issued_through_ms = -1);

  // Takes over a lease this server's previous worker held (a crash restart:
  // the postmaster remembers the id). Claim() confirms it is alive first and
  // finds the holder key already ours.
  void AdoptLease(int64_t lease_id) {
    lease_id_ = lease_id;
    lease_ttl_ms_ = 0;
  }

  bool held() const { return node_id_ >= 0; }
  int32_t node_id() const { return node_id_; }
  int64_t lease_id() const { return lease_id_; }
  // The high-water mark etcd holds for our node id, as last confirmed.
  int64_t high_water_ms() const { return high_water_ms_; }
  // Monotonic ms until which issuing is safe; 0 when nothing is held.
  int64_t valid_until_ms() const { return held() ? valid_until_ms_ : 0; }
  // Monotonic send time of the last lease grant or keep-alive: the fence
  // counts from it, and so does the next keep-alive.
  int64_t renewed_ms() const { return renewed_ms_; }
  // Monotonic ms of the last request that found the holder key ours (the
  // claim, a mark raise, a holder read); 0 when nothing is held.
  int64_t holder_confirmed_ms() const { return held() ? holder_confirmed_ms_ : 0; }
  const HolderIdentity& self() const { return self_; }

 private:
  Status EnsureLease();
  // The transaction that writes ms as the mark (WriteMarkTxn in node_lease.cpp).
  EtcdTxn WriteMarkTxn(int64_t ms) const;
  // Claim() once the old id (if any) is given back.
  Status ClaimWithLease(int32_t node_id, int32_t preferred, ClaimOutcome* outcome,
                        int64_t first_mark_ms);
  // Claims the first free id of candidates in one transaction. kNodeIdTaken
  // when all were held: *view has each one's holder key (one candidate:
  // with its value, in outcome->holder).
  Status TryClaim(const std::vector<int32_t>& candidates, int64_t first_mark_ms,
                  ClaimOutcome* outcome, std::vector<EtcdKeyValue>* view);
  Status TryClaim(int32_t node_id, int64_t first_mark_ms, ClaimOutcome* outcome);
  // The claim of node_id went through (or was ours already): hold it, with
  // its mark as read in the claim (mark: the mark key, or nothing).
  Status Hold(int32_t node_id, const std::vector<EtcdKeyValue>& mark, ClaimOutcome* outcome);
  // Any free id (see Claim()).
  Status ClaimFree(int64_t first_mark_ms, ClaimOutcome* outcome);
  // Reads which ids are held (keys only), into known_taken_; *ours: an id
  // held under our lease already (a claim whose answer was lost), or -1;
  // *claimed_since: ids claimed after since_revision.
  Status ReadHolders(int64_t since_revision, int32_t* ours, int* claimed_since);
  // Up to kClaimChainLength ids not known to be held: the lowest ones, or
  // from a random one on (wrapping).
  std::vector<int32_t> Candidates(bool random);
  void Drop();

  EtcdApi* etcd_;
  Clock* monotonic_;
  NodeLeaseOptions options_;
  HolderIdentity self_;
  std::string self_json_;
  int64_t lease_id_ = 0;
  int64_t lease_ttl_ms_ = 0;
  int32_t node_id_ = -1;
  int64_t high_water_ms_ = -1;
  // The mark as it stood when this holder claimed the id (-1: none): a
  // release never lowers the mark below it.
  int64_t claimed_mark_ms_ = -1;
  // The highest mark written, confirmed or not: a write whose answer was
  // lost may have been applied, and later writes never go below it.
  int64_t high_water_attempted_ms_ = -1;
  // The mark's mod_revision as last seen (0: no mark): every write compares it.
  int64_t high_water_mod_revision_ = 0;
  int64_t valid_until_ms_ = 0;
  int64_t holder_confirmed_ms_ = 0;
  int64_t renewed_ms_ = 0;  // monotonic send time of the last grant or keep-alive
  // ClaimFree()'s view of which ids are held, as last seen.
  std::vector<bool> known_taken_;
  uint64_t random_state_ = 0;  // Candidates(): a splitmix64 sequence
  // A claim transaction got no answer: it may have taken an id.
  bool claim_answer_lost_ = false;
};

// One node id of the registry, for snowflake_fleet(). Plain data: the
// PostgreSQL glue copies it into a tuple.
struct FleetEntry {
  int32_t node_id = -1;
  bool held = false;
  HolderIdentity holder;          // held only
  int64_t lease_id = 0;           // held only
  int64_t lease_ttl_left_s = -1;  // held only; -1 unknown
  int64_t high_water_ms = -1;     // -1: none
};

// Every node id that has a holder or a high-water mark, in node id order.
Status ReadFleet(EtcdApi* etcd, const std::string& prefix, std::vector<FleetEntry>* fleet);

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_NODE_LEASE_H
