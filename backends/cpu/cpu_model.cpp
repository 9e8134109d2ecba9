#include "backends/cpu/cpu_model.h"

#include <algorithm>
#include <numeric>
#include <thread>

#include "backends/common/chat/chat_template.h"
#include "backends/common/model/vocab_loader.h"

namespace loom {
namespace {

// Reads one byte per page so the weights are resident before the first
// request (a cold first token would otherwise pay for the page faults).
void prefault(const GgufFile& file, const LoadProgress& progress) {
  const auto& tensors = file.tensors();
  volatile uint8_t sink = 0;
  for (size_t i = 0; i < tensors.size(); ++i) {
    auto bytes = file.tensor_bytes(tensors[i]);
    for (size_t off = 0; off < bytes.size(); off += 4096) sink = sink + bytes[off];
    if (progress && (i % 16 == 0 || i + 1 == tensors.size()))
      progress("reading weights", static_cast<double>(i + 1) / tensors.size());
  }
}

int32_t default_threads() {
  return std::max(1, static_cast<int>(std::thread::hardware_concurrency()));
}

}  // namespace

std::unique_ptr<CpuModel> CpuModel::load(const std::string& path, const CpuModelOptions& opt,
                                         const LoadProgress& progress) {
  if (progress) progress("opening", 0.0);
  std::unique_ptr<CpuModel> m(new CpuModel(GgufFile::open(path)));
  m->config_ = read_model_config(m->file_);
  m->tokenizer_ = Tokenizer::create(read_vocab(m->file_));
  m->chat_template_ = m->file_.get_string("tokenizer.chat_template")
                          .value_or(std::string(fallback_chat_template(m->config_.arch)));
  m->pool_ = std::make_unique<ThreadPool>(opt.threads > 0 ? opt.threads : default_threads());
  prefault(m->file_, progress);
  if (progress && opt.numerics == Numerics::kFast) progress("repacking weights", 0.0);
  m->forward_ = make_cpu_forward(m->file_, m->config_, m->pool_.get(), opt.max_batch_tokens, opt.numerics);
  m->numerics_ = opt.numerics;

  const ModelConfig& c = m->config_;
  m->context_ = opt.max_context > 0 ? std::min(opt.max_context, c.context_length) : c.context_length;
  const int32_t block_size = opt.block_size;
  if (block_size <= 0) throw ModelError("block_size must be positive");
  const int32_t blocks = opt.kv_blocks > 0 ? opt.kv_blocks : (m->context_ + block_size - 1) / block_size;
  if (progress) progress("allocating KV cache", 0.0);
  m->kv_ = std::make_unique<CpuKvCache>(c, blocks, block_size, opt.kv_dtype, opt.window_kv_blocks);
  if (progress) progress("ready", 1.0);
  return m;
}

size_t CpuModel::weight_bytes() const {
  size_t total = 0;
  for (const auto& t : file_.tensors())
    if (t.name != "token_embd.weight" || config_.tied_embeddings) total += t.n_bytes;
  return total;
}

SingleSequence::SingleSequence(CpuModel& model) : model_(model) {
  block_table_.resize(model.kv_cache().num_blocks());
  std::iota(block_table_.begin(), block_table_.end(), 0);
}

std::vector<float> SingleSequence::feed(std::span<const int32_t> tokens, LogitsWanted wanted) {
  const int64_t n_vocab = model_.config().n_vocab;
  const int64_t capacity = static_cast<int64_t>(block_table_.size()) * model_.kv_cache().block_size();
  if (position_ + static_cast<int64_t>(tokens.size()) > std::min<int64_t>(capacity, model_.context()))
    throw ModelError("sequence of " + std::to_string(position_ + tokens.size()) +
                     " tokens exceeds the context of " + std::to_string(model_.context()));
  std::vector<float> logits(wanted == LogitsWanted::kAll ? tokens.size() * n_vocab : n_vocab);
  const size_t step = static_cast<size_t>(model_.max_batch_tokens());
  for (size_t done = 0; done < tokens.size(); done += step) {
    const size_t n = std::min(step, tokens.size() - done);
    const bool last_chunk = done + n == tokens.size();
    SequenceChunk chunk{tokens.subspan(done, n), position_, block_table_,
                        wanted == LogitsWanted::kAll ? LogitsWanted::kAll
                        : last_chunk && wanted == LogitsWanted::kLast ? LogitsWanted::kLast
                                                                      : LogitsWanted::kNone};
    float* out = wanted == LogitsWanted::kAll ? logits.data() + done * n_vocab : logits.data();
    model_.forward(std::span<const SequenceChunk>(&chunk, 1), out);
    position_ += static_cast<int32_t>(n);
  }
  return logits;
}

}  // namespace loom
