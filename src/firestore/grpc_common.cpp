// Metadata and status mapping shared by every Firestore RPC.
#include "grpc_internal.hpp"

namespace connpool::firestore::detail {

std::string url_encode(std::string_view s) {
  static constexpr char kHex[] = "0123456789ABCDEF";
  std::string out;
  out.reserve(s.size() * 3);
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if ((u >= 'A' && u <= 'Z') || (u >= 'a' && u <= 'z') || (u >= '0' && u <= '9') || u == '-' ||
        u == '_' || u == '.' || u == '~') {
      out += c;
    } else {
      out += '%';
      out += kHex[u >> 4];
      out += kHex[u & 15];
    }
  }
  return out;
}

void prepare_context(grpc::ClientContext& ctx, const ConnectorShared& shared,
                     std::chrono::system_clock::time_point deadline, Routing routing,
                     std::string_view routing_value) {
  ctx.set_deadline(deadline);
  // The resource prefix lets Google's front ends route before parsing the request body.
  ctx.AddMetadata("google-cloud-resource-prefix", shared.database_name);
  std::string params;
  switch (routing) {
    case Routing::name:
      params = "name=";
      break;
    case Routing::parent:
      params = "parent=";
      break;
    case Routing::database:
      params = "database=";
      break;
  }
  params += url_encode(routing_value);
  ctx.AddMetadata("x-goog-request-params", params);
  if (!shared.options.emulator_host.empty()) {
    // The emulator treats "owner" as an admin token that bypasses security rules.
    ctx.AddMetadata("authorization", "Bearer owner");
  }
}

errc map_status_code(grpc::StatusCode code) noexcept {
  switch (code) {
    case grpc::StatusCode::OK:
      return errc::ok;
    case grpc::StatusCode::CANCELLED:
      return errc::cancelled;
    case grpc::StatusCode::UNKNOWN:
      return errc::unknown;
    case grpc::StatusCode::INVALID_ARGUMENT:
      return errc::invalid_argument;
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return errc::deadline_exceeded;
    case grpc::StatusCode::NOT_FOUND:
      return errc::not_found;
    case grpc::StatusCode::ALREADY_EXISTS:
      return errc::already_exists;
    case grpc::StatusCode::PERMISSION_DENIED:
      return errc::permission_denied;
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return errc::resource_exhausted;
    case grpc::StatusCode::FAILED_PRECONDITION:
      return errc::failed_precondition;
    case grpc::StatusCode::ABORTED:
      return errc::aborted;
    case grpc::StatusCode::OUT_OF_RANGE:
      return errc::out_of_range;
    case grpc::StatusCode::UNIMPLEMENTED:
      return errc::unimplemented;
    case grpc::StatusCode::INTERNAL:
      return errc::internal;
    case grpc::StatusCode::UNAVAILABLE:
      return errc::unavailable;
    case grpc::StatusCode::DATA_LOSS:
      return errc::internal;
    case grpc::StatusCode::UNAUTHENTICATED:
      return errc::unauthenticated;
    default:
      return errc::unknown;
  }
}

namespace {
std::string_view status_name(grpc::StatusCode code) noexcept {
  switch (code) {
    case grpc::StatusCode::OK:
      return "OK";
    case grpc::StatusCode::CANCELLED:
      return "CANCELLED";
    case grpc::StatusCode::UNKNOWN:
      return "UNKNOWN";
    case grpc::StatusCode::INVALID_ARGUMENT:
      return "INVALID_ARGUMENT";
    case grpc::StatusCode::DEADLINE_EXCEEDED:
      return "DEADLINE_EXCEEDED";
    case grpc::StatusCode::NOT_FOUND:
      return "NOT_FOUND";
    case grpc::StatusCode::ALREADY_EXISTS:
      return "ALREADY_EXISTS";
    case grpc::StatusCode::PERMISSION_DENIED:
      return "PERMISSION_DENIED";
    case grpc::StatusCode::RESOURCE_EXHAUSTED:
      return "RESOURCE_EXHAUSTED";
    case grpc::StatusCode::FAILED_PRECONDITION:
      return "FAILED_PRECONDITION";
    case grpc::StatusCode::ABORTED:
      return "ABORTED";
    case grpc::StatusCode::OUT_OF_RANGE:
      return "OUT_OF_RANGE";
    case grpc::StatusCode::UNIMPLEMENTED:
      return "UNIMPLEMENTED";
    case grpc::StatusCode::INTERNAL:
      return "INTERNAL";
    case grpc::StatusCode::UNAVAILABLE:
      return "UNAVAILABLE";
    case grpc::StatusCode::DATA_LOSS:
      return "DATA_LOSS";
    case grpc::StatusCode::UNAUTHENTICATED:
      return "UNAUTHENTICATED";
    default:
      return "UNKNOWN";
  }
}
}  // namespace

Error status_to_error(const grpc::Status& status, std::string_view rpc) {
  std::string msg = "firestore ";
  msg += rpc;
  msg += ": ";
  msg += status_name(status.error_code());
  if (!status.error_message().empty()) {
    msg += ": ";
    msg += status.error_message();
  }
  return Error(map_status_code(status.error_code()), std::move(msg));
}

}  // namespace connpool::firestore::detail
