// Emulated CUDA runtime: memory, streams, events, graphs, launch checks.
#include "kernels/cuda/simt/runtime.h"

#include <chrono>
#include <cstdlib>
#include <cstring>
#include <map>
#include <mutex>
#include <set>
#include <vector>

namespace loom::simt::rt {

struct SimStream {
  bool capturing = false;
  bool invalidated = false;
  cudaStreamCaptureMode mode = cudaStreamCaptureModeGlobal;
  SimGraph* graph = nullptr;
};
struct SimEvent {
  unsigned flags = 0;
  bool recorded = false;
  std::chrono::steady_clock::time_point time;
};
struct SimGraph {
  std::vector<std::function<void()>> nodes;
};
struct SimGraphExec {
  std::vector<std::function<void()>> nodes;
};

namespace {

constexpr size_t kSharedPerBlock = 48 * 1024;
constexpr size_t kSharedPerBlockOptin = 166912;  // sm_80
constexpr size_t kDeviceAlign = 256;

struct State {
  std::mutex mu;
  std::map<uintptr_t, size_t> device;  // base -> bytes
  std::set<void*> pinned;
  std::set<SimStream*> streams;
  std::set<SimEvent*> events;
  std::map<const void*, int> max_dynamic_smem;  // per kernel
  cudaError_t last_error = cudaSuccess;
};

State& state() {
  static State s;
  return s;
}

cudaError_t record(cudaError_t e) {
  if (e != cudaSuccess) state().last_error = e;
  return e;
}

bool is_device(const void* p, size_t bytes) {
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  auto addr = reinterpret_cast<uintptr_t>(p);
  auto it = s.device.upper_bound(addr);
  if (it == s.device.begin()) return false;
  --it;
  return addr >= it->first && addr + bytes <= it->first + it->second;
}

SimStream* capturing_global() {
  for (SimStream* st : state().streams)
    if (st->capturing && st->mode == cudaStreamCaptureModeGlobal) return st;
  return nullptr;
}

// An operation that is illegal while a global-mode capture is active
// invalidates that capture, as the real runtime does.
bool breaks_capture() {
  SimStream* st = capturing_global();
  if (!st) return false;
  st->invalidated = true;
  return true;
}

bool valid_stream(cudaStream_t s) { return s == nullptr || state().streams.count(s) > 0; }

cudaError_t check_copy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (bytes == 0) return cudaSuccess;
  if (!dst || !src) return cudaErrorInvalidValue;
  bool dst_dev = is_device(dst, bytes), src_dev = is_device(src, bytes);
  switch (kind) {
    case cudaMemcpyHostToHost: return !dst_dev && !src_dev ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyHostToDevice: return dst_dev && !src_dev ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyDeviceToHost: return !dst_dev && src_dev ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyDeviceToDevice: return dst_dev && src_dev ? cudaSuccess : cudaErrorInvalidValue;
    case cudaMemcpyDefault: return cudaSuccess;
  }
  return cudaErrorInvalidMemcpyDirection;
}

}  // namespace

cudaError_t enqueue(cudaStream_t stream, std::function<void()> work) {
  if (!valid_stream(stream)) return record(cudaErrorInvalidResourceHandle);
  if (stream && stream->capturing) {
    if (!stream->invalidated) stream->graph->nodes.push_back(std::move(work));
    return cudaSuccess;
  }
  if (!stream && breaks_capture()) return record(cudaErrorStreamCaptureImplicit);
  try {
    work();
  } catch (...) {
    state().last_error = cudaErrorLaunchFailure;
    throw;
  }
  return cudaSuccess;
}

// ---- errors -----------------------------------------------------------------

cudaError_t cudaGetLastError() {
  cudaError_t e = state().last_error;
  state().last_error = cudaSuccess;
  return e;
}
cudaError_t cudaPeekAtLastError() { return state().last_error; }

const char* cudaGetErrorName(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "cudaSuccess";
    case cudaErrorInvalidValue: return "cudaErrorInvalidValue";
    case cudaErrorMemoryAllocation: return "cudaErrorMemoryAllocation";
    case cudaErrorInvalidConfiguration: return "cudaErrorInvalidConfiguration";
    case cudaErrorInvalidDevicePointer: return "cudaErrorInvalidDevicePointer";
    case cudaErrorInvalidMemcpyDirection: return "cudaErrorInvalidMemcpyDirection";
    case cudaErrorInvalidDevice: return "cudaErrorInvalidDevice";
    case cudaErrorInvalidResourceHandle: return "cudaErrorInvalidResourceHandle";
    case cudaErrorIllegalState: return "cudaErrorIllegalState";
    case cudaErrorNotReady: return "cudaErrorNotReady";
    case cudaErrorLaunchFailure: return "cudaErrorLaunchFailure";
    case cudaErrorStreamCaptureUnsupported: return "cudaErrorStreamCaptureUnsupported";
    case cudaErrorStreamCaptureInvalidated: return "cudaErrorStreamCaptureInvalidated";
    case cudaErrorStreamCaptureUnmatched: return "cudaErrorStreamCaptureUnmatched";
    case cudaErrorStreamCaptureImplicit: return "cudaErrorStreamCaptureImplicit";
  }
  return "cudaErrorUnknown";
}

