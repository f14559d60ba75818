// `connpool firestore watch <collection>[/<doc>] [--where ...] [--json]`: a real-time listener
// (Client::listen) that prints every change as one line until SIGINT/SIGTERM, then closes the
// listener and exits 0. The first snapshot's documents are printed as `added`.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC bug 109224, see CMakeLists

#include "firestore_common.hpp"

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/this_coro.hpp>
#include <boost/asio/use_future.hpp>

#include <csignal>
#include <cstdio>
#include <iostream>
#include <memory>
#include <string>
#include <vector>

namespace connpool::cli::fscli {
namespace {

namespace asio = boost::asio;

struct WatchOpts {
  Common common;
  std::string path;
  std::vector<std::string> where;
  bool json = false;
};

std::string_view type_name(fs::DocumentChange::Type t) {
  switch (t) {
    case fs::DocumentChange::Type::added:
      return "added";
    case fs::DocumentChange::Type::modified:
      return "modified";
    case fs::DocumentChange::Type::removed:
      return "removed";
  }
  return "?";
}

/// One line per change: with --json an object (the document in the typed format `get` prints),
/// else "TYPE<TAB>ID<TAB>FIELDS" with the fields as compact typed JSON.
void print_change(const fs::DocumentChange& c, const fs::Timestamp& read_time, bool json) {
  if (json) {
    nlohmann::json line = {{"type", type_name(c.type)},
                           {"id", c.document.id},
                           {"document", fs::to_json(c.document)},
                           {"oldIndex", c.old_index},
                           {"newIndex", c.new_index},
                           {"readTime", read_time.to_rfc3339()}};
    std::cout << fs::dump(line) << '\n';
  } else {
    std::cout << type_name(c.type) << '\t' << c.document.id << '\t'
              << fs::dump(fs::to_json(c.document.fields)) << '\n';
  }
}

/// The listener and whether a signal closed it, shared with the signal handler (which may run
/// after the watching coroutine is gone, when the signal set is cancelled).
struct WatchState {
  fs::Listener listener;
  bool stopped = false;
};

asio::awaitable<int> watch(fs::Client client, std::shared_ptr<const WatchOpts> o,
                           std::optional<fs::Query> query) {
  auto ex = co_await asio::this_coro::executor;
  // Installed before the stream opens: a SIGINT from now on is a clean stop.
  asio::signal_set signals(ex, SIGINT, SIGTERM);
  auto l = query ? client.listen(std::move(*query)) : client.listen(fs::DocumentRef{o->path});
  if (!l) co_return fail_with(l.error());
  auto state = std::make_shared<WatchState>();
  state->listener = std::move(*l);
  // Same executor as the loop below: close() reaches the listener from its own thread.
  signals.async_wait([state](boost::system::error_code ec, int) {
    if (ec) return;
    state->stopped = true;
    state->listener.close();
  });
  int rc = kExitOk;
  for (bool first = true;; first = false) {
    auto snap = co_await state->listener.next();
    if (!snap) {
      if (!state->stopped) rc = fail_with(snap.error());
      break;
    }
    for (const auto& c : snap->changes) print_change(c, snap->read_time, o->json);
    std::cout.flush();
    if (first) {
      std::fprintf(stderr, "connpool firestore watch: listening to %s (%zu documents)\n",
                   o->path.c_str(), snap->documents.size());
    }
  }
  state->listener.close();
  signals.cancel();
  co_return rc;
}

}  // namespace

void add_watch(CLI::App& fsapp, int& exit_code) {
  auto o = std::make_shared<WatchOpts>();
  auto* cmd = fsapp.add_subcommand(
      "watch", "Print every change to a collection (or one document) until SIGINT");
  cmd->add_option("path", o->path, "COLLECTION (a query) or COLLECTION/ID (one document)")
      ->required();
  cmd->add_option("--where,-w", o->where,
                  "filter 'FIELD OP VALUE' on a collection (ANDed, repeatable), as in query");
  cmd->add_flag("--json", o->json,
                "one JSON object per change: type, id, document (typed values), oldIndex, "
                "newIndex, readTime");
  add_common(cmd, o->common);
  cmd->callback([o, &exit_code] {
    const auto segments = std::count(o->path.begin(), o->path.end(), '/') + 1;
    std::optional<fs::Query> query;
    if (segments % 2 == 1) {
      query.emplace(o->path);
      for (const auto& w : o->where) {
        auto f = parse_where(w);
        if (!f) {
          exit_code = fail_with(f.error());
          return;
        }
        query->where(std::move(*f));
      }
    } else if (!o->where.empty()) {
      exit_code = fail_with(
          Error(errc::invalid_argument, "--where needs a collection, not a document path"));
      return;
    }
    exit_code = with_async_client(o->common, [&](fs::Client& client, asio::io_context& io) {
      auto done = asio::co_spawn(io, watch(client, o, std::move(query)), asio::use_future);
      return done.get();
    });
  });
}

}  // namespace connpool::cli::fscli
