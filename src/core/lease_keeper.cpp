// lease_keeper.cpp: the holder's schedule and choices. See lease_keeper.h.
#include "lease_keeper.h"

#include <algorithm>
#include <functional>
#include <string>

#include "reservation.h"
#include "splitmix64.h"

namespace snowflake {

LeaseKeeper::LeaseKeeper(NodeLease* lease, GeneratorState* generator, LeaseKeeperHost* host,
                         int32_t fixed_node_id, int64_t ttl_ms)
    : lease_(lease),
      generator_(generator),
      host_(host),
      fixed_node_id_(fixed_node_id),
      ttl_ms_(ttl_ms),
      keepalive_interval_ms_(KeepAliveIntervalMs(ttl_ms)),
      lead_ms_(HighWaterLeadMs(ttl_ms)) {}

int64_t LeaseKeeper::WithLead(int64_t ms) const { return std::min(ms + lead_ms_, kMaxTimestampMs); }

// Seeded from the server's identity (different on every server of a fleet,
// so that their retries spread).
uint64_t LeaseKeeper::NextRandom() {
  if (random_state_ == 0) {
    const HolderIdentity& self = lease_->self();
    random_state_ = (self.system_identifier ^ static_cast<uint64_t>(self.started_at_ms) ^
                     (static_cast<uint64_t>(self.port) << 48) ^
                     std::hash<std::string>{}(self.host + self.data_directory)) |
                    1;
  }
  return SplitMix64Next(&random_state_);
}

void LeaseKeeper::Step(const LeaseKeeperInput& input) {
  if (!lease_->held()) {
    if (input.monotonic_ms >= next_claim_ms_) Claim(input);
    return;
  }
  KeepAliveIfDue(input.monotonic_ms);
  if (lease_->held()) RaiseHighWaterIfNeeded(input);
}

int64_t LeaseKeeper::next_due_ms() const {
  return lease_->held() ? next_keepalive_ms_ : next_claim_ms_;
}

void LeaseKeeper::Claim(const LeaseKeeperInput& input) {
  const int32_t current = generator_->node_id.load();
  const int32_t preferred = IsValidNodeId(current) ? current : input.preferred_node_id;
  // The claim raises the mark to where the first window (AfterClaim) will
  // most likely need it, plus the lead, in the same request; only a mark
  // that stands ahead of this server's clock needs a raise of its own.
  const int64_t last_ms = LastIssuedMs(generator_->last_issued.load());
  const int64_t first_mark = WithLead(std::max(input.now_ms, last_ms) + kReserveAheadMs);
  ClaimOutcome outcome;
  Status status;
  bool previous_run = false;
  if (fixed_node_id_ >= 0) {
    status = lease_->Claim(fixed_node_id_, -1, &outcome, first_mark);
    previous_run =
        status.code == StatusCode::kNodeIdTaken && SameServer(outcome.holder, lease_->self());
  } else if (preferred >= 0 &&
             (own_run_wait_until_ms_ == 0 || input.monotonic_ms < own_run_wait_until_ms_)) {
    status = lease_->Claim(preferred, -1, &outcome, first_mark);
    if (status.code == StatusCode::kNodeIdTaken) {
      previous_run = SameServer(outcome.holder, lease_->self());
      if (previous_run && own_run_wait_until_ms_ == 0)
        own_run_wait_until_ms_ = input.monotonic_ms + ttl_ms_ + 1000;
      if (!previous_run) status = lease_->Claim(-1, -1, &outcome, first_mark);
    }
  } else {
    status = lease_->Claim(-1, preferred, &outcome, first_mark);
  }

  if (status.ok()) {
    AfterClaim(outcome, input);
    return;
  }
  // The next try: a second later (a third of the TTL if shorter), spread
  // over half to one and a half times that so that servers which failed
  // together do not all come back together; and while etcd does not
  // answer, twice as long after each failure in a row, up to 8 s, so that
  // a fleet restarting into an overloaded etcd does not keep it overloaded
  // with retries (etcd's own clients back off the same way).
  consecutive_failures_ = std::min(consecutive_failures_ + 1, 16);
  int64_t delay_ms = std::min<int64_t>(1000, ttl_ms_ / 3);
  if (status.code == StatusCode::kUnavailable || status.code == StatusCode::kEtcdError)
    delay_ms = std::min<int64_t>(delay_ms << std::min(consecutive_failures_ - 1, 3), 8000);
  next_claim_ms_ = input.monotonic_ms + delay_ms / 2 +
                   static_cast<int64_t>(NextRandom() % static_cast<uint64_t>(delay_ms + 1));
  if (status.code == StatusCode::kNodeIdTaken && outcome.holder_lease_id != 0)
    (void)lease_->LeaseTimeToLive(outcome.holder_lease_id, &outcome.holder_ttl_left_s);
  // This server's own previous run holds the id (killed without releasing
  // it): that run will not release it, its lease just runs out; ask again
  // when it has (etcd's time to live is whole seconds, rounded down), not
  // every second (a killed fleet restarting would poll etcd for a TTL).
  if (previous_run && outcome.holder_ttl_left_s >= 0) {
    next_claim_ms_ =
        std::max(next_claim_ms_, input.monotonic_ms + (outcome.holder_ttl_left_s + 1) * 1000);
    if (own_run_wait_until_ms_ != 0)
      next_claim_ms_ = std::min(next_claim_ms_, own_run_wait_until_ms_);
  }
  host_->OnClaimFailed(status, outcome, previous_run);
}

// A claim succeeded: the floor above the node id's high-water mark, then
// the id, then (the host) the fence.
void LeaseKeeper::AfterClaim(const ClaimOutcome& outcome, const LeaseKeeperInput& input) {
  // A claim does not renew the lease, and a lease that waited for its id
  // (another server held it) may be near its fence: renew it first if its
  // renewal is due, so that the fence published with the claim is a whole
  // one (the claim itself just found the holder key ours).
  if (input.monotonic_ms >= lease_->renewed_ms() + keepalive_interval_ms_) {
    const Status kept = lease_->KeepAlive(false);
    if (kept.code == StatusCode::kLeaseLost) {
      RoundFailed(kept, outcome.node_id);
      return;
    }
  }
  // Under the renewal lock, so that no renewal grows reserved_until against
  // the old node id's mark meanwhile. reserved_until may still be a window
  // of another node id this server held before (an assigned id lost and
  // replaced): no ID of the new id may use it, so the floor goes above it
  // as well as above the new id's mark.
  host_->LockRenewals();
  const int64_t mark = outcome.high_water_ms;
  const int64_t reserved = generator_->reserved_until_ms.load();
  const int64_t last_ms = LastIssuedMs(generator_->last_issued.load());
  const int64_t start_after =
      generator_->node_id.load() == outcome.node_id ? mark : std::max(mark, reserved);
  // The first window, confirmed in etcd before it can be used.
  const int64_t first_window =
      std::min(std::max({input.now_ms, last_ms, start_after}) + kReserveAheadMs, kMaxTimestampMs);
  // Usually raised by the claim already (Claim()); otherwise now, with the lead.
  const Status raised = first_window <= lease_->high_water_ms()
                            ? Status::Ok()
                            : lease_->RaiseHighWater(WithLead(first_window));
  if (raised.code == StatusCode::kLeaseLost || raised.code == StatusCode::kSecondHolder) {
    host_->UnlockRenewals();
    RoundFailed(raised, outcome.node_id);
    return;
  }
  host_->OnClaimedLocked(outcome, start_after);
  host_->UnlockRenewals();
  own_run_wait_until_ms_ = 0;
  consecutive_failures_ = 0;
  // Counted from the lease's last renewal (the claim may have used a lease
  // renewed a little earlier): a little early, never late.
  next_keepalive_ms_ = std::min(input.monotonic_ms, lease_->renewed_ms()) + keepalive_interval_ms_;
  last_issued_at_keepalive_ = generator_->last_issued.load();
  host_->OnClaimed(outcome);
}

// The holder key is read with the keep-alive only when IDs were issued
// since the last keep-alive and nothing found the key ours for a whole
// interval: a busy server's mark raises compare it every few seconds, and
// an idle one issues nothing that a lost key could repeat (its next ID
// comes after a keep-alive that reads it, or a mark raise).
void LeaseKeeper::KeepAliveIfDue(int64_t monotonic_ms) {
  if (monotonic_ms < next_keepalive_ms_) return;
  const int32_t node_id = lease_->node_id();
  const uint64_t last_issued = generator_->last_issued.load();
  const bool confirm_holder =
      last_issued != last_issued_at_keepalive_ &&
      monotonic_ms - lease_->holder_confirmed_ms() >= keepalive_interval_ms_;
  const Status status = lease_->KeepAlive(confirm_holder);
  if (status.ok()) {
    last_issued_at_keepalive_ = last_issued;
    next_keepalive_ms_ = monotonic_ms + keepalive_interval_ms_;
    host_->OnKeptAlive(node_id);
  } else {
    // Sooner than a full interval: the fence is running out.
    next_keepalive_ms_ = monotonic_ms + std::min<int64_t>(500, ttl_ms_ / 10);
    RoundFailed(status, node_id);
  }
}

// The high-water mark: ahead of what the writer is about to reserve, or of
// what a caller needs.
void LeaseKeeper::RaiseHighWaterIfNeeded(const LeaseKeeperInput& input) {
  const int64_t last_ms = LastIssuedMs(generator_->last_issued.load());
  const int64_t start_ms = LastIssuedMs(generator_->start_last_issued.load());
  int64_t target = -1;
  if (input.wanted_high_water_ms > lease_->high_water_ms())
    target = ReservationTarget(input.now_ms, last_ms, input.wanted_high_water_ms, start_ms);
  else if (ShouldRenewAhead(*generator_, input.now_ms))
    target = ReservationTarget(input.now_ms, last_ms, -1, start_ms);
  if (target <= lease_->high_water_ms()) return;
  const int32_t node_id = lease_->node_id();
  // Ahead by the lead: the next raise is due only once the reservations
  // catch up with it (HighWaterLeadMs(): why a new holder does not pay for it).
  const Status status = lease_->RaiseHighWater(WithLead(target));
  if (status.ok())
    host_->OnHighWaterRaised();
  else
    RoundFailed(status, node_id);
}

void LeaseKeeper::RoundFailed(const Status& status, int32_t node_id) {
  if (status.code == StatusCode::kLeaseLost || status.code == StatusCode::kSecondHolder) {
    host_->OnLeaseLost(node_id);  // first: issuing stops at once
    if (status.code == StatusCode::kSecondHolder) host_->OnSecondHolder(node_id);
    next_claim_ms_ = 0;
    return;
  }
  host_->OnRoundFailed(status, node_id);
}

}  // namespace snowflake
