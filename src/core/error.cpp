#include "connpool/core/error.hpp"

#include <string>

namespace connpool {

std::string_view to_string(errc code) noexcept {
  switch (code) {
    case errc::ok:
      return "ok";
    case errc::acquire_timeout:
      return "acquire_timeout";
    case errc::pool_closed:
      return "pool_closed";
    case errc::circuit_open:
      return "circuit_open";
    case errc::invalid_config:
      return "invalid_config";
    case errc::connect_failed:
      return "connect_failed";
    case errc::connect_timeout:
      return "connect_timeout";
    case errc::validation_failed:
      return "validation_failed";
    case errc::validation_timeout:
      return "validation_timeout";
    case errc::auth_failed:
      return "auth_failed";
    case errc::tls_error:
      return "tls_error";
    case errc::io_error:
      return "io_error";
    case errc::timeout:
      return "timeout";
    case errc::protocol_error:
      return "protocol_error";
    case errc::server_error:
      return "server_error";
    case errc::watch_conflict:
      return "watch_conflict";
    case errc::not_found:
      return "not_found";
    case errc::already_exists:
      return "already_exists";
    case errc::failed_precondition:
      return "failed_precondition";
    case errc::aborted:
      return "aborted";
    case errc::unavailable:
      return "unavailable";
    case errc::deadline_exceeded:
      return "deadline_exceeded";
    case errc::permission_denied:
      return "permission_denied";
    case errc::unauthenticated:
      return "unauthenticated";
    case errc::resource_exhausted:
      return "resource_exhausted";
    case errc::invalid_argument:
      return "invalid_argument";
    case errc::out_of_range:
      return "out_of_range";
    case errc::cancelled:
      return "cancelled";
    case errc::unimplemented:
      return "unimplemented";
    case errc::internal:
      return "internal";
    case errc::too_many_redirects:
      return "too_many_redirects";
    case errc::cross_slot:
      return "cross_slot";
    case errc::unknown:
      return "unknown";
  }
  return "unknown";
}

namespace {
class Category final : public std::error_category {
 public:
  const char* name() const noexcept override { return "connpool"; }
  std::string message(int ev) const override {
    return std::string(to_string(static_cast<errc>(ev)));
  }
};
}  // namespace

const std::error_category& error_category() noexcept {
  static const Category category;
  return category;
}

std::string Error::to_string() const {
  std::string out(connpool::to_string(code_));
  if (!message_.empty()) {
    out += ": ";
    out += message_;
  }
  return out;
}

Error Error::with_context(std::string_view context) const {
  std::string m(context);
  m += ": ";
  m += message_;
  return {code_, std::move(m)};
}

}  // namespace connpool
