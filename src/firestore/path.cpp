#include "connpool/firestore/path.hpp"

#include <cstdint>
#include <cstring>

namespace connpool::firestore {
namespace {

constexpr std::size_t kMaxIdBytes = 1500;
constexpr std::size_t kMaxPathBytes = 6 * 1024;
constexpr std::size_t kMaxFieldPathBytes = 1500;

std::string quoted(std::string_view s) {
  // Keep error messages printable even for ids with control characters.
  std::string out = "\"";
  for (char c : s) {
    const auto u = static_cast<unsigned char>(c);
    if (u < 0x20) {
      static constexpr char kHex[] = "0123456789abcdef";
      out += "\\x";
      out += kHex[u >> 4];
      out += kHex[u & 15];
    } else {
      out += c;
    }
  }
  return out + "\"";
}

/// Validates every segment of `path` and returns how many there are; appends them to `out`
/// when given. Callers that only validate pass none: no string per segment (a document name is
/// checked on every call, issue 19).
Result<std::size_t> split_path(std::string_view path, std::string_view kind,
                               std::vector<std::string>* out) {
  if (path.empty()) return fail(errc::invalid_argument, std::string(kind) + " must not be empty");
  if (path.size() > kMaxPathBytes) {
    return fail(errc::invalid_argument,
                std::string(kind) + " " + quoted(path.substr(0, 64)) + "... is longer than 6 KiB");
  }
  std::size_t count = 0;
  std::size_t start = 0;
  while (true) {
    const auto slash = path.find('/', start);
    const auto seg =
        path.substr(start, slash == std::string_view::npos ? path.npos : slash - start);
    if (seg.empty()) {
      return fail(errc::invalid_argument, std::string(kind) + " " + quoted(path) +
                                              " has an empty segment (leading, trailing or "
                                              "double '/')");
    }
    const bool collection = count % 2 == 0;
    if (auto ok = validate_id(seg, collection ? "collection id" : "document id"); !ok) {
      return ok.error().with_context(std::string("in ") + std::string(kind) + " " + quoted(path));
    }
    ++count;
    if (out) out->emplace_back(seg);
    if (slash == std::string_view::npos) break;
    start = slash + 1;
  }
  return count;
}

Result<std::size_t> check_document_path(std::string_view path, std::vector<std::string>* out) {
  auto n = split_path(path, "document path", out);
  if (!n) return n;
  if (*n % 2 != 0) {
    return fail(errc::invalid_argument,
                "document path " + quoted(path) + " has an odd number of segments (" +
                    std::to_string(*n) + "): that names a collection, not a document");
  }
  return n;
}

Result<std::size_t> check_collection_path(std::string_view path, std::vector<std::string>* out) {
  auto n = split_path(path, "collection path", out);
  if (!n) return n;
  if (*n % 2 == 0) {
    return fail(errc::invalid_argument,
                "collection path " + quoted(path) + " has an even number of segments (" +
                    std::to_string(*n) + "): that names a document, not a collection");
  }
  return n;
}

bool is_identifier(std::string_view s) noexcept {
  if (s.empty()) return false;
  for (std::size_t i = 0; i < s.size(); ++i) {
    const char c = s[i];
    const bool alpha = (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
    const bool digit = c >= '0' && c <= '9';
    if (!(alpha || (i > 0 && digit))) return false;
  }
  return true;
}

}  // namespace

bool is_valid_utf8(std::string_view s) noexcept {
  std::size_t i = 0;
  while (i < s.size()) {
    // ASCII eight bytes at a time: every string of a document read is checked (the wire parser,
    // wire_document.cpp), and most are ASCII names, keys and values.
    if (s.size() - i >= 8) {
      std::uint64_t w = 0;
      std::memcpy(&w, s.data() + i, 8);
      if ((w & 0x8080808080808080ULL) == 0) {
        i += 8;
        continue;
      }
    }
    const auto c = static_cast<unsigned char>(s[i]);
    std::size_t n = 0;
    std::uint32_t cp = 0;
    if (c < 0x80) {
      ++i;
      continue;
    } else if ((c & 0xE0) == 0xC0) {
      n = 1;
      cp = c & 0x1F;
    } else if ((c & 0xF0) == 0xE0) {
      n = 2;
      cp = c & 0x0F;
    } else if ((c & 0xF8) == 0xF0) {
      n = 3;
      cp = c & 0x07;
    } else {
      return false;
    }
    if (i + n >= s.size()) return false;  // truncated sequence
    for (std::size_t k = 1; k <= n; ++k) {
      const auto cc = static_cast<unsigned char>(s[i + k]);
      if ((cc & 0xC0) != 0x80) return false;
      cp = (cp << 6) | (cc & 0x3F);
    }
    static constexpr std::uint32_t kMin[] = {0, 0x80, 0x800, 0x10000};
    if (cp < kMin[n] || cp > 0x10FFFF || (cp >= 0xD800 && cp <= 0xDFFF)) return false;
    i += n + 1;
  }
  return true;
}

Result<void> validate_id(std::string_view id, std::string_view what) {
  const std::string w(what);
  if (id.empty()) return fail(errc::invalid_argument, w + " must not be empty");
  if (id.size() > kMaxIdBytes) {
    return fail(errc::invalid_argument,
                w + " " + quoted(id.substr(0, 64)) + "... is longer than 1500 bytes");
  }
  if (id.find('/') != std::string_view::npos) {
    return fail(errc::invalid_argument, w + " " + quoted(id) + " must not contain '/'");
  }
  if (id == "." || id == "..") {
    return fail(errc::invalid_argument, w + " " + quoted(id) + " must not be '.' or '..'");
  }
  if (id.size() >= 4 && id.starts_with("__") && id.ends_with("__")) {
    return fail(errc::invalid_argument,
                w + " " + quoted(id) + " matches __.*__, which Firestore reserves");
  }
  if (!is_valid_utf8(id)) {
    return fail(errc::invalid_argument, w + " " + quoted(id) + " is not valid UTF-8");
  }
  return ok();
}

Result<std::vector<std::string>> parse_collection_path(std::string_view path) {
  std::vector<std::string> segments;
  if (auto n = check_collection_path(path, &segments); !n) return std::move(n).error();
  return segments;
}

Result<std::vector<std::string>> parse_document_path(std::string_view path) {
  std::vector<std::string> segments;
  if (auto n = check_document_path(path, &segments); !n) return std::move(n).error();
  return segments;
}

Result<void> validate_document_path(std::string_view path) {
  if (auto n = check_document_path(path, nullptr); !n) return std::move(n).error();
  return ok();
}

Result<std::string> document_path(std::string_view collection, std::string_view id) {
  if (auto c = check_collection_path(collection, nullptr); !c) return std::move(c).error();
  if (auto v = validate_id(id, "document id"); !v) {
    return std::move(v).error().with_context("in collection " + quoted(collection));
  }
  std::string out(collection);
  out += '/';
  out += id;
  return out;
}

Result<FieldPath> FieldPath::parse(std::string_view text) {
  auto bad = [&](std::string_view why) {
    return fail(errc::invalid_argument,
                "invalid field path " + quoted(text) + ": " + std::string(why));
  };
  if (text.empty()) return bad("empty");
  std::vector<std::string> segs;
  std::string cur;
  std::size_t i = 0;
  bool need_segment = true;
  while (i < text.size()) {
    if (need_segment) {
      cur.clear();
      if (text[i] == '`') {
        ++i;
        bool closed = false;
        while (i < text.size()) {
          const char c = text[i];
          if (c == '\\') {
            if (i + 1 >= text.size()) return bad("dangling '\\' in a quoted segment");
            cur += text[i + 1];
            i += 2;
          } else if (c == '`') {
            ++i;
            closed = true;
            break;
          } else {
            cur += c;
            ++i;
          }
        }
        if (!closed) return bad("unterminated '`'");
        if (cur.empty()) return bad("empty quoted segment");
      } else {
        while (i < text.size() && text[i] != '.') {
          if (text[i] == '`') return bad("'`' inside an unquoted segment");
          cur += text[i++];
        }
        if (cur.empty()) return bad("empty segment");
        // Unquoted segments may not contain the characters that force quoting in Firestore's
        // grammar; accept everything else so "a.b" style paths from users just work.
        for (char c : cur) {
          if (c == '~' || c == '*' || c == '/' || c == '[' || c == ']') {
            return bad(std::string("segment \"") + cur + "\" contains '" + c +
                       "': quote it in backticks");
          }
        }
      }
      segs.push_back(cur);
      need_segment = false;
    } else {
      if (text[i] != '.') return bad("expected '.' after a quoted segment");
      ++i;
      need_segment = true;
    }
  }
  if (need_segment) return bad("trailing '.'");
  FieldPath p(std::move(segs));
  if (auto v = validate_field_path(p); !v) return std::move(v).error();
  return p;
}

std::string FieldPath::to_string() const {
  std::string out;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (i) out += '.';
    const auto& s = segments_[i];
    if (is_identifier(s)) {
      out += s;
    } else {
      out += '`';
      for (char c : s) {
        if (c == '`' || c == '\\') out += '\\';
        out += c;
      }
      out += '`';
    }
  }
  return out;
}

bool FieldPath::is_prefix_of(const FieldPath& other) const noexcept {
  if (segments_.size() > other.segments_.size()) return false;
  for (std::size_t i = 0; i < segments_.size(); ++i) {
    if (segments_[i] != other.segments_[i]) return false;
  }
  return true;
}

Result<void> validate_field_path(const FieldPath& path) {
  if (path.empty()) return fail(errc::invalid_argument, "field path must not be empty");
  std::size_t total = 0;
  for (const auto& s : path.segments()) {
    if (s.empty()) {
      return fail(errc::invalid_argument,
                  "field path " + quoted(path.to_string()) + " has an empty segment");
    }
    if (!is_valid_utf8(s)) {
      return fail(errc::invalid_argument,
                  "field path " + quoted(path.to_string()) + " is not valid UTF-8");
    }
    total += s.size() + 1;
  }
  if (total > kMaxFieldPathBytes) {
    return fail(errc::invalid_argument, "field path " + quoted(path.to_string().substr(0, 64)) +
                                            "... is longer than 1500 bytes");
  }
  return ok();
}

}  // namespace connpool::firestore
