// etcd_client_test.cpp: CurlEtcdClient against a real etcd (Debian's
// etcd-server), one member on loopback started by the fixture: leases,
// transactions with every compare target, ranges, lease expiry, and
// failover past a dead and a frozen endpoint. TLS and users are in
// etcd_client_security_test.cpp.
#include "etcd_client.h"

#include <gtest/gtest.h>

#include <sys/socket.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <memory>
#include <thread>

#include "clock_guard.h"
#include "etcd_process.h"
#include "node_lease.h"
#include "printers.h"

namespace snowflake {
namespace {

using snowflake_test::EtcdProcess;
using snowflake_test::FreePort;
using snowflake_test::HaveEtcd;
using snowflake_test::LoopbackSocket;
using snowflake_test::RunCommand;

int64_t MsSince(std::chrono::steady_clock::time_point start) {
  return std::chrono::duration_cast<std::chrono::milliseconds>(std::chrono::steady_clock::now() -
                                                               start)
      .count();
}

EtcdClientConfig ConfigFor(std::vector<std::string> endpoints, int64_t request_timeout_ms = 2000) {
  EtcdClientConfig config;
  config.endpoints = std::move(endpoints);
  config.request_timeout_ms = request_timeout_ms;
  config.connect_timeout_ms = request_timeout_ms / 2;
  return config;
}

// An HTTP server on loopback that answers every request with one canned
// response: what a proxy in front of a dead member, a member without a
// leader, or something that is not etcd would say.
class CannedHttpServer {
 public:
  explicit CannedHttpServer(std::string response)
      : socket_(true), response_(std::move(response)), thread_([this] { Serve(); }) {}
  ~CannedHttpServer() {
    stop_ = true;
    // Wakes the accept() with a connection of our own.
    CurlEtcdClient poke(ConfigFor({url()}, 200));
    std::vector<EtcdKeyValue> kvs;
    poke.Range("/", "", &kvs);
    thread_.join();
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(socket_.port()); }
  int requests() const { return requests_; }

 private:
  void Serve() {
    while (!stop_) {
      const int fd = accept(socket_.fd(), nullptr, nullptr);
      if (fd < 0) continue;
      std::string request;
      char buf[4096];
      // Headers, then Content-Length bytes of body.
      size_t want = std::string::npos;
      while (want == std::string::npos || request.size() < want) {
        const ssize_t n = recv(fd, buf, sizeof(buf), 0);
        if (n <= 0) break;
        request.append(buf, static_cast<size_t>(n));
        const size_t end = request.find("\r\n\r\n");
        const size_t cl = request.find("Content-Length: ");
        if (want == std::string::npos && end != std::string::npos) {
          want = end + 4 + (cl == std::string::npos ? 0 : std::stoul(request.substr(cl + 16)));
        }
      }
      if (!stop_) requests_++;
      const std::string answer = response_;
      (void)!write(fd, answer.data(), answer.size());
      close(fd);
    }
  }

  LoopbackSocket socket_;
  std::string response_;
  std::atomic<bool> stop_{false};
  std::atomic<int> requests_{0};
  std::thread thread_;
};

std::string HttpResponse(int status, const std::string& body) {
  return "HTTP/1.1 " + std::to_string(status) +
         " X\r\nContent-Type: application/json\r\nContent-Length: " + std::to_string(body.size()) +
         "\r\nConnection: close\r\n\r\n" + body;
}

class EtcdClientTest : public ::testing::Test {
 protected:
  static void SetUpTestSuite() {
    if (!HaveEtcd()) return;
    ASSERT_TRUE(EtcdGlobalInit());
    etcd_ = new EtcdProcess;
    std::string why;
    const bool started = etcd_->Start(
        "http", {},
        [] {
          CurlEtcdClient probe(ConfigFor({etcd_->client_url()}, 500));
          std::vector<EtcdKeyValue> kvs;
          return probe.Range("/", "", &kvs).ok();
        },
        &why);
    if (!started) {
      delete etcd_;
      etcd_ = nullptr;
      FAIL() << why;
    }
  }
  static void TearDownTestSuite() {
    delete etcd_;
    etcd_ = nullptr;
  }
  void SetUp() override {
    if (!HaveEtcd())
      GTEST_SKIP() << "no " << snowflake_test::kEtcdBinary << " (Debian: etcd-server)";
    ASSERT_NE(etcd_, nullptr);
    client_ = std::make_unique<CurlEtcdClient>(ConfigFor({etcd_->client_url()}));
    // Each test under a prefix of its own.
    prefix_ = std::string("/test/") +
              ::testing::UnitTest::GetInstance()->current_test_info()->name() + "/";
  }

