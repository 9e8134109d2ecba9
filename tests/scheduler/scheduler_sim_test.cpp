// Randomized simulation: random arrivals, prompt/output lengths, shared
// prefixes, salts, cancels, deadlines, priorities, forks and tiny KV pools.
// The test plays the executor and keeps its own model of truth:
//  - per request: its tokens, how many are computed, its limits;
//  - a shadow KV pool: every slot holds a fingerprint of the whole prefix
//    written there, so any wrong block reuse, missed copy-on-write or
//    overwrite of someone else's block shows up as a mismatched read.
// After every step it checks the invariants listed in check_invariants().
// Under the padded static policy a finished request's row lives on as
// padding; the sim keeps its model as a ghost and checks the row only ever
// rewrites its own last position in a block nobody else reads.
// With a window pool (window_keep > 0, the sliding-window layers' blocks) a
// second shadow pool plays those layers: each chunk writes its positions
// there too and reads back every position a sliding query reads (the last
// window_keep - 1 before it), the pool sized at exactly min_window_blocks().
#include <gtest/gtest.h>

#include <algorithm>
#include <cstdio>
#include <map>
#include <random>
#include <set>

#include "bench/baselines/baseline_policies.h"

using loom::baselines::PolicyKind;
#include "scheduler/scheduler.h"

namespace loom::sched {
namespace {

struct SimParams {
  uint64_t seed;
  int num_blocks;
  int block_size;
  int max_seqs;
  int max_tokens;
  int max_model_len;
  int max_preemptions;
  PolicyKind policy;
  int arrival_steps;
  int window_keep = 0;  // > 0: a window pool whose queries read this many positions back
};

// FNV-1a step over one 64-bit word; deliberately unlike the scheduler's hash.
uint64_t fnv(uint64_t h, uint64_t word) {
  for (int i = 0; i < 8; ++i) h = (h ^ ((word >> (8 * i)) & 0xff)) * 0x100000001b3ULL;
  return h | 1;  // 0 marks a never-written slot
}

struct ModelRequest {
  std::vector<TokenId> tokens;
  std::vector<uint64_t> fp;  // fp[p]: fingerprint of tokens[0..p] (and the salt)
  int num_prompt = 0;
  int max_new = 0;
  int computed = 0;
  bool has_blocks = false;
  bool cancelled = false;
  std::optional<int> deadline_ms;
  uint64_t salt = 0;
  int arrival_step = 0;

  int generated() const { return static_cast<int>(tokens.size()) - num_prompt; }
  void push(TokenId t) {
    uint64_t prev = fp.empty() ? fnv(0xcbf29ce484222325ULL, salt) : fp.back();
    tokens.push_back(t);
    fp.push_back(fnv(prev, static_cast<uint64_t>(t)));
  }
};

class Sim {
 public:
  explicit Sim(const SimParams& p) : p_(p), s_(make_config(p)), rng_(p.seed) {
    kv_.assign(p.num_blocks, std::vector<uint64_t>(p.block_size, 0));
    wkv_.assign(s_.stats().window_blocks_total, std::vector<uint64_t>(p.block_size, 0));
    window_holders_.assign(wkv_.size(), 0);
    for (int i = 0; i < 3; ++i) prefixes_.push_back(random_tokens(uniform(0, 3 * p.block_size)));
  }

  void run() {
    int step = 0;
    for (; step < p_.arrival_steps || !live_.empty(); ++step) {
      ASSERT_LT(step, p_.arrival_steps + drain_bound_) << "did not drain: livelock?";
      if (step < p_.arrival_steps) random_events(step);
      one_step(step);
      if (::testing::Test::HasFatalFailure()) return;
    }
    EXPECT_FALSE(s_.has_unfinished());
    SchedulerStats st = s_.stats();
    EXPECT_EQ(st.blocks_free, p_.num_blocks);  // cached-but-free blocks count as free
    EXPECT_EQ(st.blocks_reserved, 0);
    EXPECT_GT(num_finished_, 0);
    // What the run exercised (a run that exercises nothing proves nothing).
    std::printf(
        "seed %llu: %d steps, %d finished, %d rejected, %lld preemptions, %d copies, "
        "%d forks, %d padding rows, hit rate %.3f, reasons stop/length/cancel/deadline "
        "%d/%d/%d/%d\n",
        static_cast<unsigned long long>(p_.seed), step, num_finished_, rejected_,
        static_cast<long long>(st.preemptions), copies_, forks_, padded_, st.prefix_hit_rate(), reasons_[0],
        reasons_[1], reasons_[2], reasons_[3]);
    EXPECT_GT(st.prefix_hit_tokens, 0);
    EXPECT_GT(reasons_[1], 0);
    EXPECT_EQ(padded_ > 0, p_.policy == PolicyKind::kStaticPadded);
    if (p_.window_keep > 0) {
      std::printf("window pool: %d blocks, at most %d in use (full pool %d)\n", st.window_blocks_total,
                  max_window_used_, p_.num_blocks);
      EXPECT_GT(max_window_used_, 0);
    }
  }

