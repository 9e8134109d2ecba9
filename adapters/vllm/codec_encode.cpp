// Engine -> frontend: handshake status, the ready response, EngineCoreOutputs.
// Every field is written with the exact msgpack type msgspec expects: one
// wrongly typed field makes the 0.33.0 frontend shut down.
#include <cstring>

#include "adapters/vllm/codec.h"

namespace loom::vllm_door {
namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;
namespace out = vllm_wire::out;
namespace outs = vllm_wire::outs;

void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_call_id(Packer& pk, const CallId& id) {
  if (id.negative) pk.pack_int64(static_cast<int64_t>(id.bits));
  else pk.pack_uint64(id.bits);
}

// vllm/v1/serial_utils.py _encode_ndarray, inline form: [dtype.str, shape, Ext(3, bytes)].
template <typename T>
void pack_ndarray(Packer& pk, const char* dtype, const std::vector<T>& data, std::vector<uint32_t> shape) {
  pk.pack_array(3);
  pack_str(pk, dtype);
  pk.pack_array(static_cast<uint32_t>(shape.size()));
  for (uint32_t d : shape) pk.pack_uint32(d);
  const auto bytes = static_cast<uint32_t>(data.size() * sizeof(T));
  pk.pack_ext(bytes, vllm_wire::kExtRawView);
  pk.pack_ext_body(reinterpret_cast<const char*>(data.data()), bytes);
}

// vllm/v1/outputs.py LogprobsLists: (token ids [n, k+1], logprobs [n, k+1],
// sampled ranks [n], cu_num_generated_tokens None). Column 0 is the sampled token.
void pack_logprobs(Packer& pk, const std::vector<LogprobsRow>& rows, int32_t k) {
  const auto n = static_cast<uint32_t>(rows.size());
  const auto width = static_cast<uint32_t>(k + 1);
  std::vector<int32_t> ids, ranks;
  std::vector<float> lps;
  for (const auto& r : rows) {
    ids.push_back(r.token);
    lps.push_back(r.logprob);
    ranks.push_back(r.rank);
    for (uint32_t j = 0; j + 1 < width; ++j) {
      // Loom reports exactly k alternatives; a shorter list (a vocabulary
      // smaller than k) repeats the sampled token rather than invent one.
      const bool have = j < r.top.size();
      ids.push_back(have ? r.top[j].first : r.token);
      lps.push_back(have ? r.top[j].second : r.logprob);
    }
  }
  pk.pack_array(4);
  pack_ndarray(pk, "<i4", ids, {n, width});
  pack_ndarray(pk, "<f4", lps, {n, width});
  pack_ndarray(pk, "<i4", ranks, {n});
  pk.pack_nil();
}

void pack_output(Packer& pk, const OutputEntry& e) {
  const bool with_error = e.error.has_value();
  pk.pack_array(with_error ? out::kFieldsWithError : out::kStopReason + 1);
  pack_str(pk, e.request_id);
  pk.pack_array(static_cast<uint32_t>(e.new_token_ids.size()));
  for (int32_t t : e.new_token_ids) pk.pack_int32(t);
  if (e.num_logprobs && !e.logprobs.empty()) pack_logprobs(pk, e.logprobs, *e.num_logprobs);
  else pk.pack_nil();
  pk.pack_nil();  // new_prompt_logprobs_tensors
  pk.pack_nil();  // pooling_output
  if (e.finish) pk.pack_uint8(static_cast<uint8_t>(*e.finish));
  else pk.pack_nil();
  if (e.stop_token) pk.pack_int32(*e.stop_token);
  else pk.pack_nil();
  if (!with_error) return;
  pk.pack_nil();   // 7 events
  pk.pack_nil();   // 8 kv_transfer_params
  pk.pack_nil();   // 9 ec_transfer_params
  pk.pack_nil();   // 10 trace_headers
  pk.pack_nil();   // 11 prefill_stats
  pk.pack_nil();   // 12 routed_experts
  pk.pack_uint8(0);  // 13 num_nans_in_logits (int, default 0)
  pk.pack_nil();   // 14 mm_cache_miss_hashes
  pk.pack_nil();   // 15 new_sampling_mask
  pk.pack_nil();   // 16 spec_decode_metrics
  pk.pack_nil();   // 17 prompt_token_id_logprobs
  // 18 error: vllm/outputs.py RequestError, a dataclass (map).
  pk.pack_map(3);
  pack_str(pk, "code");
  pack_str(pk, e.error->code);
  pack_str(pk, "message");
  pack_str(pk, e.error->message);
  pack_str(pk, "retryable");
  pk.pack(e.error->retryable);
}

void pack_stats(Packer& pk, const SchedulerStatsOut& s) {
  namespace st = vllm_wire::stats;
  pk.pack_map(4);
  pack_str(pk, st::kNumRunningReqs);
  pk.pack_int64(s.running);
  pack_str(pk, st::kNumWaitingReqs);
  pk.pack_int64(s.waiting);
  pack_str(pk, st::kKvCacheUsage);
  pk.pack_double(s.kv_cache_usage);
  pack_str(pk, st::kPrefixCacheStats);
  pk.pack_map(3);
  pack_str(pk, st::kPrefixRequests);
  pk.pack_int64(s.prefix_requests);
  pack_str(pk, st::kPrefixQueries);
  pk.pack_int64(s.prefix_queries);
  pack_str(pk, st::kPrefixHits);
  pk.pack_int64(s.prefix_hits);
}

void pack_utility(Packer& pk, const UtilityReply& u) {
  pk.pack_array(3);
  pack_call_id(pk, u.call_id);
  if (u.failure) {
    pack_str(pk, *u.failure);
    pk.pack_nil();
    return;
  }
  pk.pack_nil();
  pk.pack_array(2);  // UtilityResult: [type_info (None: builtin), value]
  pk.pack_nil();
  switch (u.value) {
    case UtilityReply::Value::kNone: pk.pack_nil(); break;
    case UtilityReply::Value::kTrue: pk.pack_true(); break;
    case UtilityReply::Value::kFalse: pk.pack_false(); break;
    case UtilityReply::Value::kStrings:
      pk.pack_array(static_cast<uint32_t>(u.strings.size()));
      for (const auto& s : u.strings) pack_str(pk, s);
      break;
  }
}

}  // namespace

