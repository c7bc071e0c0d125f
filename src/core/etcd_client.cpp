// etcd_client.cpp: CurlEtcdClient, EtcdApi over etcd's v3 JSON gateway.
// See etcd_client.h for the contract (failover, timeouts, TLS, users).
//
// Owns: the curl easy handle, the endpoint that answered last, the token.
// Threading: one thread at a time; no locking.
//
// What the gateway of etcd 3.4 does, as checked against a real server (the
// tests in tests/core/etcd_client_test.cpp hold each point):
//  - proto3 JSON: a field at its zero value is left out ("succeeded" of a
//    transaction that took the failure branch, "kvs" of an empty range,
//    "lease" of a key without one, "TTL" of a lease keep-alive for a lease
//    that is gone); int64 fields are strings ("revision":"5").
//  - an error is {"error":"...","message":"...","code":N} with N the gRPC
//    code and an HTTP status to match (401 for 16, "invalid auth token");
//    etcd 3.5's gateway leaves "error" out: {"code":N,"message":"..."};
//    the streaming keep-alive wraps its answer as {"result":{...}} and an
//    error as {"error":{"grpc_code":N,"message":"..."}} (3.5: "code":N).
//  - gRPC code 14 (Unavailable: "no leader", "request timed out", "server
//    stopped", ...) means this member cannot serve now: another may.
#include "etcd_client.h"

#include <curl/curl.h>
#include <openssl/evp.h>

#include <cerrno>
#include <cstdlib>
#include <cstring>
#include <memory>
#include <system_error>
#include <utility>

#include "json.h"