 private:
  static SchedulerConfig make_config(const SimParams& p) {
    SchedulerConfig c;
    c.num_blocks = p.num_blocks;
    c.block_size = p.block_size;
    c.max_num_seqs = p.max_seqs;
    c.max_batched_tokens = p.max_tokens;
    c.max_model_len = p.max_model_len;
    c.max_preemptions = p.max_preemptions;
    c.policy = loom::baselines::make_policy(p.policy, c.max_preemptions);
    if (p.window_keep > 0) {
      c.window_keep_tokens = p.window_keep;
      c.window_blocks = c.min_window_blocks();
    }
    return c;
  }

  int uniform(int lo, int hi) { return std::uniform_int_distribution<int>(lo, hi)(rng_); }
  bool chance(double p) { return std::bernoulli_distribution(p)(rng_); }
  std::vector<TokenId> random_tokens(int n) {
    std::vector<TokenId> t(n);
    for (TokenId& x : t) x = uniform(0, 30);  // small vocabulary: prefixes collide
    return t;
  }

  void random_events(int step) {
    for (int k = chance(0.15) ? 2 : 1; k > 0; --k) {
      if (chance(0.45)) add_request(step);
    }
    if (!live_.empty() && chance(0.04)) cancel_random();
    if (chance(0.1)) fork_random();
  }

  void add_request(int step) {
    const int limit = std::min(p_.max_model_len, p_.num_blocks * p_.block_size);
    std::vector<TokenId> prompt = prefixes_[uniform(0, 2)];
    std::vector<TokenId> tail = random_tokens(uniform(1, std::max(1, limit / 2)));
    prompt.insert(prompt.end(), tail.begin(), tail.end());
    if (chance(0.03)) prompt.resize(limit + uniform(1, 5), 7);  // never fits
    RequestSpec spec;
    spec.id = next_id_++;
    spec.prompt = prompt;
    spec.max_new_tokens = uniform(1, 24);
    spec.priority = uniform(0, 2);
    spec.arrival = TimePoint{} + std::chrono::milliseconds(step);
    if (chance(0.1)) spec.deadline = spec.arrival + std::chrono::milliseconds(uniform(0, 40));
    spec.cache_salt = chance(0.2) ? 1 : 0;
    const int n = static_cast<int>(prompt.size());
    if (n > limit) {
      EXPECT_THROW(s_.add(spec), SchedulerError);
      EXPECT_FALSE(s_.info(spec.id).has_value());
      ++rejected_;
      return;
    }
    const int max_new = s_.add(spec);
    EXPECT_EQ(max_new, std::min(spec.max_new_tokens, limit - n + 1));
    ModelRequest m;
    m.salt = spec.cache_salt;
    for (TokenId t : prompt) m.push(t);
    m.num_prompt = n;
    m.max_new = max_new;
    if (spec.deadline)
      m.deadline_ms = step + static_cast<int>((*spec.deadline - spec.arrival).count() / 1000000);
    m.arrival_step = step;
    live_.emplace(spec.id, std::move(m));
    drain_bound_ += (n + max_new) * (p_.max_preemptions + 2) + 4;
  }

  RequestId random_live() {
    auto it = live_.begin();
    std::advance(it, uniform(0, static_cast<int>(live_.size()) - 1));
    return it->first;
  }

  void cancel_random() {
    RequestId id = random_live();
    s_.cancel(id);
    live_.at(id).cancelled = true;
  }

