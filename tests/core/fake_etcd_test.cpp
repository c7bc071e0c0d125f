// fake_etcd_test.cpp: the fake etcd keeps etcd's rules (fake_etcd.h lists
// them) and its faults do what they say.
#include "fake_etcd.h"

#include <gtest/gtest.h>

#include "fake_clock.h"
#include "printers.h"

namespace snowflake_test {
namespace {

using snowflake::EtcdCompare;
using snowflake::EtcdKeyValue;
using snowflake::EtcdOp;
using snowflake::EtcdTxn;
using snowflake::EtcdTxnResult;
using snowflake::StatusCode;

// A transaction of one compare, for the compare tests.
bool CompareHolds(FakeEtcd* etcd, const EtcdCompare& c) {
  EtcdTxn txn;
  txn.compare.push_back(c);
  EtcdTxnResult r;
  EXPECT_EQ(etcd->Txn(txn, &r).code, StatusCode::kOk);
  return r.succeeded;
}

class FakeEtcdTest : public ::testing::Test {
 protected:
  FakeClock clock_{1000000};
  FakeEtcd etcd_{&clock_};
};

TEST_F(FakeEtcdTest, RevisionsFollowEtcd) {
  EXPECT_EQ(etcd_.revision(), 1);
  EtcdTxn txn;
  txn.success = {snowflake::EtcdPut("/a", "1"), snowflake::EtcdPut("/b", "2")};
  EtcdTxnResult r;
  ASSERT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kOk);
  EXPECT_TRUE(r.succeeded);
  EXPECT_EQ(r.revision, 2);  // one revision for the whole transaction
  EtcdKeyValue a, b;
  ASSERT_TRUE(etcd_.Get("/a", &a));
  ASSERT_TRUE(etcd_.Get("/b", &b));
  EXPECT_EQ(a.create_revision, 2);
  EXPECT_EQ(b.mod_revision, 2);
  EXPECT_EQ(a.version, 1);

  txn.success = {snowflake::EtcdPut("/a", "3")};
  ASSERT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kOk);
  ASSERT_TRUE(etcd_.Get("/a", &a));
  EXPECT_EQ(a.create_revision, 2);
  EXPECT_EQ(a.mod_revision, 3);
  EXPECT_EQ(a.version, 2);
  EXPECT_EQ(a.value, "3");

  // Read-only, and a delete that deletes nothing: no new revision.
  txn.success = {snowflake::EtcdRange("/a"), snowflake::EtcdDelete("/missing")};
  ASSERT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kOk);
  EXPECT_EQ(r.revision, 3);
  ASSERT_EQ(r.ranges.size(), 2u);
  ASSERT_EQ(r.ranges[0].size(), 1u);
  EXPECT_EQ(r.ranges[0][0].value, "3");
  EXPECT_TRUE(r.ranges[1].empty());

  txn.success = {snowflake::EtcdDelete("/a")};
  ASSERT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kOk);
  EXPECT_EQ(r.revision, 4);
  EXPECT_FALSE(etcd_.Get("/a", &a));
  // Created again: a new create_revision and version 1.
  txn.success = {snowflake::EtcdPut("/a", "4")};
  ASSERT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kOk);
  ASSERT_TRUE(etcd_.Get("/a", &a));
  EXPECT_EQ(a.create_revision, 5);
  EXPECT_EQ(a.version, 1);
}

TEST_F(FakeEtcdTest, RangeInATransactionSeesEarlierWrites) {
  EtcdTxn txn;
  txn.success = {snowflake::EtcdRange("/k"), snowflake::EtcdPut("/k", "v"),
                 snowflake::EtcdRange("/k")};
  EtcdTxnResult r;
  ASSERT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kOk);
  ASSERT_EQ(r.ranges.size(), 3u);
  EXPECT_TRUE(r.ranges[0].empty());
  EXPECT_TRUE(r.ranges[1].empty());
  ASSERT_EQ(r.ranges[2].size(), 1u);
  EXPECT_EQ(r.ranges[2][0].mod_revision, 2);
}