namespace snowflake {

namespace {

// gRPC status codes that etcd's gateway reports (google.golang.org/grpc/codes).
constexpr int kGrpcDeadlineExceeded = 4;
constexpr int kGrpcNotFound = 5;
constexpr int kGrpcUnavailable = 14;
constexpr int kGrpcUnauthenticated = 16;

// An answer larger than this is not one etcd gives for what we ask.
// (The registry of 1024 node ids is about 400 KiB.)
constexpr size_t kMaxResponseBytes = 4u << 20;

// Base64 with OpenSSL's codec (the gateway's encoding of proto3 bytes is
// standard base64 with padding).
std::string Base64Encode(const std::string& in) {
  std::string out(4 * ((in.size() + 2) / 3) + 1, '\0');
  const int n = EVP_EncodeBlock(reinterpret_cast<unsigned char*>(&out[0]),
                                reinterpret_cast<const unsigned char*>(in.data()),
                                static_cast<int>(in.size()));
  out.resize(n < 0 ? 0 : static_cast<size_t>(n));
  return out;
}

bool IsBase64Char(char c) {
  return (c >= 'A' && c <= 'Z') || (c >= 'a' && c <= 'z') || (c >= '0' && c <= '9') || c == '+' ||
         c == '/';
}

// EVP_DecodeBlock skips surrounding blanks and counts padding as zero
// bytes; the checks here make it strict and the length exact.
bool Base64Decode(const char* in, size_t len, std::string* out) {
  out->clear();
  if (len == 0) return true;
  if (len % 4 != 0 || len > (1u << 30)) return false;
  size_t pad = 0;
  if (in[len - 1] == '=') pad = in[len - 2] == '=' ? 2 : 1;
  for (size_t i = 0; i < len - pad; i++) {
    if (!IsBase64Char(in[i])) return false;
  }
  std::string buf(len / 4 * 3, '\0');
  const int n = EVP_DecodeBlock(reinterpret_cast<unsigned char*>(&buf[0]),
                                reinterpret_cast<const unsigned char*>(in), static_cast<int>(len));
  if (n < 0 || static_cast<size_t>(n) != buf.size()) return false;
  buf.resize(buf.size() - pad);
  *out = std::move(buf);
  return true;
}

Json JsonInt64(int64_t v) { return Json(std::to_string(v)); }

// An int64 field of an answer: a decimal string (or, tolerated, a JSON
// integer); absent means 0 (proto3 JSON leaves zero values out).
bool GetInt64(const Json& obj, const char* key, int64_t* out) {
  const Json* v = JsonMember(obj, key);
  *out = 0;
  if (v == nullptr || v->is_null()) return true;
  if (v->is_number_integer()) {
    *out = v->get<int64_t>();
    return true;
  }
  if (!v->is_string()) return false;
  const std::string& s = v->get_ref<const std::string&>();
  if (s.empty()) return false;
  char* end = nullptr;
  errno = 0;
  const long long parsed = strtoll(s.c_str(), &end, 10);
  if (errno != 0 || end == s.c_str() || *end != '\0') return false;
  *out = static_cast<int64_t>(parsed);
  return true;
}

bool GetBytes(const Json& obj, const char* key, std::string* out) {
  const Json* v = JsonMember(obj, key);
  out->clear();
  if (v == nullptr || v->is_null()) return true;
  if (!v->is_string()) return false;
  const std::string& text = v->get_ref<const std::string&>();
  return Base64Decode(text.data(), text.size(), out);
}

bool ParseKeyValue(const Json& obj, EtcdKeyValue* kv) {
  return obj.is_object() && GetBytes(obj, "key", &kv->key) && GetBytes(obj, "value", &kv->value) &&
         GetInt64(obj, "create_revision", &kv->create_revision) &&
         GetInt64(obj, "mod_revision", &kv->mod_revision) &&
         GetInt64(obj, "version", &kv->version) && GetInt64(obj, "lease", &kv->lease);
}

// The "kvs" of a RangeResponse; absent when the range is empty.
bool ParseKvs(const Json& obj, std::vector<EtcdKeyValue>* kvs) {
  kvs->clear();
  const Json* arr = JsonMember(obj, "kvs");
  if (arr == nullptr || arr->is_null()) return true;
  if (!arr->is_array()) return false;
  kvs->resize(arr->size());
  for (size_t i = 0; i < kvs->size(); i++) {
    if (!ParseKeyValue((*arr)[i], &(*kvs)[i])) return false;
  }
  return true;
}

bool GetHeaderRevision(const Json& obj, int64_t* revision) {
  const Json* header = JsonMember(obj, "header");
  *revision = 0;
  return header == nullptr || (header->is_object() && GetInt64(*header, "revision", revision));
}

const char* CompareTargetName(EtcdCompare::Target t) {
  switch (t) {
    case EtcdCompare::Target::kCreateRevision:
      return "CREATE";
    case EtcdCompare::Target::kModRevision:
      return "MOD";
    case EtcdCompare::Target::kVersion:
      return "VERSION";
    case EtcdCompare::Target::kLease:
      return "LEASE";
    case EtcdCompare::Target::kValue:
      return "VALUE";
  }
  return nullptr;
}

// The name of the target_union field that goes with the target.
const char* CompareFieldName(EtcdCompare::Target t) {
  switch (t) {
    case EtcdCompare::Target::kCreateRevision:
      return "create_revision";
    case EtcdCompare::Target::kModRevision:
      return "mod_revision";
    case EtcdCompare::Target::kVersion:
      return "version";
    case EtcdCompare::Target::kLease:
      return "lease";
    case EtcdCompare::Target::kValue:
      return "value";
  }
  return nullptr;
}

const char* CompareResultName(EtcdCompare::Result r) {
  switch (r) {
    case EtcdCompare::Result::kEqual:
      return "EQUAL";
    case EtcdCompare::Result::kNotEqual:
      return "NOT_EQUAL";
    case EtcdCompare::Result::kLess:
      return "LESS";
    case EtcdCompare::Result::kGreater:
      return "GREATER";
  }
  return nullptr;
}

// false (and *out untouched) for a target or result outside the enums.
bool CompareToJson(const EtcdCompare& c, Json* out) {
  const char* target = CompareTargetName(c.target);
  const char* field = CompareFieldName(c.target);
  const char* result = CompareResultName(c.result);
  if (target == nullptr || field == nullptr || result == nullptr) return false;
  Json obj = Json::object();
  obj["key"] = Base64Encode(c.key);
  obj["target"] = target;
  obj["result"] = result;
  obj[field] =
      c.target == EtcdCompare::Target::kValue ? Json(Base64Encode(c.value)) : JsonInt64(c.number);
  *out = std::move(obj);
  return true;
}

bool TxnToJson(const EtcdTxn& txn, Json* out);

// A RequestOp: {"request_put":{...}}, {"request_range":{...}},
// {"request_delete_range":{...}} or {"request_txn":{...}}.
bool OpToJson(const EtcdOp& op, Json* out) {
  Json inner = Json::object();
  if (op.kind != EtcdOp::Kind::kTxn) inner["key"] = Base64Encode(op.key);
  const char* name = nullptr;
  switch (op.kind) {
    case EtcdOp::Kind::kPut:
      name = "request_put";
      inner["value"] = Base64Encode(op.value);
      if (op.lease != 0) inner["lease"] = JsonInt64(op.lease);
      break;
    case EtcdOp::Kind::kRange:
      name = "request_range";
      if (!op.range_end.empty()) inner["range_end"] = Base64Encode(op.range_end);
      if (op.keys_only) inner["keys_only"] = true;
      break;
    case EtcdOp::Kind::kDelete:
      name = "request_delete_range";
      if (!op.range_end.empty()) inner["range_end"] = Base64Encode(op.range_end);
      break;
    case EtcdOp::Kind::kTxn:
      name = "request_txn";
      if (op.txn.size() != 1 || !TxnToJson(op.txn[0], &inner)) return false;
      break;
  }
  if (name == nullptr) return false;
  Json outer = Json::object();
  outer[name] = std::move(inner);
  *out = std::move(outer);
  return true;
}

bool OpsToJson(const std::vector<EtcdOp>& ops, Json* out) {
  Json arr = Json::array();
  for (const EtcdOp& op : ops) {
    Json j;
    if (!OpToJson(op, &j)) return false;
    arr.push_back(std::move(j));
  }
  *out = std::move(arr);
  return true;
}

// A TxnRequest: {"compare":[...],"success":[...],"failure":[...]}.
bool TxnToJson(const EtcdTxn& txn, Json* out) {
  Json request = Json::object();
  Json compares = Json::array();
  for (const EtcdCompare& c : txn.compare) {
    Json j;
    if (!CompareToJson(c, &j)) return false;
    compares.push_back(std::move(j));
  }
  Json success, failure;
  if (!OpsToJson(txn.success, &success) || !OpsToJson(txn.failure, &failure)) return false;
  request["compare"] = std::move(compares);
  request["success"] = std::move(success);
  request["failure"] = std::move(failure);
  *out = std::move(request);
  return true;
}

bool ParseTxnResponse(const Json& answer, const EtcdTxn& txn, EtcdTxnResult* result,
                      std::string* why);

// A nested transaction ran at its parent's revision (its answer has no header).
void SetNestedRevisions(EtcdTxnResult* result) {
  for (EtcdTxnResult& nested : result->txns) {
    nested.revision = result->revision;
    SetNestedRevisions(&nested);
  }
}

// One ResponseOp of a TxnResponse, for the op that asked for it.
bool ParseOpResponse(const Json& resp, const EtcdOp& op, std::vector<EtcdKeyValue>* kvs,
                     EtcdTxnResult* nested, std::string* why) {
  kvs->clear();
  if (!resp.is_object()) return false;
  if (op.kind == EtcdOp::Kind::kTxn) {
    const Json* txn = JsonMember(resp, "response_txn");
    return txn != nullptr && txn->is_object() && op.txn.size() == 1 &&
           ParseTxnResponse(*txn, op.txn[0], nested, why);
  }
  if (op.kind != EtcdOp::Kind::kRange) return true;
  const Json* range = JsonMember(resp, "response_range");
  return range != nullptr && range->is_object() && ParseKvs(*range, kvs);
}

// A TxnResponse (the answer, or a nested one: those carry no header of
// their own), for the transaction that asked for it.
bool ParseTxnResponse(const Json& answer, const EtcdTxn& txn, EtcdTxnResult* result,
                      std::string* why) {
  const Json* succeeded = JsonMember(answer, "succeeded");
  if (succeeded != nullptr && !succeeded->is_boolean()) {
    *why = "transaction: malformed answer (succeeded)";
    return false;
  }
  result->succeeded = succeeded != nullptr && succeeded->get<bool>();
  const std::vector<EtcdOp>& ops = result->succeeded ? txn.success : txn.failure;
  const Json* responses = JsonMember(answer, "responses");
  const size_t count = responses != nullptr && responses->is_array() ? responses->size() : 0;
  if (!GetHeaderRevision(answer, &result->revision) ||
      (responses != nullptr && !responses->is_array()) || count != ops.size()) {
    *why = "transaction: malformed answer (" + std::to_string(count) + " responses for " +
           std::to_string(ops.size()) + " operations)";
    return false;
  }
  result->ranges.resize(count);
  result->txns.resize(count);
  for (size_t i = 0; i < count; i++) {
    if (!ParseOpResponse((*responses)[i], ops[i], &result->ranges[i], &result->txns[i], why)) {
      if (why->empty()) *why = "transaction: malformed answer (response " + std::to_string(i) + ")";
      return false;
    }
  }
  return true;
}

// curl's progress callback: non-zero abandons the transfer.
int AbandonOnInterrupt(void* flag, curl_off_t, curl_off_t, curl_off_t, curl_off_t) {
  return *static_cast<const volatile sig_atomic_t*>(flag) != 0 ? 1 : 0;
}

size_t WriteBody(char* data, size_t size, size_t nmemb, void* userdata) {
  auto* body = static_cast<std::string*>(userdata);
  const size_t n = size * nmemb;
  if (body->size() + n > kMaxResponseBytes) return 0;  // CURLE_WRITE_ERROR
  body->append(data, n);
  return n;
}

// etcd's error in an answer, if it is one: the gateway's
// {"error":"...","message":"...","code":N} (etcd 3.4),
// {"code":N,"message":"..."} (etcd 3.5: no "error"), or the keep-alive
// stream's {"error":{"grpc_code":N,"message":"..."}} ("code" in 3.5).
bool GatewayError(const Json& answer, int* code, std::string* message) {
  const Json* err = JsonMember(answer, "error");
  if (err != nullptr && err->is_object()) {
    int64_t c = -1;
    *code = JsonInteger(*err, "grpc_code", &c) || JsonInteger(*err, "code", &c)
                ? static_cast<int>(c)
                : -1;
    if (!JsonString(*err, "message", message)) *message = "(no message)";
    return true;
  }
  // LeaseGrantResponse has an "error" string field of its own, beside a
  // "header"; the gateway's error has a "code" and no header.
  int64_t c = 0;
  if (!JsonInteger(answer, "code", &c) || JsonMember(answer, "header") != nullptr) return false;
  *code = static_cast<int>(c);
  if (!JsonString(answer, "message", message) && !JsonString(answer, "error", message))
    *message = "(no message)";
  return true;
}

}  // namespace

bool ParseEtcdEndpoints(const std::string& list, std::vector<std::string>* endpoints,
                        std::string* error) {
  endpoints->clear();
  std::vector<std::string> parsed;
  const char* blanks = " \t\r\n";
  size_t start = 0;
  while (true) {
    const size_t comma = list.find(',', start);
    const size_t stop = comma == std::string::npos ? list.size() : comma;
    std::string item = list.substr(start, stop - start);
    const size_t first = item.find_first_not_of(blanks);
    item = first == std::string::npos
               ? ""
               : item.substr(first, item.find_last_not_of(blanks) - first + 1);
    while (!item.empty() && item.back() == '/') item.pop_back();
    if (item.empty()) {
      *error = "empty element in the list of etcd endpoints";
      return false;
    }
    size_t scheme_len = 0;
    if (item.compare(0, 7, "http://") == 0) {
      scheme_len = 7;
    } else if (item.compare(0, 8, "https://") == 0) {
      scheme_len = 8;
    } else {
      *error = "etcd endpoint \"" + item + "\" is not an http:// or https:// URL";
      return false;
    }
    if (item.find_first_of(" \t\r\n?#@\\", scheme_len) != std::string::npos) {
      *error = "etcd endpoint \"" + item + "\" has a blank, a query, a fragment or a user name";
      return false;
    }
    const size_t slash = item.find('/', scheme_len);
    const std::string authority =
        item.substr(scheme_len, (slash == std::string::npos ? item.size() : slash) - scheme_len);
    if (authority.empty() || authority[0] == ':') {
      *error = "etcd endpoint \"" + item + "\" has no host";
      return false;
    }
    parsed.push_back(item);
    if (comma == std::string::npos) break;
    start = comma + 1;
  }
  *endpoints = std::move(parsed);
  return true;
}

bool EtcdGlobalInit() { return curl_global_init(CURL_GLOBAL_DEFAULT) == CURLE_OK; }

struct CurlEtcdClient::Impl {
  EtcdClientConfig config;
  CURL* curl = nullptr;
  size_t current = 0;         // the endpoint that answered last
  std::string token;          // etcd's auth token; empty: none yet
  std::string detail;         // LastErrorDetail()
  std::string body;           // the answer being read
  int64_t last_revision = 0;  // LastRevision()
  char curl_error[CURL_ERROR_SIZE] = {};

