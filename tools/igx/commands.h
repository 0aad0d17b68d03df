#pragma once
// The igx subcommands. Each registers its flags on the app and runs on a parsed command line.

#include <CLI/CLI.hpp>

#include <functional>

namespace igx_cli {

/// Registers `igx explain`; returns the function that runs it once parsing succeeded.
std::function<void()> add_explain(CLI::App& app);

/// Registers `igx sweep` (the step-count study); returns the function that runs it.
std::function<void()> add_sweep(CLI::App& app);

/// Registers `igx layer` (attributions to the neurons of an internal layer); returns its runner.
std::function<void()> add_layer(CLI::App& app);

/// Registers `igx eval` (faithfulness of text attribution methods); returns its runner.
std::function<void()> add_eval(CLI::App& app);

/// Registers `igx prune-study` (zero the units that carry a patch's attribution); returns its runner.
std::function<void()> add_prune_study(CLI::App& app);

/// Registers `igx batch` (explain a whole data set, resumable, across MPI ranks); returns its runner.
std::function<void()> add_batch(CLI::App& app);

/// Registers `igx serve` (the explanation server, docs/serving.md); returns its runner.
std::function<void()> add_serve(CLI::App& app);

}  // namespace igx_cli
