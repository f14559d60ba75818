// The warning for a configuration file that holds a secret (a URL password or secret query
// parameter, the admin token) and that users other than its owner can read.
#include "connpool/config/redact.hpp"

#include "sources.hpp"
#include <sys/stat.h>

#include <cstdio>
#include <mutex>
#include <set>

namespace connpool::config::detail {

namespace {

bool holds_secret(const Setting& s) {
  if (s.key == "token") return !s.value.empty();
  // A URL is secret when redaction changes it: a userinfo, or a ?password=-like parameter.
  if (s.key == "url") return redact_url(s.value) != s.value;
  return false;
}

bool layer_holds_secret(const Layer& layer) {
  for (const Setting& s : layer.admin) {
    if (holds_secret(s)) return true;
  }
  for (const PoolSource& pool : layer.pools) {
    for (const Setting& s : pool.settings) {
      if (holds_secret(s)) return true;
    }
  }
  return false;
}

}  // namespace

std::optional<std::string> secret_file_warning(const std::string& path, const Layer& layer) {
  struct stat st {};
  if (::stat(path.c_str(), &st) != 0) return std::nullopt;
  if ((st.st_mode & (S_IRGRP | S_IROTH)) == 0) return std::nullopt;
  if (!layer_holds_secret(layer)) return std::nullopt;
  char mode[8];
  std::snprintf(mode, sizeof mode, "%04o", static_cast<unsigned>(st.st_mode & 07777));
  return path + " holds a password or token and other users can read it (mode " + mode +
         "): chmod 600 " + path;
}

void warn_once(const std::string& warning) {
  // One line per distinct warning and process: a program that reloads its configuration does
  // not repeat it.
  static std::mutex mu;
  static std::set<std::string> said;
  std::lock_guard lock(mu);
  if (!said.insert(warning).second) return;
  std::fprintf(stderr, "connpool: warning: %s\n", warning.c_str());
}

}  // namespace connpool::config::detail