  // What one POST to one endpoint gave.
  enum class Outcome { kAnswer, kUnreachable };

  // POSTs request to endpoint + path. kAnswer with *answer and *http_code
  // when the endpoint answered with JSON; kUnreachable (with why) when it
  // did not answer in time, could not be reached, or answered without JSON
  // with a 5xx status (a proxy in front of a dead member).
  Outcome Post(const std::string& endpoint, const char* path, const std::string& request,
               bool with_token, Json* answer, long* http_code, std::string* why);

  // Authenticates with the endpoint; kOk sets token.
  Status Authenticate(const std::string& endpoint, bool* unreachable);

  // One request with failover: *answer is etcd's answer (kOk), or the
  // error etcd gave (kEtcdError, *grpc_code set), or no endpoint answered
  // (kUnavailable).
  Status Call(const char* path, const Json& request, Json* answer, int* grpc_code);

  // The header's revision: at the top of most answers, inside "result" in
  // the keep-alive stream's.
  void NoteRevision(const Json& answer) {
    const Json* result = JsonMember(answer, "result");
    int64_t revision = 0;
    if ((GetHeaderRevision(answer, &revision) && revision > 0) ||
        (result != nullptr && result->is_object() && GetHeaderRevision(*result, &revision) &&
         revision > 0))
      last_revision = revision;
  }