  void fork_random() {
    std::vector<RequestId> decoding;
    for (const auto& [id, m] : live_) {
      if (!m.cancelled && m.has_blocks && m.generated() > 0 &&
          m.computed + 1 == static_cast<int>(m.tokens.size())) {
        decoding.push_back(id);
      }
    }
    if (decoding.empty() || s_.stats().num_running >= p_.max_seqs) return;
    RequestId parent = decoding[uniform(0, static_cast<int>(decoding.size()) - 1)];
    ModelRequest& m = live_.at(parent);
    auto info = s_.info(parent);
    ASSERT_EQ(info->state, RequestState::kRunning);
    RequestId child = next_id_++;
    TokenId token = uniform(0, 30);
    try {
      s_.fork(parent, child, token);
    } catch (const SchedulerError&) {
      EXPECT_TRUE(info->reserved) << "only a reserved parent without a spare block may refuse";
      return;
    }
    ModelRequest c = m;
    c.tokens.pop_back();
    c.fp.pop_back();
    c.push(token);
    drain_bound_ += (c.num_prompt + c.max_new) * (p_.max_preemptions + 2) + 4;
    live_.emplace(child, std::move(c));
    ++forks_;
  }

  uint64_t& slot(std::span<const BlockId> table, int pos) {
    return kv_.at(table[pos / p_.block_size]).at(pos % p_.block_size);
  }
  uint64_t& window_slot(std::span<const BlockId> table, int pos) {
    const BlockId b = table[pos / p_.block_size];
    EXPECT_GE(b, 0) << "window block of pos " << pos << " dropped but still read";
    return wkv_.at(std::max(b, 0)).at(pos % p_.block_size);
  }
  // The first position a chunk starting at start_pos reads in the window pool.
  int first_window_pos(int start_pos) const { return std::max(0, start_pos - p_.window_keep + 1); }

  // What the sliding layers read and write for a chunk [start, end) of m.
  void window_read_write(const ScheduledSeq& seq, const std::vector<uint64_t>& fp) {
    if (p_.window_keep == 0) {
      EXPECT_TRUE(seq.window_block_table.empty());
      return;
    }
    ASSERT_EQ(seq.window_block_table.size(), seq.block_table.size());
    for (int pos = first_window_pos(seq.start_pos); pos < seq.start_pos; ++pos)
      ASSERT_EQ(window_slot(seq.window_block_table, pos), fp[pos]) << "window KV of " << seq.id << " pos " << pos;
    for (int pos = seq.start_pos; pos < seq.end_pos(); ++pos) window_slot(seq.window_block_table, pos) = fp[pos];
  }

  void finish(RequestId id, FinishReason reason, int num_generated) {
    ASSERT_TRUE(live_.contains(id)) << "request " << id << " finished twice or never existed";
    ModelRequest& m = live_.at(id);
    EXPECT_EQ(num_generated, m.generated());
    EXPECT_LE(m.generated(), m.max_new);
    if (reason == FinishReason::kLength) {
      EXPECT_EQ(m.generated(), m.max_new);
    }
    if (reason == FinishReason::kCancelled) {
      EXPECT_TRUE(m.cancelled);
    }
    EXPECT_FALSE(s_.info(id).has_value());
    if (s_.kv().contains(id)) {  // a padding row now (the padded static batch only)
      EXPECT_EQ(p_.policy, PolicyKind::kStaticPadded);
      auto pads = s_.padding_ids();
      EXPECT_NE(std::find(pads.begin(), pads.end(), id), pads.end());
      ghosts_[id] = m;
    }
    live_.erase(id);
    ++num_finished_;
    ++reasons_[static_cast<int>(reason)];
  }

  void check_schedule_finishes(const StepPlan& plan, int now) {
    std::set<RequestId> due;
    for (const auto& [id, m] : live_) {
      if (m.cancelled || (m.deadline_ms && now >= *m.deadline_ms)) due.insert(id);
    }
    std::set<RequestId> got;
    for (const FinishedRequest& f : plan.finished) {
      got.insert(f.id);
      if (f.reason == FinishReason::kDeadline) {
        EXPECT_TRUE(live_.at(f.id).deadline_ms && now >= *live_.at(f.id).deadline_ms);
      }
      finish(f.id, f.reason, f.num_generated);
    }
    EXPECT_EQ(got, due);
  }

