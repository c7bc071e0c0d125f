// fake_etcd.h: an in-memory EtcdApi with etcd's semantics, for unit tests.
//
// Owns: a key-value store with revisions, leases that expire against a
// Clock the test controls, and fault injection.
//
// Threading: every method takes one mutex, so a test thread may inspect or
// inject faults while the code under test calls from another. The
// before-call hook runs outside the mutex (it may call back into the fake).
//
// What it copies from etcd 3.4 (each point checked against a real server
// or etcd's source, etcdserver/apply.go and mvcc/):
//  - the store starts at revision 1; a transaction that writes (a put, or a
//    delete that deletes something) raises the revision by exactly one, and
//    every key it writes gets that revision; a read-only one leaves it;
//  - a missing key has create_revision, mod_revision, version and lease 0,
//    and a compare against it uses those zeros; but a VALUE compare on a
//    missing key is false whatever the operator ("nil == empty string in
//    grpc; no way to represent missing value", applyCompare);
//  - a range inside a transaction sees the writes of earlier operations;
//  - a put with a lease that does not exist fails the whole transaction
//    ("requested lease not found", kEtcdError) and applies nothing; it is
//    checked on the branch that runs only; two puts of one key in a branch
//    are "duplicate key given in txn request";
//  - a lease's TTL is raised to the minimum (2 s with etcd's default
//    election timeout of 1 s: ceil(1.5 * 1 s)); a TTL above 9e9 s is
//    "too large lease TTL"; a lease expires ttl seconds after its grant or
//    its last keep-alive, and expiry (like revocation) deletes its keys in
//    one revision; time to live is the whole seconds left, -1 when gone;
//    a keep-alive of a lease that is gone answers TTL 0.
#ifndef SNOWFLAKE_TESTS_CORE_FAKE_ETCD_H
#define SNOWFLAKE_TESTS_CORE_FAKE_ETCD_H

#include <algorithm>
#include <array>
#include <cstdint>
#include <functional>
#include <map>
#include <mutex>
#include <set>
#include <string>
#include <thread>
#include <utility>
#include <vector>

#include "clock.h"
#include "etcd_api.h"

namespace snowflake_test {

enum class FakeEtcdMethod {
  kGrantLease,
  kKeepAliveLease,
  kRevokeLease,
  kTxn,
  kRange,
  kLeaseTimeToLive,
};
constexpr size_t kFakeEtcdMethods = 6;

class FakeEtcd final : public snowflake::EtcdApi {
 public:
  // etcd's bounds on a lease's TTL (lease/lessor.go, default configuration).
  static constexpr int64_t kDefaultMinTtlS = 2;
  static constexpr int64_t kMaxTtlS = 9000000000;

  // Lease expiry reads clock->NowMs() (the test moves it); not owned.
  explicit FakeEtcd(snowflake::Clock* clock) : clock_(clock) {}

  // --- EtcdApi -------------------------------------------------------------

  snowflake::Status GrantLease(int64_t ttl_s, int64_t* lease_id, int64_t* granted_ttl_s) override {
    return Call(FakeEtcdMethod::kGrantLease, [&] {
      if (ttl_s > kMaxTtlS) return Refuse("etcdserver: too large lease TTL");
      const int64_t ttl = std::max(ttl_s, min_ttl_s_);
      const int64_t id = next_lease_id_++;
      leases_[id] = Lease{ttl, Now() + ttl * 1000};
      *lease_id = id;
      *granted_ttl_s = ttl;
      return snowflake::Status::Ok();
    });
  }

  snowflake::Status KeepAliveLease(int64_t lease_id, int64_t* ttl_s) override {
    return Call(FakeEtcdMethod::kKeepAliveLease, [&] {
      auto it = leases_.find(lease_id);
      *ttl_s = 0;
      if (it != leases_.end()) {
        it->second.expiry_ms = Now() + it->second.ttl_s * 1000;
        *ttl_s = it->second.ttl_s;
      }
      return snowflake::Status::Ok();
    });
  }