  void Note(const std::string& endpoint, const std::string& what) {
    if (!detail.empty()) detail += "; ";
    detail += endpoint + ": " + what;
  }
};

CurlEtcdClient::Impl::Outcome CurlEtcdClient::Impl::Post(const std::string& endpoint,
                                                         const char* path,
                                                         const std::string& request,
                                                         bool with_token, Json* answer,
                                                         long* http_code, std::string* why) {
  *answer = Json();
  *http_code = 0;
  if (curl == nullptr) {
    *why = "curl_easy_init failed";
    return Outcome::kUnreachable;
  }
  const std::string url = endpoint + path;
  // The token goes in a header of its own (no "Bearer"), as etcd's gateway reads it.
  struct curl_slist* headers = curl_slist_append(nullptr, "Content-Type: application/json");
  if (headers != nullptr && with_token && !token.empty()) {
    struct curl_slist* more = curl_slist_append(headers, ("Authorization: " + token).c_str());
    if (more == nullptr) {
      curl_slist_free_all(headers);
      headers = nullptr;
    }
  }
  if (headers == nullptr) {
    *why = "out of memory";
    return Outcome::kUnreachable;
  }
  body.clear();
  curl_error[0] = '\0';
  CURLcode rc = curl_easy_setopt(curl, CURLOPT_URL, url.c_str());
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_POSTFIELDS, request.c_str());
  if (rc == CURLE_OK) rc = curl_easy_setopt(curl, CURLOPT_HTTPHEADER, headers);
  if (rc == CURLE_OK) rc = curl_easy_perform(curl);
  curl_easy_setopt(curl, CURLOPT_HTTPHEADER, nullptr);
  curl_slist_free_all(headers);
  if (rc != CURLE_OK) {
    *why = curl_error[0] != '\0' ? curl_error : curl_easy_strerror(rc);
    long os_errno = 0;  // curl's message may not say "Connection refused"
    if (curl_easy_getinfo(curl, CURLINFO_OS_ERRNO, &os_errno) == CURLE_OK && os_errno != 0) {
      *why += " (" +
              std::error_code(static_cast<int>(os_errno), std::generic_category()).message() + ")";
    }
    return Outcome::kUnreachable;
  }
  curl_easy_getinfo(curl, CURLINFO_RESPONSE_CODE, http_code);
  *answer = ParseJson(body);
  if (!answer->is_object()) {
    *answer = Json();
    std::string excerpt = body.substr(0, 200);
    while (!excerpt.empty() && (excerpt.back() == '\n' || excerpt.back() == '\r'))
      excerpt.pop_back();
    *why = "HTTP " + std::to_string(*http_code) + ", not a JSON object: " + excerpt;
    return *http_code >= 500 ? Outcome::kUnreachable : Outcome::kAnswer;
  }
  return Outcome::kAnswer;
}

