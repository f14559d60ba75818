// with_fallback(): degrade gracefully while a backend is unavailable, e.g. serve a value from a
// local cache while the Redis pool's circuit breaker is open.
#pragma once

#include "connpool/core/result.hpp"

#include <boost/asio/awaitable.hpp>

#include <algorithm>
#include <initializer_list>
#include <utility>
#include <vector>

namespace connpool::core {

/// The failures that mean "the backend is unavailable right now" rather than "your request is
/// wrong": the default trigger set of with_fallback().
inline std::vector<errc> unavailable_errors() {
  return {errc::circuit_open,   errc::acquire_timeout, errc::pool_closed, errc::unavailable,
          errc::connect_failed, errc::connect_timeout, errc::io_error,    errc::timeout};
}

/// Awaits `operation`; if it fails with one of `triggers`, returns `fallback(error)` instead.
/// `fallback` is any callable `Result<T>(const Error&)`; other failures pass through unchanged.
///
///   auto value = co_await with_fallback(client.get(key),
///                                       [&](const Error&) { return local_cache.get(key); });
template <class T, class Fallback>
boost::asio::awaitable<Result<T>> with_fallback(boost::asio::awaitable<Result<T>> operation,
                                                Fallback fallback,
                                                std::vector<errc> triggers = unavailable_errors()) {
  auto result = co_await std::move(operation);
  if (result) co_return result;
  const errc code = result.error().code();
  if (std::find(triggers.begin(), triggers.end(), code) == triggers.end()) co_return result;
  co_return fallback(result.error());
}

}  // namespace connpool::core
