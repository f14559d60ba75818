// RESP2 encoding of replies for proxy clients (the inverse of the Redis layer's reply parser).
#pragma once

#include "connpool/redis/reply.hpp"

#include <span>
#include <string>
#include <string_view>

namespace connpool::proxy {

/// Appends `reply` in RESP2 wire form to `out` (binary-safe; a status or error containing CR
/// or LF, which RESP cannot carry, has them replaced by spaces).
void append_resp(std::string& out, const redis::Reply& reply);
/// Appends a bulk string / an array header.
void append_bulk(std::string& out, std::string_view bytes);
void append_array_header(std::string& out, std::size_t count);
/// "-ERR <message>\r\n" (CR/LF in the message replaced by spaces). `message` is the whole text
/// after '-', e.g. "ERR unknown" or "NOAUTH Authentication required.".
std::string error_line(std::string_view message);

}  // namespace connpool::proxy
