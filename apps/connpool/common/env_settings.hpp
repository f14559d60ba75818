// --set-env KEY=VAR: a configuration override whose value is read from the environment
// variable VAR, so a password or token in a URL never has to be on the command line (where
// `ps` and shell history show it). Shared by serve, check and config show.
#pragma once

#include "connpool/core/result.hpp"

#include <CLI/CLI.hpp>

#include <string>
#include <vector>

namespace connpool::cli {

/// Adds the repeatable --set-env KEY=VAR option to `cmd`, storing into `pairs`.
void add_set_env_option(CLI::App& cmd, std::vector<std::string>& pairs);

/// Turns each "KEY=VAR" into the "KEY=<value of $VAR>" that --set takes. Errors
/// (errc::invalid_argument) name the KEY and the variable, never a value.
Result<std::vector<std::string>> resolve_set_env(const std::vector<std::string>& pairs);

}  // namespace connpool::cli
