// The vLLM door over real ZeroMQ sockets, the test playing vLLM 0.33.0's
// frontend with frames recorded from a real `vllm serve`; Loom's answers are
// checked field by field against vLLM's layouts (vllm/v1/engine/__init__.py).
#include <gtest/gtest.h>

#include <cstring>
#include <future>

#include "adapters/vllm/door.h"
#include "tests/vllm/frontend_sim.h"

namespace loom {
namespace {

using test::V;

const std::string kEngine0("\x00\x00", 2);

const test::Recorded& recorded(const std::vector<test::Recorded>& all, const std::string& name) {
  for (const auto& r : all) if (r.name == name || (r.name.empty() && r.label == name)) return r;
  throw std::runtime_error("no recorded frame " + name);
}

// An ADD's EngineCoreRequest, decoded for editing.
V add_body(const test::Recorded& r) { return test::unpack(r.frames.at(1)); }
std::vector<std::string> add_frames(const V& body) { return {std::string(1, '\0'), test::pack(body)}; }

class DoorProtocol : public ::testing::Test {
 protected:
  void SetUp() override { fixture_ = test::load_fixture(); }
  void TearDown() override { door_.reset(); }

  // Shakes hands with the recorded init message, its addresses ours.
  void connect(const std::function<void(V&)>& edit_init = {}) {
    auto pending = std::async(std::launch::async, [&] {
      VllmDoorOptions o;
      o.handshake_address = sim_.handshake_address();
      o.handshake_timeout = std::chrono::seconds(10);
      o.stats_interval = std::chrono::milliseconds(20);
      o.health_interval = std::chrono::milliseconds(50);
      o.unhealthy_grace = std::chrono::milliseconds(300);
      return std::make_unique<VllmDoor>(engine_, o);
    });
    auto hello = sim_.recv_router(sim_.handshake_);
    ASSERT_TRUE(hello);
    EXPECT_EQ(hello->first, kEngine0);
    const V h = test::unpack(hello->second);
    EXPECT_EQ(h.at("status").s, "HELLO");
    EXPECT_FALSE(h.at("local").b);
    EXPECT_TRUE(h.at("headless").b);
    V init = test::unpack(recorded(fixture_, "handshake_init").frames[0]);
    V& addr = *init.find("addresses");
    addr.set("inputs", V::array({V::str(sim_.input_address())}));
    addr.set("outputs", V::array({V::str(sim_.output_address())}));
    if (edit_init) edit_init(init);
    sim_.handshake_.send(zmq::buffer(hello->first), zmq::send_flags::sndmore);
    sim_.handshake_.send(zmq::buffer(test::pack(init)), zmq::send_flags::none);
    if (edit_init) {
      door_error_ = [&]() -> std::string {
        try {
          pending.get();
        } catch (const VllmDoorError& e) {
          return e.what();
        }
        return "";
      }();
      return;
    }
    auto ready = sim_.recv_router(sim_.input_);
    ASSERT_TRUE(ready);
    EXPECT_EQ(ready->first, kEngine0);
    ready_ = test::unpack(ready->second);
    auto status = sim_.recv_router(sim_.handshake_);
    ASSERT_TRUE(status);
    EXPECT_EQ(test::unpack(status->second).at("status").s, "READY");
    door_ = pending.get();
  }

  // The output entries for `id` up to the one that finishes it. Entries of
  // other requests read on the way are kept for their own calls.
  std::vector<V> entries_until_finished(const std::string& id) {
    const auto finished = [&] { return !seen_[id].empty() && !seen_[id].back().a[5].is_nil(); };
    while (!finished()) {
      auto batch = sim_.recv_outputs();
      if (!batch) {
        ADD_FAILURE() << "no finished output for " << id;
        break;
      }
      for (const V& e : batch->a[1].a) seen_[e.a[0].s].push_back(e);
    }
    return std::exchange(seen_[id], {});
  }

  // True when an output finished `id` within the next batches (it must not).
  bool entries_until_finished_or_none(const std::string& id) {
    while (auto raw = sim_.recv_output(std::chrono::milliseconds(200))) {
      const V b = test::unpack(*raw);
      for (const V& e : b.a[1].a)
        if (e.a[0].s == id && !e.a[5].is_nil()) return true;
    }
    return false;
  }