  void check_and_execute(const StepPlan& plan) {
    EXPECT_LE(static_cast<int>(plan.seqs.size()), p_.max_seqs);
    int tokens = 0;
    std::set<RequestId> ids;
    std::vector<int> rows;
    for (const CopyOnWrite& c : plan.copies) {
      ASSERT_NE(c.src, c.dst);
      ASSERT_TRUE(!c.window || p_.window_keep > 0);
      auto& pool = c.window ? wkv_ : kv_;
      pool.at(c.dst) = pool.at(c.src);
      ++copies_;
      EXPECT_EQ((c.window ? *s_.kv().window_pool() : s_.kv().pool()).refcount(c.dst), 1);
    }
    for (const ScheduledSeq& seq : plan.seqs) {
      ASSERT_TRUE(ids.insert(seq.id).second) << "request planned twice in one step";
      if (seq.padding) {
        check_and_execute_padding(seq);
        tokens += seq.num_tokens();
        continue;
      }
      ASSERT_TRUE(live_.contains(seq.id));
      ModelRequest& m = live_.at(seq.id);
      const int known = static_cast<int>(m.tokens.size());
      if (m.has_blocks) {
        EXPECT_EQ(seq.start_pos, m.computed);
      } else {  // admitted this step: starts after its prefix hit
        EXPECT_EQ(seq.start_pos, seq.num_cached_tokens);
        EXPECT_EQ(seq.start_pos % p_.block_size, 0);
        EXPECT_LT(seq.start_pos, known);  // the last token is always recomputed
        queried_ += known;
        hits_ += seq.start_pos;
        m.has_blocks = true;
      }
      ASSERT_GT(seq.num_tokens(), 0);
      ASSERT_LE(seq.end_pos(), known);
      EXPECT_TRUE(
          std::equal(seq.tokens.begin(), seq.tokens.end(), m.tokens.begin() + seq.start_pos));
      EXPECT_EQ(static_cast<int>(seq.block_table.size()),
                (seq.end_pos() + p_.block_size - 1) / p_.block_size);
      EXPECT_EQ(seq.sample, seq.end_pos() == known);
      if (seq.sample) rows.push_back(seq.logits_row);
      for (int pos = 0; pos < seq.start_pos; ++pos) {  // read what attention will read
        ASSERT_EQ(slot(seq.block_table, pos), m.fp[pos]) << "request " << seq.id << " pos " << pos;
      }
      for (int pos = seq.start_pos; pos < seq.end_pos(); ++pos)
        slot(seq.block_table, pos) = m.fp[pos];
      window_read_write(seq, m.fp);
      if (::testing::Test::HasFatalFailure()) return;
      tokens += seq.num_tokens();
    }
    EXPECT_LE(tokens, p_.max_tokens);
    EXPECT_EQ(tokens, plan.counters.num_tokens);
    std::sort(rows.begin(), rows.end());
    EXPECT_EQ(static_cast<int>(rows.size()), plan.num_logits_rows);
    for (int i = 0; i < static_cast<int>(rows.size()); ++i) EXPECT_EQ(rows[i], i);
  }

  // A padding row: its ghost's last computed position, its own token, a
  // block it alone holds and no cache key points to; reads see its KV.
  void check_and_execute_padding(const ScheduledSeq& seq) {
    ASSERT_TRUE(ghosts_.contains(seq.id)) << "padding row of an unknown request";
    const ModelRequest& g = ghosts_.at(seq.id);
    EXPECT_FALSE(seq.sample);
    EXPECT_EQ(seq.logits_row, -1);
    ASSERT_EQ(seq.num_tokens(), 1);
    EXPECT_EQ(seq.start_pos, g.computed - 1);
    EXPECT_EQ(seq.tokens[0], g.tokens[seq.start_pos]);
    EXPECT_EQ(static_cast<int>(seq.block_table.size()),
              (seq.end_pos() + p_.block_size - 1) / p_.block_size);
    const BlockId own = seq.block_table[seq.start_pos / p_.block_size];
    EXPECT_EQ(s_.kv().pool().refcount(own), 1) << "padding rewrites a shared block";
    EXPECT_FALSE(s_.kv().pool().is_cached(own)) << "padding rewrites a cached block";
    for (int pos = 0; pos <= seq.start_pos; ++pos) {
      ASSERT_EQ(slot(seq.block_table, pos), g.fp[pos]) << "ghost " << seq.id << " pos " << pos;
    }
    slot(seq.block_table, seq.start_pos) = g.fp[seq.start_pos];
    if (p_.window_keep > 0) {
      const BlockId wown = seq.window_block_table.at(seq.start_pos / p_.block_size);
      ASSERT_GE(wown, 0);
      EXPECT_EQ(s_.kv().window_pool()->refcount(wown), 1) << "padding rewrites a shared window block";
      EXPECT_FALSE(s_.kv().window_pool()->is_cached(wown)) << "padding rewrites a cached window block";
    }
    window_read_write(seq, g.fp);
    ++padded_;
  }

