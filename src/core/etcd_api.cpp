// etcd_api.cpp: the helpers of etcd_api.h that every EtcdApi shares.
//
// Owns: EtcdPrefixEnd. No state, no locking.
#include "etcd_api.h"

namespace snowflake {

// etcd's own rule (clientv3.GetPrefixRangeEnd): drop trailing 0xff bytes,
// then increment the last byte. A prefix of only 0xff bytes (or an empty
// one) has no such end: "\0" then means "every key from the prefix on".
std::string EtcdPrefixEnd(const std::string& prefix) {
  std::string end = prefix;
  while (!end.empty()) {
    const unsigned char last = static_cast<unsigned char>(end.back());
    if (last < 0xff) {
      end.back() = static_cast<char>(last + 1);
      return end;
    }
    end.pop_back();
  }
  return std::string(1, '\0');
}

}  // namespace snowflake