  std::string submit_recorded(const std::string& name, const std::function<void(V&)>& edit = {}) {
    V body = add_body(recorded(fixture_, name));
    if (edit) edit(body);
    sim_.send_input(kEngine0, add_frames(body));
    return body.a[0].s;
  }

  std::vector<test::Recorded> fixture_;
  test::FrontendSim sim_;
  test::ScriptedEngine engine_;
  std::unique_ptr<VllmDoor> door_;
  V ready_;
  std::string door_error_;
  std::map<std::string, std::vector<V>> seen_;
};

TEST_F(DoorProtocol, HandshakeSendsTheReadyResponseOf0330) {
  connect();
  EXPECT_EQ(ready_.at("vllm_version").s, "0.33.0");
  EXPECT_EQ(ready_.at("max_model_len").i, 2048);  // the engine's context
  EXPECT_EQ(ready_.at("data_parallel_rank").i, 0);
  EXPECT_EQ(ready_.at("data_parallel_size").i, 1);
  EXPECT_FALSE(ready_.at("supports_lora").b);
  EXPECT_TRUE(ready_.at("dp_stats_address").is_nil());
  for (const char* k : {"num_gpu_blocks", "block_size", "world_size", "tensor_parallel_size", "pipeline_parallel_size",
                        "decode_context_parallel_size", "max_num_seqs", "max_num_batched_tokens", "max_loras"})
    EXPECT_EQ(ready_.at(k).t, V::T::kInt) << k;
  EXPECT_EQ(ready_.at("dtype").t, V::T::kStr);
  EXPECT_EQ(ready_.at("instance_id").t, V::T::kStr);
}

TEST_F(DoorProtocol, StartupUtilityCallsAreAnswered) {
  connect();
  for (const auto& r : fixture_) {
    if (r.label != "utility") continue;
    const V call = test::unpack(r.frames[1]);
    sim_.send_input(kEngine0, r.frames);
    auto batch = sim_.recv_outputs();
    ASSERT_TRUE(batch);
    ASSERT_GE(batch->a.size(), 5u);
    const V& u = batch->a[4];
    ASSERT_EQ(u.a.size(), 3u);
    EXPECT_EQ(u.a[0].u, call.a[1].u) << "call_id echoed";
    EXPECT_TRUE(u.a[1].is_nil()) << call.a[2].s << ": " << u.a[1].s;
    ASSERT_EQ(u.a[2].a.size(), 2u);
    EXPECT_TRUE(u.a[2].a[0].is_nil());  // UtilityResult type info: a builtin
    if (call.a[2].s == "get_supported_tasks") {
      ASSERT_EQ(u.a[2].a[1].a.size(), 1u);
      EXPECT_EQ(u.a[2].a[1].a[0].s, "generate");
    } else {
      EXPECT_TRUE(u.a[2].a[1].is_nil());
    }
  }
  // An unknown method fails with a message, never silence.
  sim_.send_input(kEngine0, {"\x03", test::pack(V::array({V::integer(0), V::integer(42), V::str("sleep"),
                                                           V::array({})}))});
  auto batch = sim_.recv_outputs();
  ASSERT_TRUE(batch);
  EXPECT_EQ(batch->a[4].a[0].i, 42);
  EXPECT_NE(batch->a[4].a[1].s.find("sleep"), std::string::npos);
}

TEST_F(DoorProtocol, GreedyAddMapsToAJobAndStreamsTokensThenTheStopToken) {
  connect();
  const std::string id = submit_recorded("greedy");
  const JobRequest job = engine_.wait_submitted(id);
  const auto& prompt = std::get<std::vector<int32_t>>(job.prompt.value);
  EXPECT_EQ(prompt, (std::vector<int32_t>{504, 3575, 282, 4649, 314}));
  EXPECT_EQ(job.params.max_tokens, 4);
  EXPECT_EQ(job.params.sampling.temperature, 0.0f);
  EXPECT_TRUE(job.params.ignore_eos);  // the frontend's EOS is the stop set
  EXPECT_EQ(job.params.stop_token_ids, (std::vector<int32_t>{2}));
  EXPECT_TRUE(job.params.stop.empty());  // stop strings are the frontend's
  engine_.tokens(id, {10});
  engine_.tokens(id, {11});
  engine_.done(id, FinishReason::kStop);
  const auto entries = entries_until_finished(id);
  std::vector<int64_t> tokens;
  for (const V& e : entries)
    for (const V& t : e.a[1].a) tokens.push_back(t.i);
  EXPECT_EQ(tokens, (std::vector<int64_t>{10, 11, 2})) << "the EOS id ends the stream, as vLLM's engine sends it";
  const V& last = entries.back();
  EXPECT_EQ(last.a[5].i, 0);  // FinishReason.STOP, an int
  EXPECT_TRUE(last.a[6].is_nil());  // stop_reason: None for EOS
  EXPECT_TRUE(last.a[2].is_nil());  // no logprobs asked
}

TEST_F(DoorProtocol, LengthFinishAndFinishedRequests) {
  connect();
  const std::string id = submit_recorded("greedy");
  engine_.wait_submitted(id);
  engine_.tokens(id, {5, 6, 7, 8});
  engine_.done(id, FinishReason::kLength);
  bool saw_finished = false;
  while (auto batch = sim_.recv_outputs()) {
    bool here = false;
    for (const V& e : batch->a[1].a) here |= e.a[0].s == id && !e.a[5].is_nil() && e.a[5].i == 1;
    if (!here) continue;
    ASSERT_GE(batch->a.size(), 6u);
    ASSERT_EQ(batch->a[5].a.size(), 1u);
    EXPECT_EQ(batch->a[5].a[0].s, id);
    saw_finished = true;
    break;
  }
  EXPECT_TRUE(saw_finished);
}

TEST_F(DoorProtocol, SamplingParametersMapFieldByField) {
  connect();
  const std::string id = submit_recorded("sampled");
  const JobRequest job = engine_.wait_submitted(id);
  const auto& s = job.params.sampling;
  EXPECT_FLOAT_EQ(s.temperature, 0.7f);
  EXPECT_FLOAT_EQ(s.top_p, 0.9f);
  EXPECT_EQ(s.top_k, 40);
  EXPECT_FLOAT_EQ(s.min_p, 0.05f);
  EXPECT_TRUE(s.has_seed);
  EXPECT_EQ(s.seed, 7u);
  EXPECT_FLOAT_EQ(s.presence_penalty, 0.5f);
  EXPECT_FLOAT_EQ(s.frequency_penalty, 0.25f);
  EXPECT_FLOAT_EQ(s.repetition_penalty, 1.1f);
  EXPECT_EQ(job.params.max_tokens, 3);
  engine_.done(id, FinishReason::kLength);
  entries_until_finished(id);
}

TEST_F(DoorProtocol, NEqualsTwoArrivesAsTwoJobsWithTheirOwnSeeds) {
  connect();
  std::vector<std::string> ids;
  for (const auto& r : fixture_) {
    if (r.name != "n2") continue;
    sim_.send_input(kEngine0, r.frames);
    ids.push_back(add_body(r).a[0].s);
  }
  ASSERT_EQ(ids.size(), 2u);
  EXPECT_NE(ids[0], ids[1]);
  const auto a = engine_.wait_submitted(ids[0]), b = engine_.wait_submitted(ids[1]);
  EXPECT_EQ(a.params.sampling.seed, 3u);
  EXPECT_EQ(b.params.sampling.seed, 4u);
  for (const auto& id : ids) engine_.done(id, FinishReason::kLength);
}

TEST_F(DoorProtocol, MinTokensIsRefusedWithAMessageNotAHang) {
  connect();
  const std::string id = submit_recorded("stop_ids");  // recorded with min_tokens=1
  const auto entries = entries_until_finished(id);
  ASSERT_EQ(entries.size(), 1u);
  const V& e = entries[0];
  EXPECT_EQ(e.a[5].i, 3);  // FinishReason.ERROR
  ASSERT_EQ(e.a.size(), 19u);
  EXPECT_EQ(e.a[18].at("code").s, "validation_error");
  EXPECT_NE(e.a[18].at("message").s.find("min_tokens"), std::string::npos);
  EXPECT_EQ(engine_.num_submitted(), 0u);
}

TEST_F(DoorProtocol, SeveralStopIdsAreCheckedByTheDoorWhichReportsTheStopReason) {
  connect();
  const std::string id = submit_recorded("stop_ids", [](V& b) { b.a[3].erase("min_tokens"); });
  const JobRequest job = engine_.wait_submitted(id);
  EXPECT_TRUE(job.params.stop_token_ids.empty()) << "two stop ids: the door watches the tokens";
  EXPECT_TRUE(job.params.ignore_eos);
  engine_.tokens(id, {100, 271, 300});  // 271 is a stop id; 300 must not reach the frontend
  const auto entries = entries_until_finished(id);
  std::vector<int64_t> tokens;
  for (const V& e : entries)
    for (const V& t : e.a[1].a) tokens.push_back(t.i);
  EXPECT_EQ(tokens, (std::vector<int64_t>{100, 271}));
  EXPECT_EQ(entries.back().a[5].i, 0);
  EXPECT_EQ(entries.back().a[6].i, 271);  // stop_reason: the stop id
  EXPECT_TRUE(engine_.wait_cancelled(id)) << "the Loom job is cancelled, its KV freed";
  engine_.done(id, FinishReason::kCancelled);  // late terminal: nothing more is sent
  sim_.send_input(kEngine0, recorded(fixture_, "utility").frames);
  auto next = sim_.recv_outputs();
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->a[1].a.empty());
}

TEST_F(DoorProtocol, LogprobsAreLogprobsListsOfInlineNdarrays) {
  connect();
  const std::string id = submit_recorded("logprobs");
  const JobRequest job = engine_.wait_submitted(id);
  EXPECT_EQ(job.params.logprobs, 2);
  TokenLogprobs lp{42, -0.25f, {{42, -0.25f}, {7, -1.5f}}};
  engine_.tokens(id, {42}, {lp});
  engine_.done(id, FinishReason::kLength);
  const auto entries = entries_until_finished(id);
  const V& l = entries.front().a[2];
  ASSERT_EQ(l.a.size(), 4u);  // token ids, logprobs, ranks, cu_num_generated_tokens
  EXPECT_TRUE(l.a[3].is_nil());
  const V& ids = l.a[0];
  EXPECT_EQ(ids.a[0].s, "<i4");
  ASSERT_EQ(ids.a[1].a.size(), 2u);
  EXPECT_EQ(ids.a[1].a[0].i, 1);
  EXPECT_EQ(ids.a[1].a[1].i, 3);  // sampled + 2 alternatives
  ASSERT_EQ(ids.a[2].t, V::T::kExt);
  EXPECT_EQ(ids.a[2].ext_type, 3);
  int32_t tok[3];
  ASSERT_EQ(ids.a[2].s.size(), sizeof tok);
  std::memcpy(tok, ids.a[2].s.data(), sizeof tok);
  EXPECT_EQ(tok[0], 42);
  EXPECT_EQ(tok[1], 42);
  EXPECT_EQ(tok[2], 7);
  const V& lps = l.a[1];
  EXPECT_EQ(lps.a[0].s, "<f4");
  float f[3];
  ASSERT_EQ(lps.a[2].s.size(), sizeof f);
  std::memcpy(f, lps.a[2].s.data(), sizeof f);
  EXPECT_FLOAT_EQ(f[0], -0.25f);
  EXPECT_FLOAT_EQ(f[2], -1.5f);
  int32_t rank;
  ASSERT_EQ(l.a[2].a[2].s.size(), sizeof rank);
  std::memcpy(&rank, l.a[2].a[2].s.data(), sizeof rank);
  EXPECT_EQ(rank, 1);
}

TEST_F(DoorProtocol, AbortCancelsTheJobAndSendsNothingMore) {
  connect();
  const std::string id = submit_recorded("dropped_stream");
  engine_.wait_submitted(id);
  engine_.tokens(id, {1});
  ASSERT_FALSE(entries_until_finished_or_none(id));
  sim_.send_input(kEngine0, recorded(fixture_, "abort").frames);
  EXPECT_TRUE(engine_.wait_cancelled(id));
  engine_.tokens(id, {2});
  engine_.done(id, FinishReason::kCancelled);
  sim_.send_input(kEngine0, recorded(fixture_, "utility").frames);
  auto next = sim_.recv_outputs();
  ASSERT_TRUE(next);
  for (const V& e : next->a[1].a) EXPECT_NE(e.a[0].s, id) << "vLLM's engine sends nothing after a client abort";
}

TEST_F(DoorProtocol, AMalformedFrameIsDroppedAndCountedAndTheEngineKeepsServing) {
  connect();
  sim_.send_input(kEngine0, {std::string(1, '\0'), "\xc1 not msgpack"});
  sim_.send_input(kEngine0, {"\x07", test::pack(V::array({}))});  // no such request type
  sim_.send_input(kEngine0, {std::string(1, '\0')});              // no payload
  sim_.send_input(kEngine0, recorded(fixture_, "utility").frames);
  auto next = sim_.recv_outputs();
  ASSERT_TRUE(next);
  EXPECT_TRUE(next->a[1].a.empty()) << "nothing was answered for the bad frames";
  EXPECT_EQ(door_->counters().dropped_frames, 3);
  const std::string id = submit_recorded("greedy");
  engine_.wait_submitted(id);
  engine_.done(id, FinishReason::kLength);
  EXPECT_EQ(entries_until_finished(id).back().a[5].i, 1);
}

TEST_F(DoorProtocol, AnAddInAnotherVersionsLayoutIsRefusedNamingTheSupportedVersion) {
  connect();
  const std::string a = submit_recorded("greedy", [](V& b) { b.a.push_back(V::nil()); });  // 23 fields
  const std::string b = submit_recorded("sampled", [](V& body) { body.a[3].set("new_knob", V::integer(1)); });
  for (const auto& id : {a, b}) {
    const auto entries = entries_until_finished(id);
    EXPECT_EQ(entries.back().a[5].i, 3);
    EXPECT_NE(entries.back().a[18].at("message").s.find("vLLM 0.33.0"), std::string::npos);
  }
  EXPECT_EQ(door_->counters().mismatched_frames, 2);
  EXPECT_EQ(engine_.num_submitted(), 0u);
}

TEST_F(DoorProtocol, AHandshakeInAnotherLayoutIsRefusedWithOneLine) {
  connect([](V& init) { init.set("engine_metadata", V::map({})); });
  EXPECT_NE(door_error_.find("supports vLLM 0.33.0 only"), std::string::npos) << door_error_;
  EXPECT_EQ(door_error_.find('\n'), std::string::npos);
}

TEST_F(DoorProtocol, UnsupportedFeaturesEndTheRequestWithAClearError) {
  connect();
  const std::string lora = submit_recorded("greedy", [](V& b) {
    b.a[0] = V::str("lora-1");
    b.a[6] = V::array({V::str("adapter"), V::integer(1), V::str("/x")});
  });
  const std::string mm = submit_recorded("greedy", [](V& b) {
    b.a[0] = V::str("mm-1");
    b.a[2] = V::array({});
  });
  const std::string so = submit_recorded("greedy", [](V& b) {
    b.a[0] = V::str("so-1");
    b.a[3].set("structured_outputs", V::map({{"json", V::str("{}")}}));
  });
  const std::string pooling = submit_recorded("greedy", [](V& b) {
    b.a[0] = V::str("pool-1");
    b.a[4] = V::map({{"task", V::str("embed")}});
  });
  const std::pair<std::string, const char*> expect[] = {
      {lora, "LoRA"}, {mm, "multimodal"}, {so, "structured_outputs"}, {pooling, "pooling"}};
  for (const auto& [id, word] : expect) {
    const auto entries = entries_until_finished(id);
    EXPECT_EQ(entries.back().a[5].i, 3);
    EXPECT_NE(entries.back().a[18].at("message").s.find(word), std::string::npos) << entries.back().a[18].at("message").s;
  }
  EXPECT_EQ(engine_.num_submitted(), 0u);
}

TEST_F(DoorProtocol, AnEngineRejectionBecomesAFinishedWithErrorOutput) {
  connect();
  const std::string id = submit_recorded("greedy");
  engine_.wait_submitted(id);
  JobEvent ev;
  ev.kind = JobEvent::Kind::kError;
  ev.error_code = ErrorCode::kTooLong;
  ev.message = "prompt + max_tokens exceed the context";
  engine_.emit(id, ev);
  const auto entries = entries_until_finished(id);
  EXPECT_EQ(entries.back().a[5].i, 3);
  EXPECT_EQ(entries.back().a[18].at("code").s, "validation_error");
  EXPECT_EQ(entries.back().a[18].at("message").s, ev.message);
}

TEST_F(DoorProtocol, SchedulerStatsCarryLoomsCounts) {
  EngineStats s;
  s.running = 3;
  s.waiting = 2;
  s.kv_blocks_used = 25;
  s.kv_blocks_total = 100;
  s.prefix_query_tokens = 40;
  s.prefix_hit_tokens = 16;
  engine_.set_stats(s);
  connect();
  for (int i = 0; i < 50; ++i) {
    auto raw = sim_.recv_output();
    ASSERT_TRUE(raw);
    const V b = test::unpack(*raw);
    if (b.a[2].is_nil()) continue;
    const V& st = b.a[2];
    EXPECT_EQ(st.at("num_running_reqs").i, 3);
    EXPECT_EQ(st.at("num_waiting_reqs").i, 2);
    EXPECT_DOUBLE_EQ(st.at("kv_cache_usage").f, 0.25);
    EXPECT_EQ(st.at("prefix_cache_stats").at("queries").i, 40);
    EXPECT_EQ(st.at("prefix_cache_stats").at("hits").i, 16);
    return;
  }
  ADD_FAILURE() << "no scheduler stats";
}

TEST_F(DoorProtocol, PrefixCountersNeverStepBackwardsWhenTheEngineTotalsRestart) {
  EngineStats s;
  s.prefix_query_tokens = 1000;
  s.prefix_hit_tokens = 500;
  engine_.set_stats(s);
  connect();
  std::vector<std::pair<int64_t, int64_t>> steps;  // (queries, hits) of each stats batch
  bool restarted = false;
  for (int i = 0; i < 200 && steps.size() < 2; ++i) {
    auto raw = sim_.recv_output();
    ASSERT_TRUE(raw);
    const V b = test::unpack(*raw);
    if (b.a[2].is_nil()) continue;
    const V& p = b.a[2].at("prefix_cache_stats");
    steps.emplace_back(p.at("queries").i, p.at("hits").i);
    if (!restarted) {  // a swapped-in backend counts from zero again
      s.prefix_query_tokens = 30;
      s.prefix_hit_tokens = 10;
      engine_.set_stats(s);
      restarted = true;
    }
  }
  ASSERT_EQ(steps.size(), 2u);
  EXPECT_EQ(steps[0], std::make_pair(int64_t{1000}, int64_t{500}));
  EXPECT_EQ(steps[1], std::make_pair(int64_t{30}, int64_t{10}));
}

TEST_F(DoorProtocol, DrainFinishesJobsThenSendsEngineCoreDead) {
  connect();
  const std::string id = submit_recorded("greedy");
  engine_.wait_submitted(id);
  std::thread finisher([&] {
    std::this_thread::sleep_for(std::chrono::milliseconds(100));
    engine_.done(id, FinishReason::kLength);
  });
  door_->drain(std::chrono::seconds(10));
  finisher.join();
  bool finished = false, dead = false;
  while (auto raw = sim_.recv_output(std::chrono::seconds(2))) {
    if (*raw == "ENGINE_CORE_DEAD") {
      dead = true;
      break;
    }
    const V b = test::unpack(*raw);
    for (const V& e : b.a[1].a) finished |= e.a[0].s == id && !e.a[5].is_nil() && e.a[5].i == 1;
  }
  EXPECT_TRUE(finished) << "the job in flight finished before the engine went away";
  EXPECT_TRUE(dead);
}

TEST_F(DoorProtocol, ASlowStepShorterThanTheGraceIsNotDeath) {
  connect();
  engine_.healthy_ = false;  // one long step (a prefill on the emulator) reads as no progress
  std::this_thread::sleep_for(std::chrono::milliseconds(150));
  engine_.healthy_ = true;
  while (auto raw = sim_.recv_output(std::chrono::milliseconds(600))) EXPECT_NE(*raw, "ENGINE_CORE_DEAD");
  EXPECT_FALSE(door_->dead());
}

TEST_F(DoorProtocol, AnUnhealthyEngineSendsEngineCoreDead) {
  connect();
  engine_.healthy_ = false;
  bool dead = false;
  while (auto raw = sim_.recv_output(std::chrono::seconds(5)))
    if (*raw == "ENGINE_CORE_DEAD") {
      dead = true;
      break;
    }
  EXPECT_TRUE(dead);
  EXPECT_TRUE(door_->dead());
}

}  // namespace
}  // namespace loom
