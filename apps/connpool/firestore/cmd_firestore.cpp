// `connpool firestore get|set|update|delete|query|list` (watch, import, export: their own files): a
// small command-line Firestore tool with JSON in and out. Documents use the lossless tagged JSON
// format (docs/firestore.md), so `connpool firestore get c a | connpool firestore set c b` copies
// every typed value intact.
//
// Connection: FIRESTORE_EMULATOR_HOST (or --emulator-host) selects the emulator; otherwise
// production with Google default credentials. --project defaults to GOOGLE_CLOUD_PROJECT.
// Exit codes: 0 ok; 1 the document does not exist or the server refused; 2 bad command line,
// configuration or input.
#pragma GCC diagnostic ignored "-Wmismatched-new-delete"  // GCC bug 109224, see CMakeLists

#include "firestore_common.hpp"
#include <unistd.h>

#include <algorithm>
#include <cstdio>
#include <iostream>
#include <iterator>
#include <memory>
#include <optional>
#include <string>
#include <vector>

namespace connpool::cli {
namespace {

using namespace fscli;  // NOLINT(google-build-using-namespace): the shared CLI helpers

Result<nlohmann::json> read_stdin_json() {
  std::string text((std::istreambuf_iterator<char>(std::cin)), std::istreambuf_iterator<char>());
  return fs::parse_json(text);
}

/// A document as `get` prints it, or a bare fields object. With `plain`, plain JSON values are
/// accepted too (see JsonMode::lenient).
Result<fs::Map> fields_from_input(const nlohmann::json& j, bool plain) {
  const auto mode = plain ? fs::JsonMode::lenient : fs::JsonMode::tagged;
  bool is_document = j.is_object() && j.contains("fields");
  if (is_document) {
    for (const auto& [k, v] : j.items()) {
      if (k != "fields" && k != "name" && k != "createTime" && k != "updateTime") {
        is_document = false;
      }
    }
  }
  if (is_document) {
    auto d = fs::document_from_json(j, mode);
    if (!d) return std::move(d).error();
    return std::move(d->fields);
  }
  return fs::fields_from_json(j, mode);
}

void add_get(CLI::App& fsapp, int& exit_code) {
  struct Opts {
    Common common;
    std::string collection, id;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = fsapp.add_subcommand("get", "Print a document as JSON (exit 1 if it does not exist)");
  cmd->add_option("collection", o->collection, "collection path")->required();
  cmd->add_option("id", o->id, "document id")->required();
  add_common(cmd, o->common);
  cmd->callback([o, &exit_code] {
    exit_code = with_client(o->common, [&](fs::BlockingClient db) {
      auto d = db.get_document(o->collection, o->id);
      if (!d) return fail_with(d.error());
      if (!d->has_value()) {
        std::fprintf(stderr, "connpool firestore: %s/%s does not exist\n", o->collection.c_str(),
                     o->id.c_str());
        return kExitFailure;
      }
      print(fs::to_json(**d), o->common);
      return kExitOk;
    });
  });
}

void add_set(CLI::App& fsapp, int& exit_code) {
  struct Opts {
    Common common;
    std::string collection, id;
    bool merge = false;
    std::vector<std::string> merge_fields;
    bool plain = false;
    bool create = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = fsapp.add_subcommand(
      "set", "Write a document read from stdin (the JSON `get` prints, or a fields object)");
  cmd->add_option("collection", o->collection, "collection path")->required();
  cmd->add_option("id", o->id, "document id")->required();
  cmd->add_flag("--merge", o->merge, "merge into the existing document instead of replacing it");
  cmd->add_option("--merge-field", o->merge_fields, "merge only this field path (repeatable)");
  cmd->add_flag("--create", o->create, "fail (exit 1) if the document already exists");
  cmd->add_flag("--plain", o->plain, "also accept plain JSON values (numbers, strings, ...)");
  add_common(cmd, o->common);
  cmd->callback([o, &exit_code] {
    auto j = read_stdin_json();
    if (!j) {
      exit_code = fail_with(j.error());
      return;
    }
    auto fields = fields_from_input(*j, o->plain);
    if (!fields) {
      exit_code = fail_with(fields.error());
      return;
    }
    exit_code = with_client(o->common, [&](fs::BlockingClient db) {
      fs::SetOptions so;
      so.merge = o->merge || !o->merge_fields.empty();
      so.merge_fields = o->merge_fields;
      auto w = o->create ? db.create_document(o->collection, o->id, std::move(*fields))
                         : db.set_document(o->collection, o->id, std::move(*fields), so);
      if (!w) return fail_with(w.error());
      print({{"updateTime", w->update_time.to_rfc3339()}}, o->common);
      return kExitOk;
    });
  });
}

void add_update(CLI::App& fsapp, int& exit_code) {
  struct Opts {
    Common common;
    std::string collection, id;
    std::vector<std::string> deletes;
    std::string if_updated_at;
    bool plain = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = fsapp.add_subcommand(
      "update", "Change fields of an existing document: stdin is {\"field.path\": value, ...}");
  cmd->add_option("collection", o->collection, "collection path")->required();
  cmd->add_option("id", o->id, "document id")->required();
  cmd->add_option("--delete-field", o->deletes, "delete this field path (repeatable)");
  cmd->add_option("--if-updated-at", o->if_updated_at,
                  "fail unless the document's updateTime is exactly this RFC 3339 time");
  cmd->add_flag("--plain", o->plain, "also accept plain JSON values");
  add_common(cmd, o->common);
  cmd->callback([o, &exit_code] {
    fs::Map fields;
    // Only deletions need no input: then stdin may be a terminal or empty.
    const bool may_skip_input = !o->deletes.empty();
    if (!(may_skip_input && isatty(0))) {
      std::string text((std::istreambuf_iterator<char>(std::cin)),
                       std::istreambuf_iterator<char>());
      if (!(may_skip_input && text.find_first_not_of(" \t\r\n") == std::string::npos)) {
        auto j = fs::parse_json(text);
        if (!j) {
          exit_code = fail_with(j.error());
          return;
        }
        auto f = fs::fields_from_json(*j, o->plain ? fs::JsonMode::lenient : fs::JsonMode::tagged);
        if (!f) {
          exit_code = fail_with(f.error());
          return;
        }
        fields = std::move(*f);
      }
    }
    auto pre = fs::Precondition::exists();
    if (!o->if_updated_at.empty()) {
      auto t = fs::Timestamp::from_rfc3339(o->if_updated_at);
      if (!t) {
        exit_code = fail_with(t.error());
        return;
      }
      pre = fs::Precondition::updated_at(*t);
    }
    exit_code = with_client(o->common, [&](fs::BlockingClient db) {
      auto w = db.update_document(o->collection, o->id, std::move(fields), pre, o->deletes);
      if (!w) return fail_with(w.error());
      print({{"updateTime", w->update_time.to_rfc3339()}}, o->common);
      return kExitOk;
    });
  });
}

void add_delete(CLI::App& fsapp, int& exit_code) {
  struct Opts {
    Common common;
    std::string collection, id;
    bool must_exist = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = fsapp.add_subcommand("delete", "Delete a document");
  cmd->add_option("collection", o->collection, "collection path")->required();
  cmd->add_option("id", o->id, "document id")->required();
  cmd->add_flag("--must-exist", o->must_exist, "exit 1 if the document does not exist");
  add_common(cmd, o->common);
  cmd->callback([o, &exit_code] {
    exit_code = with_client(o->common, [&](fs::BlockingClient db) {
      auto r = db.delete_document(o->collection, o->id,
                                  o->must_exist ? fs::Precondition::exists() : fs::Precondition{});
      if (!r) return fail_with(r.error());
      return kExitOk;
    });
  });
}

void add_query(CLI::App& fsapp, int& exit_code) {
  struct Opts {
    Common common;
    std::string collection;
    std::vector<std::string> where;
    std::vector<std::string> order_by;
    std::optional<int> limit, limit_to_last;
    int offset = 0;
    std::vector<std::string> select;
    bool group = false;
    bool count = false;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = fsapp.add_subcommand("query", "Run a query; prints a JSON array of documents");
  cmd->add_option("collection", o->collection, "collection path (or id with --group)")->required();
  cmd->add_option("--where,-w", o->where,
                  "filter 'FIELD OP VALUE' (ANDed, repeatable); OP is ==, !=, <, <=, >, >=, "
                  "array-contains, array-contains-any, in, not-in; VALUE is JSON");
  cmd->add_option("--order-by", o->order_by, "FIELD or FIELD:desc (repeatable)");
  cmd->add_option("--limit", o->limit, "at most N results");
  cmd->add_option("--limit-to-last", o->limit_to_last, "the last N results (needs --order-by)");
  cmd->add_option("--offset", o->offset, "skip N results");
  cmd->add_option("--select", o->select, "return only these fields (repeatable)");
  cmd->add_flag("--group", o->group, "collection group query over every collection with this id");
  cmd->add_flag("--count", o->count, "print the number of matches instead of the documents");
  add_common(cmd, o->common);
  cmd->callback([o, &exit_code] {
    fs::Query q = o->group ? fs::Query::collection_group(o->collection) : fs::Query(o->collection);
    for (const auto& w : o->where) {
      auto f = parse_where(w);
      if (!f) {
        exit_code = fail_with(f.error());
        return;
      }
      q.where(std::move(*f));
    }
    for (const auto& ob : o->order_by) {
      const auto colon = ob.rfind(':');
      if (colon != std::string::npos &&
          (ob.substr(colon + 1) == "desc" || ob.substr(colon + 1) == "asc")) {
        q.order_by(ob.substr(0, colon), ob.substr(colon + 1) == "desc" ? fs::Direction::descending
                                                                       : fs::Direction::ascending);
      } else {
        q.order_by(ob);
      }
    }
    if (o->limit) q.limit(*o->limit);
    if (o->limit_to_last) q.limit_to_last(*o->limit_to_last);
    if (o->offset) q.offset(o->offset);
    if (!o->select.empty()) q.select(o->select);
    if (auto v = q.validate(); !v) {
      exit_code = fail_with(v.error());
      return;
    }
    exit_code = with_client(o->common, [&](fs::BlockingClient db) {
      if (o->count) {
        auto n = db.count(q);
        if (!n) return fail_with(n.error());
        print(nlohmann::json{{"count", *n}}, o->common);
        return kExitOk;
      }
      auto docs = db.run_query(q);
      if (!docs) return fail_with(docs.error());
      nlohmann::json out = nlohmann::json::array();
      for (const auto& d : *docs) out.push_back(fs::to_json(d));
      print(out, o->common);
      return kExitOk;
    });
  });
}

void add_list(CLI::App& fsapp, int& exit_code) {
  struct Opts {
    Common common;
    std::string path;
  };
  auto o = std::make_shared<Opts>();
  auto* cmd = fsapp.add_subcommand(
      "list",
      "List collection ids (no argument, or a document path) or document ids (a collection)");
  cmd->add_option("path", o->path, "collection path, document path, or nothing for the root");
  add_common(cmd, o->common);
  cmd->callback([o, &exit_code] {
    exit_code = with_client(o->common, [&](fs::BlockingClient db) {
      const auto segments =
          o->path.empty() ? 0 : std::count(o->path.begin(), o->path.end(), '/') + 1;
      nlohmann::json out = nlohmann::json::array();
      if (segments % 2 == 0) {
        auto ids = db.list_collection_ids(o->path);
        if (!ids) return fail_with(ids.error());
        for (const auto& id : *ids) out.push_back(id);
      } else {
        std::string token;
        do {
          auto page = db.list_documents(o->path, 300, token);
          if (!page) return fail_with(page.error());
          for (const auto& d : page->documents) out.push_back(d.id);
          token = page->next_page_token;
        } while (!token.empty());
      }
      print(out, o->common);
      return kExitOk;
    });
  });
}

}  // namespace

void add_firestore(CLI::App& app, int& exit_code) {
  CLI::App* fsapp = app.add_subcommand(
      "firestore", "Read and write Firestore documents as JSON (emulator or production)");
  fsapp->require_subcommand(1);
  add_get(*fsapp, exit_code);
  add_set(*fsapp, exit_code);
  add_update(*fsapp, exit_code);
  add_delete(*fsapp, exit_code);
  add_query(*fsapp, exit_code);
  add_list(*fsapp, exit_code);
  fscli::add_watch(*fsapp, exit_code);
  fscli::add_import(*fsapp, exit_code);
  fscli::add_export(*fsapp, exit_code);
}

}  // namespace connpool::cli