Status CurlEtcdClient::Impl::Authenticate(const std::string& endpoint, bool* unreachable) {
  *unreachable = false;
  token.clear();
  Json request = Json::object();
  request["name"] = config.user;
  request["password"] = config.password;
  if (!ValidUtf8(config.user) || !ValidUtf8(config.password)) {
    Note(endpoint, "the etcd user name or password is not valid UTF-8");
    return Status::Error(StatusCode::kEtcdError, "etcd authentication request");
  }
  const std::string text = DumpJson(request);
  Json answer;
  long http_code = 0;
  std::string why;
  if (Post(endpoint, "/v3/auth/authenticate", text, false, &answer, &http_code, &why) ==
      Outcome::kUnreachable) {
    *unreachable = true;
    Note(endpoint, why);
    return Status::Error(StatusCode::kUnavailable, "etcd authentication");
  }
  int code = 0;
  std::string message;
  if (answer.is_null()) {
    Note(endpoint, "authentication: " + why);
    return Status::Error(StatusCode::kEtcdError, "etcd authentication");
  }
  if (GatewayError(answer, &code, &message)) {
    if (code == kGrpcUnavailable || code == kGrpcDeadlineExceeded) {
      *unreachable = true;
      Note(endpoint, "authentication: " + message);
      return Status::Error(StatusCode::kUnavailable, "etcd authentication");
    }
    Note(endpoint, "authentication as \"" + config.user + "\": " + message);
    return Status::Error(StatusCode::kEtcdError, "etcd authentication");
  }
  std::string t;
  if (!JsonString(answer, "token", &t) || t.empty() ||
      t.find_first_of("\r\n") != std::string::npos || t.find('\0') != std::string::npos) {
    Note(endpoint, "authentication: the answer has no token");
    return Status::Error(StatusCode::kEtcdError, "etcd authentication");
  }
  token = t;
  return Status::Ok();
}