  snowflake::Status RevokeLease(int64_t lease_id) override {
    return Call(FakeEtcdMethod::kRevokeLease, [&] {
      EndLease(lease_id);
      return snowflake::Status::Ok();
    });
  }

  snowflake::Status Txn(const snowflake::EtcdTxn& txn, snowflake::EtcdTxnResult* result) override {
    *result = snowflake::EtcdTxnResult{};
    return Call(FakeEtcdMethod::kTxn, [&] {
      // etcd's checks before anything applies: keys given, no key put twice
      // on any path through the transaction, nested ones included.
      std::set<std::string> unused;
      const std::string refused = CheckTxn(txn, &unused);
      if (!refused.empty()) return Refuse(refused);
      if (!LeasesExist(txn)) return Refuse("etcdserver: requested lease not found");
      const int64_t write_revision = revision_ + 1;
      bool wrote = false;
      ApplyTxn(txn, write_revision, &wrote, result);
      if (wrote) revision_ = write_revision;
      SetRevision(result);
      return snowflake::Status::Ok();
    });
  }

  snowflake::Status Range(const std::string& key, const std::string& range_end,
                          std::vector<snowflake::EtcdKeyValue>* kvs) override {
    kvs->clear();
    return Call(FakeEtcdMethod::kRange, [&] {
      if (key.empty()) return Refuse("etcdserver: key is not provided");
      *kvs = RangeOf(key, range_end);
      return snowflake::Status::Ok();
    });
  }

  snowflake::Status LeaseTimeToLive(int64_t lease_id, int64_t* ttl_left_s) override {
    return Call(FakeEtcdMethod::kLeaseTimeToLive, [&] {
      auto it = leases_.find(lease_id);
      *ttl_left_s =
          it == leases_.end() ? -1 : std::max<int64_t>(0, (it->second.expiry_ms - Now()) / 1000);
      return snowflake::Status::Ok();
    });
  }

  // Per calling thread, as each server's client has its own: the servers of
  // a storm test are threads sharing one fake.
  int64_t LastRevision() const override {
    std::lock_guard<std::mutex> lock(mu_);
    auto it = last_revision_.find(std::this_thread::get_id());
    return it == last_revision_.end() ? 0 : it->second;
  }

  std::string LastErrorDetail() const override {
    std::lock_guard<std::mutex> lock(mu_);
    return detail_;
  }

  // --- fault injection -----------------------------------------------------

  // The next n calls return kUnavailable and apply nothing (no endpoint
  // answered).
  void FailNextCalls(int n) {
    std::lock_guard<std::mutex> lock(mu_);
    fail_next_ = n;
  }
  // The next n calls apply, then return kUnavailable (the answer was lost:
  // a transaction committed, a lease was granted, and the caller cannot
  // know). The outputs of those calls are left unset.
  void LoseNextAnswers(int n = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    lose_next_ = n;
  }
  // The next n calls return kEtcdError and apply nothing.
  void RefuseNextCalls(int n = 1) {
    std::lock_guard<std::mutex> lock(mu_);
    refuse_next_ = n;
  }
  // While down, every call returns kUnavailable (etcd stopped or frozen).
  // Time still passes: leases expire while down.
  void SetDown(bool down) {
    std::lock_guard<std::mutex> lock(mu_);
    down_ = down;
  }
  // Runs before each call, outside the fake's mutex, with the method and
  // the number of calls made so far to any method (1 for the first). A
  // test uses it to act at an exact step: expire a lease, move the clock,
  // let another "server" write.
  void SetBeforeCall(std::function<void(FakeEtcdMethod, int64_t)> hook) {
    std::lock_guard<std::mutex> lock(mu_);
    before_call_ = std::move(hook);
  }
  // Ends a lease now, as its expiry would: the lease and its keys go.
  void ExpireLease(int64_t lease_id) {
    std::lock_guard<std::mutex> lock(mu_);
    EndLease(lease_id);
  }
  void set_min_ttl_s(int64_t s) {
    std::lock_guard<std::mutex> lock(mu_);
    min_ttl_s_ = s;
  }

