// libloom_cuda_emu.so through dlopen without a model: names, probe, exports,
// and create() refusing bad keys with the documented errors before any load.
#include <gtest/gtest.h>

#include <cstdio>
#include <cstring>
#include <fstream>
#include <sstream>

#include "loom/plugin_host.hpp"
#include "tests/plugin/cuda_plugin_paths.h"

namespace ph = loom::plugin_host;

namespace {

struct CreateResult {
  loom_error_code code = LOOM_OK;
  std::string message;
};

CreateResult try_create(const std::string& json) {
  auto lib = ph::Library::open(loom::test::cuda_emu_plugin_path());
  loom_backend* backend = reinterpret_cast<loom_backend*>(0x1);  // must be reset to NULL on failure
  loom_error* err = lib->api().create(json.data(), json.size(), &backend);
  CreateResult r;
  if (err) {
    r.code = lib->api().error_code(err);
    r.message = lib->api().error_message(err);
    lib->api().error_free(err);
    EXPECT_EQ(backend, nullptr);
  } else {
    lib->api().destroy(backend);
  }
  return r;
}

void expect_error(const CreateResult& r, loom_error_code code, const std::string& needle) {
  EXPECT_EQ(r.code, code) << r.message;
  EXPECT_NE(r.message.find(needle), std::string::npos) << "message: " << r.message << "\nexpected: " << needle;
}

// A regular file that is not GGUF: keys are checked before the file is read.
std::string not_gguf_file() {
  const std::string path = testing::TempDir() + "/loom_cuda_plugin_not_gguf.bin";
  std::ofstream(path) << "this is not a gguf file, just text long enough to be read";
  return path;
}

std::string with_model(const std::string& rest) {
  return "{\"model\": \"" + not_gguf_file() + "\"" + rest + "}";
}

// `nm -D --defined-only` names (as tests/plugin/exports_test.cpp reads them).
std::vector<std::string> defined_dynamic_symbols(const std::string& path) {
  FILE* pipe = popen(("nm -D --defined-only '" + path + "' 2>&1").c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while (pipe && (n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  EXPECT_EQ(pipe ? pclose(pipe) : -1, 0) << out;
  std::vector<std::string> names;
  std::istringstream lines(out);
  std::string line, addr, type, name;
  while (std::getline(lines, line))
    if (std::istringstream(line) >> addr >> type >> name) names.push_back(name);
  return names;
}

}  // namespace

TEST(CudaEmuPlugin, NameBuildInfoAndProbe) {
  auto lib = ph::Library::open(loom::test::cuda_emu_plugin_path());
  EXPECT_STREQ(lib->api().backend_name, "cuda-emu");
  EXPECT_NE(std::string(lib->api().build_info).find("SIMT emulation on the CPU"), std::string::npos)
      << lib->api().build_info;
  const loom_probe_info info = lib->probe();
  EXPECT_EQ(std::strncmp(info.device, "cuda: ", 6), 0) << info.device;
  EXPECT_NE(std::string(info.device).find("[SIMT emulation on the CPU]"), std::string::npos) << info.device;
  EXPECT_EQ(info.hardware_threads, 1);
  EXPECT_GT(info.memory_available_bytes, 0);
  EXPECT_LE(info.memory_available_bytes, int64_t{16} << 30);
}

TEST(CudaEmuPlugin, ExportsOnlyTheEntry) {
  const auto names = defined_dynamic_symbols(loom::test::cuda_emu_plugin_path());
  ASSERT_FALSE(names.empty());
  for (const auto& name : names) EXPECT_EQ(name, "loom_plugin_get_api") << "exports " << name;
}

TEST(CudaEmuPlugin, UnknownKeysAreListedAndCpuKeysAreUnknown) {
  const auto r = try_create(with_model(", \"isa\": \"avx2\", \"graph_sizes\": [1]"));
  expect_error(r, LOOM_ERR_INVALID_ARGUMENT, "unknown keys");
  EXPECT_NE(r.message.find("'isa'"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("'graph_sizes'"), std::string::npos) << r.message;
}

TEST(CudaEmuPlugin, BadGraphBatchSizesNameTheKey) {
  expect_error(try_create(with_model(", \"graph_batch_sizes\": 4")), LOOM_ERR_INVALID_ARGUMENT,
               "'graph_batch_sizes' must be an array of integers, got number");
  expect_error(try_create(with_model(", \"graph_batch_sizes\": [1, \"2\"]")), LOOM_ERR_INVALID_ARGUMENT,
               "'graph_batch_sizes' entries must be integers in [1, max_num_seqs = 32], got \"2\"");
  expect_error(try_create(with_model(", \"graph_batch_sizes\": [0]")), LOOM_ERR_INVALID_ARGUMENT,
               "got 0");
  expect_error(try_create(with_model(", \"max_num_seqs\": 4, \"graph_batch_sizes\": [1, 8]")),
               LOOM_ERR_INVALID_ARGUMENT, "[1, max_num_seqs = 4], got 8");
}

TEST(CudaEmuPlugin, CommonKeysAreCheckedAndModelErrorsMapped) {
  expect_error(try_create(with_model(", \"kv_cache_fraction\": 0")), LOOM_ERR_INVALID_ARGUMENT,
               "'kv_cache_fraction' must be in (0, 1]");
  expect_error(try_create(with_model(", \"block_size\": 0")), LOOM_ERR_INVALID_ARGUMENT, "'block_size'");
  expect_error(try_create("{\"model\": \"/nonexistent/m.gguf\"}"), LOOM_ERR_NOT_FOUND, "does not exist");
  expect_error(try_create(with_model("")), LOOM_ERR_INVALID_ARGUMENT, "model file");
}

TEST(CudaEmuPlugin, DeviceKeyIsCheckedAndAMissingOrdinalNamesTheCount) {
  expect_error(try_create(with_model(", \"device\": -1")), LOOM_ERR_INVALID_ARGUMENT,
               "'device' must be an integer >= 0 (a CUDA device ordinal), got -1");
  expect_error(try_create(with_model(", \"device\": \"x\"")), LOOM_ERR_INVALID_ARGUMENT,
               "'device' must be an integer >= 0 (a CUDA device ordinal), got \"x\"");
  expect_error(try_create(with_model(", \"device\": 1.5")), LOOM_ERR_INVALID_ARGUMENT, "'device'");
  // The emulator has one device, ordinal 0 (as cudaGetDeviceCount says there).
  expect_error(try_create(with_model(", \"device\": 1")), LOOM_ERR_UNAVAILABLE,
               "cuda backend unavailable: CUDA device 1 does not exist: 1 device(s), ordinals 0..0");
  // Device 0 passes the probe; the (not GGUF) model file is what fails next.
  expect_error(try_create(with_model(", \"device\": 0")), LOOM_ERR_INVALID_ARGUMENT, "model file");
}