Status CurlEtcdClient::Impl::Call(const char* path, const Json& request, Json* answer,
                                  int* grpc_code) {
  detail.clear();
  *grpc_code = 0;
  // Every string in a request is base64 or an integer: ASCII.
  const std::string text = DumpJson(request);
  const size_t n = config.endpoints.size();
  if (n == 0) {
    detail = "no etcd endpoint configured";
    return Status::Error(StatusCode::kUnavailable, "no etcd endpoint");
  }
  for (size_t tried = 0; tried < n; tried++) {
    const size_t index = (current + tried) % n;
    const std::string& endpoint = config.endpoints[index];
    bool reauthenticated = false;
    if (!config.user.empty() && token.empty()) {
      bool unreachable = false;
      const Status s = Authenticate(endpoint, &unreachable);
      if (unreachable) continue;
      if (!s.ok()) {
        current = index;
        return s;
      }
      reauthenticated = true;
    }
    while (true) {
      long http_code = 0;
      std::string why;
      if (Post(endpoint, path, text, true, answer, &http_code, &why) == Outcome::kUnreachable) {
        Note(endpoint, why);
        break;  // the next endpoint
      }
      if (answer->is_null()) {
        current = index;
        Note(endpoint, why);
        return Status::Error(StatusCode::kEtcdError, "etcd answer");
      }
      std::string message;
      int code = 0;
      if (!GatewayError(*answer, &code, &message)) {
        current = index;
        NoteRevision(*answer);
        return Status::Ok();
      }
      if (code == kGrpcUnavailable || code == kGrpcDeadlineExceeded) {
        Note(endpoint, message);
        break;
      }
      // A token that expired or that this member does not know: get a new
      // one and try once more. "revision of auth store is old" asks the same
      // (etcd's own client does so).
      const bool stale_token =
          code == kGrpcUnauthenticated || message == "etcdserver: revision of auth store is old";
      if (stale_token && !config.user.empty() && !reauthenticated) {
        reauthenticated = true;
        bool unreachable = false;
        const Status s = Authenticate(endpoint, &unreachable);
        if (unreachable) break;
        if (!s.ok()) {
          current = index;
          return s;
        }
        continue;
      }
      current = index;
      *grpc_code = code;
      Note(endpoint, message + " (gRPC code " + std::to_string(code) + ")");
      return Status::Error(StatusCode::kEtcdError, "etcd refused the request");
    }
  }
  *answer = Json();
  return Status::Error(StatusCode::kUnavailable, "no etcd endpoint answered");
}