  // --- inspection and setup (neither counted nor subject to faults) --------

  // Calls made to a method, failed or not.
  int64_t calls(FakeEtcdMethod m) const {
    std::lock_guard<std::mutex> lock(mu_);
    return calls_[static_cast<size_t>(m)];
  }
  int64_t total_calls() const {
    std::lock_guard<std::mutex> lock(mu_);
    int64_t total = 0;
    for (int64_t n : calls_) total += n;
    return total;
  }
  int64_t revision() const {
    std::lock_guard<std::mutex> lock(mu_);
    return revision_;
  }
  // The key as etcd would return it, after expiring what is due; false if absent.
  bool Get(const std::string& key, snowflake::EtcdKeyValue* kv) {
    std::lock_guard<std::mutex> lock(mu_);
    ExpireDue();
    auto it = kvs_.find(key);
    if (it == kvs_.end()) return false;
    *kv = it->second;
    return true;
  }
  bool LeaseExists(int64_t lease_id) {
    std::lock_guard<std::mutex> lock(mu_);
    ExpireDue();
    return leases_.count(lease_id) != 0;
  }
  // Another client's doing: a lease, or a put in a revision of its own.
  int64_t SeedLease(int64_t ttl_s) {
    std::lock_guard<std::mutex> lock(mu_);
    ExpireDue();
    const int64_t id = next_lease_id_++;
    const int64_t ttl = std::max(ttl_s, min_ttl_s_);
    leases_[id] = Lease{ttl, Now() + ttl * 1000};
    return id;
  }
  // False (nothing written) if the lease does not exist.
  bool SeedPut(const std::string& key, const std::string& value, int64_t lease = 0) {
    std::lock_guard<std::mutex> lock(mu_);
    ExpireDue();
    if (lease != 0 && !leases_.count(lease)) return false;
    revision_++;
    PutAt(key, value, lease, revision_);
    return true;
  }

 private:
  struct Lease {
    int64_t ttl_s;
    int64_t expiry_ms;
  };

  int64_t Now() { return clock_->NowMs(); }

  snowflake::Status Refuse(const std::string& message) {
    detail_ = message;
    return snowflake::Status::Error(snowflake::StatusCode::kEtcdError,
                                    "fake etcd refused the request");
  }

  template <typename Apply>
  snowflake::Status Call(FakeEtcdMethod method, Apply apply) {
    std::function<void(FakeEtcdMethod, int64_t)> hook;
    int64_t number = 0;
    {
      std::lock_guard<std::mutex> lock(mu_);
      calls_[static_cast<size_t>(method)]++;
      for (int64_t n : calls_) number += n;
      hook = before_call_;
    }
    if (hook) hook(method, number);
    std::lock_guard<std::mutex> lock(mu_);
    detail_.clear();
    ExpireDue();
    if (down_ || fail_next_ > 0) {
      if (!down_) fail_next_--;
      detail_ = "fake etcd: no endpoint answered";
      return snowflake::Status::Error(snowflake::StatusCode::kUnavailable,
                                      "no etcd endpoint answered");
    }
    if (refuse_next_ > 0) {
      refuse_next_--;
      return Refuse("fake etcd: refused by the test");
    }
    const snowflake::Status s = apply();
    if (s.ok()) last_revision_[std::this_thread::get_id()] = revision_;
    if (lose_next_ > 0) {
      lose_next_--;
      detail_ = "fake etcd: the answer was lost";
      return snowflake::Status::Error(snowflake::StatusCode::kUnavailable,
                                      "no etcd endpoint answered");
    }
    return s;
  }