TEST_F(FakeEtcdTest, ComparesOnAMissingKeyUseZeros) {
  using T = EtcdCompare::Target;
  using R = EtcdCompare::Result;
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/none", T::kCreateRevision, R::kEqual, 0)));
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/none", T::kModRevision, R::kLess, 1)));
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/none", T::kVersion, R::kEqual, 0)));
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/none", T::kLease, R::kEqual, 0)));
  EXPECT_FALSE(
      CompareHolds(&etcd_, snowflake::EtcdCmp("/none", T::kCreateRevision, R::kGreater, 0)));
  // VALUE on a missing key is false whatever the operator (etcd's applyCompare).
  EXPECT_FALSE(CompareHolds(&etcd_, snowflake::EtcdCmp("/none", T::kValue, R::kEqual, 0, "")));
  EXPECT_FALSE(CompareHolds(&etcd_, snowflake::EtcdCmp("/none", T::kValue, R::kNotEqual, 0, "x")));
  EXPECT_FALSE(CompareHolds(&etcd_, snowflake::EtcdCmp("/none", T::kValue, R::kLess, 0, "x")));
}

TEST_F(FakeEtcdTest, ComparesOnAnExistingKey) {
  using T = EtcdCompare::Target;
  using R = EtcdCompare::Result;
  const int64_t lease = etcd_.SeedLease(60);
  ASSERT_TRUE(etcd_.SeedPut("/k", "m", lease));  // revision 2
  ASSERT_TRUE(etcd_.SeedPut("/k", "m", lease));  // revision 3, version 2
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/k", T::kCreateRevision, R::kEqual, 2)));
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/k", T::kModRevision, R::kEqual, 3)));
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/k", T::kModRevision, R::kGreater, 2)));
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/k", T::kVersion, R::kEqual, 2)));
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/k", T::kLease, R::kEqual, lease)));
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/k", T::kLease, R::kNotEqual, 0)));
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/k", T::kValue, R::kEqual, 0, "m")));
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/k", T::kValue, R::kLess, 0, "n")));
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/k", T::kValue, R::kGreater, 0, "l")));
  // Byte-wise: 0xff sorts after 'm'.
  EXPECT_TRUE(CompareHolds(&etcd_, snowflake::EtcdCmp("/k", T::kValue, R::kLess, 0, "\xff")));
  EXPECT_FALSE(CompareHolds(&etcd_, snowflake::EtcdCmp("/k", T::kVersion, R::kLess, 2)));

  // Every compare must hold: one false one sends the failure branch.
  EtcdTxn txn;
  txn.compare = {snowflake::EtcdCmp("/k", T::kVersion, R::kEqual, 2),
                 snowflake::EtcdCmp("/k", T::kLease, R::kEqual, 0)};
  txn.success = {snowflake::EtcdPut("/s", "")};
  txn.failure = {snowflake::EtcdRange("/k")};
  EtcdTxnResult r;
  ASSERT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kOk);
  EXPECT_FALSE(r.succeeded);
  ASSERT_EQ(r.ranges.size(), 1u);
  ASSERT_EQ(r.ranges[0].size(), 1u);
  EXPECT_EQ(r.ranges[0][0].lease, lease);
  EtcdKeyValue kv;
  EXPECT_FALSE(etcd_.Get("/s", &kv));
}

TEST_F(FakeEtcdTest, RangeWithPrefix) {
  for (const char* k : {"/p", "/p/1", "/p/2", "/p0", "/q"}) ASSERT_TRUE(etcd_.SeedPut(k, k));
  std::vector<EtcdKeyValue> kvs;
  ASSERT_EQ(etcd_.Range("/p/", snowflake::EtcdPrefixEnd("/p/"), &kvs).code, StatusCode::kOk);
  ASSERT_EQ(kvs.size(), 2u);
  EXPECT_EQ(kvs[0].key, "/p/1");
  EXPECT_EQ(kvs[1].key, "/p/2");
  ASSERT_EQ(etcd_.Range("/p0", std::string(1, '\0'), &kvs).code, StatusCode::kOk);
  ASSERT_EQ(kvs.size(), 2u);  // "/p0" and "/q": every key from the key on
  ASSERT_EQ(etcd_.Range("/p", "", &kvs).code, StatusCode::kOk);
  ASSERT_EQ(kvs.size(), 1u);
  EXPECT_EQ(etcd_.Range("", "", &kvs).code, StatusCode::kEtcdError);
}

