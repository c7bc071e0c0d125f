// etcd_client.h: EtcdApi over etcd's v3 JSON gateway (HTTP/1.1, libcurl).
//
// Owns: CurlEtcdClient, one curl easy handle, the list of endpoints and
// which of them answered last, and the authentication token.
//
// Threading: one thread at a time (etcd_api.h). curl_global_init() must
// have run in the process first (EtcdGlobalInit(), before any thread).
//
// Protocol (etcd's documented gRPC gateway, /v3/..., etcd 3.4 and later):
// POST of a JSON body; keys and values base64-encoded; int64 fields
// (lease ids, revisions, TTLs) sent and received as JSON strings. JSON is
// read and written with nlohmann/json through json.h, which never throws
// (the core is built without exceptions, and a malformed answer must be an
// error, never an abort).
//
// Endpoints are tried in order, starting with the one that answered last;
// one that does not answer within request_timeout_ms (connection refused, a
// frozen member, a TLS failure) is skipped for the next. So a cluster that
// lost a member keeps answering, one timeout later at most. An endpoint
// that answers with gRPC code 14 (Unavailable: "no leader", "request timed
// out") is skipped too.
// Consequence for writers: a request that timed out on one endpoint is sent
// to the next, and the first may still apply it, even much later (a frozen
// member that resumes and forwards it). So guard each write with a compare
// that a repeat of it would fail (a mod_revision), never with one that a
// stale copy still passes (only "the lease is ours").
//
// Authentication: with a user, the client authenticates
// (/v3/auth/authenticate) before its first request and again when etcd
// says the token is invalid or expired, then retries the request once.
// TLS: https:// endpoints are verified against ca_file (or the system's
// store when empty); cert_file and key_file give a client certificate.
#ifndef SNOWFLAKE_CORE_ETCD_CLIENT_H
#define SNOWFLAKE_CORE_ETCD_CLIENT_H

#include <csignal>
#include <cstdint>
#include <string>
#include <vector>

#include "etcd_api.h"

namespace snowflake {

struct EtcdClientConfig {
  std::vector<std::string> endpoints;  // "http://127.0.0.1:2379", "https://etcd1:2379"
  std::string ca_file;
  std::string cert_file;
  std::string key_file;
  std::string user;      // empty: no etcd authentication
  std::string password;  // with user
  int64_t connect_timeout_ms = 1000;
  int64_t request_timeout_ms = 2000;  // per endpoint and request, connecting included
  // When set, a request in flight is abandoned (kUnavailable) as soon as
  // *interrupt_flag is non-zero: a PostgreSQL backend passes its
  // InterruptPending, so that a cancel or statement_timeout is not held up
  // by etcd.
  const volatile sig_atomic_t* interrupt_flag = nullptr;
};

// Splits "http://a:2379, https://b:2379" into endpoints (whitespace
// trimmed, a trailing "/" dropped). False, with *error and no endpoints,
// for an empty list or element, or a URL that is not http:// or https://
// (lower case) with a host, or that has a user name, a query or a fragment
// (credentials go in EtcdClientConfig::user and password).
bool ParseEtcdEndpoints(const std::string& list, std::vector<std::string>* endpoints,
                        std::string* error);

// curl_global_init(); call once per process before the first client.
bool EtcdGlobalInit();

class CurlEtcdClient final : public EtcdApi {
 public:
  explicit CurlEtcdClient(EtcdClientConfig config);
  ~CurlEtcdClient() override;
  CurlEtcdClient(const CurlEtcdClient&) = delete;
  CurlEtcdClient& operator=(const CurlEtcdClient&) = delete;

  Status GrantLease(int64_t ttl_s, int64_t* lease_id, int64_t* granted_ttl_s) override;
  Status KeepAliveLease(int64_t lease_id, int64_t* ttl_s) override;
  Status RevokeLease(int64_t lease_id) override;
  Status Txn(const EtcdTxn& txn, EtcdTxnResult* result) override;
  Status Range(const std::string& key, const std::string& range_end,
               std::vector<EtcdKeyValue>* kvs) override;
  Status LeaseTimeToLive(int64_t lease_id, int64_t* ttl_left_s) override;
  void SetRequestTimeoutMs(int64_t timeout_ms) override;
  int64_t LastRevision() const override;
  std::string LastErrorDetail() const override;

 private:
  struct Impl;
  Impl* impl_;
};

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_ETCD_CLIENT_H
