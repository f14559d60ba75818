// `connpool firestore import <collection> < docs.jsonl`: one document per line,
// {"id": "...", "fields": {...typed values...}} (what `export` writes), written with the
// BulkWriter (BatchWrite, set semantics: an existing document is replaced).
//
// Policy for bad input: a bad line (not JSON, not that shape, longer than --max-line-bytes) is
// reported with its line number and counted as failed, and the import goes on; so does a write
// the server refuses. The end prints {"written": N, "failed": M} and exits 1 if M > 0. Input is
// read as it comes: at most one request's worth of writes (500, or 8 MiB of input) is held
// at a time.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC bug 109224, see CMakeLists

#include "firestore_common.hpp"
#include "line_reader.hpp"
#include <unistd.h>

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/use_future.hpp>

#include <cerrno>
#include <cstdio>
#include <cstring>
#include <memory>
#include <string>
#include <utility>
#include <vector>

namespace connpool::cli::fscli {
namespace {

namespace asio = boost::asio;

/// Errors printed one by one; beyond this only counted (hostile input must not flood stderr).
constexpr std::size_t kMaxReportedErrors = 100;

struct ImportOpts {
  Common common;
  std::string collection;
  std::size_t max_line_bytes = std::size_t{1} << 20;
};

struct Line {
  std::string id;
  fs::Map fields;
};

Result<Line> parse_line(std::string_view text) {
  auto j = fs::parse_json(text);
  if (!j) return std::move(j).error();
  if (!j->is_object())
    return fail(errc::invalid_argument, R"(expected {"id": ..., "fields": {...}})");
  for (const auto& [k, v] : j->items()) {
    if (k != "id" && k != "fields") {
      return fail(errc::invalid_argument, "unexpected key \"" + k + "\" (only id and fields)");
    }
  }
  const auto id = j->find("id");
  if (id == j->end() || !id->is_string() || id->get_ref<const std::string&>().empty()) {
    return fail(errc::invalid_argument, "\"id\" must be a non-empty string");
  }
  const auto fields = j->find("fields");
  if (fields == j->end() || !fields->is_object()) {
    return fail(errc::invalid_argument, "\"fields\" must be an object of typed values");
  }
  auto map = fs::fields_from_json(*fields, fs::JsonMode::tagged);
  if (!map) return std::move(map).error();
  return Line{id->get<std::string>(), std::move(*map)};
}

class Importer {
 public:
  Importer(fs::Client& client, asio::io_context& io, const ImportOpts& o)
      : io_(io), o_(o), writer_(client.bulk_writer(writer_options(client))) {}

  int run() {
    LineReader in(stdin, o_.max_line_bytes);
    std::string text;
    for (;;) {
      const auto st = in.next(text);
      if (st == LineReader::Status::end) break;
      if (st == LineReader::Status::error) {
        return fail_with(
            Error(errc::io_error, std::string("reading stdin: ") + std::strerror(errno)));
      }
      if (st == LineReader::Status::too_long) {
        line_failed(in.line_number(), "longer than " + std::to_string(o_.max_line_bytes) +
                                          " bytes (--max-line-bytes)");
        continue;
      }
      if (text.find_first_not_of(" \t") == std::string::npos) continue;  // blank line
      auto line = parse_line(text);
      if (!line) {
        line_failed(in.line_number(), line.error().to_string());
        continue;
      }
      writer_.add(fs::Write::set(o_.collection + "/" + line->id, std::move(line->fields)));
      pending_.emplace_back(in.line_number(), std::move(line->id));
      pending_bytes_ += text.size();
      if (pending_.size() >= kBatch || pending_bytes_ >= kBatchBytes) {
        if (int rc = flush(); rc != kExitOk) return rc;
      }
    }
    if (int rc = flush(); rc != kExitOk) return rc;
    if (tty_) std::fputc('\n', stderr);
    if (reported_ < failed_) {
      std::fprintf(stderr, "connpool firestore import: %zu more errors not shown\n",
                   failed_ - reported_);
    }
    print(nlohmann::json{{"written", written_}, {"failed", failed_}}, o_.common);
    return failed_ == 0 ? kExitOk : kExitFailure;
  }

 private:
  static constexpr std::size_t kBatch = 500;  // one BatchWrite request
  // Also flush after this much input: 500 lines of up to 1 MiB must not all be held at once,
  // and a BatchWrite request is capped at 10 MiB by Firestore (the typed JSON is larger than
  // the encoded writes, so this keeps requests below that).
  static constexpr std::size_t kBatchBytes = std::size_t{8} << 20;

  static fs::BulkWriterOptions writer_options(const fs::Client& client) {
    fs::BulkWriterOptions w;
    // Firestore's ramp-up rule protects production; the emulator needs none.
    w.rate_limit = client.options().emulator_host.empty();
    return w;
  }

  void line_failed(std::size_t line, const std::string& why) {
    ++failed_;
    if (reported_ < kMaxReportedErrors) {
      ++reported_;
      if (tty_) std::fputc('\n', stderr);
      std::fprintf(stderr, "connpool firestore import: line %zu: %s\n", line, why.c_str());
    }
  }

  int flush() {
    if (pending_.empty()) return kExitOk;
    auto results = asio::co_spawn(io_, writer_.flush(), asio::use_future).get();
    if (!results) return fail_with(results.error());  // bad options only
    for (const auto& r : *results) {
      // flush() returns the writes it sent, in add() order: the pending lines, in order.
      const auto& [line, id] = pending_.at(r.index - first_index_);
      if (r.result) {
        ++written_;
      } else {
        line_failed(line, "id \"" + id + "\": " + r.result.error().to_string());
      }
    }
    first_index_ += pending_.size();
    pending_.clear();
    pending_bytes_ = 0;
    if (tty_) std::fprintf(stderr, "\rimported %zu, failed %zu", written_, failed_);
    return kExitOk;
  }

  asio::io_context& io_;
  const ImportOpts& o_;
  fs::BulkWriter writer_;
  std::vector<std::pair<std::size_t, std::string>> pending_;  // line number, id
  std::size_t pending_bytes_ = 0;                             // input text of pending_
  std::size_t first_index_ = 0;                               // BulkWriter index of pending_[0]
  std::size_t written_ = 0;
  std::size_t failed_ = 0;
  std::size_t reported_ = 0;
  const bool tty_ = ::isatty(2) == 1;  // the progress line only on a terminal
};

}  // namespace

void add_import(CLI::App& fsapp, int& exit_code) {
  auto o = std::make_shared<ImportOpts>();
  auto* cmd = fsapp.add_subcommand(
      "import",
      "Write documents read from stdin, one {\"id\": ..., \"fields\": {...}} per line (as export "
      "prints them); bad lines are reported and skipped; exit 1 if any failed");
  cmd->add_option("collection", o->collection, "collection path")->required();
  cmd->add_option("--max-line-bytes", o->max_line_bytes, "longer lines are refused")
      ->capture_default_str()
      ->check(CLI::Range(std::size_t{1}, std::size_t{64} << 20));
  add_common(cmd, o->common);
  cmd->callback([o, &exit_code] {
    exit_code = with_async_client(o->common, [&](fs::Client& client, asio::io_context& io) {
      Importer importer(client, io, *o);
      return importer.run();
    });
  });
}

}  // namespace connpool::cli::fscli
