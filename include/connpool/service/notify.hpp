// systemd readiness (Type=notify): the sd_notify datagram protocol, written out so the library
// needs no libsystemd. Without $NOTIFY_SOCKET (not started by systemd) every call does nothing.
#pragma once

#include <string_view>

namespace connpool::service {

/// Sends `state` (e.g. "READY=1", "STOPPING=1", "STATUS=...") to $NOTIFY_SOCKET. Returns true
/// when it was sent, false when there is no socket or sending failed (never fatal: readiness
/// is best effort, systemd then times the start out and says so).
bool sd_notify(std::string_view state) noexcept;

}  // namespace connpool::service
