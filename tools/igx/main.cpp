// igx: Integrated Gradients explanations with a measured error, from the command line.
#include <CLI/CLI.hpp>
#include <torch/torch.h>

#include <iostream>

#include "commands.h"
#include "igx/error.h"
#include "igx/model.h"
#include "mpi_world.h"

int main(int argc, char** argv) {
  CLI::App app{
      "igx: Integrated Gradients explanations whose numerical error is measured and reported.\n"
      "Run 'igx COMMAND --help' for the flags of a command."};
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
    return app.exit(error);
  }
  try {
    if (app.got_subcommand("explain")) run_explain();
    if (app.got_subcommand("sweep")) run_sweep();
    if (app.got_subcommand("layer")) run_layer();
    if (app.got_subcommand("eval")) run_eval();
    if (app.got_subcommand("prune-study")) run_prune_study();
    if (app.got_subcommand("batch")) run_batch();
    if (app.got_subcommand("serve")) run_serve();
  } catch (const igx::Error& error) {
    std::cerr << "igx: error: " << error.what() << "\n";
    igx_cli::mpi::abort_ranks(1);
    return 1;
  } catch (const std::exception& error) {
    std::cerr << "igx: error: " << igx::torch_error_summary(error) << "\n";
    igx_cli::mpi::abort_ranks(1);
    return 1;
  }
  return 0;
}
