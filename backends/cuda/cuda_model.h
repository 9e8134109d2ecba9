// A loaded model on a CUDA device (or the SIMT emulator): the mapped GGUF
// file, config, tokenizer and chat template (as CpuModel), the weights in
// device memory, the step metadata buffers, the forward pass, the KV cache
// sized by the memory plan, and the decode CUDA graphs. CudaExecutor runs
// scheduler steps on it.
#pragma once
#include <functional>
#include <memory>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

#include "backends/common/gguf/gguf_file.h"
#include "backends/common/model/model_config.h"
#include "backends/common/tokenizer/tokenizer.h"
#include "backends/cuda/cuda_forward.h"
#include "backends/cuda/cuda_probe.h"
#include "backends/cuda/decode_graphs.h"
#include "backends/cuda/memory_plan.h"
#include "backends/cuda/step_metadata.h"

namespace loom {

struct CudaModelOptions {
  int32_t max_batch_tokens = 512;  // tokens of one step
  int32_t max_num_seqs = 64;       // sequences (and logits rows) of one step
  int32_t block_size = 16;         // KV tokens per block
  int32_t max_context = 0;         // 0: the model's trained context length
  int32_t device = 0;              // CUDA device ordinal (cudaSetDevice); the emulator has only 0
  // The KV budget (memory_plan.h): kv_cache_fraction of the memory left after weights,
  // workspace and graph reserve (nullopt: 0.9 unless kv_cache_bytes is given), and/or
  // kv_cache_bytes (0: not given); with both the smaller wins.
  std::optional<double> kv_cache_fraction;
  int64_t kv_cache_bytes = 0;
  int32_t kv_blocks = 0;           // > 0: exactly this many blocks (overrides both budget keys)
  int64_t graph_reserve_bytes = int64_t{256} << 20;  // graphs + cuBLAS workspace, kept out of the KV budget
  std::vector<int32_t> graph_batch_sizes = {1, 2, 4, 8, 16, 32, 64};  // empty: no graphs
  int32_t decode_split_len = 256;  // tokens per decode-attention split
  int32_t max_penalty_history = 0;  // penalty-window tokens per step; 0: 1024 per sequence
  bool force_fp16_weights = false;  // every matrix through cuBLAS in fp16 (tests the fp16 path)
  // int8 KV cache (per-(token, kv head) fp32 scales, format in kernels/cuda/attention/README.md):
  // ~1.9x the tokens in the same memory, small accuracy cost. Set from the plugin key
  // kv_cache_dtype = "int8" (LMDeploy's quant_policy=8); false: the fp16 cache.
  bool kv_int8 = false;
  // Models with sliding-window layers (Gemma 3): those layers keep their KV
  // in a pool of their own, sized for the scheduler's windows, when the memory
  // plan finds that it holds more full contexts in the same budget
  // (memory_plan.h, scheduler/README.md). false: every layer in one pool.
  bool window_pool = true;
  bool print_memory_plan = true;    // start-up report on stderr
};

using CudaLoadProgress = std::function<void(std::string_view stage, double fraction)>;

class CudaModel {
 public:
  // Throws GgufError / ModelError / TokenizerError like CpuModel, CudaError
  // when there is no usable device (options.device included) or a CUDA call
  // fails, and cuda_backend::KvBudgetError (a ModelError) with the numbers
  // when the KV budget cannot hold one full-context sequence or does not fit.
  static std::unique_ptr<CudaModel> load(const std::string& path, const CudaModelOptions& options,
                                         const CudaLoadProgress& progress = {});
  ~CudaModel();

  const ModelConfig& config() const { return config_; }
  const Tokenizer& tokenizer() const { return *tokenizer_; }
  const std::string& chat_template() const { return chat_template_; }
  const GgufFile& file() const { return file_; }
  const cuda_backend::CudaProbe& device() const { return probe_; }
  int32_t context() const { return context_; }
  int32_t max_batch_tokens() const { return options_.max_batch_tokens; }
  int32_t max_num_seqs() const { return options_.max_num_seqs; }
  int32_t block_size() const { return options_.block_size; }
  int32_t num_kv_blocks() const { return plan_.blocks; }  // usable (without the padding block)
  // The window pool (sched::SchedulerConfig::window_blocks / window_keep_tokens);
  // 0 when every layer is in the one pool. The kernels read exactly the window.
  int32_t num_window_kv_blocks() const { return plan_.window_blocks; }
  int32_t window_keep_tokens() const { return plan_.window_blocks > 0 ? config_.sliding_window : 0; }
  const std::string& memory_report() const { return plan_.report; }
  const cuda_backend::MemoryPlan& memory_plan() const { return plan_; }
  int64_t weight_bytes() const { return weights_.bytes; }  // uploaded weights, device bytes
  int32_t device_ordinal() const { return options_.device; }
  // cudaSetDevice(device_ordinal()) for the calling thread: the engine steps on
  // its own thread, and the current device is per thread.
  void make_current() const;

  // For CudaExecutor.
  cudaStream_t stream() const { return stream_; }
  cuda_backend::StepMetadata& metadata() { return *meta_; }
  cuda_backend::CudaForward& forward() { return *forward_; }
  const cuda_backend::DecodeGraphs& graphs() const { return graphs_; }

 private:
  explicit CudaModel(GgufFile file) : file_(std::move(file)) {}
  void create_device_state();
  void plan_and_allocate();

  GgufFile file_;
  ModelConfig config_;
  CudaModelOptions options_;
  std::unique_ptr<Tokenizer> tokenizer_;
  std::string chat_template_;
  cuda_backend::CudaProbe probe_;
  int32_t context_ = 0;
  cudaStream_t stream_ = nullptr;
  cublasHandle_t cublas_ = nullptr;
  // Declared after the handles: destroyed before them.
  cuda_backend::DeviceWeights weights_;
  cuda_backend::MemoryPlan plan_;
  std::unique_ptr<cuda_backend::StepMetadata> meta_;
  std::unique_ptr<cuda_backend::CudaForward> forward_;
  cuda_backend::DecodeGraphs graphs_;
};

// probe() for hosts: is there a device this backend can use (see cuda_probe.h).
inline cuda_backend::CudaProbe cuda_probe(int32_t device = 0) { return cuda_backend::probe(device); }

}  // namespace loom
