// `connpool config show`: the effective configuration, where each value came from, secrets
// redacted. Exit 0, or 2 on a configuration error.
#include "connpool/config/render.hpp"

#include "commands.hpp"
#include "common/config_options.hpp"

#include <iostream>
#include <memory>

namespace connpool::cli {

void add_config(CLI::App& app, int& exit_code) {
  CLI::App* config = app.add_subcommand("config", "Inspect the configuration");
  config->require_subcommand(1);

  struct ShowOptions {
    ConfigOptions config;
    bool json = false;
  };
  // Owned by the callback, which CLI11 keeps alive as long as the app.
  auto options = std::make_shared<ShowOptions>();
  CLI::App* show = config->add_subcommand(
      "show",
      "Print the effective configuration and where each value came from (default, "
      "profile:<env>, file:line:column, env:VAR, flag:--x); secrets are shown as ***");
  add_config_options(*show, options->config);
  show->add_flag("--json", options->json, "Print JSON instead of a table");
  show->callback([options, &exit_code] {
    auto loaded = load_config(options->config, std::cerr);
    if (!loaded) {
      exit_code = kExitConfigError;
      return;
    }
    std::cout << (options->json ? config::render_json(*loaded) : config::render_table(*loaded));
    exit_code = kExitOk;
  });
}

}  // namespace connpool::cli
