#include "line_reader.hpp"

#include <cstring>

namespace connpool::cli::fscli {

bool LineReader::fill() {
  pos_ = 0;
  len_ = std::fread(buf_.data(), 1, buf_.size(), in_);
  if (len_ == 0 && std::ferror(in_)) error_ = true;
  return len_ > 0;
}

LineReader::Status LineReader::next(std::string& line) {
  line.clear();
  bool too_long = false;
  bool any = false;  // something (even an empty line's "\n") was read
  for (;;) {
    if (pos_ == len_ && !fill()) {
      if (error_) return Status::error;
      if (!any) return Status::end;
      break;  // a last line without "\n"
    }
    any = true;
    const char* start = buf_.data() + pos_;
    const auto* nl = static_cast<const char*>(std::memchr(start, '\n', len_ - pos_));
    const std::size_t n = nl ? static_cast<std::size_t>(nl - start) : len_ - pos_;
    if (!too_long) {
      if (line.size() + n > max_line_) {
        too_long = true;
        line.clear();
      } else {
        line.append(start, n);
      }
    }
    pos_ += n;
    if (nl) {
      ++pos_;  // the "\n"
      break;
    }
  }
  ++line_number_;
  if (too_long) return Status::too_long;
  if (!line.empty() && line.back() == '\r') line.pop_back();
  return Status::line;
}

}  // namespace connpool::cli::fscli
