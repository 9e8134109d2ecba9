#include "backends/cuda/cuda_model.h"

#include <cstdio>

#include "backends/common/chat/chat_template.h"
#include "backends/common/model/vocab_loader.h"
#include "backends/common/model/gemma3_weights.h"
#include "backends/common/model/llama_weights.h"
#include "scheduler/scheduler.h"

namespace loom {

using namespace cuda_backend;

namespace {

// The window pool the scheduler needs for these options (0: the model has no
// sliding-window layers, or the options keep one pool).
int32_t min_window_blocks(const ModelConfig& c, const CudaModelOptions& o) {
  if (!o.window_pool || CudaForward::window_kv_bytes_per_block(c, o.block_size, o.kv_int8) == 0) return 0;
  sched::SchedulerConfig s;
  s.block_size = o.block_size;
  s.max_num_seqs = o.max_num_seqs;
  s.max_batched_tokens = o.max_batch_tokens;
  s.window_keep_tokens = c.sliding_window;
  return s.min_window_blocks();
}

}  // namespace

CudaModel::~CudaModel() {
  (void)cudaSetDevice(options_.device);  // the destroying thread may have another current device
  forward_.reset();
  meta_.reset();
  if (cublas_) (void)cublasDestroy(cublas_);
  if (stream_) (void)cudaStreamDestroy(stream_);
}

std::unique_ptr<CudaModel> CudaModel::load(const std::string& path, const CudaModelOptions& opt,
                                           const CudaLoadProgress& progress) {
  const CudaProbe probe = cuda_backend::probe(opt.device);
  if (!probe.usable) throw CudaError("no usable CUDA device: " + probe.reason);
  if (opt.block_size <= 0 || opt.max_batch_tokens <= 0 || opt.max_num_seqs <= 0)
    throw ModelError("block_size, max_batch_tokens and max_num_seqs must be positive");
  if (progress) progress("opening", 0.0);
  std::unique_ptr<CudaModel> m(new CudaModel(GgufFile::open(path)));
  m->probe_ = probe;
  m->options_ = opt;
  m->config_ = read_model_config(m->file_);
  m->tokenizer_ = Tokenizer::create(read_vocab(m->file_));
  m->chat_template_ = m->file_.get_string("tokenizer.chat_template")
                          .value_or(std::string(fallback_chat_template(m->config_.arch)));
  const ModelConfig& c = m->config_;
  m->context_ = opt.max_context > 0 ? std::min(opt.max_context, c.context_length) : c.context_length;
  m->create_device_state();
  if (progress) progress("uploading weights", 0.1);
  // One case per model family: its weight binding (backends/common/model);
  // CudaForward::create picks the matching forward pass.
  switch (c.family) {
    case ModelFamily::kLlama:
      m->weights_ = upload_weights(c, bind_llama_weights(m->file_, c), opt.force_fp16_weights);
      break;
    case ModelFamily::kGemma3:
      m->weights_ = upload_weights(c, bind_gemma3_weights(m->file_, c), opt.force_fp16_weights);
      break;
  }
  if (progress) progress("allocating KV cache", 0.8);
  m->plan_and_allocate();
  if (progress) progress("capturing decode graphs", 0.9);
  m->graphs_.capture(*m->forward_, opt.graph_batch_sizes, m->stream_);
  check_cuda(cudaStreamSynchronize(m->stream_), "start-up");
  if (progress) progress("ready", 1.0);
  return m;
}

void CudaModel::make_current() const {
  check_cuda(cudaSetDevice(options_.device), "cudaSetDevice");
}

void CudaModel::create_device_state() {
  make_current();
  check_cuda(cudaStreamCreateWithFlags(&stream_, cudaStreamNonBlocking), "cudaStreamCreate");
  check_cublas(cublasCreate(&cublas_), "cublasCreate");
  check_cublas(cublasSetStream(cublas_, stream_), "cublasSetStream");
}

// Workspace and metadata first (fixed sizes), then the KV cache from what is
// left, then the report.
void CudaModel::plan_and_allocate() {
  const ModelConfig& c = config_;
  const CudaModelOptions& o = options_;
  StepCapacity cap;
  cap.max_tokens = o.max_batch_tokens;
  cap.max_seqs = o.max_num_seqs;
  cap.max_blocks_per_seq = (context_ + o.block_size - 1) / o.block_size;
  cap.max_history = o.max_penalty_history > 0 ? o.max_penalty_history : o.max_num_seqs * 1024;
  meta_ = std::make_unique<StepMetadata>(cap, 0, o.block_size, context_, c.n_vocab);
  ForwardLimits lim;
  lim.block_size = o.block_size;
  lim.context = context_;
  lim.split_len = o.decode_split_len;
  lim.kv_int8 = o.kv_int8;
  forward_ = CudaForward::create(c, weights_, *meta_, lim, stream_, cublas_);

  const DeviceMemory mem = device_memory();
  const int64_t workspace = forward_->workspace() + static_cast<int64_t>(meta_->device_bytes());
  MemoryPlanInput in;
  in.total = mem.total;
  in.free_after_fixed = probe_.emulated ? mem.total - weights_.bytes - workspace : mem.free;
  in.weight_bytes = weights_.bytes;
  in.workspace_bytes = workspace;
  in.graph_reserve = o.graph_batch_sizes.empty() ? 0 : o.graph_reserve_bytes;
  in.kv_cache_fraction = o.kv_cache_fraction;
  in.kv_cache_bytes = o.kv_cache_bytes;
  in.kv_blocks = o.kv_blocks;
  in.bytes_per_block = CudaForward::kv_bytes_per_block(c, o.block_size, o.kv_int8);
  in.window_bytes_per_block = CudaForward::window_kv_bytes_per_block(c, o.block_size, o.kv_int8);
  in.window_blocks = min_window_blocks(c, o);
  in.kv_int8 = o.kv_int8;
  in.block_size = o.block_size;
  in.max_context = context_;
  in.max_num_seqs = o.max_num_seqs;
  plan_ = plan_memory(in);
  meta_->set_num_blocks(plan_.blocks);
  meta_->set_window_pool(plan_.window_blocks, window_keep_tokens());
  forward_->allocate_kv(plan_.blocks + 1, plan_.window_blocks > 0 ? plan_.window_blocks + 1 : 0);
  if (o.print_memory_plan)
    std::fprintf(stderr, "loom cuda: %s%s\n%s\n", probe_.device.c_str(), probe_.emulated ? " [emulated]" : "",
                 plan_.report.c_str());
}

}  // namespace loom
