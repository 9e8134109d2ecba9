#include "backends/common/engine/stop_matcher.h"

#include <algorithm>

namespace loom {

StopMatcher::StopMatcher(std::vector<std::string> stops) : stops_(std::move(stops)) {
  std::erase_if(stops_, [](const std::string& s) { return s.empty(); });
}

StopMatcher::Result StopMatcher::push(std::string_view text) {
  Result r;
  if (stopped_) return r;
  pending_.append(text);
  // Generation is sequential, so the stop that completes first wins (the
  // longest of those completing at the same byte), however text is chunked.
  size_t first = std::string::npos, first_end = std::string::npos;
  for (const auto& stop : stops_) {
    const size_t at = pending_.find(stop);
    if (at == std::string::npos) continue;
    const size_t end = at + stop.size();
    if (end < first_end || (end == first_end && at < first)) first = at, first_end = end;
  }
  if (first != std::string::npos) {
    r.emit = pending_.substr(0, first);
    r.stopped = stopped_ = true;
    pending_.clear();
    return r;
  }
  const size_t keep = partial_suffix();
  r.emit = pending_.substr(0, pending_.size() - keep);
  pending_.erase(0, pending_.size() - keep);
  return r;
}

std::string StopMatcher::flush() {
  std::string rest;
  rest.swap(pending_);
  return stopped_ ? std::string() : rest;
}

size_t StopMatcher::partial_suffix() const {
  size_t best = 0;
  for (const auto& stop : stops_) {
    const size_t max_len = std::min(stop.size() - 1, pending_.size());
    for (size_t len = max_len; len > best; --len) {
      if (std::string_view(pending_).substr(pending_.size() - len) == std::string_view(stop).substr(0, len)) {
        best = len;
        break;
      }
    }
  }
  return best;
}

}  // namespace loom