TEST_F(FakeEtcdTest, LeasesExpireWithTheClockAndTakeTheirKeys) {
  int64_t id = 0, ttl = 0;
  ASSERT_EQ(etcd_.GrantLease(1, &id, &ttl).code, StatusCode::kOk);
  EXPECT_EQ(ttl, FakeEtcd::kDefaultMinTtlS);  // raised to the minimum, as etcd does
  ASSERT_EQ(etcd_.GrantLease(10, &id, &ttl).code, StatusCode::kOk);
  EXPECT_EQ(ttl, 10);
  EXPECT_EQ(etcd_.GrantLease(FakeEtcd::kMaxTtlS + 1, &id, &ttl).code, StatusCode::kEtcdError);

  EtcdTxn txn;
  txn.success = {snowflake::EtcdPut("/leased", "x", id), snowflake::EtcdPut("/plain", "y")};
  EtcdTxnResult r;
  ASSERT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kOk);
  const int64_t rev = r.revision;

  int64_t left = 0;
  clock_.Advance(2500);
  ASSERT_EQ(etcd_.LeaseTimeToLive(id, &left).code, StatusCode::kOk);
  EXPECT_EQ(left, 7);  // 7.5 s left: whole seconds
  ASSERT_EQ(etcd_.KeepAliveLease(id, &ttl).code, StatusCode::kOk);
  EXPECT_EQ(ttl, 10);
  clock_.Advance(9999);
  EtcdKeyValue kv;
  EXPECT_TRUE(etcd_.Get("/leased", &kv));  // the keep-alive restarted the 10 s
  clock_.Advance(1);
  EXPECT_FALSE(etcd_.Get("/leased", &kv));
  EXPECT_TRUE(etcd_.Get("/plain", &kv));
  EXPECT_EQ(etcd_.revision(), rev + 1);  // the expiry deleted in one revision
  ASSERT_EQ(etcd_.LeaseTimeToLive(id, &left).code, StatusCode::kOk);
  EXPECT_EQ(left, -1);
  ASSERT_EQ(etcd_.KeepAliveLease(id, &ttl).code, StatusCode::kOk);
  EXPECT_EQ(ttl, 0);
  EXPECT_EQ(etcd_.RevokeLease(id).code, StatusCode::kOk);  // gone already: the same outcome
}

TEST_F(FakeEtcdTest, RevokeDeletesTheLeasesKeys) {
  const int64_t a = etcd_.SeedLease(60);
  const int64_t b = etcd_.SeedLease(60);
  ASSERT_TRUE(etcd_.SeedPut("/a1", "", a));
  ASSERT_TRUE(etcd_.SeedPut("/a2", "", a));
  ASSERT_TRUE(etcd_.SeedPut("/b", "", b));
  const int64_t rev = etcd_.revision();
  ASSERT_EQ(etcd_.RevokeLease(a).code, StatusCode::kOk);
  EtcdKeyValue kv;
  EXPECT_FALSE(etcd_.Get("/a1", &kv));
  EXPECT_FALSE(etcd_.Get("/a2", &kv));
  EXPECT_TRUE(etcd_.Get("/b", &kv));
  EXPECT_EQ(etcd_.revision(), rev + 1);
  EXPECT_FALSE(etcd_.LeaseExists(a));
  // A put without a lease detaches the key from its lease.
  ASSERT_TRUE(etcd_.SeedPut("/b", "", 0));
  etcd_.ExpireLease(b);
  EXPECT_TRUE(etcd_.Get("/b", &kv));
  EXPECT_EQ(kv.lease, 0);
}

TEST_F(FakeEtcdTest, APutWithAMissingLeaseFailsTheWholeTransaction) {
  EtcdTxn txn;
  txn.success = {snowflake::EtcdPut("/a", "1"), snowflake::EtcdPut("/b", "2", 12345)};
  txn.failure = {snowflake::EtcdPut("/c", "3")};
  EtcdTxnResult r;
  EXPECT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kEtcdError);
  EXPECT_NE(etcd_.LastErrorDetail().find("lease not found"), std::string::npos);
  EtcdKeyValue kv;
  EXPECT_FALSE(etcd_.Get("/a", &kv));
  EXPECT_EQ(etcd_.revision(), 1);
  // Only the branch that runs is checked.
  txn.compare = {
      snowflake::EtcdCmp("/x", EtcdCompare::Target::kVersion, EtcdCompare::Result::kGreater, 0)};
  ASSERT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kOk);
  EXPECT_FALSE(r.succeeded);
  EXPECT_TRUE(etcd_.Get("/c", &kv));
  // Two puts of one key in a branch are refused.
  txn.compare.clear();
  txn.success = {snowflake::EtcdPut("/d", "1"), snowflake::EtcdPut("/d", "2")};
  EXPECT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kEtcdError);
}

