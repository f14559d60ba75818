// RESP2 reply encoding (see resp_writer.hpp).
#include "connpool/proxy/resp_writer.hpp"

namespace connpool::proxy {

namespace {

void append_line(std::string& out, char type, std::string_view text) {
  out.push_back(type);
  for (char c : text) out.push_back(c == '\r' || c == '\n' ? ' ' : c);
  out.append("\r\n");
}

}  // namespace

void append_bulk(std::string& out, std::string_view bytes) {
  out.push_back('$');
  out.append(std::to_string(bytes.size()));
  out.append("\r\n");
  out.append(bytes);
  out.append("\r\n");
}

void append_array_header(std::string& out, std::size_t count) {
  out.push_back('*');
  out.append(std::to_string(count));
  out.append("\r\n");
}

void append_resp(std::string& out, const redis::Reply& reply) {
  using Type = redis::Reply::Type;
  switch (reply.type()) {
    case Type::nil:
      out.append("$-1\r\n");
      return;
    case Type::integer:
      out.push_back(':');
      out.append(std::to_string(reply.as_integer()));
      out.append("\r\n");
      return;
    case Type::string:
      append_bulk(out, reply.str());
      return;
    case Type::status:
      append_line(out, '+', reply.str());
      return;
    case Type::error:
      append_line(out, '-', reply.str());
      return;
    case Type::array:
      append_array_header(out, reply.elements().size());
      for (const auto& e : reply.elements()) append_resp(out, e);
      return;
  }
}

std::string error_line(std::string_view message) {
  std::string out;
  append_line(out, '-', message);
  return out;
}

}  // namespace connpool::proxy
