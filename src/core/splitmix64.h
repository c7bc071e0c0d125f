// splitmix64.h: a small pseudo-random sequence (Steele, Lea and Flood's
// SplitMix64), for spreading the etcd requests of a fleet's servers: which
// free node ids a claim tries (node_lease.cpp), when a failed claim is
// retried (lease_keeper.cpp). Not for anything secret.
//
// Owns: nothing but the step. Threading: the caller owns its state.
#ifndef SNOWFLAKE_CORE_SPLITMIX64_H
#define SNOWFLAKE_CORE_SPLITMIX64_H

#include <cstdint>

namespace snowflake {

// The next number of the sequence whose state is *state (any seed).
inline uint64_t SplitMix64Next(uint64_t* state) {
  uint64_t z = (*state += 0x9E3779B97F4A7C15ULL);
  z = (z ^ (z >> 30)) * 0xBF58476D1CE4E5B9ULL;
  z = (z ^ (z >> 27)) * 0x94D049BB133111EBULL;
  return z ^ (z >> 31);
}

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_SPLITMIX64_H
