// Per-step metadata: built on the host from a StepPlan into one pinned
// staging buffer, uploaded with one copy (two when penalty histories are
// present) into a device buffer of the same layout. Every array sits at a
// fixed offset sized for the worst case, so device pointers never change and
// CUDA graphs captured once stay valid.
//
// Row order on the device: sequences with one new token ("decode group",
// attended by the decode kernel) first, then the multi-token chunks
// ("prefill group", prefill kernel). Token row t belongs to slot
// seq_of_token[t]; slot s's block table is block_tables[s][0 .. max_blocks),
// padded with the padding block id (num_blocks), which the CSR view
// (indptr[s] = s * max_blocks) and the KV-write map share. With a window
// pool (set_window_pool), window_block_tables holds the sliding-window
// layers' tables in the same shape, padded with that pool's padding block
// id; entries the scheduler dropped (behind the window) stay -1, which no
// kernel reads (a read would poison the row, never touch another's block).
#pragma once
#include <cstdint>
#include <span>
#include <vector>

#include "backends/common/engine/executor.h"
#include "backends/cuda/device_buffer.h"
#include "kernels/cuda/ops/sampling.cuh"

namespace loom::cuda_backend {

struct StepCapacity {
  int32_t max_tokens = 512;       // tokens per step
  int32_t max_seqs = 64;          // sequences per step (also logits rows)
  int32_t max_blocks_per_seq = 0;  // ceil(context / block_size)
  int32_t max_history = 0;        // penalty-window tokens over all rows of a step
};

// Scalars of one step (what kernel launches need on the host side).
struct StepShape {
  int32_t n_tokens = 0;          // rows of the activations (incl. graph padding)
  int32_t n_decode = 0;          // decode-group slots (incl. graph padding)
  int32_t n_prefill_seqs = 0;
  int32_t prefill_max_q = 0;     // longest prefill chunk
  int32_t n_rows = 0;            // logits rows computed (incl. graph padding)
  bool has_history = false;
  std::vector<int32_t> plan_row;  // [n real rows]: plan logits_row of device row r
};

class StepMetadata {
 public:
  StepMetadata(const StepCapacity& cap, int32_t num_blocks, int32_t block_size, int32_t context,
               int32_t n_vocab);

  // Fills the pinned staging buffer. pad_decode_to > 0 (graph replay; only for
  // plans whose every sequence decodes one token and samples) adds padding
  // slots up to that batch. Throws ModelError on a plan the cache or the
  // capacities cannot hold (naming the value).
  StepShape build(const sched::StepPlan& plan, std::span<const RowSampling> rows, int32_t pad_decode_to);
  void upload(const StepShape& shape, cudaStream_t stream);

  const StepCapacity& capacity() const { return cap_; }
  // The scheduler's pool size, known once the memory plan ran (block ids
  // must be below it; id num_blocks is the padding block).
  void set_num_blocks(int32_t num_blocks) { num_blocks_ = num_blocks; }
  // The window pool's size (its padding block is id num_window_blocks) and
  // how far back a query reads it (keys from pos - keep_tokens + 1 on); 0: none.
  void set_window_pool(int32_t num_window_blocks, int32_t keep_tokens) {
    num_window_blocks_ = num_window_blocks;
    window_keep_tokens_ = keep_tokens;
  }
  size_t device_bytes() const { return dev_.bytes(); }

  // Device arrays (fixed addresses).
  const int32_t* token_ids() const { return dptr<int32_t>(off_.token_ids); }
  const int32_t* positions() const { return dptr<int32_t>(off_.positions); }
  const int32_t* seq_of_token() const { return dptr<int32_t>(off_.seq_of_token); }
  const int32_t* kv_len() const { return dptr<int32_t>(off_.kv_len); }
  const int32_t* q_indptr() const { return dptr<int32_t>(off_.q_indptr); }
  const int32_t* indptr() const { return dptr<int32_t>(off_.indptr); }  // s * max_blocks
  const int32_t* sample_rows() const { return dptr<int32_t>(off_.sample_rows); }
  const int32_t* block_tables() const { return dptr<int32_t>(off_.block_tables); }
  const int32_t* window_block_tables() const { return dptr<int32_t>(off_.window_block_tables); }
  const cuda::DeviceSamplingParams* params() const { return dptr<cuda::DeviceSamplingParams>(off_.params); }
  const int32_t* history_offsets() const { return dptr<int32_t>(off_.history_offsets); }
  const int32_t* history() const { return dptr<int32_t>(off_.history); }
  int32_t padding_block() const { return num_blocks_; }

 private:
  struct Offsets {  // bytes into the buffers; `history` last (copied separately)
    size_t token_ids, positions, seq_of_token, kv_len, q_indptr, indptr, sample_rows, params,
        history_offsets, block_tables, window_block_tables, history, end;
  };
  template <class T>
  T* hptr(size_t off) const { return reinterpret_cast<T*>(host_.as<char>() + off); }
  template <class T>
  const T* dptr(size_t off) const { return reinterpret_cast<const T*>(dev_.as<char>() + off); }
  void check_seq(const sched::ScheduledSeq& seq) const;
  void check_window_table(const sched::ScheduledSeq& seq) const;
  void add_slot(int32_t slot, const sched::ScheduledSeq* seq);
  void add_sample_row(int32_t row, int32_t token_row, const RowSampling* rs, StepShape& shape);

  StepCapacity cap_;
  int32_t num_blocks_, block_size_, context_, n_vocab_;
  int32_t num_window_blocks_ = 0, window_keep_tokens_ = 0;
  Offsets off_{};
  PinnedBuffer host_;
  DeviceBuffer dev_;
  int32_t history_used_ = 0;
};

}  // namespace loom::cuda_backend
