// `connpool firestore export <collection> > docs.jsonl`: every document of the collection, one
// {"id": ..., "fields": {...typed values...}} per line, in document-name order; `import` reads
// the same lines, so export | import copies a collection exactly. Pages with a cursor (order by
// __name__, start after the last name seen), so memory holds one page whatever the size.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC bug 109224, see CMakeLists

#include "firestore_common.hpp"
#include <unistd.h>

#include <cstdio>
#include <iostream>
#include <memory>
#include <string>

namespace connpool::cli::fscli {
namespace {

struct ExportOpts {
  Common common;
  std::string collection;
  int page_size = 500;
};

}  // namespace

void add_export(CLI::App& fsapp, int& exit_code) {
  auto o = std::make_shared<ExportOpts>();
  auto* cmd = fsapp.add_subcommand(
      "export",
      "Print every document of a collection, one {\"id\": ..., \"fields\": {...}} per line");
  cmd->add_option("collection", o->collection, "collection path")->required();
  cmd->add_option("--page-size", o->page_size, "documents per query")
      ->capture_default_str()
      ->check(CLI::Range(1, 10000));
  add_common(cmd, o->common);
  cmd->callback([o, &exit_code] {
    fs::Query base(o->collection);
    base.order_by("__name__").limit(o->page_size);
    if (auto v = base.validate(); !v) {
      exit_code = fail_with(v.error());
      return;
    }
    exit_code = with_client(o->common, [&](fs::BlockingClient db) {
      const bool tty = ::isatty(2) == 1;
      std::size_t exported = 0;
      std::string last;  // full name of the last document printed
      for (;;) {
        fs::Query q = base;
        if (!last.empty()) q.start_after({fs::Value(fs::Reference{last})});
        auto page = db.run_query(std::move(q));
        if (!page)
          return fail_with(
              page.error().with_context("after " + std::to_string(exported) + " documents"));
        for (const auto& d : *page) {
          const nlohmann::json line = {{"id", d.id}, {"fields", fs::to_json(d.fields)}};
          std::cout << fs::dump(line) << '\n';
        }
        exported += page->size();
        if (tty) std::fprintf(stderr, "\rexported %zu", exported);
        if (page->size() < static_cast<std::size_t>(o->page_size)) break;
        last = page->back().name;
      }
      std::cout.flush();
      if (tty) std::fputc('\n', stderr);
      if (!std::cout) {
        return fail_with(Error(errc::io_error, "writing stdout failed"));
      }
      return kExitOk;
    });
  });
}

}  // namespace connpool::cli::fscli