CurlEtcdClient::CurlEtcdClient(EtcdClientConfig config) : impl_(new Impl) {
  impl_->config = std::move(config);
  impl_->curl = curl_easy_init();
  CURL* c = impl_->curl;
  if (c == nullptr) return;
  const EtcdClientConfig& cfg = impl_->config;
  // Each option is checked where it matters: a failure here shows as an
  // error of the first request (the handle is then unusable anyway).
  curl_easy_setopt(c, CURLOPT_NOSIGNAL, 1L);  // no SIGALRM for DNS timeouts: threads
  curl_easy_setopt(c, CURLOPT_ERRORBUFFER, impl_->curl_error);
  if (cfg.interrupt_flag != nullptr) {
    curl_easy_setopt(c, CURLOPT_XFERINFOFUNCTION, AbandonOnInterrupt);
    curl_easy_setopt(c, CURLOPT_XFERINFODATA,
                     const_cast<void*>(static_cast<const volatile void*>(cfg.interrupt_flag)));
    curl_easy_setopt(c, CURLOPT_NOPROGRESS, 0L);
  }
  curl_easy_setopt(c, CURLOPT_WRITEFUNCTION, WriteBody);
  curl_easy_setopt(c, CURLOPT_WRITEDATA, &impl_->body);
  curl_easy_setopt(c, CURLOPT_CONNECTTIMEOUT_MS, static_cast<long>(cfg.connect_timeout_ms));
  curl_easy_setopt(c, CURLOPT_TIMEOUT_MS, static_cast<long>(cfg.request_timeout_ms));
  curl_easy_setopt(c, CURLOPT_FOLLOWLOCATION, 0L);
#if LIBCURL_VERSION_NUM >= 0x075500
  curl_easy_setopt(c, CURLOPT_PROTOCOLS_STR, "http,https");
#else
  curl_easy_setopt(c, CURLOPT_PROTOCOLS, static_cast<long>(CURLPROTO_HTTP | CURLPROTO_HTTPS));
#endif
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYPEER, 1L);
  curl_easy_setopt(c, CURLOPT_SSL_VERIFYHOST, 2L);
  if (!cfg.ca_file.empty()) curl_easy_setopt(c, CURLOPT_CAINFO, cfg.ca_file.c_str());
  if (!cfg.cert_file.empty()) curl_easy_setopt(c, CURLOPT_SSLCERT, cfg.cert_file.c_str());
  if (!cfg.key_file.empty()) curl_easy_setopt(c, CURLOPT_SSLKEY, cfg.key_file.c_str());
}

CurlEtcdClient::~CurlEtcdClient() {
  if (impl_->curl != nullptr) curl_easy_cleanup(impl_->curl);
  delete impl_;
}

Status CurlEtcdClient::GrantLease(int64_t ttl_s, int64_t* lease_id, int64_t* granted_ttl_s) {
  Json request = Json::object();
  request["TTL"] = JsonInt64(ttl_s);
  Json answer;
  int code = 0;
  Status s = impl_->Call("/v3/lease/grant", request, &answer, &code);
  if (!s.ok()) return s;
  std::string err;
  if (JsonString(answer, "error", &err) && !err.empty()) {
    impl_->detail = "lease grant: " + err;
    return Status::Error(StatusCode::kEtcdError, "etcd lease grant");
  }
  if (!GetInt64(answer, "ID", lease_id) || !GetInt64(answer, "TTL", granted_ttl_s) ||
      *lease_id == 0) {
    impl_->detail = "lease grant: malformed answer";
    return Status::Error(StatusCode::kEtcdError, "etcd answer");
  }
  return Status::Ok();
}

