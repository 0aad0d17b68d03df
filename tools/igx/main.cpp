// igx: Integrated Gradients explanations with a measured error, from the command line.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <iostream>

#include "commands.h"
#include "igx/error.h"
#include "igx/model.h"
#include "mpi_world.h"

namespace {

// Every error is one line on stderr in one style; the exit code says whose fault it was
// (igx::kExitUsage: the command line, nothing was run; igx::kExitFailure: the run).
// Under mpirun, a failure on one rank stops the launch instead of leaving the others waiting.
int report(const std::string& message, int exit_code) {
  std::cerr << "igx: error: " << message << "\n";
  igx_cli::mpi::abort_ranks(exit_code);
  return exit_code;
}

// CLI11's own words for the errors it finds before igx's checks run.
std::string parse_error_message(const CLI::ParseError& error, const CLI::App& app) {
  std::string message = error.what();
  if (dynamic_cast<const CLI::RequiredError*>(&error) != nullptr && message.rfind("A subcommand", 0) == 0) {
    return "a command is required: explain, sweep, layer, eval, prune-study, batch or serve (igx --help lists them)";
  }
  if (dynamic_cast<const CLI::ValidationError*>(&error) != nullptr) return message;  // "--steps: expected ..."
  std::string command = "igx";
  for (const CLI::App* sub : app.get_subcommands()) command += " " + sub->get_name();
  return message + " (" + command + " --help lists the flags)";
}

}  // namespace

int main(int argc, char** argv) {
  CLI::App app{
      "igx: Integrated Gradients explanations whose numerical error is measured and reported.\n"
      "Run 'igx COMMAND --help' for the flags of a command.\n"
      "Exit codes: 0 done, 1 the run failed, 2 the command line is wrong (nothing was run)."};
  app.require_subcommand(1);
  app.set_version_flag("--version", "igx 0.1.0");
  app.get_formatter()->column_width(40);
  auto run_explain = igx_cli::add_explain(app);
  auto run_sweep = igx_cli::add_sweep(app);
  auto run_layer = igx_cli::add_layer(app);
  auto run_eval = igx_cli::add_eval(app);
  auto run_prune_study = igx_cli::add_prune_study(app);
  auto run_batch = igx_cli::add_batch(app);
  auto run_serve = igx_cli::add_serve(app);

  try {
    app.parse(argc, argv);
  } catch (const CLI::ParseError& error) {
    if (error.get_exit_code() == static_cast<int>(CLI::ExitCodes::Success)) return app.exit(error);  // --help, --version
    return report(parse_error_message(error, app), igx::kExitUsage);
  }
  try {
    if (app.got_subcommand("explain")) run_explain();
    if (app.got_subcommand("sweep")) run_sweep();
    if (app.got_subcommand("layer")) run_layer();
    if (app.got_subcommand("eval")) run_eval();
    if (app.got_subcommand("prune-study")) run_prune_study();
    if (app.got_subcommand("batch")) run_batch();
    if (app.got_subcommand("serve")) run_serve();
  } catch (const igx::UsageError& error) {
    return report(error.what(), igx::kExitUsage);
  } catch (const igx::Error& error) {
    return report(error.what(), igx::kExitFailure);
  } catch (const std::bad_alloc&) {
    return report("out of memory; ask for less (fewer examples, steps or samples, a smaller --batch-size)",
                  igx::kExitFailure);
  } catch (const std::exception& error) {
    return report(igx::torch_error_summary(error), igx::kExitFailure);
  }
  return 0;
}