  void apply_results(const StepPlan& plan) {
    std::vector<SampledToken> results(plan.num_logits_rows);
    std::set<RequestId> stopped;
    for (const ScheduledSeq& seq : plan.seqs) {
      if (seq.padding) continue;
      ModelRequest& m = live_.at(seq.id);
      m.computed = seq.end_pos();
      if (!seq.sample) continue;
      SampledToken& r = results[seq.logits_row];
      r.token = uniform(0, 30);
      r.stop = chance(0.03);
      if (r.stop) stopped.insert(seq.id);
      m.push(r.token);
    }
    std::set<RequestId> expected = stopped;
    for (const ScheduledSeq& seq : plan.seqs) {
      if (seq.sample && live_.at(seq.id).generated() == live_.at(seq.id).max_new) {
        expected.insert(seq.id);
      }
    }
    std::set<RequestId> got;
    for (const FinishedRequest& f : s_.update(plan, results)) {
      got.insert(f.id);
      EXPECT_EQ(f.reason == FinishReason::kStop, stopped.contains(f.id));
      finish(f.id, f.reason, f.num_generated);
    }
    EXPECT_EQ(got, expected);
  }

  // Invariants after every step.
  void check_invariants() {
    std::vector<int> holders(p_.num_blocks, 0);
    SchedulerStats st = s_.stats();
    int running = 0;
    for (const auto& [id, m] : live_) {
      auto info = s_.info(id);
      ASSERT_TRUE(info.has_value());
      EXPECT_LE(info->preemptions, p_.max_preemptions);  // the livelock bound
      EXPECT_LT(m.generated(), m.max_new);               // else it should have finished
      EXPECT_EQ(static_cast<int>(m.tokens.size()) - m.num_prompt, info->num_generated);
      if (info->state != RequestState::kRunning) {
        EXPECT_FALSE(s_.kv().contains(id));
        EXPECT_FALSE(m.has_blocks);
        continue;
      }
      ++running;
      EXPECT_EQ(info->num_computed, m.computed);
      auto table = s_.kv().block_table(id);
      // Blocks cover exactly the computed tokens.
      EXPECT_EQ(static_cast<int>(table.size()), (m.computed + p_.block_size - 1) / p_.block_size);
      std::set<BlockId> distinct(table.begin(), table.end());
      EXPECT_EQ(distinct.size(), table.size());
      for (BlockId b : table) ++holders.at(b);
      for (int pos = 0; pos < m.computed; ++pos) {
        ASSERT_EQ(slot(table, pos), m.fp[pos]) << "KV of request " << id << " overwritten";
      }
      check_window_table(id, m.computed, m.fp);
    }
    check_ghosts(holders, running);
    check_window_pool();
    const BlockPool& pool = s_.kv().pool();
    int free = 0;
    for (BlockId b = 0; b < p_.num_blocks; ++b) {
      EXPECT_EQ(pool.refcount(b), holders[b]) << "block " << b << " leaked or double-freed";
      free += holders[b] == 0;
    }
    EXPECT_EQ(st.blocks_free, free);
    EXPECT_EQ(st.blocks_used + st.blocks_free, p_.num_blocks);
    EXPECT_LE(st.blocks_cached_free, st.blocks_free);
    EXPECT_LE(st.blocks_reserved, st.blocks_free);
    EXPECT_EQ(st.num_running, running);
    EXPECT_LE(running, p_.max_seqs);
    EXPECT_EQ(st.num_running + st.num_waiting + st.num_preempted, static_cast<int>(live_.size()));
    EXPECT_EQ(st.prefix_query_tokens, queried_);
    EXPECT_EQ(st.prefix_hit_tokens, hits_);
  }

