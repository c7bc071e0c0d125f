// status.h: the result codes the core hands back to its callers.
//
// Owns: the StatusCode enum and the small Status value that carries it.
// Threading: plain values, no shared state.
//
// The core never throws (it is built with -fno-exceptions); every failure
// travels as one of these codes, and the PostgreSQL glue turns each one into
// an ereport() with its own SQLSTATE.
#ifndef SNOWFLAKE_CORE_STATUS_H
#define SNOWFLAKE_CORE_STATUS_H

namespace snowflake {

enum class StatusCode {
  kOk = 0,
  kOutOfRange,     // an argument lies outside the layout
  kNotFound,       // the state file does not exist (a first start)
  kCorrupt,        // the state file exists but cannot be trusted
  kIoError,        // reading, writing or syncing the state file failed
  kOtherSystem,    // the state file was written by another cluster (system identifier)
  kNotReplicated,  // the synchronous standbys did not confirm a reservation
  // Node-id leases (node_lease.h):
  kUnavailable,      // no etcd endpoint answered in time (a request may have been applied)
  kEtcdError,        // etcd answered with an error (authentication, a malformed request)
  kNodeIdTaken,      // another server holds the node id
  kNoFreeNodeId,     // every node id is held
  kLeaseLost,        // our lease expired or our claim is gone: stop issuing
  kSecondHolder,     // another process holds our node id under our own lease: stop issuing
  kBeyondHighWater,  // a reservation past the node id's high-water mark in etcd
};

// A status code plus the errno of the system call that failed, if any, a
// short static description of the step ("fsync of the state file"), and,
// where a caller keeps more than one file, the one the step was about (a
// path that outlives the status; null: the state file).
struct Status {
  StatusCode code = StatusCode::kOk;
  int sys_errno = 0;
  const char* what = "";
  const char* path = nullptr;

  static Status Ok() { return Status{}; }
  static Status Error(StatusCode code, const char* what, int sys_errno = 0) {
    Status s;
    s.code = code;
    s.what = what;
    s.sys_errno = sys_errno;
    return s;
  }
  bool ok() const { return code == StatusCode::kOk; }
};

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_STATUS_H
