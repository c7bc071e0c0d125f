// etcd_api_test.cpp: EtcdPrefixEnd and ParseEtcdEndpoints, the pure parts.
#include <gtest/gtest.h>

#include "etcd_api.h"
#include "etcd_client.h"

namespace snowflake {
namespace {

TEST(EtcdPrefixEndTest, IncrementsTheLastByte) {
  EXPECT_EQ(EtcdPrefixEnd("/snowflake/"), "/snowflake0");
  EXPECT_EQ(EtcdPrefixEnd("a"), "b");
  EXPECT_EQ(EtcdPrefixEnd(std::string("a\x7f", 2)), "a\x80");
}

TEST(EtcdPrefixEndTest, DropsTrailingFfBytes) {
  EXPECT_EQ(EtcdPrefixEnd("a\xff\xff"), "b");
  EXPECT_EQ(EtcdPrefixEnd("a\xfe\xff"), "a\xff");
}

TEST(EtcdPrefixEndTest, NoEndMeansEveryKeyFromThePrefixOn) {
  EXPECT_EQ(EtcdPrefixEnd("\xff\xff"), std::string(1, '\0'));
  EXPECT_EQ(EtcdPrefixEnd(""), std::string(1, '\0'));
}

TEST(ParseEtcdEndpointsTest, SplitsTrimsAndDropsTheTrailingSlash) {
  std::vector<std::string> eps;
  std::string error;
  ASSERT_TRUE(ParseEtcdEndpoints(" http://a:2379, https://b.example:2379/ ,http://[::1]:2379", &eps,
                                 &error))
      << error;
  ASSERT_EQ(eps.size(), 3u);
  EXPECT_EQ(eps[0], "http://a:2379");
  EXPECT_EQ(eps[1], "https://b.example:2379");
  EXPECT_EQ(eps[2], "http://[::1]:2379");
  ASSERT_TRUE(ParseEtcdEndpoints("http://a", &eps, &error));
  EXPECT_EQ(eps.size(), 1u);
}

TEST(ParseEtcdEndpointsTest, RefusesWhatIsNotAnEndpoint) {
  std::vector<std::string> eps;
  for (const char* bad : {"", " ", "http://a,,http://b", "http://a,", "a:2379", "ftp://a",
                          "http://", "http://:2379", "HTTP://a", "http://user:pw@a:2379",
                          "http://a:2379?x=1", "http://a b:2379", "unix:///tmp/s"}) {
    std::string error;
    EXPECT_FALSE(ParseEtcdEndpoints(bad, &eps, &error)) << bad;
    EXPECT_FALSE(error.empty()) << bad;
    EXPECT_TRUE(eps.empty()) << bad;
  }
}

}  // namespace
}  // namespace snowflake
