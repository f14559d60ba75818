// Reads a stream line by line with a bound on line length, for hostile input (`firestore
// import`): a longer line is reported and skipped to its end, never buffered whole.
#pragma once

#include <cstddef>
#include <cstdio>
#include <string>
#include <vector>

namespace connpool::cli::fscli {

class LineReader {
 public:
  enum class Status {
    line,      ///< `line` holds the next line, without its "\n" (or "\r\n")
    too_long,  ///< the line exceeded max_line bytes; skipped to its end
    end,       ///< no more input
    error,     ///< reading failed (errno is set)
  };

  LineReader(std::FILE* in, std::size_t max_line) : in_(in), max_line_(max_line), buf_(65536) {}

  Status next(std::string& line);
  /// 1-based number of the line returned last.
  [[nodiscard]] std::size_t line_number() const noexcept { return line_number_; }

 private:
  bool fill();  // false at end of input or on error (error_ says which)

  std::FILE* in_;
  std::size_t max_line_;
  std::vector<char> buf_;
  std::size_t pos_ = 0;
  std::size_t len_ = 0;
  std::size_t line_number_ = 0;
  bool error_ = false;
};

}  // namespace connpool::cli::fscli
