// The sampling and stopping flags of `loom generate` / `loom chat`, and
// running one job to its end through an EngineApi with the text streamed.
#pragma once
#include <CLI/CLI.hpp>
#include <functional>
#include <string_view>

#include "contract/engine_api.h"

namespace loom::cli {

// Registers --max-tokens, --temperature, --top-k, --top-p, --min-p, the
// penalties, --seed, --ignore-eos, --stop (repeatable), --stop-token-id.
void add_job_options(CLI::App& cmd, JobParams& params);

// Submits `request` and blocks until its terminal event, calling `on_text`
// with each streamed piece (on the engine's output thread). Returns the
// terminal event (kDone or kError).
JobEvent run_job(EngineApi& engine, JobRequest request, const std::function<void(std::string_view)>& on_text);

// "[12 prompt tokens | 40 tokens, 88.1 tok/s | stop]" on stderr; throws for a kError.
void report_job(const JobEvent& terminal);

}  // namespace loom::cli
