// libloom_cuda.so (the nvcc build): it loads on any machine, and its probe
// says plainly why it cannot run where there is no GPU (no crash, no throw
// across the ABI). On a machine with an sm_80+ GPU the probe must succeed.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <filesystem>
#include <fstream>

#include "loom/plugin_host.hpp"
#include "tests/plugin/cuda_plugin_paths.h"

namespace ph = loom::plugin_host;

TEST(CudaPlugin, ProbeSaysWhyItCannotRunOrWhatWouldRun) {
  auto lib = ph::Library::open(loom::test::cuda_plugin_path());
  EXPECT_STREQ(lib->api().backend_name, "cuda");
  EXPECT_EQ(std::string(lib->api().build_info).find("emulation"), std::string::npos) << lib->api().build_info;
  loom_probe_info info{};
  info.struct_size = sizeof(info);
  loom_error* err = lib->api().probe(&info);
  const bool has_gpu_device_node = std::filesystem::exists("/dev/nvidiactl");
  if (!has_gpu_device_node) {
    ASSERT_NE(err, nullptr) << "probe succeeded on a machine without /dev/nvidiactl: " << info.device;
  }
  if (err) {
    EXPECT_EQ(lib->api().error_code(err), LOOM_ERR_UNAVAILABLE);
    const std::string msg = lib->api().error_message(err);
    std::printf("libloom_cuda.so probe: %s\n", msg.c_str());
    EXPECT_NE(msg.find("cuda backend unavailable: "), std::string::npos) << msg;
    EXPECT_GT(msg.size(), std::strlen("cuda backend unavailable: ") + 5) << "no reason given: " << msg;
    lib->api().error_free(err);
    // create() refuses the same way, before reading the (here not even GGUF) model file.
    const std::string model = testing::TempDir() + "/loom_cuda_probe_not_gguf.bin";
    std::ofstream(model) << "not a gguf file";
    const std::string json = "{\"model\": \"" + model + "\"}";
    loom_backend* b = nullptr;
    err = lib->api().create(json.data(), json.size(), &b);
    ASSERT_NE(err, nullptr);
    EXPECT_EQ(b, nullptr);
    EXPECT_EQ(lib->api().error_code(err), LOOM_ERR_UNAVAILABLE) << lib->api().error_message(err);
    lib->api().error_free(err);
    return;
  }
  EXPECT_EQ(std::strncmp(info.device, "cuda: ", 6), 0) << info.device;
  EXPECT_GT(info.hardware_threads, 0);
  EXPECT_GT(info.memory_available_bytes, 0);
}