const char* cudaGetErrorString(cudaError_t e) {
  switch (e) {
    case cudaSuccess: return "no error";
    case cudaErrorInvalidValue: return "invalid argument";
    case cudaErrorMemoryAllocation: return "out of memory";
    case cudaErrorInvalidConfiguration: return "invalid configuration argument";
    case cudaErrorInvalidDevicePointer: return "invalid device pointer";
    case cudaErrorInvalidResourceHandle: return "invalid resource handle";
    case cudaErrorNotReady: return "device not ready";
    case cudaErrorLaunchFailure: return "unspecified launch failure (SIMT emulator: see SimtError)";
    case cudaErrorStreamCaptureInvalidated: return "operation failed due to a previous error during capture";
    case cudaErrorStreamCaptureImplicit:
      return "operation would make the legacy stream depend on a capturing blocking stream";
    default: return cudaGetErrorName(e);
  }
}

// ---- device -----------------------------------------------------------------

cudaError_t cudaGetDeviceCount(int* count) {
  if (!count) return record(cudaErrorInvalidValue);
  *count = 1;
  return cudaSuccess;
}
cudaError_t cudaGetDevice(int* device) {
  if (!device) return record(cudaErrorInvalidValue);
  *device = 0;
  return cudaSuccess;
}
cudaError_t cudaSetDevice(int device) {
  return device == 0 ? cudaSuccess : record(cudaErrorInvalidDevice);
}
cudaError_t cudaGetDeviceProperties(cudaDeviceProp* p, int device) {
  if (!p) return record(cudaErrorInvalidValue);
  if (device != 0) return record(cudaErrorInvalidDevice);
  *p = cudaDeviceProp{};
  std::strncpy(p->name, "Loom SIMT emulator (CPU fibers, sm_80 semantics)", sizeof p->name - 1);
  p->totalGlobalMem = size_t{16} << 30;
  p->sharedMemPerBlock = kSharedPerBlock;
  p->sharedMemPerBlockOptin = kSharedPerBlockOptin;
  p->regsPerBlock = 65536;
  p->warpSize = 32;
  p->maxThreadsPerBlock = 1024;
  p->maxThreadsDim[0] = 1024, p->maxThreadsDim[1] = 1024, p->maxThreadsDim[2] = 64;
  p->maxGridSize[0] = 0x7fffffff, p->maxGridSize[1] = 65535, p->maxGridSize[2] = 65535;
  p->multiProcessorCount = 1;
  p->major = 8;
  p->minor = 0;
  p->l2CacheSize = 40 << 20;
  p->maxThreadsPerMultiProcessor = 2048;
  return cudaSuccess;
}
cudaError_t cudaDeviceSynchronize() {
  return breaks_capture() ? record(cudaErrorStreamCaptureUnsupported) : cudaSuccess;
}

// ---- memory -----------------------------------------------------------------

