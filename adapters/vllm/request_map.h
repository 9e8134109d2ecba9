// An ADD's fields -> a Loom job, and how the door finishes it. vLLM's engine
// owns EOS and stop_token_ids (the frontend only checks stop strings) and puts
// the stop token in the output; Loom's engine stops without emitting it. So:
// with at most one stop id Loom stops natively and the door appends that id;
// with several the door watches the tokens itself, ends the request on the
// first stop id and cancels the Loom job (at most a step of extra work).
#pragma once
#include <optional>
#include <set>
#include <string>
#include <variant>

#include "adapters/vllm/codec.h"
#include "contract/engine_api.h"

namespace loom::vllm_door {

struct StopPlan {
  std::set<int32_t> ids;               // every id that ends the request
  std::set<int32_t> reported;          // of those, the stop_token_ids (stop_reason = the id)
  bool door_checks = false;            // true: the door scans tokens; false: Loom stops on ids
};

struct MappedJob {
  JobRequest job;
  StopPlan stop;
  std::optional<int32_t> num_logprobs;  // alternatives per row the frontend asked for
};

// A refusal is the message the frontend shows (HTTP 400).
std::variant<MappedJob, std::string> map_add(const AddRequest& add, const ModelInfo& model);

}  // namespace loom::vllm_door