  // "" when etcd would take the transaction, else its error. *puts: the keys
  // any path through txn puts (etcd's checkIntervals: a nested transaction
  // may not put a key its parent's branch puts).
  static std::string CheckTxn(const snowflake::EtcdTxn& txn, std::set<std::string>* puts) {
    for (const auto* branch : {&txn.success, &txn.failure}) {
      std::set<std::string> branch_puts;
      for (const snowflake::EtcdOp& op : *branch) {
        if (op.kind == snowflake::EtcdOp::Kind::kTxn) {
          if (op.txn.size() != 1) return "etcdserver: malformed nested transaction";
          std::set<std::string> nested;
          const std::string refused = CheckTxn(op.txn[0], &nested);
          if (!refused.empty()) return refused;
          for (const std::string& key : nested) {
            if (!branch_puts.insert(key).second) {
              return "etcdserver: duplicate key given in txn request";
            }
          }
          continue;
        }
        if (op.key.empty()) return "etcdserver: key is not provided";
        if (op.kind == snowflake::EtcdOp::Kind::kPut && !branch_puts.insert(op.key).second) {
          return "etcdserver: duplicate key given in txn request";
        }
      }
      puts->insert(branch_puts.begin(), branch_puts.end());
    }
    return "";
  }

  // Whether every lease a put on the path that will run names exists.
  bool LeasesExist(const snowflake::EtcdTxn& txn) const {
    bool succeeded = true;
    for (const snowflake::EtcdCompare& c : txn.compare) succeeded = succeeded && Compare(c);
    for (const snowflake::EtcdOp& op : succeeded ? txn.success : txn.failure) {
      if (op.kind == snowflake::EtcdOp::Kind::kPut && op.lease != 0 && !leases_.count(op.lease)) {
        return false;
      }
      if (op.kind == snowflake::EtcdOp::Kind::kTxn && !LeasesExist(op.txn[0])) return false;
    }
    return true;
  }

  // Applies txn (nested ones in turn, at the same revision, as etcd does).
  void ApplyTxn(const snowflake::EtcdTxn& txn, int64_t write_revision, bool* wrote,
                snowflake::EtcdTxnResult* result) {
    bool succeeded = true;
    for (const snowflake::EtcdCompare& c : txn.compare) succeeded = succeeded && Compare(c);
    const std::vector<snowflake::EtcdOp>& ops = succeeded ? txn.success : txn.failure;
    result->succeeded = succeeded;
    result->ranges.resize(ops.size());
    result->txns.resize(ops.size());
    for (size_t i = 0; i < ops.size(); i++) {
      const snowflake::EtcdOp& op = ops[i];
      switch (op.kind) {
        case snowflake::EtcdOp::Kind::kPut:
          PutAt(op.key, op.value, op.lease, write_revision);
          *wrote = true;
          break;
        case snowflake::EtcdOp::Kind::kRange:
          result->ranges[i] = RangeOf(op.key, op.range_end);
          if (op.keys_only) {
            for (snowflake::EtcdKeyValue& kv : result->ranges[i]) kv.value.clear();
          }
          break;
        case snowflake::EtcdOp::Kind::kDelete:
          for (const snowflake::EtcdKeyValue& kv : RangeOf(op.key, op.range_end)) {
            kvs_.erase(kv.key);
            *wrote = true;
          }
          break;
        case snowflake::EtcdOp::Kind::kTxn:
          ApplyTxn(op.txn[0], write_revision, wrote, &result->txns[i]);
          break;
      }
    }
  }

  // The store's revision after the transaction, in every nested result too.
  void SetRevision(snowflake::EtcdTxnResult* result) const {
    result->revision = revision_;
    for (snowflake::EtcdTxnResult& nested : result->txns) SetRevision(&nested);
  }

  // Every lease whose time is up ends, oldest expiry first.
  void ExpireDue() {
    const int64_t now = Now();
    std::vector<std::pair<int64_t, int64_t>> due;  // expiry, id
    for (const auto& [id, lease] : leases_) {
      if (lease.expiry_ms <= now) due.emplace_back(lease.expiry_ms, id);
    }
    std::sort(due.begin(), due.end());
    for (const auto& d : due) EndLease(d.second);
  }