cudaError_t cudaMalloc(void** ptr, size_t bytes) {
  if (!ptr) return record(cudaErrorInvalidValue);
  if (breaks_capture()) return record(cudaErrorStreamCaptureUnsupported);
  void* p = std::aligned_alloc(kDeviceAlign, (bytes + kDeviceAlign - 1) / kDeviceAlign * kDeviceAlign
                                                 + kDeviceAlign * (bytes == 0));
  if (!p) return record(cudaErrorMemoryAllocation);
  std::memset(p, 0xFF, bytes);  // uninitialised device memory reads as NaN / -1
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  s.device[reinterpret_cast<uintptr_t>(p)] = bytes;
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFree(void* ptr) {
  if (!ptr) return cudaSuccess;
  if (breaks_capture()) return record(cudaErrorStreamCaptureUnsupported);
  State& s = state();
  std::lock_guard<std::mutex> lock(s.mu);
  auto it = s.device.find(reinterpret_cast<uintptr_t>(ptr));
  if (it == s.device.end()) return record(cudaErrorInvalidValue);
  s.device.erase(it);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMallocHost(void** ptr, size_t bytes) {
  if (!ptr) return record(cudaErrorInvalidValue);
  void* p = std::aligned_alloc(kDeviceAlign, (bytes / kDeviceAlign + 1) * kDeviceAlign);
  if (!p) return record(cudaErrorMemoryAllocation);
  std::lock_guard<std::mutex> lock(state().mu);
  state().pinned.insert(p);
  *ptr = p;
  return cudaSuccess;
}

cudaError_t cudaFreeHost(void* ptr) {
  if (!ptr) return cudaSuccess;
  std::lock_guard<std::mutex> lock(state().mu);
  if (!state().pinned.erase(ptr)) return record(cudaErrorInvalidValue);
  std::free(ptr);
  return cudaSuccess;
}

cudaError_t cudaMemcpyAsync(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind,
                            cudaStream_t stream) {
  if (cudaError_t e = check_copy(dst, src, bytes, kind); e != cudaSuccess) return record(e);
  return enqueue(stream, [=] { std::memmove(dst, src, bytes); });
}
cudaError_t cudaMemcpy(void* dst, const void* src, size_t bytes, cudaMemcpyKind kind) {
  if (breaks_capture()) return record(cudaErrorStreamCaptureImplicit);
  return cudaMemcpyAsync(dst, src, bytes, kind, nullptr);
}

cudaError_t cudaMemsetAsync(void* ptr, int value, size_t bytes, cudaStream_t stream) {
  if (bytes == 0) return cudaSuccess;
  if (!is_device(ptr, bytes)) return record(cudaErrorInvalidValue);
  return enqueue(stream, [=] { std::memset(ptr, value, bytes); });
}
cudaError_t cudaMemset(void* ptr, int value, size_t bytes) {
  if (breaks_capture()) return record(cudaErrorStreamCaptureImplicit);
  return cudaMemsetAsync(ptr, value, bytes, nullptr);
}

// ---- streams and events -----------------------------------------------------

cudaError_t cudaStreamCreateWithFlags(cudaStream_t* stream, unsigned flags) {
  if (!stream) return record(cudaErrorInvalidValue);
  *stream = new SimStream;
  state().streams.insert(*stream);
  return cudaSuccess;
}
cudaError_t cudaStreamCreate(cudaStream_t* stream) {
  return cudaStreamCreateWithFlags(stream, cudaStreamDefault);
}
cudaError_t cudaStreamDestroy(cudaStream_t stream) {
  if (!stream || !state().streams.erase(stream)) return record(cudaErrorInvalidResourceHandle);
  delete stream->graph;
  delete stream;
  return cudaSuccess;
}
cudaError_t cudaStreamSynchronize(cudaStream_t stream) {
  if (!valid_stream(stream)) return record(cudaErrorInvalidResourceHandle);
  if (stream && stream->capturing) {
    stream->invalidated = true;
    return record(cudaErrorStreamCaptureUnsupported);
  }
  return cudaSuccess;  // work ran at enqueue time
}
cudaError_t cudaStreamWaitEvent(cudaStream_t stream, cudaEvent_t event, unsigned) {
  if (!valid_stream(stream) || !state().events.count(event))
    return record(cudaErrorInvalidResourceHandle);
  return cudaSuccess;  // streams run in one global order: already satisfied
}

cudaError_t cudaEventCreateWithFlags(cudaEvent_t* event, unsigned flags) {
  if (!event) return record(cudaErrorInvalidValue);
  *event = new SimEvent;
  (*event)->flags = flags;
  state().events.insert(*event);
  return cudaSuccess;
}
cudaError_t cudaEventCreate(cudaEvent_t* event) {
  return cudaEventCreateWithFlags(event, cudaEventDefault);
}
cudaError_t cudaEventDestroy(cudaEvent_t event) {
  if (!state().events.erase(event)) return record(cudaErrorInvalidResourceHandle);
  delete event;
  return cudaSuccess;
}
cudaError_t cudaEventRecord(cudaEvent_t event, cudaStream_t stream) {
  if (!state().events.count(event)) return record(cudaErrorInvalidResourceHandle);
  return enqueue(stream, [event] {
    event->recorded = true;
    event->time = std::chrono::steady_clock::now();
  });
}
cudaError_t cudaEventSynchronize(cudaEvent_t event) {
  return state().events.count(event) ? cudaSuccess : record(cudaErrorInvalidResourceHandle);
}
cudaError_t cudaEventQuery(cudaEvent_t event) { return cudaEventSynchronize(event); }
cudaError_t cudaEventElapsedTime(float* ms, cudaEvent_t start, cudaEvent_t end) {
  if (!ms) return record(cudaErrorInvalidValue);
  if (!state().events.count(start) || !state().events.count(end))
    return record(cudaErrorInvalidResourceHandle);
  if ((start->flags | end->flags) & cudaEventDisableTiming)
    return record(cudaErrorInvalidResourceHandle);
  if (!start->recorded || !end->recorded) return record(cudaErrorNotReady);
  *ms = std::chrono::duration<float, std::milli>(end->time - start->time).count();
  return cudaSuccess;
}

// ---- graphs -----------------------------------------------------------------

cudaError_t cudaStreamBeginCapture(cudaStream_t stream, cudaStreamCaptureMode mode) {
  if (!stream) return record(cudaErrorStreamCaptureUnsupported);  // legacy stream
  if (!valid_stream(stream)) return record(cudaErrorInvalidResourceHandle);
  if (stream->capturing) return record(cudaErrorIllegalState);
  stream->capturing = true;
  stream->invalidated = false;
  stream->mode = mode;
  stream->graph = new SimGraph;
  return cudaSuccess;
}

cudaError_t cudaStreamEndCapture(cudaStream_t stream, cudaGraph_t* graph) {
  if (!graph) return record(cudaErrorInvalidValue);
  if (!valid_stream(stream) || !stream) return record(cudaErrorInvalidResourceHandle);
  if (!stream->capturing) return record(cudaErrorStreamCaptureUnmatched);
  stream->capturing = false;
  SimGraph* g = stream->graph;
  stream->graph = nullptr;
  if (stream->invalidated) {
    delete g;
    *graph = nullptr;
    return record(cudaErrorStreamCaptureInvalidated);
  }
  *graph = g;
  return cudaSuccess;
}

cudaError_t cudaStreamIsCapturing(cudaStream_t stream, cudaStreamCaptureStatus* status) {
  if (!status) return record(cudaErrorInvalidValue);
  if (!valid_stream(stream)) return record(cudaErrorInvalidResourceHandle);
  *status = !stream || !stream->capturing ? cudaStreamCaptureStatusNone
            : stream->invalidated         ? cudaStreamCaptureStatusInvalidated
                                          : cudaStreamCaptureStatusActive;
  return cudaSuccess;
}

cudaError_t cudaGraphInstantiate(cudaGraphExec_t* exec, cudaGraph_t graph, unsigned long long) {
  if (!exec || !graph) return record(cudaErrorInvalidValue);
  *exec = new SimGraphExec{graph->nodes};
  return cudaSuccess;
}
cudaError_t cudaGraphLaunch(cudaGraphExec_t exec, cudaStream_t stream) {
  if (!exec) return record(cudaErrorInvalidValue);
  return enqueue(stream, [nodes = exec->nodes] {
    for (auto& node : nodes) node();
  });
}
cudaError_t cudaGraphDestroy(cudaGraph_t graph) {
  delete graph;
  return cudaSuccess;
}
cudaError_t cudaGraphExecDestroy(cudaGraphExec_t exec) {
  delete exec;
  return cudaSuccess;
}

// ---- kernels ----------------------------------------------------------------

cudaError_t cudaFuncSetAttribute(const void* kernel, cudaFuncAttribute attr, int value) {
  if (!kernel || attr != cudaFuncAttributeMaxDynamicSharedMemorySize || value < 0 ||
      static_cast<size_t>(value) > kSharedPerBlockOptin)
    return record(cudaErrorInvalidValue);
  state().max_dynamic_smem[kernel] = value;
  return cudaSuccess;
}

cudaError_t launch_kernel(const void* kernel, Launch launch, cudaStream_t stream) {
  const dim3 b = launch.block, g = launch.grid;
  const unsigned long long threads = 1ull * b.x * b.y * b.z;
  if (b.x == 0 || b.y == 0 || b.z == 0 || b.x > 1024 || b.y > 1024 || b.z > 64 || threads > 1024 ||
      g.x == 0 || g.y == 0 || g.z == 0 || g.x > 0x7fffffffu || g.y > 65535 || g.z > 65535)
    return record(cudaErrorInvalidConfiguration);
  size_t limit = kSharedPerBlock;  // raised (or lowered) by cudaFuncSetAttribute
  if (auto it = state().max_dynamic_smem.find(kernel); it != state().max_dynamic_smem.end())
    limit = static_cast<size_t>(it->second);
  if (launch.dynamic_smem_bytes > limit) return record(cudaErrorInvalidValue);
  return enqueue(stream, [launch = std::move(launch)] { run_grid(launch); });
}

}  // namespace loom::simt::rt