  // Padding rows hold their tables exactly while the batch
  // they belonged to still runs; the sim drops ghosts the scheduler released.
  void check_ghosts(std::vector<int>& holders, int running) {
    std::set<RequestId> padding;
    for (RequestId id : s_.padding_ids()) padding.insert(id);
    if (running == 0) EXPECT_TRUE(padding.empty()) << "padding outlived its batch";
    for (auto it = ghosts_.begin(); it != ghosts_.end();) {
      if (!padding.contains(it->first)) {
        EXPECT_FALSE(s_.kv().contains(it->first)) << "released padding row kept blocks";
        it = ghosts_.erase(it);
        continue;
      }
      const ModelRequest& g = it->second;
      auto table = s_.kv().block_table(it->first);
      EXPECT_EQ(static_cast<int>(table.size()), (g.computed + p_.block_size - 1) / p_.block_size);
      for (BlockId b : table) ++holders.at(b);
      for (BlockId b : s_.kv().window_block_table(it->first))
        if (b >= 0) ++window_holders_.at(b);
      // Its KV is read back at each padding step (after that step's copies:
      // a fresh ghost's private block is only filled then).
      ++it;
    }
    EXPECT_EQ(padding.size(), ghosts_.size()) << "a padding row the sim never saw finish";
  }

  // A running request's window table: live, holding its KV, from the block of
  // the first position a chunk at computed - 1 reads (a padding row's);
  // dropped from a block earlier than that of a chunk at computed.
  void check_window_table(RequestId id, int computed, const std::vector<uint64_t>& fp) {
    auto w = s_.kv().window_block_table(id);
    if (p_.window_keep == 0) {
      EXPECT_TRUE(w.empty());
      return;
    }
    ASSERT_EQ(w.size(), s_.kv().block_table(id).size());
    const int first_live = first_window_pos(std::max(0, computed - 1)) / p_.block_size;
    const int last_dropped = first_window_pos(computed) / p_.block_size - 2;
    for (int i = 0; i < static_cast<int>(w.size()); ++i) {
      if (i >= first_live) EXPECT_GE(w[i], 0) << "request " << id << " window block " << i << " dropped too early";
      if (i <= last_dropped) EXPECT_EQ(w[i], -1) << "request " << id << " window block " << i << " kept";
      if (w[i] >= 0) ++window_holders_.at(w[i]);
    }
    for (int pos = first_window_pos(std::max(0, computed - 1)); pos < computed; ++pos)
      ASSERT_EQ(window_slot(w, pos), fp[pos]) << "window KV of request " << id << " overwritten";
  }

  // Refcounts equal the holders counted above; never more in use than the bound.
  void check_window_pool() {
    if (p_.window_keep == 0) return;
    const BlockPool& pool = *s_.kv().window_pool();
    for (BlockId b = 0; b < pool.num_blocks(); ++b)
      EXPECT_EQ(pool.refcount(b), window_holders_[b]) << "window block " << b << " leaked or double-freed";
    max_window_used_ = std::max(max_window_used_, pool.num_used());
    window_holders_.assign(pool.num_blocks(), 0);
  }

  // The static policy admits its whole batch even past the step's token
  // budget: such a request holds blocks (its prefix hit counts as computed)
  // and starts its prefill in a later step.
  void note_admitted_without_tokens(const StepPlan& plan) {
    std::set<RequestId> planned;
    for (const ScheduledSeq& seq : plan.seqs) planned.insert(seq.id);
    for (auto& [id, m] : live_) {
      if (m.has_blocks || planned.contains(id)) continue;
      auto info = s_.info(id);
      ASSERT_TRUE(info.has_value());
      if (info->state != RequestState::kRunning) continue;
      EXPECT_NE(p_.policy, PolicyKind::kContinuous) << "request " << id << " admitted without tokens";
      EXPECT_EQ(plan.counters.num_tokens, p_.max_tokens) << "admitted without tokens while budget was left";
      EXPECT_EQ(info->num_computed % p_.block_size, 0);
      EXPECT_LT(info->num_computed, static_cast<int>(m.tokens.size()));
      queried_ += static_cast<int64_t>(m.tokens.size());
      hits_ += info->num_computed;
      m.computed = info->num_computed;
      m.has_blocks = true;
    }
  }