  void EndLease(int64_t lease_id) {
    if (leases_.erase(lease_id) == 0) return;
    bool deleted = false;
    for (auto it = kvs_.begin(); it != kvs_.end();) {
      if (it->second.lease == lease_id) {
        it = kvs_.erase(it);
        deleted = true;
      } else {
        ++it;
      }
    }
    if (deleted) revision_++;
  }

  void PutAt(const std::string& key, const std::string& value, int64_t lease, int64_t revision) {
    auto it = kvs_.find(key);
    if (it == kvs_.end()) {
      snowflake::EtcdKeyValue kv;
      kv.key = key;
      kv.create_revision = revision;
      kv.version = 0;
      it = kvs_.emplace(key, kv).first;
    }
    it->second.value = value;
    it->second.mod_revision = revision;
    it->second.version++;
    it->second.lease = lease;
  }

  // etcd's range: the key alone for an empty range_end; every key from key
  // on for "\0"; else [key, range_end).
  std::vector<snowflake::EtcdKeyValue> RangeOf(const std::string& key,
                                               const std::string& range_end) const {
    std::vector<snowflake::EtcdKeyValue> out;
    if (range_end.empty()) {
      auto it = kvs_.find(key);
      if (it != kvs_.end()) out.push_back(it->second);
      return out;
    }
    const bool to_end = range_end == std::string(1, '\0');
    for (auto it = kvs_.lower_bound(key); it != kvs_.end(); ++it) {
      if (!to_end && it->first >= range_end) break;
      out.push_back(it->second);
    }
    return out;
  }

  bool Compare(const snowflake::EtcdCompare& c) const {
    using Target = snowflake::EtcdCompare::Target;
    using Result = snowflake::EtcdCompare::Result;
    auto it = kvs_.find(c.key);
    if (it == kvs_.end() && c.target == Target::kValue) return false;
    const snowflake::EtcdKeyValue zero;
    const snowflake::EtcdKeyValue& kv = it == kvs_.end() ? zero : it->second;
    int cmp = 0;
    auto three_way = [](int64_t a, int64_t b) { return a < b ? -1 : (a > b ? 1 : 0); };
    switch (c.target) {
      case Target::kCreateRevision:
        cmp = three_way(kv.create_revision, c.number);
        break;
      case Target::kModRevision:
        cmp = three_way(kv.mod_revision, c.number);
        break;
      case Target::kVersion:
        cmp = three_way(kv.version, c.number);
        break;
      case Target::kLease:
        cmp = three_way(kv.lease, c.number);
        break;
      case Target::kValue: {
        const int r = kv.value.compare(c.value);  // byte-wise, as bytes.Compare
        cmp = r < 0 ? -1 : (r > 0 ? 1 : 0);
        break;
      }
    }
    switch (c.result) {
      case Result::kEqual:
        return cmp == 0;
      case Result::kNotEqual:
        return cmp != 0;
      case Result::kLess:
        return cmp < 0;
      case Result::kGreater:
        return cmp > 0;
    }
    return false;
  }

  snowflake::Clock* clock_;
  mutable std::mutex mu_;
  std::map<std::string, snowflake::EtcdKeyValue> kvs_;
  std::map<int64_t, Lease> leases_;
  int64_t revision_ = 1;
  std::map<std::thread::id, int64_t> last_revision_;
  int64_t next_lease_id_ = 7587848000000000001;  // the shape of etcd's ids, no meaning
  int64_t min_ttl_s_ = kDefaultMinTtlS;
  std::array<int64_t, kFakeEtcdMethods> calls_{};
  int fail_next_ = 0;
  int lose_next_ = 0;
  int refuse_next_ = 0;
  bool down_ = false;
  std::function<void(FakeEtcdMethod, int64_t)> before_call_;
  std::string detail_;
};

}  // namespace snowflake_test

#endif  // SNOWFLAKE_TESTS_CORE_FAKE_ETCD_H
