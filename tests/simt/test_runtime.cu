// Streams, events, device properties, graph capture and replay.
#include <cstring>

#include "tests/simt/simt_test_util.h"

using namespace loom::simt_test;

namespace {

__global__ void axpb(float* y, const float* x, float a, float b, int n) {
  const int i = blockIdx.x * blockDim.x + threadIdx.x;
  if (i < n) y[i] = a * x[i] + b;
}

TEST(SimtRuntime, DescribesTheEmulatedDevice) {
  int count = 0;
  ASSERT_EQ(cudaGetDeviceCount(&count), cudaSuccess);
  EXPECT_EQ(count, 1);
  cudaDeviceProp p;
  ASSERT_EQ(cudaGetDeviceProperties(&p, 0), cudaSuccess);
  EXPECT_NE(std::strstr(p.name, "emulator"), nullptr);
  EXPECT_EQ(p.warpSize, 32);
  EXPECT_EQ(p.sharedMemPerBlock, 48u * 1024);
  EXPECT_EQ(cudaGetDeviceProperties(&p, 1), cudaErrorInvalidDevice);
  EXPECT_STREQ(cudaGetErrorString(cudaErrorInvalidValue), "invalid argument");
  cudaGetLastError();
}

TEST(SimtRuntime, StreamsAndEventsRunInOrder) {
  const int n = 100;
  std::vector<float> x(n, 2.0f), y(n, 0.0f);
  float* dx = to_device(x);
  float* dy = to_device(y);
  cudaStream_t s;
  cudaEvent_t start, stop;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&start), cudaSuccess);
  ASSERT_EQ(cudaEventCreate(&stop), cudaSuccess);
  float ms = -1;
  EXPECT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaErrorNotReady);
  ASSERT_EQ(cudaEventRecord(start, s), cudaSuccess);
  ASSERT_EQ(loom_launch(axpb, 1, 128, 0, s, dy, dx, 3.0f, 1.0f, n), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(y.data(), dy, n * sizeof(float), cudaMemcpyDeviceToHost, s),
            cudaSuccess);
  ASSERT_EQ(cudaEventRecord(stop, s), cudaSuccess);
  ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
  ASSERT_EQ(cudaEventElapsedTime(&ms, start, stop), cudaSuccess);
  EXPECT_GE(ms, 0.0f);
  for (float v : y) ASSERT_EQ(v, 7.0f);
  cudaEventDestroy(start);
  cudaEventDestroy(stop);
  cudaStreamDestroy(s);
  cudaFree(dx);
  cudaFree(dy);
}

TEST(SimtRuntime, GraphCaptureRecordsAndReplays) {
  const int n = 300;
  std::vector<float> x(n), y(n, -1.0f);
  float *dx = to_device(std::vector<float>(n, 0.0f)), *dy = to_device(y);
  cudaStream_t s;
  ASSERT_EQ(cudaStreamCreate(&s), cudaSuccess);
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  cudaStreamCaptureStatus status;
  ASSERT_EQ(cudaStreamIsCapturing(s, &status), cudaSuccess);
  EXPECT_EQ(status, cudaStreamCaptureStatusActive);
  ASSERT_EQ(cudaMemcpyAsync(dx, x.data(), n * sizeof(float), cudaMemcpyHostToDevice, s),
            cudaSuccess);
  ASSERT_EQ(loom_launch(axpb, (n + 127) / 128, 128, 0, s, dy, dx, 2.0f, 0.5f, n), cudaSuccess);
  ASSERT_EQ(cudaMemcpyAsync(y.data(), dy, n * sizeof(float), cudaMemcpyDeviceToHost, s),
            cudaSuccess);
  cudaGraph_t graph;
  ASSERT_EQ(cudaStreamEndCapture(s, &graph), cudaSuccess);
  for (float v : y) ASSERT_EQ(v, -1.0f) << "nothing runs during capture";
  cudaGraphExec_t exec;
  ASSERT_EQ(cudaGraphInstantiate(&exec, graph, 0), cudaSuccess);
  for (int round = 0; round < 2; ++round) {
    for (int i = 0; i < n; ++i) x[i] = static_cast<float>(i * (round + 1));  // new inputs
    ASSERT_EQ(cudaGraphLaunch(exec, s), cudaSuccess);
    ASSERT_EQ(cudaStreamSynchronize(s), cudaSuccess);
    for (int i = 0; i < n; ++i) ASSERT_EQ(y[i], 2.0f * x[i] + 0.5f) << "round " << round;
  }
  cudaGraphExecDestroy(exec);
  cudaGraphDestroy(graph);

  // A synchronous legacy-stream copy during capture invalidates it, as on the GPU.
  ASSERT_EQ(cudaStreamBeginCapture(s, cudaStreamCaptureModeGlobal), cudaSuccess);
  EXPECT_EQ(cudaMemcpy(dx, x.data(), 4, cudaMemcpyHostToDevice), cudaErrorStreamCaptureImplicit);
  EXPECT_EQ(cudaStreamEndCapture(s, &graph), cudaErrorStreamCaptureInvalidated);
  EXPECT_EQ(graph, nullptr);
  EXPECT_EQ(cudaStreamBeginCapture(nullptr, cudaStreamCaptureModeGlobal),
            cudaErrorStreamCaptureUnsupported);
  cudaGetLastError();
  cudaStreamDestroy(s);
  cudaFree(dx);
  cudaFree(dy);
}

}  // namespace
