// Redis Cluster key hashing: CRC16 (XMODEM) of the key, or of its {hash tag}, modulo 16384.
// Pure functions; safe from any thread.
#pragma once

#include <cstdint>
#include <string_view>

namespace connpool::redis::cluster {

/// Number of hash slots in every Redis Cluster.
inline constexpr std::uint16_t kSlotCount = 16384;

/// CRC16/XMODEM (poly 0x1021, init 0), the checksum Redis Cluster uses: "123456789" -> 0x31C3.
std::uint16_t crc16(std::string_view bytes) noexcept;

/// The part of `key` that is hashed: the text between the first '{' and the first '}' after
/// it, when that text is non-empty; otherwise the whole key (Redis's hash tag rules).
std::string_view hash_tag(std::string_view key) noexcept;

/// The hash slot of `key` (0..16383).
std::uint16_t hash_slot(std::string_view key) noexcept;

}  // namespace connpool::redis::cluster
