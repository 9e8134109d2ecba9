// vLLM 0.33.0's EngineCore wire layout, as Loom speaks it: the one place the
// field positions and names live. Every constant cites the vLLM source file
// (paths inside the vllm==0.33.0 wheel) whose struct it mirrors. msgspec
// encodes `array_like` Structs as positional arrays and omits trailing fields
// at their defaults (omit_defaults=True); plain Structs and dataclasses are
// maps. The layout changes between vLLM minor releases, so the door checks
// what it can (handshake keys, array lengths, field types, sampling keys) and
// refuses anything else with kVersionMismatch's line.
#pragma once
#include <array>
#include <cstdint>
#include <string_view>

namespace loom::vllm_wire {

inline constexpr std::string_view kVllmVersion = "0.33.0";
inline constexpr std::string_view kVersionMismatch =
    "this frontend does not speak vLLM 0.33.0's EngineCore protocol; Loom's --vllm-engine door supports vLLM 0.33.0 only";

// vllm/v1/engine/core.py EngineCoreProc.ENGINE_CORE_DEAD: a bare frame on the
// output PUSH socket; the frontend then fails every request fast.
inline constexpr std::string_view kEngineCoreDead = "ENGINE_CORE_DEAD";

// vllm/v1/engine/__init__.py EngineCoreRequestType: the first frame of every
// frontend -> engine message; the msgpack payload follows in the second.
enum class RequestType : uint8_t {
  kAdd = 0x00,          // payload: EngineCoreRequest
  kAbort = 0x01,        // payload: list[str] of request ids
  kStartDpWave = 0x02,  // DP>1 only; never sent with data_parallel_size 1
  kUtility = 0x03,      // payload: [client_index, call_id, method, args]
};

// vllm/v1/engine/core.py EngineCoreProc._perform_handshake / startup_handshake:
// the engine's DEALER (identity = engine index, 2 bytes little-endian) sends
// {"status": "HELLO"|"READY", "local": bool, "headless": bool}.
inline constexpr std::string_view kStatusHello = "HELLO";
inline constexpr std::string_view kStatusReady = "READY";

// vllm/v1/engine/utils.py EngineHandshakeMetadata: the frontend's answer to
// HELLO, a map {"addresses": EngineZmqAddresses, "parallel_config": map}.
inline constexpr std::array<std::string_view, 2> kHandshakeKeys = {"addresses", "parallel_config"};
// vllm/v1/engine/utils.py EngineZmqAddresses (a dataclass: a map).
inline constexpr std::array<std::string_view, 5> kAddressKeys = {
    "inputs",              // list[str]: the frontend's input ROUTER(s); Loom connects a DEALER to [0]
    "outputs",             // list[str]: the frontend's output PULL(s); Loom connects a PUSH to [0]
    "coordinator_input",   // str | None: DP coordinator (DP>1 only; must be None here)
    "coordinator_output",  // str | None: likewise
    "frontend_stats_publish_address",  // str | None: relayed to the frontend only
};

// vllm/v1/engine/__init__.py EngineCoreReadyResponse (a dataclass: a map),
// sent once on the input DEALER before READY. These are the keys Loom fills;
// the rest keep their defaults on the frontend's side.
namespace ready {
inline constexpr std::string_view kMaxModelLen = "max_model_len";      // int: Loom's context
inline constexpr std::string_view kNumGpuBlocks = "num_gpu_blocks";    // int: KV blocks
inline constexpr std::string_view kBlockSize = "block_size";           // int: tokens per block
inline constexpr std::string_view kDpStatsAddress = "dp_stats_address";  // str | None
inline constexpr std::string_view kDtype = "dtype";                    // str
inline constexpr std::string_view kVllmVersion = "vllm_version";       // str: "0.33.0"
inline constexpr std::string_view kWorldSize = "world_size";           // int
inline constexpr std::string_view kDataParallelSize = "data_parallel_size";
inline constexpr std::string_view kTensorParallelSize = "tensor_parallel_size";
inline constexpr std::string_view kPipelineParallelSize = "pipeline_parallel_size";
inline constexpr std::string_view kDecodeContextParallelSize = "decode_context_parallel_size";
inline constexpr std::string_view kDataParallelRank = "data_parallel_rank";
inline constexpr std::string_view kMaxNumSeqs = "max_num_seqs";
inline constexpr std::string_view kMaxNumBatchedTokens = "max_num_batched_tokens";
inline constexpr std::string_view kInstanceId = "instance_id";         // str
inline constexpr std::string_view kSupportsLora = "supports_lora";     // bool: false
inline constexpr std::string_view kMaxLoras = "max_loras";             // int: 0
inline constexpr std::string_view kKvCacheSizeTokens = "kv_cache_size_tokens";  // int | None
}  // namespace ready

// vllm/v1/engine/__init__.py EngineCoreRequest (array_like, omit_defaults):
// positions of the 22 fields. The first 9 have no default and are always
// present; the frontend of 0.33.0 sends all 22.
namespace req {
inline constexpr int kRequestId = 0;        // str
inline constexpr int kPromptTokenIds = 1;   // list[int] | None
inline constexpr int kMmFeatures = 2;       // list | None: multimodal (refused)
inline constexpr int kSamplingParams = 3;   // SamplingParams map | None
inline constexpr int kPoolingParams = 4;    // PoolingParams | None: pooling (refused)
inline constexpr int kArrivalTime = 5;      // float (wall clock)
inline constexpr int kLoraRequest = 6;      // LoRARequest | None (refused)
inline constexpr int kCacheSalt = 7;        // str | None (ignored: one tenant)
inline constexpr int kDataParallelRank = 8; // int | None
inline constexpr int kPromptEmbeds = 9;     // tensor | None (refused)
inline constexpr int kPromptIsTokenIds = 10;  // list[bool] | None (refused unless None)
inline constexpr int kClientIndex = 11;     // int: which output socket (Loom has one)
inline constexpr int kCurrentWave = 12;     // int: DP waves (unused at DP size 1)
inline constexpr int kPriority = 13;        // int: higher value = later in vLLM; negated for Loom
inline constexpr int kTraceHeaders = 14;    // map | None (ignored)
inline constexpr int kResumable = 15;       // bool: streaming sessions (refused when true)
inline constexpr int kExternalReqId = 16;   // str | None (ignored)
inline constexpr int kReasoningEnded = 17;  // bool | None (ignored)
inline constexpr int kReasoningParserKwargs = 18;  // map | None (ignored)
inline constexpr int kAbortImmediately = 19;  // bool: KV-transfer cleanup marker
inline constexpr int kSessionId = 20;       // str | None (ignored)
inline constexpr int kKvHints = 21;         // KvHintsEnvelope | None (ignored)
inline constexpr int kMinFields = 9;
inline constexpr int kMaxFields = 22;
}  // namespace req

// vllm/sampling_params.py SamplingParams (omit_defaults map): every key of
// 0.33.0. A key outside this list means another vLLM version.
inline constexpr std::array<std::string_view, 43> kSamplingKeys = {
    "n", "presence_penalty", "frequency_penalty", "repetition_penalty", "temperature", "watermarking",
    "top_p", "top_k", "min_p", "seed", "stop", "stop_token_ids", "ignore_eos", "max_tokens", "min_tokens",
    "logprobs", "prompt_logprobs", "prompt_logprob_token_ids", "prompt_logprob_start", "logprob_token_ids",
    "flat_logprobs", "detokenize", "skip_special_tokens", "spaces_between_special_tokens",
    "include_stop_str_in_output", "output_kind", "stream_interval", "skip_clone", "output_text_buffer_length",
    "_eos_token_id", "_all_stop_token_ids", "_watermarking_skipped", "structured_outputs", "logit_bias",
    "allowed_token_ids", "extra_args", "bad_words", "_bad_words_token_ids", "skip_reading_prefix_cache",
    "thinking_token_budget", "repetition_detection", "routed_experts_prompt_start", "trace_decode_token_ids",
};

// vllm/v1/engine/__init__.py EngineCoreOutput (array_like, omit_defaults):
// Loom writes the first 7 positions, and position 18 (error) for refusals.
namespace out {
inline constexpr int kRequestId = 0;     // str
inline constexpr int kNewTokenIds = 1;   // list[int]: this step's tokens, the stop token included
inline constexpr int kNewLogprobs = 2;   // LogprobsLists | None (vllm/v1/outputs.py)
inline constexpr int kNewPromptLogprobs = 3;  // None: Loom refuses prompt_logprobs
inline constexpr int kPoolingOutput = 4;  // None
inline constexpr int kFinishReason = 5;  // FinishReason int | None (never a string)
inline constexpr int kStopReason = 6;    // int (the stop token id) | str | None
inline constexpr int kError = 18;        // RequestError map | None (vllm/outputs.py)
inline constexpr int kFieldsWithError = 19;
}  // namespace out

// vllm/v1/engine/__init__.py FinishReason (IntEnum).
enum class FinishReason : uint8_t { kStop = 0, kLength = 1, kAbort = 2, kError = 3 };

// vllm/v1/engine/__init__.py EngineCoreOutputs (array_like, omit_defaults):
// [engine_index, outputs, scheduler_stats, timestamp, utility_output, finished_requests].
namespace outs {
inline constexpr int kEngineIndex = 0;      // int
inline constexpr int kOutputs = 1;          // list[EngineCoreOutput]
inline constexpr int kSchedulerStats = 2;   // SchedulerStats map | None
inline constexpr int kTimestamp = 3;        // float: the engine's monotonic clock
inline constexpr int kUtilityOutput = 4;    // UtilityOutput | None
inline constexpr int kFinishedRequests = 5; // set[str] | None (encoded as an array)
inline constexpr int kFields = 6;
}  // namespace outs

// vllm/v1/metrics/stats.py SchedulerStats (a dataclass: a map) and its
// PrefixCacheStats (per-step deltas, not totals).
namespace stats {
inline constexpr std::string_view kNumRunningReqs = "num_running_reqs";
inline constexpr std::string_view kNumWaitingReqs = "num_waiting_reqs";
inline constexpr std::string_view kKvCacheUsage = "kv_cache_usage";  // float in [0, 1]
inline constexpr std::string_view kPrefixCacheStats = "prefix_cache_stats";
inline constexpr std::string_view kPrefixRequests = "requests";
inline constexpr std::string_view kPrefixQueries = "queries";  // tokens looked up
inline constexpr std::string_view kPrefixHits = "hits";        // tokens found
}  // namespace stats

// vllm/v1/engine/__init__.py UtilityOutput (array_like): [call_id,
// failure_message, result]; result is vllm/v1/serial_utils.py UtilityResult,
// encoded as [type_info (None: a builtin), value].
// Utility call frames: [client_index, call_id, method_name, args].
inline constexpr int kUtilityFields = 4;

// vllm/v1/serial_utils.py MsgpackEncoder._encode_ndarray: an ndarray is
// [dtype.str, shape, Ext(CUSTOM_TYPE_RAW_VIEW, raw bytes)] when inline.
inline constexpr int8_t kExtRawView = 3;

}  // namespace loom::vllm_wire
