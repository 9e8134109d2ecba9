// The vLLM 0.33.0 EngineCore messages as C++ values, and their msgpack
// encoding (no sockets; the layouts are in wire.h). Decoders throw WireError.
#pragma once
#include <cstdint>
#include <optional>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "adapters/vllm/msgpack_in.h"
#include "adapters/vllm/wire.h"

namespace loom::vllm_door {

// The frontend's answer to HELLO (EngineHandshakeMetadata).
struct HandshakeInit {
  std::string input_address;   // addresses.inputs[0]
  std::string output_address;  // addresses.outputs[0]
};
HandshakeInit decode_handshake_init(std::string_view payload);

// An ADD's fields that Loom maps; `unsupported` names the first feature of the
// request Loom refuses (empty: none).
struct AddRequest {
  std::string request_id;
  std::vector<int32_t> prompt;
  int32_t n = 1;
  float temperature = 1.0f, top_p = 1.0f, min_p = 0.0f;
  int32_t top_k = 0;
  float presence_penalty = 0.0f, frequency_penalty = 0.0f, repetition_penalty = 1.0f;
  std::optional<int64_t> seed;
  std::optional<int64_t> max_tokens = 16;  // nullopt: up to the context
  int64_t min_tokens = 0;
  std::vector<int32_t> stop_token_ids;
  std::optional<int32_t> eos_token_id;  // "_eos_token_id": absent when ignore_eos
  bool ignore_eos = false;
  std::optional<int64_t> logprobs;      // nullopt: none; 0: the sampled token only
  int64_t priority = 0;
  int64_t client_index = 0;
  std::string unsupported;
};

// A utility call id is any msgpack integer (the frontend draws 64 random bits).
struct CallId {
  bool negative = false;
  uint64_t bits = 0;
};

struct UtilityCall {
  int64_t client_index = 0;
  CallId call_id;
  std::string method;
  uint32_t num_args = 0;
};

struct InputMessage {
  enum class Kind { kAdd, kAbort, kUtility } kind = Kind::kAdd;
  AddRequest add;
  std::vector<std::string> abort_ids;
  UtilityCall utility;
};

// frames: the multipart message from the input DEALER ([type, payload]).
InputMessage decode_input(const std::vector<std::string_view>& frames);

// ---- engine -> frontend

struct ReadyInfo {
  int64_t max_model_len = 0;
  int64_t num_gpu_blocks = 0;
  int64_t block_size = 16;
  int64_t max_num_seqs = 256;
  int64_t max_num_batched_tokens = 8192;
  int64_t engine_index = 0;
  std::string instance_id = "loom";
};
std::string encode_status(std::string_view status);  // HELLO / READY
std::string encode_ready_response(const ReadyInfo& info);

struct LogprobsRow {
  int32_t token = 0;
  float logprob = 0;
  int32_t rank = 1;
  std::vector<std::pair<int32_t, float>> top;
};

struct RequestErrorOut {
  std::string code;  // "validation_error" makes the frontend answer 400
  std::string message;
  bool retryable = false;
};

struct OutputEntry {
  std::string request_id;
  std::vector<int32_t> new_token_ids;
  std::optional<int32_t> num_logprobs;  // set: new_logprobs has this many alternatives per row
  std::vector<LogprobsRow> logprobs;    // one per new token when num_logprobs is set
  std::optional<vllm_wire::FinishReason> finish;
  std::optional<int32_t> stop_token;    // stop_reason: the stop_token_ids entry that ended it
  std::optional<RequestErrorOut> error;
};

struct SchedulerStatsOut {
  int64_t running = 0, waiting = 0;
  double kv_cache_usage = 0;
  int64_t prefix_requests = 0, prefix_queries = 0, prefix_hits = 0;  // since the last stats
};

struct UtilityReply {
  CallId call_id;
  std::optional<std::string> failure;
  enum class Value { kNone, kTrue, kFalse, kStrings } value = Value::kNone;
  std::vector<std::string> strings;
};

struct OutputsBatch {
  int64_t engine_index = 0;
  std::vector<OutputEntry> outputs;
  std::optional<SchedulerStatsOut> stats;
  double timestamp = 0;  // the engine's monotonic clock, seconds
  std::optional<UtilityReply> utility;
  std::vector<std::string> finished_requests;
};
std::string encode_outputs(const OutputsBatch& batch);

}  // namespace loom::vllm_door