Status CurlEtcdClient::KeepAliveLease(int64_t lease_id, int64_t* ttl_s) {
  Json request = Json::object();
  request["ID"] = JsonInt64(lease_id);
  Json answer;
  int code = 0;
  Status s = impl_->Call("/v3/lease/keepalive", request, &answer, &code);
  if (!s.ok()) return s;
  // A stream of one message: {"result":{"ID":...,"TTL":...}}; no TTL (0)
  // when the lease is gone.
  const Json* result = JsonMember(answer, "result");
  if (result == nullptr || !result->is_object() || !GetInt64(*result, "TTL", ttl_s)) {
    impl_->detail = "lease keep-alive: malformed answer";
    return Status::Error(StatusCode::kEtcdError, "etcd answer");
  }
  if (*ttl_s < 0) *ttl_s = 0;
  return Status::Ok();
}

Status CurlEtcdClient::RevokeLease(int64_t lease_id) {
  Json request = Json::object();
  request["ID"] = JsonInt64(lease_id);
  Json answer;
  int code = 0;
  Status s = impl_->Call("/v3/lease/revoke", request, &answer, &code);
  // "etcdserver: requested lease not found": already gone, the same outcome.
  if (s.code == StatusCode::kEtcdError && code == kGrpcNotFound) {
    impl_->detail.clear();
    return Status::Ok();
  }
  return s;
}

Status CurlEtcdClient::Txn(const EtcdTxn& txn, EtcdTxnResult* result) {
  *result = EtcdTxnResult{};
  Json request;
  if (!TxnToJson(txn, &request)) {
    impl_->detail = "could not encode a transaction";
    return Status::Error(StatusCode::kEtcdError, "etcd request encoding");
  }
  Json answer;
  int code = 0;
  Status s = impl_->Call("/v3/kv/txn", request, &answer, &code);
  if (!s.ok()) return s;
  std::string why;
  if (!ParseTxnResponse(answer, txn, result, &why)) {
    impl_->detail = why;
    *result = EtcdTxnResult{};
    return Status::Error(StatusCode::kEtcdError, "etcd answer");
  }
  SetNestedRevisions(result);
  return Status::Ok();
}

Status CurlEtcdClient::Range(const std::string& key, const std::string& range_end,
                             std::vector<EtcdKeyValue>* kvs) {
  kvs->clear();
  Json request = Json::object();
  request["key"] = Base64Encode(key);
  if (!range_end.empty()) request["range_end"] = Base64Encode(range_end);
  Json answer;
  int code = 0;
  Status s = impl_->Call("/v3/kv/range", request, &answer, &code);
  if (!s.ok()) return s;
  const Json* more = JsonMember(answer, "more");
  const bool incomplete = more != nullptr && more->is_boolean() && more->get<bool>();
  if (!ParseKvs(answer, kvs) || incomplete) {
    kvs->clear();
    impl_->detail = "range: malformed or incomplete answer";
    return Status::Error(StatusCode::kEtcdError, "etcd answer");
  }
  return Status::Ok();
}

Status CurlEtcdClient::LeaseTimeToLive(int64_t lease_id, int64_t* ttl_left_s) {
  Json request = Json::object();
  request["ID"] = JsonInt64(lease_id);
  Json answer;
  int code = 0;
  Status s = impl_->Call("/v3/lease/timetolive", request, &answer, &code);
  if (!s.ok()) return s;
  // "TTL":"-1" for a lease that is gone; absent (0) for one about to expire.
  if (!GetInt64(answer, "TTL", ttl_left_s)) {
    impl_->detail = "lease time-to-live: malformed answer";
    return Status::Error(StatusCode::kEtcdError, "etcd answer");
  }
  if (*ttl_left_s < -1) *ttl_left_s = -1;
  return Status::Ok();
}

void CurlEtcdClient::SetRequestTimeoutMs(int64_t timeout_ms) {
  impl_->config.request_timeout_ms = timeout_ms;
  if (impl_->curl != nullptr)
    curl_easy_setopt(impl_->curl, CURLOPT_TIMEOUT_MS, static_cast<long>(timeout_ms));
}

int64_t CurlEtcdClient::LastRevision() const { return impl_->last_revision; }

std::string CurlEtcdClient::LastErrorDetail() const { return impl_->detail; }

}  // namespace snowflake