  static EtcdProcess* etcd_;
  std::unique_ptr<CurlEtcdClient> client_;
  std::string prefix_;
};

EtcdProcess* EtcdClientTest::etcd_ = nullptr;

TEST_F(EtcdClientTest, LeaseGrantKeepAliveTimeToLiveRevoke) {
  int64_t id = 0, granted = 0;
  ASSERT_EQ(client_->GrantLease(30, &id, &granted).code, StatusCode::kOk)
      << client_->LastErrorDetail();
  EXPECT_NE(id, 0);
  EXPECT_EQ(granted, 30);
  int64_t left = 0;
  ASSERT_EQ(client_->LeaseTimeToLive(id, &left).code, StatusCode::kOk);
  EXPECT_GE(left, 28);
  EXPECT_LE(left, 30);
  int64_t ttl = 0;
  ASSERT_EQ(client_->KeepAliveLease(id, &ttl).code, StatusCode::kOk);
  EXPECT_EQ(ttl, 30);
  ASSERT_EQ(client_->RevokeLease(id).code, StatusCode::kOk) << client_->LastErrorDetail();
  ASSERT_EQ(client_->LeaseTimeToLive(id, &left).code, StatusCode::kOk);
  EXPECT_EQ(left, -1);
  ttl = 99;
  ASSERT_EQ(client_->KeepAliveLease(id, &ttl).code, StatusCode::kOk);
  EXPECT_EQ(ttl, 0);  // the answer has no TTL: the lease is gone
  // Revoking it again: etcd says "requested lease not found", the same outcome.
  EXPECT_EQ(client_->RevokeLease(id).code, StatusCode::kOk);
}

TEST_F(EtcdClientTest, TxnCreateRevisionClaimsOnce) {
  int64_t lease = 0, granted = 0;
  ASSERT_EQ(client_->GrantLease(30, &lease, &granted).code, StatusCode::kOk);
  const std::string key = prefix_ + "claim";
  EtcdTxn txn;
  txn.compare = {snowflake::EtcdCmp(key, EtcdCompare::Target::kCreateRevision,
                                    EtcdCompare::Result::kEqual, 0)};
  txn.success = {snowflake::EtcdPut(key, "holder-a", lease), snowflake::EtcdRange(key)};
  txn.failure = {snowflake::EtcdRange(key)};
  EtcdTxnResult r;
  ASSERT_EQ(client_->Txn(txn, &r).code, StatusCode::kOk) << client_->LastErrorDetail();
  EXPECT_TRUE(r.succeeded);
  ASSERT_EQ(r.ranges.size(), 2u);
  EXPECT_TRUE(r.ranges[0].empty());   // a put reads nothing
  ASSERT_EQ(r.ranges[1].size(), 1u);  // the range sees the put before it
  const EtcdKeyValue kv = r.ranges[1][0];
  EXPECT_EQ(kv.key, key);
  EXPECT_EQ(kv.value, "holder-a");
  EXPECT_EQ(kv.lease, lease);
  EXPECT_EQ(kv.version, 1);
  EXPECT_EQ(kv.create_revision, r.revision);
  EXPECT_EQ(kv.mod_revision, r.revision);

  txn.success[0].value = "holder-b";
  EtcdTxnResult r2;
  ASSERT_EQ(client_->Txn(txn, &r2).code, StatusCode::kOk);
  EXPECT_FALSE(r2.succeeded);
  EXPECT_EQ(r2.revision, r.revision);  // nothing written
  ASSERT_EQ(r2.ranges.size(), 1u);
  ASSERT_EQ(r2.ranges[0].size(), 1u);
  EXPECT_EQ(r2.ranges[0][0].value, "holder-a");
  EXPECT_EQ(r2.ranges[0][0].lease, lease);
  ASSERT_EQ(client_->RevokeLease(lease).code, StatusCode::kOk);
}

// Each target, once true and once false, against a key with known fields.
TEST_F(EtcdClientTest, TxnEveryCompareTarget) {
  using T = EtcdCompare::Target;
  using R = EtcdCompare::Result;
  int64_t lease = 0, granted = 0;
  ASSERT_EQ(client_->GrantLease(30, &lease, &granted).code, StatusCode::kOk);
  const std::string key = prefix_ + "k";
  EtcdTxn put;
  put.success = {snowflake::EtcdPut(key, "m", lease)};
  EtcdTxnResult first, second;
  ASSERT_EQ(client_->Txn(put, &first).code, StatusCode::kOk);
  ASSERT_EQ(client_->Txn(put, &second).code, StatusCode::kOk);  // version 2
  const int64_t create = first.revision, mod = second.revision;
  ASSERT_GT(mod, create);

  struct Case {
    EtcdCompare compare;
    bool expected;
  };
  const std::string missing = prefix_ + "missing";
  const std::vector<Case> cases = {
      {snowflake::EtcdCmp(key, T::kCreateRevision, R::kEqual, create), true},
      {snowflake::EtcdCmp(key, T::kCreateRevision, R::kEqual, mod), false},
      {snowflake::EtcdCmp(key, T::kModRevision, R::kEqual, mod), true},
      {snowflake::EtcdCmp(key, T::kModRevision, R::kLess, mod), false},
      {snowflake::EtcdCmp(key, T::kModRevision, R::kGreater, create), true},
      {snowflake::EtcdCmp(key, T::kVersion, R::kEqual, 2), true},
      {snowflake::EtcdCmp(key, T::kVersion, R::kNotEqual, 2), false},
      {snowflake::EtcdCmp(key, T::kLease, R::kEqual, lease), true},
      {snowflake::EtcdCmp(key, T::kLease, R::kEqual, 0), false},
      {snowflake::EtcdCmp(key, T::kValue, R::kEqual, 0, "m"), true},
      {snowflake::EtcdCmp(key, T::kValue, R::kEqual, 0, "n"), false},
      {snowflake::EtcdCmp(key, T::kValue, R::kLess, 0, "n"), true},
      {snowflake::EtcdCmp(key, T::kValue, R::kGreater, 0, "n"), false},
      // A missing key: zeros, but a VALUE compare is false whatever it asks.
      {snowflake::EtcdCmp(missing, T::kCreateRevision, R::kEqual, 0), true},
      {snowflake::EtcdCmp(missing, T::kModRevision, R::kLess, 1), true},
      {snowflake::EtcdCmp(missing, T::kVersion, R::kGreater, 0), false},
      {snowflake::EtcdCmp(missing, T::kLease, R::kEqual, 0), true},
      {snowflake::EtcdCmp(missing, T::kValue, R::kEqual, 0, ""), false},
      {snowflake::EtcdCmp(missing, T::kValue, R::kNotEqual, 0, "x"), false},
  };
  for (size_t i = 0; i < cases.size(); i++) {
    EtcdTxn txn;
    txn.compare = {cases[i].compare};
    txn.success = {snowflake::EtcdRange(key)};
    EtcdTxnResult r;
    ASSERT_EQ(client_->Txn(txn, &r).code, StatusCode::kOk)
        << i << ": " << client_->LastErrorDetail();
    EXPECT_EQ(r.succeeded, cases[i].expected) << "case " << i;
    // The failure branch is empty: no response to read.
    EXPECT_EQ(r.ranges.size(), r.succeeded ? 1u : 0u) << "case " << i;
  }
  ASSERT_EQ(client_->RevokeLease(lease).code, StatusCode::kOk);
}

TEST_F(EtcdClientTest, TxnDeleteAndRevisions) {
  EtcdTxn txn;
  txn.success = {snowflake::EtcdPut(prefix_ + "a", "1"), snowflake::EtcdPut(prefix_ + "b", "2")};
  EtcdTxnResult r;
  ASSERT_EQ(client_->Txn(txn, &r).code, StatusCode::kOk);
  const int64_t rev = r.revision;
  // Read-only: the revision stays.
  txn.success = {snowflake::EtcdRange(prefix_, EtcdPrefixEnd(prefix_))};
  ASSERT_EQ(client_->Txn(txn, &r).code, StatusCode::kOk);
  EXPECT_EQ(r.revision, rev);
  ASSERT_EQ(r.ranges.size(), 1u);
  ASSERT_EQ(r.ranges[0].size(), 2u);
  EXPECT_EQ(r.ranges[0][0].mod_revision, rev);  // both puts share the transaction's revision
  EXPECT_EQ(r.ranges[0][1].mod_revision, rev);
  txn.success = {snowflake::EtcdDelete(prefix_ + "a"),
                 snowflake::EtcdRange(prefix_, EtcdPrefixEnd(prefix_))};
  ASSERT_EQ(client_->Txn(txn, &r).code, StatusCode::kOk);
  EXPECT_EQ(r.revision, rev + 1);
  ASSERT_EQ(r.ranges.size(), 2u);
  EXPECT_TRUE(r.ranges[0].empty());
  ASSERT_EQ(r.ranges[1].size(), 1u);
  EXPECT_EQ(r.ranges[1][0].key, prefix_ + "b");
}

TEST_F(EtcdClientTest, TxnWithAMissingLeaseIsAnEtcdError) {
  EtcdTxn txn;
  txn.success = {snowflake::EtcdPut(prefix_ + "x", "1", 0x7fff00000001)};
  EtcdTxnResult r;
  EXPECT_EQ(client_->Txn(txn, &r).code, StatusCode::kEtcdError);
  EXPECT_NE(client_->LastErrorDetail().find("requested lease not found"), std::string::npos)
      << client_->LastErrorDetail();
  std::vector<EtcdKeyValue> kvs;
  ASSERT_EQ(client_->Range(prefix_ + "x", "", &kvs).code, StatusCode::kOk);
  EXPECT_TRUE(kvs.empty());
}

// Keys and values are bytes: NUL, 0xff, every length modulo 3 (base64 padding).
TEST_F(EtcdClientTest, RangeWithPrefixAndBinaryBytes) {
  const std::vector<std::string> values = {
      "", "a", "ab", "abc", "abcd", std::string("\0\xff\x80", 3), std::string(1000, '\x01')};
  EtcdTxn txn;
  for (size_t i = 0; i < values.size(); i++) {
    txn.success.push_back(
        snowflake::EtcdPut(prefix_ + std::string(1, static_cast<char>(i)) + "\xff", values[i]));
  }
  txn.success.push_back(snowflake::EtcdPut(prefix_.substr(0, prefix_.size() - 1) + "0", "outside"));
  EtcdTxnResult r;
  ASSERT_EQ(client_->Txn(txn, &r).code, StatusCode::kOk) << client_->LastErrorDetail();
  std::vector<EtcdKeyValue> kvs;
  ASSERT_EQ(client_->Range(prefix_, EtcdPrefixEnd(prefix_), &kvs).code, StatusCode::kOk);
  ASSERT_EQ(kvs.size(), values.size());
  for (size_t i = 0; i < values.size(); i++) {
    EXPECT_EQ(kvs[i].key, prefix_ + std::string(1, static_cast<char>(i)) + "\xff");
    EXPECT_EQ(kvs[i].value, values[i]) << i;
  }
  // etcdctl reads what the client wrote: the base64 is etcd's, not only ours.
  std::string out;
  ASSERT_EQ(RunCommand(std::string("ETCDCTL_API=3 ") + snowflake_test::kEtcdctlBinary +
                           " --endpoints=" + etcd_->client_url() + " get --print-value-only '" +
                           prefix_ + std::string(1, '\x04') + "\xff'",
                       &out),
            0)
      << out;
  EXPECT_EQ(out, "abcd\n");
  ASSERT_EQ(client_->Range(prefix_ + "nothing", "", &kvs).code, StatusCode::kOk);
  EXPECT_TRUE(kvs.empty());
}

TEST_F(EtcdClientTest, AnExpiredLeaseTakesItsKeys) {
  int64_t lease = 0, granted = 0;
  ASSERT_EQ(client_->GrantLease(1, &lease, &granted).code, StatusCode::kOk);
  EXPECT_GE(granted, 1);
  const std::string key = prefix_ + "leased";
  EtcdTxn txn;
  txn.success = {snowflake::EtcdPut(key, "v", lease), snowflake::EtcdPut(prefix_ + "plain", "p")};
  EtcdTxnResult r;
  ASSERT_EQ(client_->Txn(txn, &r).code, StatusCode::kOk);
  std::vector<EtcdKeyValue> kvs;
  ASSERT_EQ(client_->Range(key, "", &kvs).code, StatusCode::kOk);
  ASSERT_EQ(kvs.size(), 1u);
  const auto start = std::chrono::steady_clock::now();
  while (!kvs.empty() && MsSince(start) < granted * 1000 + 5000) {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    ASSERT_EQ(client_->Range(key, "", &kvs).code, StatusCode::kOk);
  }
  EXPECT_TRUE(kvs.empty()) << "the leased key outlived its lease by 5 s";
  EXPECT_GE(MsSince(start), granted * 1000 - 500);
  int64_t ttl = 0, left = 0;
  ASSERT_EQ(client_->KeepAliveLease(lease, &ttl).code, StatusCode::kOk);
  EXPECT_EQ(ttl, 0);
  ASSERT_EQ(client_->LeaseTimeToLive(lease, &left).code, StatusCode::kOk);
  EXPECT_EQ(left, -1);
  ASSERT_EQ(client_->Range(prefix_ + "plain", "", &kvs).code, StatusCode::kOk);
  EXPECT_EQ(kvs.size(), 1u);
}

// A dead endpoint (refused), then a frozen one (accepts, never answers),
// then the live one: the call still answers, within one timeout; the next
// call starts with the live one.
TEST_F(EtcdClientTest, FailoverPastDeadAndFrozenEndpoints) {
  LoopbackSocket frozen(true);
  ASSERT_GT(frozen.port(), 0);
  const std::string dead = "http://127.0.0.1:" + std::to_string(FreePort());
  const std::string stuck = "http://127.0.0.1:" + std::to_string(frozen.port());
  constexpr int64_t kTimeoutMs = 500;
  CurlEtcdClient client(ConfigFor({dead, stuck, etcd_->client_url()}, kTimeoutMs));
  auto start = std::chrono::steady_clock::now();
  int64_t lease = 0, granted = 0;
  ASSERT_EQ(client.GrantLease(10, &lease, &granted).code, StatusCode::kOk)
      << client.LastErrorDetail();
  int64_t elapsed = MsSince(start);
  EXPECT_GE(elapsed, kTimeoutMs - 50);  // it did wait for the frozen one
  EXPECT_LT(elapsed, 2 * kTimeoutMs + 500);
  start = std::chrono::steady_clock::now();
  for (int i = 0; i < 3; i++) {
    int64_t ttl = 0;
    ASSERT_EQ(client.KeepAliveLease(lease, &ttl).code, StatusCode::kOk);
    EXPECT_EQ(ttl, 10);
  }
  EXPECT_LT(MsSince(start), kTimeoutMs)
      << "later calls should start with the endpoint that answered";
  ASSERT_EQ(client.RevokeLease(lease).code, StatusCode::kOk);
}

TEST_F(EtcdClientTest, NoEndpointAnswersIsUnavailable) {
  LoopbackSocket frozen(true);
  const std::string dead = "http://127.0.0.1:" + std::to_string(FreePort());
  const std::string stuck = "http://127.0.0.1:" + std::to_string(frozen.port());
  constexpr int64_t kTimeoutMs = 400;
  CurlEtcdClient client(ConfigFor({dead, stuck}, kTimeoutMs));
  const auto start = std::chrono::steady_clock::now();
  EtcdTxn txn;
  txn.success = {snowflake::EtcdPut(prefix_ + "never", "x")};
  EtcdTxnResult r;
  EXPECT_EQ(client.Txn(txn, &r).code, StatusCode::kUnavailable);
  const int64_t elapsed = MsSince(start);
  EXPECT_GE(elapsed, kTimeoutMs - 50);
  EXPECT_LT(elapsed, 2 * kTimeoutMs + 500);
  const std::string detail = client.LastErrorDetail();
  EXPECT_NE(detail.find(dead + ": "), std::string::npos) << detail;
  EXPECT_NE(detail.find(stuck + ": "), std::string::npos) << detail;
  EXPECT_NE(detail.find("refused"), std::string::npos) << detail;
  EXPECT_NE(detail.find("timed out"), std::string::npos) << detail;
  CurlEtcdClient none(ConfigFor({}));
  std::vector<EtcdKeyValue> kvs;
  EXPECT_EQ(none.Range("/x", "", &kvs).code, StatusCode::kUnavailable);
}

// Answers that mean "not this member": try the next one.
TEST_F(EtcdClientTest, NoLeaderAnd5xxAnswersFailOver) {
  CannedHttpServer no_leader(HttpResponse(
      503, R"({"error":"etcdserver: no leader","message":"etcdserver: no leader","code":14})"));
  CannedHttpServer bad_gateway(HttpResponse(502, "<html>Bad Gateway</html>"));
  CurlEtcdClient client(ConfigFor({no_leader.url(), bad_gateway.url(), etcd_->client_url()}, 1000));
  int64_t lease = 0, granted = 0;
  ASSERT_EQ(client.GrantLease(5, &lease, &granted).code, StatusCode::kOk)
      << client.LastErrorDetail();
  EXPECT_EQ(no_leader.requests(), 1);
  EXPECT_EQ(bad_gateway.requests(), 1);
  ASSERT_EQ(client.RevokeLease(lease).code, StatusCode::kOk);
}

// An answer that is not etcd's: an error, and no other endpoint is asked
// (it answered; the request may have been applied).
TEST_F(EtcdClientTest, AnAnswerThatIsNotEtcdsIsAnEtcdError) {
  for (const std::string& body :
       {std::string("not json"), std::string("[1,2]"),
        std::string(R"({"header":{"revision":"x"}})"), std::string(R"({"kvs":[{"key":"%%%"}]})")}) {
    CannedHttpServer odd(HttpResponse(200, body));
    CurlEtcdClient client(ConfigFor({odd.url(), etcd_->client_url()}, 1000));
    EtcdTxn txn;
    EtcdTxnResult r;
    std::vector<EtcdKeyValue> kvs;
    const StatusCode code = body.find("kvs") != std::string::npos
                                ? client.Range("/k", "", &kvs).code
                                : client.Txn(txn, &r).code;
    EXPECT_EQ(code, StatusCode::kEtcdError) << body;
    EXPECT_NE(client.LastErrorDetail(), "") << body;
    EXPECT_EQ(odd.requests(), 1) << body;
  }
}

// What node-id claims send (issue 17), against a real etcd: transactions
// nested in transactions (etcd 3.3 and later), a range of keys only, and
// the revision of every answer.
TEST_F(EtcdClientTest, NestedTransactionsKeysOnlyAndTheAnswersRevision) {
  const std::string a = prefix_ + "a", b = prefix_ + "b";
  EtcdTxnResult put;
  ASSERT_TRUE(client_->Txn(EtcdTxn{{}, {snowflake::EtcdPut(a, "taken")}, {}}, &put).ok());
  // If a is free take it, else if b is free take it, else read both (keys only).
  EtcdTxn inner;
  inner.compare = {
      snowflake::EtcdCmp(b, EtcdCompare::Target::kCreateRevision, EtcdCompare::Result::kEqual, 0)};
  inner.success = {snowflake::EtcdPut(b, "mine"), snowflake::EtcdRange(b)};
  inner.failure = {snowflake::EtcdRange(a, "", true), snowflake::EtcdRange(b, "", true)};
  EtcdTxn outer;
  outer.compare = {
      snowflake::EtcdCmp(a, EtcdCompare::Target::kCreateRevision, EtcdCompare::Result::kEqual, 0)};
  outer.success = {snowflake::EtcdPut(a, "mine")};
  outer.failure = {snowflake::EtcdNestedTxn(inner)};
  EtcdTxnResult r;
  ASSERT_EQ(client_->Txn(outer, &r).code, StatusCode::kOk) << client_->LastErrorDetail();
  EXPECT_FALSE(r.succeeded);
  ASSERT_EQ(r.txns.size(), 1u);
  EXPECT_TRUE(r.txns[0].succeeded) << "b was free: the nested transaction took it";
  ASSERT_EQ(r.txns[0].ranges.size(), 2u);
  ASSERT_EQ(r.txns[0].ranges[1].size(), 1u);
  EXPECT_EQ(r.txns[0].ranges[1][0].value, "mine");
  EXPECT_EQ(r.txns[0].ranges[1][0].create_revision, r.revision);
  EXPECT_EQ(r.txns[0].revision, r.revision) << "a nested answer has its parent's revision";
  EXPECT_EQ(client_->LastRevision(), r.revision);

  EtcdTxnResult again;
  ASSERT_EQ(client_->Txn(outer, &again).code, StatusCode::kOk);
  ASSERT_EQ(again.txns.size(), 1u);
  EXPECT_FALSE(again.txns[0].succeeded);
  ASSERT_EQ(again.txns[0].ranges.size(), 2u);
  ASSERT_EQ(again.txns[0].ranges[0].size(), 1u);
  EXPECT_EQ(again.txns[0].ranges[0][0].key, a);
  EXPECT_EQ(again.txns[0].ranges[0][0].value, "") << "keys only";
  EXPECT_GT(again.txns[0].ranges[0][0].create_revision, 0);
  EXPECT_EQ(again.revision, r.revision) << "nothing written";

  // A keep-alive's answer carries the revision too (inside its "result").
  int64_t lease = 0, granted = 0, ttl = 0;
  ASSERT_EQ(client_->GrantLease(30, &lease, &granted).code, StatusCode::kOk);
  ASSERT_TRUE(client_->Txn(EtcdTxn{{}, {snowflake::EtcdPut(prefix_ + "c", "x")}, {}}, &again).ok());
  ASSERT_EQ(client_->KeepAliveLease(lease, &ttl).code, StatusCode::kOk);
  EXPECT_EQ(client_->LastRevision(), again.revision);
  ASSERT_EQ(client_->RevokeLease(lease).code, StatusCode::kOk);
}

// NodeLease's claims through the real client: the first free of several
// candidates in one request, the mark raised in it, the 1025th refused.
TEST_F(EtcdClientTest, NodeLeaseClaimsTheFirstFreeCandidateInOneRequest) {
  snowflake::MonotonicClock monotonic;
  snowflake::NodeLeaseOptions options;
  options.prefix = prefix_ + "fleet";
  options.ttl_ms = 30000;
  std::vector<std::unique_ptr<CurlEtcdClient>> clients;
  std::vector<std::unique_ptr<snowflake::NodeLease>> leases;
  for (int i = 0; i < 3; ++i) {
    clients.push_back(std::make_unique<CurlEtcdClient>(ConfigFor({etcd_->client_url()})));
    snowflake::HolderIdentity self;
    self.host = "server" + std::to_string(i);
    leases.push_back(
        std::make_unique<snowflake::NodeLease>(clients.back().get(), &monotonic, options, self));
    snowflake::ClaimOutcome out;
    ASSERT_EQ(leases.back()->Claim(-1, -1, &out, 123456).code, StatusCode::kOk)
        << clients.back()->LastErrorDetail();
    EXPECT_EQ(out.node_id, i) << "one after another: the lowest free";
    EXPECT_EQ(leases.back()->high_water_ms(), 123456);
  }
  std::vector<snowflake::FleetEntry> fleet;
  ASSERT_TRUE(snowflake::ReadFleet(client_.get(), options.prefix, &fleet).ok());
  ASSERT_EQ(fleet.size(), 3u);
  for (const snowflake::FleetEntry& entry : fleet) EXPECT_EQ(entry.high_water_ms, 123456);
  ASSERT_TRUE(leases[1]->Release(100000).ok());
  ASSERT_TRUE(snowflake::ReadFleet(client_.get(), options.prefix, &fleet).ok());
  ASSERT_EQ(fleet.size(), 3u);
  EXPECT_FALSE(fleet[1].held);
  EXPECT_EQ(fleet[1].high_water_ms, 100000) << "the release gave the unused part of the mark back";
  for (auto& lease : leases) ASSERT_TRUE(lease->Release().ok());
}

}  // namespace
}  // namespace snowflake
