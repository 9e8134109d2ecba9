#include "scheduler/types.h"

namespace loom::sched {

std::string_view request_state_name(RequestState state) {
  switch (state) {
    case RequestState::kWaiting:
      return "waiting";
    case RequestState::kRunning:
      return "running";
    case RequestState::kPreempted:
      return "preempted";
  }
  return "?";
}

}  // namespace loom::sched
