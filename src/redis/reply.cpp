#include "connpool/redis/reply.hpp"

#include <cstdio>

namespace connpool::redis {

namespace {
void append_escaped(std::string& out, const std::string& bytes) {
  for (unsigned char c : bytes) {
    if (c >= 0x20 && c < 0x7f && c != '"' && c != '\\') {
      out.push_back(static_cast<char>(c));
    } else {
      char buf[8];
      std::snprintf(buf, sizeof buf, "\\x%02x", c);
      out += buf;
    }
  }
}
}  // namespace

std::string_view to_string(Reply::Type t) noexcept {
  switch (t) {
    case Reply::Type::nil:
      return "nil";
    case Reply::Type::integer:
      return "integer";
    case Reply::Type::string:
      return "string";
    case Reply::Type::status:
      return "status";
    case Reply::Type::error:
      return "error";
    case Reply::Type::array:
      return "array";
  }
  return "unknown";
}

std::string Reply::to_display() const {
  std::string out;
  switch (type_) {
    case Type::nil:
      return "(nil)";
    case Type::integer:
      return "(integer) " + std::to_string(integer_);
    case Type::string:
      out = "\"";
      append_escaped(out, str_);
      out += "\"";
      return out;
    case Type::status:
      append_escaped(out, str_);
      return out;
    case Type::error:
      out = "(error) ";
      append_escaped(out, str_);
      return out;
    case Type::array:
      out = "[";
      for (std::size_t i = 0; i < elements_.size(); ++i) {
        if (i) out += ", ";
        out += elements_[i].to_display();
      }
      out += "]";
      return out;
  }
  return out;
}

Result<Reply> error_reply_to_result(Reply reply) {
  if (!reply.is_error()) return reply;
  const std::string& msg = reply.str();
  const bool auth = msg.starts_with("WRONGPASS") || msg.starts_with("NOAUTH");
  return Error(auth ? errc::auth_failed : errc::server_error, msg);
}

}  // namespace connpool::redis