  void one_step(int step) {
    const size_t live_before = live_.size();
    StepPlan plan = s_.schedule(TimePoint{} + std::chrono::milliseconds(step));
    check_schedule_finishes(plan, step);
    for (RequestId id : plan.preempted) {
      ASSERT_TRUE(live_.contains(id));
      live_.at(id).computed = 0;
      live_.at(id).has_blocks = false;
      EXPECT_FALSE(s_.kv().contains(id));
    }
    note_admitted_without_tokens(plan);
    check_and_execute(plan);
    if (::testing::Test::HasFatalFailure()) return;
    // Progress: a step with live work plans tokens or finishes something.
    if (live_before > 0 && plan.finished.empty()) {
      EXPECT_FALSE(plan.seqs.empty()) << "idle step " << step << " with " << live_before << " live";
    }
    apply_results(plan);
    check_invariants();
  }

  SimParams p_;
  Scheduler s_;
  std::mt19937_64 rng_;
  std::vector<std::vector<uint64_t>> kv_;  // [block][slot] prefix fingerprints
  std::vector<std::vector<uint64_t>> wkv_;  // the same for the window pool
  std::vector<int> window_holders_;  // per window block, counted by check_invariants()
  int max_window_used_ = 0;
  std::vector<std::vector<TokenId>> prefixes_;
  std::map<RequestId, ModelRequest> live_;
  std::map<RequestId, ModelRequest> ghosts_;  // finished, still padding rows
  RequestId next_id_ = 1;
  int num_finished_ = 0;
  int rejected_ = 0;
  int copies_ = 0;
  int padded_ = 0;  // padding rows executed
  int forks_ = 0;
  int reasons_[4] = {0, 0, 0, 0};  // by FinishReason
  int64_t queried_ = 0;
  int64_t hits_ = 0;
  int drain_bound_ = 100;  // grows with each request's worst-case work
};

class SchedulerSim : public ::testing::TestWithParam<SimParams> {};

TEST_P(SchedulerSim, InvariantsHoldEveryStep) {
  Sim(GetParam()).run();
}

constexpr PolicyKind kCont = PolicyKind::kContinuous;
constexpr PolicyKind kStatic = PolicyKind::kStaticBatch;
constexpr PolicyKind kPadded = PolicyKind::kStaticPadded;

INSTANTIATE_TEST_SUITE_P(
    Seeds, SchedulerSim,
    ::testing::Values(
        // seed, blocks, block_size, seqs, tokens, max_model_len, K, policy, arrival steps
        SimParams{1, 6, 4, 4, 16, 64, 2, kCont, 1500},  // tiny pool: constant preemption
        SimParams{2, 12, 4, 6, 24, 40, 1, kCont, 1500},
        SimParams{3, 8, 2, 3, 8, 32, 0, kCont, 1500},  // K = 0: reserve from the start
        SimParams{4, 32, 8, 8, 64, 128, 3, kCont, 1500},
        SimParams{5, 5, 1, 2, 4, 16, 2, kCont, 1500},   // block size 1
        SimParams{6, 16, 4, 1, 8, 48, 2, kCont, 1500},  // one sequence at a time
        SimParams{7, 10, 4, 4, 12, 64, 2, kStatic, 1500},
        SimParams{8, 20, 16, 8, 32, 200, 2, kCont, 1500},
        SimParams{9, 10, 4, 4, 12, 64, 2, kPadded, 1500},
        SimParams{10, 24, 2, 6, 16, 48, 1, kPadded, 1500},
        // With a window pool (the sliding-window layers' blocks): short windows
        // so sequences outgrow them, every policy, block sizes 1 to 8.
        SimParams{11, 32, 4, 4, 16, 96, 2, kCont, 1500, 9},
        SimParams{12, 12, 4, 6, 24, 40, 1, kCont, 1500, 6},
        SimParams{13, 40, 8, 8, 64, 160, 3, kCont, 1500, 20},
        SimParams{14, 24, 1, 3, 8, 48, 2, kCont, 1500, 5},
        SimParams{15, 20, 4, 4, 12, 64, 2, kStatic, 1500, 7},
        SimParams{16, 20, 4, 4, 12, 64, 2, kPadded, 1500, 7},
        SimParams{17, 8, 2, 3, 8, 32, 0, kCont, 1500, 3}),
    [](const ::testing::TestParamInfo<SimParams>& info) {
      return "seed" + std::to_string(info.param.seed);
    });

}  // namespace
}  // namespace loom::sched