std::string encode_status(std::string_view status) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  pk.pack_map(3);
  pack_str(pk, "status");
  pack_str(pk, status);
  pack_str(pk, "local");
  pk.pack_false();
  pack_str(pk, "headless");
  pk.pack_true();
  return {buf.data(), buf.size()};
}

std::string encode_ready_response(const ReadyInfo& info) {
  namespace r = vllm_wire::ready;
  msgpack::sbuffer buf;
  Packer pk(buf);
  pk.pack_map(18);
  const auto kv_int = [&](std::string_view k, int64_t v) {
    pack_str(pk, k);
    pk.pack_int64(v);
  };
  kv_int(r::kMaxModelLen, info.max_model_len);
  kv_int(r::kNumGpuBlocks, info.num_gpu_blocks);
  kv_int(r::kBlockSize, info.block_size);
  pack_str(pk, r::kDpStatsAddress);
  pk.pack_nil();
  pack_str(pk, r::kDtype);
  pack_str(pk, "float16");
  pack_str(pk, r::kVllmVersion);
  pack_str(pk, vllm_wire::kVllmVersion);
  kv_int(r::kWorldSize, 1);
  kv_int(r::kDataParallelSize, 1);
  kv_int(r::kTensorParallelSize, 1);
  kv_int(r::kPipelineParallelSize, 1);
  kv_int(r::kDecodeContextParallelSize, 1);
  kv_int(r::kDataParallelRank, info.engine_index);
  kv_int(r::kMaxNumSeqs, info.max_num_seqs);
  kv_int(r::kMaxNumBatchedTokens, info.max_num_batched_tokens);
  pack_str(pk, r::kInstanceId);
  pack_str(pk, info.instance_id);
  pack_str(pk, r::kSupportsLora);
  pk.pack_false();
  kv_int(r::kMaxLoras, 0);
  kv_int(r::kKvCacheSizeTokens, info.num_gpu_blocks * info.block_size);
  return {buf.data(), buf.size()};
}

std::string encode_outputs(const OutputsBatch& b) {
  msgpack::sbuffer buf;
  Packer pk(buf);
  const bool finished = !b.finished_requests.empty();
  pk.pack_array(finished ? outs::kFields : outs::kUtilityOutput + 1);
  pk.pack_int64(b.engine_index);
  pk.pack_array(static_cast<uint32_t>(b.outputs.size()));
  for (const auto& e : b.outputs) pack_output(pk, e);
  if (b.stats) pack_stats(pk, *b.stats);
  else pk.pack_nil();
  pk.pack_double(b.timestamp);
  if (b.utility) pack_utility(pk, *b.utility);
  else pk.pack_nil();
  if (finished) {
    pk.pack_array(static_cast<uint32_t>(b.finished_requests.size()));
    for (const auto& id : b.finished_requests) pack_str(pk, id);
  }
  return {buf.data(), buf.size()};
}

}  // namespace loom::vllm_door
