// node_lease.cpp: the claim, keep-alive, high-water and release steps. See
// node_lease.h for why they cannot repeat an ID.
#include "node_lease.h"

#include <algorithm>
#include <cerrno>
#include <cinttypes>
#include <cstdio>
#include <cstdlib>
#include <cstring>

#include "json.h"
#include "layout.h"
#include "splitmix64.h"

namespace snowflake {

namespace {

// Claim transactions one Claim() of a free id sends before it gives up for
// this round (the caller tries again later).
constexpr int kFreeClaimAttempts = 4;
// Attempts at random candidates after which the whole registry is read, so
// that the last servers of a storm find the last free ids.
constexpr int kRandomAttemptsBeforeRead = 2;

std::string NodeDirectory(const std::string& prefix, int32_t node_id) {
  char id[16];
  snprintf(id, sizeof id, "%04d", static_cast<int>(node_id));
  return prefix + "/nodes/" + id;
}

// "<prefix>/nodes/0042/holder" -> 42 and "holder"; false for any other key.
bool ParseRegistryKey(const std::string& prefix, const std::string& key, int32_t* node_id,
                      std::string* leaf) {
  const std::string nodes = prefix + "/nodes/";
  if (key.compare(0, nodes.size(), nodes) != 0) return false;
  const std::string rest = key.substr(nodes.size());
  const size_t slash = rest.find('/');
  if (slash != 4) return false;
  int32_t id = 0;
  for (size_t i = 0; i < 4; ++i) {
    if (rest[i] < '0' || rest[i] > '9') return false;
    id = id * 10 + (rest[i] - '0');
  }
  if (!IsValidNodeId(id)) return false;
  *node_id = id;
  *leaf = rest.substr(slash + 1);
  return true;
}

}  // namespace

std::string EncodeHolder(const HolderIdentity& holder) {
  Json object = Json::object();
  object["host"] = holder.host;
  object["port"] = holder.port;
  // uint64: above what JSON readers (JavaScript) hold exactly; a string.
  object["system_identifier"] = std::to_string(holder.system_identifier);
  object["data_directory"] = holder.data_directory;
  object["started_at_ms"] = holder.started_at_ms;
  return DumpJson(object);
}

bool DecodeHolder(const std::string& json, HolderIdentity* holder) {
  const Json object = ParseJson(json);
  std::string host, sysid_text, datadir;
  int64_t port = 0, started = 0;
  if (!object.is_object() || !JsonString(object, "host", &host) ||
      !JsonInteger(object, "port", &port) ||
      !JsonString(object, "system_identifier", &sysid_text) ||
      !JsonString(object, "data_directory", &datadir) ||
      !JsonInteger(object, "started_at_ms", &started))
    return false;
  char* end = nullptr;
  errno = 0;
  const unsigned long long parsed = strtoull(sysid_text.c_str(), &end, 10);
  if (errno != 0 || sysid_text.empty() || sysid_text[0] == '-' || *end != '\0') return false;
  holder->host = host;
  holder->port = static_cast<int32_t>(port);
  holder->system_identifier = parsed;
  holder->data_directory = datadir;
  holder->started_at_ms = started;
  return true;
}

bool SameServer(const HolderIdentity& a, const HolderIdentity& b) {
  return a.host == b.host && a.port == b.port && a.system_identifier == b.system_identifier &&
         a.data_directory == b.data_directory;
}

int64_t FenceMarginMs(int64_t ttl_ms) { return std::max<int64_t>(1000, ttl_ms / 5); }

int64_t EtcdRequestTimeoutMs(int64_t ttl_ms) { return std::clamp<int64_t>(ttl_ms / 5, 500, 5000); }

int64_t ClaimRequestTimeoutMs(int64_t ttl_ms) {
  return std::clamp<int64_t>(ttl_ms / 2, 1000, 15000);
}

int64_t KeepAliveIntervalMs(int64_t ttl_ms) {
  const int64_t fence_ms = ttl_ms - FenceMarginMs(ttl_ms);
  return std::max(ttl_ms / 3, fence_ms - 2 * EtcdRequestTimeoutMs(ttl_ms));
}

int64_t HighWaterLeadMs(int64_t ttl_ms) {
  // The least wait of a new holder, less a reservation window (1.5 s,
  // reservation.h: kReserveAheadMs) and half a second of slack.
  constexpr int64_t kWindowAndSlackMs = 2000;
  constexpr int64_t kMaxLeadMs = 10000;
  return std::clamp<int64_t>(ttl_ms - KeepAliveIntervalMs(ttl_ms) - kWindowAndSlackMs, 0,
                             kMaxLeadMs);
}

std::string HolderKey(const std::string& prefix, int32_t node_id) {
  return NodeDirectory(prefix, node_id) + "/holder";
}

std::string HighWaterKey(const std::string& prefix, int32_t node_id) {
  return NodeDirectory(prefix, node_id) + "/high_water";
}

std::string EncodeHighWater(int64_t ms) {
  char text[32];
  snprintf(text, sizeof text, "%013" PRId64, std::max<int64_t>(ms, 0));
  return text;
}

bool DecodeHighWater(const std::string& value, int64_t* ms) {
  if (value.empty() || value.size() > 18) return false;
  int64_t parsed = 0;
  for (char c : value) {
    if (c < '0' || c > '9') return false;
    parsed = parsed * 10 + (c - '0');
  }
  if (parsed > kMaxTimestampMs) return false;
  *ms = parsed;
  return true;
}

NodeLease::NodeLease(EtcdApi* etcd, Clock* monotonic, NodeLeaseOptions options, HolderIdentity self)
    : etcd_(etcd),
      monotonic_(monotonic),
      options_(std::move(options)),
      self_(std::move(self)),
      self_json_(EncodeHolder(self_)) {}

void NodeLease::Drop() {
  node_id_ = -1;
  high_water_ms_ = -1;
  valid_until_ms_ = 0;
}

Status NodeLease::EnsureLease() {
  // A lease we have (adopted, or kept while waiting for a node id another
  // server holds) is kept alive before a claim once its fence has passed:
  // the claim proves the lease exists, not how long it has left, and the
  // fence must count from a restart of its TTL. KeepAlive() forgets a lease
  // that is gone. (Not before every claim: a server
  // that retries a claim every second would send a keep-alive with each,
  // and a start-up storm of a whole fleet that lasts longer than the fence
  // would double etcd's load. A claim that succeeds on a lease with little
  // fence left is kept alive by the caller at once: its renewal is due from
  // renewed_ms(); a lease that expired meanwhile fails the claim itself.)
  if (lease_id_ != 0 && (lease_ttl_ms_ == 0 || valid_until_ms_ <= monotonic_->NowMs())) {
    const Status status = KeepAlive();
    if (!status.ok() && status.code != StatusCode::kLeaseLost) return status;
  }
  if (lease_id_ != 0) return Status::Ok();
  const int64_t ttl_s = std::max<int64_t>(1, (options_.ttl_ms + 999) / 1000);
  const int64_t sent_ms = monotonic_->NowMs();
  int64_t lease_id = 0;
  int64_t granted_s = 0;
  const Status status = etcd_->GrantLease(ttl_s, &lease_id, &granted_s);
  if (!status.ok()) return status;
  if (lease_id == 0 || granted_s <= 0)
    return Status::Error(StatusCode::kEtcdError, "etcd granted no lease");
  lease_id_ = lease_id;
  lease_ttl_ms_ = granted_s * 1000;
  valid_until_ms_ = sent_ms + lease_ttl_ms_ - FenceMarginMs(lease_ttl_ms_);
  renewed_ms_ = sent_ms;
  return Status::Ok();
}

namespace {

// If the mark is absent or below first_mark: put first_mark.
EtcdTxn RaiseMarkTxn(const std::string& mark_key, const std::string& first_mark) {
  EtcdTxn below;
  below.compare = {
      EtcdCmp(mark_key, EtcdCompare::Target::kValue, EtcdCompare::Result::kLess, 0, first_mark)};
  below.success = {EtcdPut(mark_key, first_mark)};
  EtcdTxn absent;
  absent.compare = {
      EtcdCmp(mark_key, EtcdCompare::Target::kCreateRevision, EtcdCompare::Result::kEqual, 0)};
  absent.success = {EtcdPut(mark_key, first_mark)};
  absent.failure = {EtcdNestedTxn(std::move(below))};
  return absent;
}

// Whether the nested RaiseMarkTxn() whose result this is put the mark.
bool MarkWasPut(const EtcdTxnResult& raise) {
  if (raise.succeeded) return true;
  return raise.txns.size() == 1 && raise.txns[0].succeeded;
}

}  // namespace

Status NodeLease::TryClaim(const std::vector<int32_t>& candidates, int64_t first_mark_ms,
                           ClaimOutcome* outcome, std::vector<EtcdKeyValue>* view) {
  view->clear();
  if (candidates.empty()) return Status::Error(StatusCode::kNoFreeNodeId, "no candidate");
  const bool single = candidates.size() == 1;
  const std::string first_mark =
      first_mark_ms >= 0 ? EncodeHighWater(std::min(first_mark_ms, kMaxTimestampMs)) : "";
  // Level i: if no one holds candidates[i], hold it under our lease, read its
  // mark and (first_mark) raise it; else level i + 1. The last level's
  // failure reads every candidate's holder key: who holds it and since
  // which revision (keys only for several; for one, the holder and the
  // mark, as a claim of a given id has always answered).
  EtcdTxn txn;
  for (size_t i = candidates.size(); i-- > 0;) {
    const std::string holder_key = HolderKey(options_.prefix, candidates[i]);
    const std::string mark_key = HighWaterKey(options_.prefix, candidates[i]);
    EtcdTxn level;
    level.compare = {
        EtcdCmp(holder_key, EtcdCompare::Target::kCreateRevision, EtcdCompare::Result::kEqual, 0)};
    level.success = {EtcdPut(holder_key, self_json_, lease_id_), EtcdRange(mark_key)};
    if (!first_mark.empty())
      level.success.push_back(EtcdNestedTxn(RaiseMarkTxn(mark_key, first_mark)));
    if (i + 1 == candidates.size()) {
      if (single) {
        level.failure = {EtcdRange(holder_key), EtcdRange(mark_key)};
      } else {
        for (int32_t id : candidates)
          level.failure.push_back(EtcdRange(HolderKey(options_.prefix, id), "", true));
      }
    } else {
      level.failure = {EtcdNestedTxn(std::move(txn))};
    }
    txn = std::move(level);
  }

  EtcdTxnResult top;
  const Status status = etcd_->Txn(txn, &top);
  if (status.code == StatusCode::kUnavailable) claim_answer_lost_ = true;
  if (!status.ok()) return status;
  // Down the chain to the level that took an id, or to the last one.
  const EtcdTxnResult* level = &top;
  size_t index = 0;
  while (!level->succeeded && index + 1 < candidates.size()) {
    if (level->txns.size() != 1)
      return Status::Error(StatusCode::kEtcdError, "etcd answered a claim with the wrong shape");
    level = &level->txns[0];
    index++;
  }
  const int32_t node_id = candidates[index];
  if (!level->succeeded) {
    const size_t expected = single ? 2 : candidates.size();
    if (level->ranges.size() != expected)
      return Status::Error(StatusCode::kEtcdError, "etcd answered a claim with the wrong shape");
    for (size_t i = 0; i < (single ? 1 : candidates.size()); i++) {
      for (const EtcdKeyValue& kv : level->ranges[i]) view->push_back(kv);
    }
    // Ours already: an earlier claim committed but its answer was lost.
    if (single && view->size() == 1 && (*view)[0].lease == lease_id_) {
      const Status held = Hold(node_id, level->ranges[1], outcome);
      // (The claim that took it may have raised the mark too.)
      if (held.ok()) high_water_attempted_ms_ = std::max(high_water_ms_, first_mark_ms);
      return held;
    }
    outcome->node_id = single ? node_id : -1;
    outcome->holder = HolderIdentity{};
    outcome->holder_lease_id = 0;
    if (single && view->size() == 1) {
      outcome->holder_lease_id = (*view)[0].lease;
      if (!DecodeHolder((*view)[0].value, &outcome->holder))
        outcome->holder.host = "(unreadable holder record)";
    }
    return Status::Error(StatusCode::kNodeIdTaken, "another server holds the node id");
  }

  const size_t expected = first_mark.empty() ? 2 : 3;
  if (level->ranges.size() != expected || level->txns.size() != expected)
    return Status::Error(StatusCode::kEtcdError, "etcd answered a claim with the wrong shape");
  const Status held = Hold(node_id, level->ranges[1], outcome);
  if (!held.ok()) return held;
  if (!first_mark.empty() && MarkWasPut(level->txns[2])) {
    high_water_ms_ = std::min(first_mark_ms, kMaxTimestampMs);
    high_water_mod_revision_ = top.revision;
  }
  high_water_attempted_ms_ = high_water_ms_;
  return Status::Ok();
}

Status NodeLease::Hold(int32_t node_id, const std::vector<EtcdKeyValue>& mark,
                       ClaimOutcome* outcome) {
  int64_t stored = -1;
  if (mark.size() == 1 && !DecodeHighWater(mark[0].value, &stored))
    return Status::Error(StatusCode::kEtcdError, "the node id's high-water mark is unreadable");
  node_id_ = node_id;
  high_water_ms_ = stored;
  claimed_mark_ms_ = stored;
  high_water_attempted_ms_ = stored;
  high_water_mod_revision_ = mark.size() == 1 ? mark[0].mod_revision : 0;
  holder_confirmed_ms_ = monotonic_->NowMs();
  outcome->node_id = node_id;
  outcome->high_water_ms = stored;
  return Status::Ok();
}

Status NodeLease::TryClaim(int32_t node_id, int64_t first_mark_ms, ClaimOutcome* outcome) {
  std::vector<EtcdKeyValue> view;
  return TryClaim(std::vector<int32_t>{node_id}, first_mark_ms, outcome, &view);
}

Status NodeLease::ReadHolders(int64_t since_revision, int32_t* ours, int* claimed_since) {
  *ours = -1;
  *claimed_since = 0;
  // A transaction without compares: a range read of keys only, which
  // Range() does not offer; the marks' values are not needed.
  const std::string nodes = options_.prefix + "/nodes/";
  EtcdTxn txn;
  txn.success = {EtcdRange(nodes, EtcdPrefixEnd(nodes), true)};
  EtcdTxnResult result;
  const Status status = etcd_->Txn(txn, &result);
  if (!status.ok()) return status;
  if (!result.succeeded || result.ranges.size() != 1)
    return Status::Error(StatusCode::kEtcdError,
                         "etcd answered a registry read with the wrong shape");
  known_taken_.assign(kMaxNodeId + 1, false);
  for (const EtcdKeyValue& kv : result.ranges[0]) {
    int32_t id = -1;
    std::string leaf;
    if (ParseRegistryKey(options_.prefix, kv.key, &id, &leaf) && leaf == "holder") {
      known_taken_[static_cast<size_t>(id)] = true;
      if (kv.lease == lease_id_ && *ours < 0) *ours = id;
      if (kv.create_revision > since_revision) ++*claimed_since;
    }
  }
  return Status::Ok();
}

std::vector<int32_t> NodeLease::Candidates(bool random) {
  std::vector<int32_t> free_ids;
  for (int32_t id = 0; id <= kMaxNodeId; ++id) {
    if (!known_taken_[static_cast<size_t>(id)]) free_ids.push_back(id);
  }
  const size_t n = std::min<size_t>(kClaimChainLength, free_ids.size());
  if (!random) {
    free_ids.resize(n);
    return free_ids;
  }
  // n distinct free ids at random (a partial Fisher-Yates shuffle), so that
  // two servers' candidates rarely overlap: a transaction fails only when
  // every one of its candidates was taken. Seeded from the lease id, which
  // differs between servers.
  if (random_state_ == 0) random_state_ = static_cast<uint64_t>(lease_id_) | 1;
  for (size_t i = 0; i < n; ++i) {
    const uint64_t z = SplitMix64Next(&random_state_);
    std::swap(free_ids[i], free_ids[i + static_cast<size_t>(z % (free_ids.size() - i))]);
  }
  free_ids.resize(n);
  return free_ids;
}

// Every server of a fleet that starts at once asks for the lowest ids
// first; the first kClaimChainLength get them. The others learn from their
// failure that the ids were taken after they started (a create revision
// above the one etcd reported when their lease was granted): they are in a
// storm, and spread over random free candidates from then on, so that
// nearly every transaction takes an id. A server that finds the lowest ids
// held since before it started is alone: it reads which ids are held
// (keys only) and takes the lowest free one, as a fleet expects of a
// newcomer.
Status NodeLease::ClaimFree(int64_t first_mark_ms, ClaimOutcome* outcome) {
  const int64_t started_revision = etcd_->LastRevision();
  known_taken_.assign(kMaxNodeId + 1, false);
  bool contended = false;
  bool read_all = false;
  // Reads which ids are held; *finished when a claim of ours turned up (a
  // claim whose answer was lost, or that a resumed member applied late):
  // that id is ours already, so it is taken, leaking nothing, and the
  // status is that of taking it.
  auto read_holders = [&](bool* finished) {
    int32_t ours = -1;
    int claimed_since = 0;
    Status read = ReadHolders(started_revision, &ours, &claimed_since);
    *finished = !read.ok() || ours >= 0;
    if (ours >= 0) read = TryClaim(ours, first_mark_ms, outcome);
    read_all = true;
    // Servers that claimed since this one started: a storm.
    contended = contended || claimed_since > 0;
    return read;
  };
  bool finished = false;
  Status status = Status::Error(StatusCode::kNoFreeNodeId, "every node id is held");
  if (claim_answer_lost_) {
    // An earlier claim may have taken an id without our hearing of it: a
    // claim now would pass over that id as held and take a second one,
    // held for as long as we run.
    status = read_holders(&finished);
    if (finished) return status;
    claim_answer_lost_ = false;
  }
  int random_attempts = 0;
  for (int attempt = 0; attempt < kFreeClaimAttempts; ++attempt) {
    std::vector<int32_t> candidates = Candidates(contended);
    if (candidates.empty()) {
      if (read_all) return Status::Error(StatusCode::kNoFreeNodeId, "every node id is held");
      status = read_holders(&finished);
      if (finished) return status;
      continue;
    }
    std::vector<EtcdKeyValue> view;
    status = TryClaim(candidates, first_mark_ms, outcome, &view);
    if (status.code != StatusCode::kNodeIdTaken) return status;
    for (const EtcdKeyValue& kv : view) {
      int32_t id = -1;
      std::string leaf;
      if (!ParseRegistryKey(options_.prefix, kv.key, &id, &leaf)) continue;
      known_taken_[static_cast<size_t>(id)] = true;
      if (kv.lease == lease_id_) return TryClaim(id, first_mark_ms, outcome);  // ours already
      if (kv.create_revision > started_revision) contended = true;
    }
    if (contended) random_attempts++;
    // A calm fleet's newcomer learns where the free ids are (and whether
    // it is calm: it may have started later than the first of a storm);
    // in a storm, so do the last servers, after a few random tries.
    if (!read_all && (!contended || random_attempts >= kRandomAttemptsBeforeRead)) {
      const Status read = read_holders(&finished);
      if (finished) return read;
    }
  }
  outcome->node_id = -1;
  return status;
}

Status NodeLease::Claim(int32_t node_id, int32_t preferred, ClaimOutcome* outcome,
                        int64_t first_mark_ms) {
  if (held() && (node_id < 0 || node_id == node_id_)) {
    outcome->node_id = node_id_;
    outcome->high_water_ms = high_water_ms_;
    return Status::Ok();
  }
  if (held()) {
    // A different id asked for than the one held: give the old one back.
    const Status released = Release();
    if (!released.ok()) return released;
  }
  // Patient requests while claiming (ClaimRequestTimeoutMs()), the usual
  // ones again once a node id is held or the attempt ends.
  etcd_->SetRequestTimeoutMs(ClaimRequestTimeoutMs(options_.ttl_ms));
  const Status status = ClaimWithLease(node_id, preferred, outcome, first_mark_ms);
  etcd_->SetRequestTimeoutMs(EtcdRequestTimeoutMs(options_.ttl_ms));
  return status;
}

Status NodeLease::ClaimWithLease(int32_t node_id, int32_t preferred, ClaimOutcome* outcome,
                                 int64_t first_mark_ms) {
  Status status = EnsureLease();
  if (!status.ok()) return status;

  if (node_id >= 0) return TryClaim(node_id, first_mark_ms, outcome);
  if (preferred >= 0) {
    status = TryClaim(preferred, first_mark_ms, outcome);
    if (status.code != StatusCode::kNodeIdTaken) return status;
  }
  return ClaimFree(first_mark_ms, outcome);
}

Status NodeLease::KeepAlive(bool confirm_holder) {
  if (lease_id_ == 0) return Status::Error(StatusCode::kLeaseLost, "no lease is held");
  const int64_t sent_ms = monotonic_->NowMs();
  int64_t ttl_s = 0;
  const Status status = etcd_->KeepAliveLease(lease_id_, &ttl_s);
  if (!status.ok()) return status;
  if (ttl_s <= 0) {
    lease_id_ = 0;
    Drop();
    return Status::Error(StatusCode::kLeaseLost, "the lease expired");
  }
  lease_ttl_ms_ = ttl_s * 1000;
  const int64_t fence_ms = sent_ms + lease_ttl_ms_ - FenceMarginMs(lease_ttl_ms_);
  renewed_ms_ = sent_ms;
  if (!held()) {
    // A lease kept while waiting for a node id: a claim's fence counts
    // from here (EnsureLease).
    valid_until_ms_ = fence_ms;
    return Status::Ok();
  }
  // The lease lives, but is the node id still ours? Someone may have
  // deleted the holder key (by hand, or a whole prefix), and another
  // server claimed the id since. The fence moves only once that is ruled
  // out: a live lease proves nothing about the id. (The caller may know
  // from a recent mark raise, which compared the holder key.)
  if (!confirm_holder) {
    valid_until_ms_ = fence_ms;
    return Status::Ok();
  }
  std::vector<EtcdKeyValue> holder;
  const Status read = etcd_->Range(HolderKey(options_.prefix, node_id_), "", &holder);
  if (!read.ok()) return read;
  if (holder.size() != 1 || holder[0].lease != lease_id_) {
    Drop();
    return Status::Error(StatusCode::kLeaseLost, "the node id's holder key is no longer ours");
  }
  holder_confirmed_ms_ = sent_ms;
  valid_until_ms_ = fence_ms;
  return Status::Ok();
}

// Puts ms as the mark if our lease still holds the id and the mark is as we
// last saw it (0: absent). A request that timed out on a frozen member and
// is applied there later carries an older revision, so it cannot put an
// older, lower mark back over a newer one.
EtcdTxn NodeLease::WriteMarkTxn(int64_t ms) const {
  const std::string holder_key = HolderKey(options_.prefix, node_id_);
  const std::string mark_key = HighWaterKey(options_.prefix, node_id_);
  EtcdTxn txn;
  txn.compare = {
      EtcdCmp(holder_key, EtcdCompare::Target::kLease, EtcdCompare::Result::kEqual, lease_id_),
      EtcdCmp(mark_key, EtcdCompare::Target::kModRevision, EtcdCompare::Result::kEqual,
              high_water_mod_revision_)};
  txn.success = {EtcdPut(mark_key, EncodeHighWater(ms))};
  return txn;
}

Status NodeLease::RaiseHighWater(int64_t ms) {
  if (!held()) return Status::Error(StatusCode::kLeaseLost, "no node id is held");
  if (ms <= high_water_ms_) return Status::Ok();
  // Never below a value that may have been stored by a write whose answer
  // was lost.
  const int64_t target = std::max(ms, high_water_attempted_ms_);
  high_water_attempted_ms_ = target;
  const std::string holder_key = HolderKey(options_.prefix, node_id_);
  const std::string mark_key = HighWaterKey(options_.prefix, node_id_);
  // A few rounds: a write of ours whose answer was lost moves the key's
  // revision, which the next round reads and compares against.
  for (int round = 0; round < 3; ++round) {
    // (WriteMarkTxn: why a late replay of an older write cannot win.)
    EtcdTxn txn = WriteMarkTxn(target);
    txn.failure = {EtcdRange(holder_key), EtcdRange(mark_key)};

    const int64_t sent_ms = monotonic_->NowMs();
    EtcdTxnResult result;
    const Status status = etcd_->Txn(txn, &result);
    if (!status.ok()) return status;
    if (result.succeeded) {
      high_water_ms_ = target;
      high_water_mod_revision_ = result.revision;
      holder_confirmed_ms_ = sent_ms;
      return Status::Ok();
    }
    if (result.ranges.size() != 2)
      return Status::Error(StatusCode::kEtcdError, "etcd answered with the wrong shape");
    const std::vector<EtcdKeyValue>& holder = result.ranges[0];
    if (holder.size() != 1 || holder[0].lease != lease_id_) {
      Drop();
      return Status::Error(StatusCode::kLeaseLost, "the node id is no longer held under our lease");
    }
    // Still ours, but the mark is not as we last saw it. This holder's own
    // writes never go past target (the highest it ever attempted): a write
    // whose answer was lost, applied, leaves at most that. A stored mark
    // above it was written by someone else under our lease, whose holder
    // key compares equal: a second process with this process's memory (a
    // virtual machine cloned while running, or restored from a memory
    // snapshot), issuing the same IDs. Stop at once, and end the lease so
    // that the copy stops too; each must claim anew, above the mark.
    const std::vector<EtcdKeyValue>& mark = result.ranges[1];
    int64_t stored = -1;
    if (mark.size() == 1 && !DecodeHighWater(mark[0].value, &stored))
      return Status::Error(StatusCode::kEtcdError, "the node id's high-water mark is unreadable");
    high_water_mod_revision_ = mark.size() == 1 ? mark[0].mod_revision : 0;
    if (stored > target) {
      const int64_t lease_id = lease_id_;
      Drop();
      lease_id_ = 0;
      (void)etcd_->RevokeLease(lease_id);
      return Status::Error(StatusCode::kSecondHolder,
                           "another process raised the node id's high-water mark under this "
                           "server's own lease");
    }
    if (stored == target) {
      high_water_ms_ = stored;
      holder_confirmed_ms_ = sent_ms;
      return Status::Ok();
    }
  }
  return Status::Error(StatusCode::kUnavailable, "the high-water mark kept changing");
}

Status NodeLease::Release(int64_t issued_through_ms) {
  const int64_t lease_id = lease_id_;
  // Never below the mark as this holder found it: the earlier holders'
  // IDs lie under it, whatever this one reserved (perhaps nothing yet).
  const int64_t lower_to = std::max(issued_through_ms, claimed_mark_ms_);
  if (held() && issued_through_ms >= 0 && lower_to < high_water_ms_ &&
      high_water_attempted_ms_ == high_water_ms_) {
    // The mark back down to what was issued, if it is as we last wrote it
    // and the id still ours (a write whose answer was lost may stand above
    // it: then the mark stays). Best effort: the revoke follows either way.
    EtcdTxnResult result;
    (void)etcd_->Txn(WriteMarkTxn(lower_to), &result);
  }
  Drop();
  lease_id_ = 0;
  if (lease_id == 0) return Status::Ok();
  return etcd_->RevokeLease(lease_id);
}

Status ReadFleet(EtcdApi* etcd, const std::string& prefix, std::vector<FleetEntry>* fleet) {
  fleet->clear();
  const std::string nodes = prefix + "/nodes/";
  std::vector<EtcdKeyValue> kvs;
  Status status = etcd->Range(nodes, EtcdPrefixEnd(nodes), &kvs);
  if (!status.ok()) return status;
  std::vector<FleetEntry> by_id(kMaxNodeId + 1);
  std::vector<bool> present(kMaxNodeId + 1, false);
  for (const EtcdKeyValue& kv : kvs) {
    int32_t id = -1;
    std::string leaf;
    if (!ParseRegistryKey(prefix, kv.key, &id, &leaf)) continue;
    FleetEntry& entry = by_id[static_cast<size_t>(id)];
    entry.node_id = id;
    if (leaf == "holder") {
      entry.held = true;
      entry.lease_id = kv.lease;
      if (!DecodeHolder(kv.value, &entry.holder)) entry.holder.host = "(unreadable holder record)";
      present[static_cast<size_t>(id)] = true;
    } else if (leaf == "high_water") {
      int64_t mark = -1;
      if (DecodeHighWater(kv.value, &mark)) entry.high_water_ms = mark;
      present[static_cast<size_t>(id)] = true;
    }
  }
  for (int32_t id = 0; id <= kMaxNodeId; ++id) {
    if (!present[static_cast<size_t>(id)]) continue;
    FleetEntry& entry = by_id[static_cast<size_t>(id)];
    if (entry.held) {
      int64_t left = -1;
      if (etcd->LeaseTimeToLive(entry.lease_id, &left).ok()) entry.lease_ttl_left_s = left;
    }
    fleet->push_back(entry);
  }
  return Status::Ok();
}

}  // namespace snowflake
