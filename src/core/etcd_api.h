// etcd_api.h: the part of etcd's v3 API that node-id leases use.
//
// Owns: the EtcdApi interface and its plain value types. Implementations:
// CurlEtcdClient (etcd_client.h: etcd's documented JSON gateway over HTTP,
// libcurl) and the in-memory fake of the unit tests (tests/core/fake_etcd.h).
//
// Threading: an EtcdApi object is used by one thread at a time (the
// coordinator worker); implementations need no locking of their own.
//
// Keys and values are byte strings here; the JSON gateway's base64 and its
// 64-bit integers sent as strings are the client's business. Every call
// returns kOk, or kUnavailable when no endpoint gave an answer in time (the
// request may or may not have been applied: a transaction whose answer was
// lost may have committed), or kEtcdError when etcd answered with an
// error (authentication refused, a malformed request).
#ifndef SNOWFLAKE_CORE_ETCD_API_H
#define SNOWFLAKE_CORE_ETCD_API_H

#include <cstdint>
#include <string>
#include <vector>

#include "status.h"

namespace snowflake {

struct EtcdKeyValue {
  std::string key;
  std::string value;
  int64_t create_revision = 0;
  int64_t mod_revision = 0;
  int64_t version = 0;
  int64_t lease = 0;  // 0: not attached to a lease
};

// One comparison of a transaction (etcd's Compare message).
struct EtcdCompare {
  enum class Target { kCreateRevision, kModRevision, kVersion, kLease, kValue };
  enum class Result { kEqual, kNotEqual, kLess, kGreater };
  std::string key;
  Target target = Target::kCreateRevision;
  Result result = Result::kEqual;
  int64_t number = 0;  // every target but kValue
  std::string value;   // kValue (byte-wise comparison)
};

struct EtcdTxn;

// One operation of a transaction (etcd's RequestOp): a put, a range read, a
// delete, or a transaction nested in this one (etcd 3.3 and later), which
// runs atomically with it: a claim tries one node id after another in a
// single request (node_lease.h).
struct EtcdOp {
  enum class Kind { kPut, kRange, kDelete, kTxn };
  Kind kind = Kind::kPut;
  std::string key;
  std::string range_end;     // kRange and kDelete: "" for the single key
  std::string value;         // kPut
  int64_t lease = 0;         // kPut: 0 for a key without a lease
  bool keys_only = false;    // kRange: no values (revisions and lease only)
  std::vector<EtcdTxn> txn;  // kTxn: exactly one
};

struct EtcdTxn {
  std::vector<EtcdCompare> compare;
  std::vector<EtcdOp> success;
  std::vector<EtcdOp> failure;
};

struct EtcdTxnResult {
  bool succeeded = false;
  int64_t revision = 0;  // the store's revision after the transaction
  // One entry per op of the branch that ran, in order; the key-values read
  // by a kRange op (empty for a put or a delete).
  std::vector<std::vector<EtcdKeyValue>> ranges;
  // One entry per op of the branch that ran: a kTxn op's result (a default
  // one for the other ops).
  std::vector<EtcdTxnResult> txns;
};

class EtcdApi {
 public:
  virtual ~EtcdApi() = default;

  // LeaseGrant: a new lease of ttl_s seconds; *lease_id and the TTL etcd
  // granted (etcd may raise a TTL below its minimum).
  virtual Status GrantLease(int64_t ttl_s, int64_t* lease_id, int64_t* granted_ttl_s) = 0;

  // One LeaseKeepAlive round: *ttl_s is the lease's TTL, restarted by etcd
  // on receipt, or 0 when the lease no longer exists (expired or revoked).
  virtual Status KeepAliveLease(int64_t lease_id, int64_t* ttl_s) = 0;

  // LeaseRevoke: ends the lease and deletes its keys. A lease that no
  // longer exists is kOk (the outcome is the same).
  virtual Status RevokeLease(int64_t lease_id) = 0;

  // Txn: compares, then the success or the failure branch, atomically.
  virtual Status Txn(const EtcdTxn& txn, EtcdTxnResult* result) = 0;

  // Range: the keys in [key, range_end), or the key alone when range_end is
  // empty, in key order.
  virtual Status Range(const std::string& key, const std::string& range_end,
                       std::vector<EtcdKeyValue>* kvs) = 0;

  // LeaseTimeToLive: the seconds left of a lease, or -1 when it no longer
  // exists.
  virtual Status LeaseTimeToLive(int64_t lease_id, int64_t* ttl_left_s) = 0;

  // How long each later request may wait for an answer from one endpoint
  // before the next is tried. A claim, which holds nothing a fence
  // protects, waits longer than a renewal: in a start-up storm etcd's queue
  // is long, and a request given up on is still worked on by etcd (and
  // sent again), which keeps it overloaded. The fake ignores it.
  virtual void SetRequestTimeoutMs(int64_t /*timeout_ms*/) {}

  // The store's revision that the last answered call reported (etcd's
  // response header), 0 before any: a claim tells the node ids taken since it
  // started from those taken before (node_lease.h).
  virtual int64_t LastRevision() const = 0;

  // What went wrong in the last call that did not return kOk, for the log:
  // each endpoint tried and its error ("http://127.0.0.1:2379: Connection
  // refused"), or etcd's own error message.
  virtual std::string LastErrorDetail() const = 0;
};

// Builders for the ops and compares of a transaction.
inline EtcdOp EtcdPut(const std::string& key, const std::string& value, int64_t lease = 0) {
  EtcdOp op;
  op.kind = EtcdOp::Kind::kPut;
  op.key = key;
  op.value = value;
  op.lease = lease;
  return op;
}
inline EtcdOp EtcdRange(const std::string& key, const std::string& range_end = "",
                        bool keys_only = false) {
  EtcdOp op;
  op.kind = EtcdOp::Kind::kRange;
  op.key = key;
  op.range_end = range_end;
  op.keys_only = keys_only;
  return op;
}
inline EtcdOp EtcdNestedTxn(EtcdTxn txn) {
  EtcdOp op;
  op.kind = EtcdOp::Kind::kTxn;
  op.txn.push_back(std::move(txn));
  return op;
}
inline EtcdOp EtcdDelete(const std::string& key, const std::string& range_end = "") {
  EtcdOp op;
  op.kind = EtcdOp::Kind::kDelete;
  op.key = key;
  op.range_end = range_end;
  return op;
}
inline EtcdCompare EtcdCmp(const std::string& key, EtcdCompare::Target target,
                           EtcdCompare::Result result, int64_t number,
                           const std::string& value = "") {
  EtcdCompare c;
  c.key = key;
  c.target = target;
  c.result = result;
  c.number = number;
  c.value = value;
  return c;
}

// The range_end that selects every key starting with prefix (etcd's
// "prefix" convention: the prefix with its last byte incremented).
std::string EtcdPrefixEnd(const std::string& prefix);

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_ETCD_API_H