TEST_F(FakeEtcdTest, FailedCallsApplyNothing) {
  etcd_.FailNextCalls(2);
  EtcdTxn txn;
  txn.success = {snowflake::EtcdPut("/a", "1")};
  EtcdTxnResult r;
  int64_t id = 0, ttl = 0;
  EXPECT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kUnavailable);
  EXPECT_EQ(etcd_.GrantLease(5, &id, &ttl).code, StatusCode::kUnavailable);
  EXPECT_FALSE(etcd_.LastErrorDetail().empty());
  EXPECT_EQ(etcd_.revision(), 1);
  ASSERT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kOk);
  EXPECT_EQ(etcd_.revision(), 2);
  EXPECT_EQ(etcd_.calls(FakeEtcdMethod::kTxn), 2);
  EXPECT_EQ(etcd_.calls(FakeEtcdMethod::kGrantLease), 1);
  EXPECT_EQ(etcd_.total_calls(), 3);

  etcd_.RefuseNextCalls(1);
  EXPECT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kEtcdError);
  EXPECT_EQ(etcd_.revision(), 2);
}

TEST_F(FakeEtcdTest, ALostAnswerStillApplies) {
  etcd_.LoseNextAnswers(1);
  EtcdTxn txn;
  txn.compare = {snowflake::EtcdCmp("/claim", EtcdCompare::Target::kCreateRevision,
                                    EtcdCompare::Result::kEqual, 0)};
  txn.success = {snowflake::EtcdPut("/claim", "me")};
  txn.failure = {snowflake::EtcdRange("/claim")};
  EtcdTxnResult r;
  EXPECT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kUnavailable);
  EtcdKeyValue kv;
  ASSERT_TRUE(etcd_.Get("/claim", &kv));  // it committed
  // The retry finds its own write: the failure branch.
  ASSERT_EQ(etcd_.Txn(txn, &r).code, StatusCode::kOk);
  EXPECT_FALSE(r.succeeded);
  ASSERT_EQ(r.ranges.size(), 1u);
  ASSERT_EQ(r.ranges[0].size(), 1u);
  EXPECT_EQ(r.ranges[0][0].value, "me");

  etcd_.LoseNextAnswers(1);
  int64_t id = 0, ttl = 0;
  EXPECT_EQ(etcd_.GrantLease(5, &id, &ttl).code, StatusCode::kUnavailable);
  ASSERT_EQ(etcd_.GrantLease(5, &id, &ttl).code, StatusCode::kOk);
  EXPECT_TRUE(etcd_.LeaseExists(id - 1));  // the lost grant made a lease all the same
}

TEST_F(FakeEtcdTest, DownWhileLeasesRunOut) {
  int64_t id = 0, ttl = 0;
  ASSERT_EQ(etcd_.GrantLease(5, &id, &ttl).code, StatusCode::kOk);
  etcd_.SetDown(true);
  for (int i = 0; i < 3; i++)
    EXPECT_EQ(etcd_.KeepAliveLease(id, &ttl).code, StatusCode::kUnavailable);
  clock_.Advance(5000);
  etcd_.SetDown(false);
  ASSERT_EQ(etcd_.KeepAliveLease(id, &ttl).code, StatusCode::kOk);
  EXPECT_EQ(ttl, 0);
  EXPECT_EQ(etcd_.calls(FakeEtcdMethod::kKeepAliveLease), 4);
}

TEST_F(FakeEtcdTest, TheHookActsAtAnExactStep) {
  int64_t id = 0, ttl = 0;
  ASSERT_EQ(etcd_.GrantLease(5, &id, &ttl).code, StatusCode::kOk);  // call 1
  std::vector<std::pair<FakeEtcdMethod, int64_t>> seen;
  etcd_.SetBeforeCall([&](FakeEtcdMethod m, int64_t n) {
    seen.emplace_back(m, n);
    if (n == 3) etcd_.ExpireLease(id);  // calls into the fake from the hook
  });
  ASSERT_EQ(etcd_.KeepAliveLease(id, &ttl).code, StatusCode::kOk);  // call 2
  EXPECT_EQ(ttl, 5);
  ASSERT_EQ(etcd_.KeepAliveLease(id, &ttl).code, StatusCode::kOk);  // call 3: expired first
  EXPECT_EQ(ttl, 0);
  ASSERT_EQ(seen.size(), 2u);
  EXPECT_EQ(seen[0].first, FakeEtcdMethod::kKeepAliveLease);
  EXPECT_EQ(seen[0].second, 2);
  EXPECT_EQ(seen[1].second, 3);
}

}  // namespace
}  // namespace snowflake_test
