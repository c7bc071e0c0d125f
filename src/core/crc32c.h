// crc32c.h: CRC-32C (Castagnoli), the checksum of the state file.
//
// Owns: one pure function. Threading: none (the table is constant).
// The same polynomial PostgreSQL uses for its own control file.
#ifndef SNOWFLAKE_CORE_CRC32C_H
#define SNOWFLAKE_CORE_CRC32C_H

#include <cstddef>
#include <cstdint>

namespace snowflake {

uint32_t Crc32c(const uint8_t* data, size_t length);

}  // namespace snowflake

#endif  // SNOWFLAKE_CORE_CRC32C_H
