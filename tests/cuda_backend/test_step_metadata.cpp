// StepMetadata's host layout for a step plan: row order (decode group
// first), padded block tables, prefill q_indptr, sampling rows and graph
// padding, read back from the device buffer after upload.
#include <gtest/gtest.h>

#include <string>
#include <vector>

#include "backends/common/model/model_config.h"
#include "backends/cuda/step_metadata.h"

namespace loom::cuda_backend {
namespace {

template <class T>
std::vector<T> read(const T* dev, size_t n) {
  std::vector<T> out(n);
  EXPECT_EQ(cudaMemcpy(out.data(), dev, n * sizeof(T), cudaMemcpyDeviceToHost), cudaSuccess);
  return out;
}

sched::ScheduledSeq seq(sched::RequestId id, std::vector<int32_t> tokens, int start,
                        std::vector<int32_t> table, int row) {
  sched::ScheduledSeq s;
  s.id = id;
  s.tokens = std::move(tokens);
  s.start_pos = start;
  s.block_table = std::move(table);
  s.sample = row >= 0;
  s.logits_row = row;
  return s;
}

StepCapacity capacity() {
  StepCapacity c;
  c.max_tokens = 16;
  c.max_seqs = 4;
  c.max_blocks_per_seq = 4;  // context 16 with block size 4
  c.max_history = 8;
  return c;
}

TEST(CudaStepMetadata, DecodeGroupFirstThenPrefillChunks) {
  StepMetadata meta(capacity(), 10, 4, 16, 100);
  sched::StepPlan plan;
  plan.seqs.push_back(seq(7, {11, 12, 13}, 2, {3, 4}, -1));  // prefill chunk, positions 2..4
  plan.seqs.push_back(seq(8, {21}, 5, {5, 6}, 0));        // decode at position 5
  plan.num_logits_rows = 1;
  sampling::SamplingParams sp;
  sp.temperature = 0.5f;
  sp.seed = 9;
  sp.has_seed = true;
  sampling::Sampler sampler(sp);
  const RowSampling rows[] = {{&sampler, 0, false}};
  const StepShape sh = meta.build(plan, rows, 0);
  meta.upload(sh, nullptr);
  EXPECT_EQ(sh.n_tokens, 4);
  EXPECT_EQ(sh.n_decode, 1);
  EXPECT_EQ(sh.n_prefill_seqs, 1);
  EXPECT_EQ(sh.prefill_max_q, 3);
  EXPECT_EQ(sh.n_rows, 1);
  EXPECT_EQ(sh.plan_row, std::vector<int32_t>{0});
  EXPECT_EQ(read(meta.token_ids(), 4), (std::vector<int32_t>{21, 11, 12, 13}));
  EXPECT_EQ(read(meta.positions(), 4), (std::vector<int32_t>{5, 2, 3, 4}));
  EXPECT_EQ(read(meta.seq_of_token(), 4), (std::vector<int32_t>{0, 1, 1, 1}));
  EXPECT_EQ(read(meta.kv_len(), 2), (std::vector<int32_t>{6, 5}));
  EXPECT_EQ(read(meta.q_indptr(), 2), (std::vector<int32_t>{0, 3}));
  EXPECT_EQ(read(meta.indptr(), 3), (std::vector<int32_t>{0, 4, 8}));
  EXPECT_EQ(read(meta.block_tables(), 8), (std::vector<int32_t>{5, 6, 10, 10, 3, 4, 10, 10}));
  EXPECT_EQ(read(meta.sample_rows(), 1), std::vector<int32_t>{0});
  const auto p = read(meta.params(), 1)[0];
  EXPECT_EQ(p.temperature, 0.5f);
  EXPECT_EQ(p.seed, 9u);
  EXPECT_EQ(p.draw_index, 0u);
}

TEST(CudaStepMetadata, GraphPaddingRowsUseThePaddingBlock) {
  StepMetadata meta(capacity(), 10, 4, 16, 100);
  sched::StepPlan plan;
  plan.seqs.push_back(seq(1, {5}, 0, {2}, 1));
  plan.seqs.push_back(seq(2, {6}, 4, {0, 1}, 0));
  plan.num_logits_rows = 2;
  sampling::SamplingParams sp;
  sp.repetition_penalty = 1.3f;
  sampling::Sampler a(sp), b(sp);
  b.accept(17);
  b.accept(18);
  const RowSampling rows[] = {{&a, 0, false}, {&b, 0, false}};
  const StepShape sh = meta.build(plan, rows, 4);
  meta.upload(sh, nullptr);
  EXPECT_EQ(sh.n_tokens, 4);
  EXPECT_EQ(sh.n_decode, 4);
  EXPECT_EQ(sh.n_rows, 4);
  EXPECT_EQ(sh.plan_row, (std::vector<int32_t>{1, 0}));  // padding rows are not reported
  EXPECT_EQ(read(meta.kv_len(), 4), (std::vector<int32_t>{1, 5, 1, 1}));
  EXPECT_EQ(read(meta.block_tables() + 8, 4), (std::vector<int32_t>{10, 10, 10, 10}));
  // device row 0 is plan row 1, whose sampler is b
  EXPECT_EQ(read(meta.history_offsets(), 5), (std::vector<int32_t>{0, 2, 2, 2, 2}));
  EXPECT_EQ(read(meta.history(), 2), (std::vector<int32_t>{17, 18}));
  EXPECT_EQ(read(meta.params(), 4)[3].temperature, 0.0f);
}

TEST(CudaStepMetadata, BadPlansAreRejectedWithTheValue) {
  StepMetadata meta(capacity(), 10, 4, 16, 100);
  sched::StepPlan plan;
  plan.seqs.push_back(seq(1, {500}, 0, {2}, -1));
  EXPECT_THROW(meta.build(plan, {}, 0), ModelError);  // token outside the vocabulary
  plan.seqs[0] = seq(1, {5}, 4, {2}, -1);
  EXPECT_THROW(meta.build(plan, {}, 0), ModelError);  // table does not cover position 4
  plan.seqs[0] = seq(1, {5}, 0, {10}, -1);
  EXPECT_THROW(meta.build(plan, {}, 0), ModelError);  // block 10 is the padding block
  plan.seqs[0] = seq(1, std::vector<int32_t>(17, 1), 0, {0, 1, 2, 3}, -1);
  EXPECT_THROW(meta.build(plan, {}, 0), ModelError);  // past the context of 16
}

// The window pool's tables (7 blocks, padding id 7; a query reads the 6 keys
// up to its position): copied as given, dropped entries kept at -1, padded
// with the window pool's padding block, graph padding slots on it too.
TEST(CudaStepMetadata, WindowTablesBesideTheBlockTables) {
  StepMetadata meta(capacity(), 10, 4, 16, 100);
  meta.set_window_pool(7, 6);
  sched::StepPlan plan;
  plan.seqs.push_back(seq(1, {5}, 9, {0, 1, 2}, 0));  // decode at 9: reads keys 4..9, blocks 1, 2
  plan.seqs[0].window_block_table = {-1, 3, 4};
  plan.num_logits_rows = 1;
  sampling::SamplingParams sp;
  sampling::Sampler sampler(sp);
  const RowSampling rows[] = {{&sampler, 0, false}};
  const StepShape sh = meta.build(plan, rows, 2);
  meta.upload(sh, nullptr);
  EXPECT_EQ(read(meta.block_tables(), 8), (std::vector<int32_t>{0, 1, 2, 10, 10, 10, 10, 10}));
  EXPECT_EQ(read(meta.window_block_tables(), 8), (std::vector<int32_t>{-1, 3, 4, 7, 7, 7, 7, 7}));
}

TEST(CudaStepMetadata, WindowTablesThatCannotWorkAreRejected) {
  StepMetadata meta(capacity(), 10, 4, 16, 100);
  meta.set_window_pool(7, 6);
  sched::StepPlan plan;
  plan.seqs.push_back(seq(1, {5}, 9, {0, 1, 2}, -1));
  plan.seqs[0].window_block_table = {};
  EXPECT_THROW(meta.build(plan, {}, 0), ModelError);  // no window table (scheduler without the pool)
  plan.seqs[0].window_block_table = {-1, -1, 4};
  try {
    meta.build(plan, {}, 0);
    ADD_FAILURE() << "a dropped block inside the window was accepted";
  } catch (const ModelError& e) {
    EXPECT_NE(std::string(e.what()).find("table entry 1 was dropped"), std::string::npos) << e.what();
  }
  plan.seqs[0].window_block_table = {-1, 3, 7};
  EXPECT_THROW(meta.build(plan, {}, 0), ModelError);  // 7 is the window pool's padding block
  plan.seqs[0].window_block_table = {0, 3, 4};
  EXPECT_NO_THROW(meta.build(plan, {}, 0));  // blocks before the window may still be held
}

}  // namespace
}  // namespace loom::cuda_backend
