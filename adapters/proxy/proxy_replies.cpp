// `stats` and `health`, answered by the proxy itself from its own view of
// the pool (README.md lists the fields). The v1 fields keep their meaning
// for a client that does not know it talks to a proxy; the extra fields are
// ignored by such a client (unknown keys are, by the protocol).
#include <msgpack.hpp>

#include "adapters/proxy/proxy_impl.h"

namespace loom {

namespace {

using Packer = msgpack::packer<msgpack::sbuffer>;

void pack_str(Packer& pk, std::string_view s) {
  pk.pack_str(static_cast<uint32_t>(s.size()));
  pk.pack_str_body(s.data(), static_cast<uint32_t>(s.size()));
}

void pack_head(Packer& pk, uint32_t keys, const char* type, const std::optional<std::string>& id) {
  pk.pack_map(keys);
  pack_str(pk, "v");
  pk.pack_int(zmq_proto::kProtocolVersion);
  pack_str(pk, "type");
  pack_str(pk, type);
  pack_str(pk, "id");
  if (id) pack_str(pk, *id);
  else pk.pack_nil();
}

double ms_between(Clock::time_point a, Clock::time_point b) {
  return std::chrono::duration<double, std::milli>(b - a).count();
}

// [{name, capacity, load, in_flight, draining, last_seen_ms}, ...]
void pack_workers(Packer& pk, const std::vector<proxy::WorkerInfo>& workers, Clock::time_point now) {
  pk.pack_array(static_cast<uint32_t>(workers.size()));
  for (const auto& w : workers) {
    pk.pack_map(6);
    pack_str(pk, "name"); pack_str(pk, w.name);
    pack_str(pk, "capacity"); pk.pack_int32(w.capacity);
    pack_str(pk, "load"); pk.pack_int32(w.reported_load);
    pack_str(pk, "in_flight"); pk.pack_int32(w.in_flight);
    pack_str(pk, "draining"); pk.pack(w.draining);
    pack_str(pk, "last_seen_ms"); pk.pack_double(ms_between(w.last_seen, now));
  }
}

}  // namespace

std::string Proxy::Impl::stats_frame(const std::optional<std::string>& id) const {
  const auto now = Clock::now();
  const int64_t queued = static_cast<int64_t>(queue_.size());
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_head(pk, 3 + 13 + 8, "stats", id);
  pack_str(pk, "waiting"); pk.pack_int64(queued);
  pack_str(pk, "running"); pk.pack_int64(static_cast<int64_t>(jobs_total_) - queued);
  pack_str(pk, "preempted"); pk.pack_int32(0);
  pack_str(pk, "kv_blocks_used"); pk.pack_int64(0);   // per worker; not known here
  pack_str(pk, "kv_blocks_total"); pk.pack_int64(0);
  pack_str(pk, "prefix_hit_rate"); pk.pack_double(0);
  pack_str(pk, "preemptions"); pk.pack_int64(0);
  pack_str(pk, "tokens_per_second"); pk.pack_double(0);
  pack_str(pk, "jobs_finished"); pk.pack_int64(local_.jobs_finished);
  pack_str(pk, "uptime_s"); pk.pack_double(ms_between(started_, now) / 1000);
  pack_str(pk, "clients"); pk.pack_int64(static_cast<int64_t>(clients_.size()));
  pack_str(pk, "jobs_in_flight"); pk.pack_int64(static_cast<int64_t>(jobs_total_));
  pack_str(pk, "auth_denied"); pk.pack_int64(local_.auth_denied);
  // Proxy extensions.
  pack_str(pk, "proxy"); pk.pack(true);
  pack_str(pk, "workers"); pk.pack_int64(static_cast<int64_t>(pool_.workers().size()));
  pack_str(pk, "workers_accepting"); pk.pack_int64(static_cast<int64_t>(pool_.accepting()));
  pack_str(pk, "capacity"); pk.pack_int64(pool_.total_capacity());
  pack_str(pk, "workers_lost"); pk.pack_int64(local_.workers_lost);
  pack_str(pk, "jobs_unavailable"); pk.pack_int64(local_.jobs_unavailable);
  pack_str(pk, "workers_auth_denied"); pk.pack_int64(local_.workers_auth_denied);
  pack_str(pk, "worker_list"); pack_workers(pk, pool_.workers(), now);
  return std::string(buf.data(), buf.size());
}

std::string Proxy::Impl::health_frame(const std::optional<std::string>& id) const {
  const auto now = Clock::now();
  const size_t accepting = pool_.accepting();
  // "Progress" for a proxy: a worker was heard from recently (a silent one
  // is dropped after the heartbeat timeout, so any listed one qualifies).
  double freshest_ms = ms_between(started_, now);
  for (const auto& w : pool_.workers()) freshest_ms = std::min(freshest_ms, ms_between(w.last_seen, now));
  const std::string detail =
      pool_.workers().empty()
          ? std::string("proxy: no backend worker connected")
          : "proxy: " + std::to_string(pool_.workers().size()) + " workers (" + std::to_string(accepting) +
                " accepting), capacity " + std::to_string(pool_.total_capacity()) + ", " +
                std::to_string(jobs_total_) + " jobs in flight, " + std::to_string(queue_.size()) + " queued";
  msgpack::sbuffer buf;
  Packer pk(buf);
  pack_head(pk, 3 + 5 + 2, "health", id);
  pack_str(pk, "ok"); pk.pack(accepting > 0 && !stopping_);
  pack_str(pk, "last_step_age_ms"); pk.pack_double(freshest_ms);
  pack_str(pk, "detail"); pack_str(pk, detail);
  pack_str(pk, "draining"); pk.pack(stopping_);
  pack_str(pk, "uptime_s"); pk.pack_double(ms_between(started_, now) / 1000);
  pack_str(pk, "workers"); pk.pack_int64(static_cast<int64_t>(pool_.workers().size()));
  pack_str(pk, "workers_accepting"); pk.pack_int64(static_cast<int64_t>(accepting));
  return std::string(buf.data(), buf.size());
}

}  // namespace loom
