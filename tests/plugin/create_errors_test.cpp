// create() with bad configurations: each a precise error, never a crash.
// None of these load a model (the model file is checked or rejected first).
#include <gtest/gtest.h>

#include <cstdio>
#include <fstream>
#include <string>

#include "loom/plugin_host.hpp"
#include "tests/plugin/plugin_paths.h"

namespace ph = loom::plugin_host;

namespace {

struct CreateResult {
  loom_error_code code = LOOM_OK;
  std::string message;
};

CreateResult try_create(const std::string& json, const std::string& plugin = loom::test::cpu_plugin_path()) {
  auto lib = ph::Library::open(plugin);
  const loom_plugin_api& api = lib->api();
  loom_backend* backend = reinterpret_cast<loom_backend*>(0x1);  // must be reset to NULL on failure
  loom_error* err = api.create(json.data(), json.size(), &backend);
  CreateResult r;
  if (err) {
    r.code = api.error_code(err);
    r.message = api.error_message(err);
    api.error_free(err);
    EXPECT_EQ(backend, nullptr);
  } else {
    api.destroy(backend);
  }
  return r;
}

// A regular file that is not GGUF.
std::string not_gguf_file() {
  const std::string path = testing::TempDir() + "/loom_plugin_not_gguf.bin";
  std::ofstream(path) << "this is not a gguf file, just text long enough to be read";
  return path;
}

void expect_error(const CreateResult& r, loom_error_code code, const std::string& needle) {
  EXPECT_EQ(r.code, code) << r.message;
  EXPECT_NE(r.message.find(needle), std::string::npos) << "message: " << r.message << "\nexpected: " << needle;
}

}  // namespace

TEST(PluginCreate, BadJson) {
  expect_error(try_create("{\"model\": "), LOOM_ERR_INVALID_ARGUMENT, "not valid JSON");
  expect_error(try_create(""), LOOM_ERR_INVALID_ARGUMENT, "not valid JSON");
  expect_error(try_create("[1, 2]"), LOOM_ERR_INVALID_ARGUMENT, "must be a JSON object, got array");
}

TEST(PluginCreate, UnknownKeysAreListed) {
  const auto r = try_create(R"({"model": "/x.gguf", "treads": 2, "kv_cache": 0.5})");
  expect_error(r, LOOM_ERR_INVALID_ARGUMENT, "unknown keys");
  EXPECT_NE(r.message.find("'treads'"), std::string::npos) << r.message;
  EXPECT_NE(r.message.find("'kv_cache'"), std::string::npos) << r.message;
}

TEST(PluginCreate, WrongTypesNameTheKey) {
  expect_error(try_create(R"({"model": 5})"), LOOM_ERR_INVALID_ARGUMENT, "'model' must be a string, got number");
  expect_error(try_create(R"({"model": "m", "threads": "2"})"), LOOM_ERR_INVALID_ARGUMENT,
               "'threads' must be an integer, got string");
  expect_error(try_create(R"({"model": "m", "threads": 2.5})"), LOOM_ERR_INVALID_ARGUMENT,
               "'threads' must be an integer");
  expect_error(try_create(R"({"model": "m", "threads": -1})"), LOOM_ERR_INVALID_ARGUMENT, "'threads' must be in [0,");
  expect_error(try_create(R"({"model": "m", "max_num_seqs": 0})"), LOOM_ERR_INVALID_ARGUMENT,
               "'max_num_seqs' must be in [1,");
  expect_error(try_create(R"({"model": "m", "kv_cache_fraction": 1.5})"), LOOM_ERR_INVALID_ARGUMENT,
               "'kv_cache_fraction' must be in (0, 1], got 1.5");
  expect_error(try_create(R"({"model": "m", "kv_cache_bytes": 1e9})"), LOOM_ERR_INVALID_ARGUMENT,
               "'kv_cache_bytes' must be an integer");
  expect_error(try_create(R"({"model": "m", "max_batch_tokens": "big"})"), LOOM_ERR_INVALID_ARGUMENT,
               "'max_batch_tokens' must be an integer, got string");
}

TEST(PluginCreate, ModelRequiredAndMustExist) {
  expect_error(try_create(R"({"threads": 1})"), LOOM_ERR_INVALID_ARGUMENT, "'model'");
  expect_error(try_create(R"({"model": "/nonexistent/m.gguf"})"), LOOM_ERR_NOT_FOUND, "/nonexistent/m.gguf");
  expect_error(try_create(R"({"model": "/tmp"})"), LOOM_ERR_INVALID_ARGUMENT, "not a regular file");
}

TEST(PluginCreate, NotAGgufFile) {
  expect_error(try_create(R"({"model": ")" + not_gguf_file() + R"("})"), LOOM_ERR_INVALID_ARGUMENT, "model file");
}

// Doors are the host's (loom serve --endpoint/--proxy), not config keys.
TEST(PluginCreate, DoorsAreNotConfigKeys) {
  expect_error(try_create(R"({"model": "m", "endpoint": "ipc:///tmp/a", "proxy": "tcp://127.0.0.1:1"})"),
               LOOM_ERR_INVALID_ARGUMENT, "unknown keys 'endpoint', 'proxy'");
}

TEST(PluginCreate, IsaKey) {
  const std::string model = not_gguf_file();
  expect_error(try_create(R"({"model": ")" + model + R"(", "isa": "sse"})"), LOOM_ERR_INVALID_ARGUMENT,
               "'isa' must be");
  expect_error(try_create(R"({"model": ")" + model + R"(", "isa": 3})"), LOOM_ERR_INVALID_ARGUMENT,
               "'isa' must be a string");
  expect_error(try_create(R"({"model": ")" + model + R"(", "isa": "avx2"})", loom::test::cpu_ref_plugin_path()),
               LOOM_ERR_INVALID_ARGUMENT, "scalar-reference build");
}

TEST(PluginCreate, NumericsKey) {
  const std::string model = not_gguf_file();
  expect_error(try_create(R"({"model": ")" + model + R"(", "numerics": "approximate"})"), LOOM_ERR_INVALID_ARGUMENT,
               "'numerics' must be \"exact\" or \"fast\", got \"approximate\"");
  expect_error(try_create(R"({"model": ")" + model + R"(", "numerics": 1})"), LOOM_ERR_INVALID_ARGUMENT,
               "'numerics' must be a string");
}

TEST(PluginCreate, NullArguments) {
  auto lib = ph::Library::open(loom::test::cpu_plugin_path());
  const loom_plugin_api& api = lib->api();
  loom_backend* backend = nullptr;
  loom_error* err = api.create(nullptr, 0, &backend);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(api.error_code(err), LOOM_ERR_INVALID_ARGUMENT);
  EXPECT_STREQ(api.error_message(err), "config_json must not be NULL");
  api.error_free(err);
  err = api.create("{}", 2, nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(api.error_code(err), LOOM_ERR_INVALID_ARGUMENT);
  api.error_free(err);
  for (auto* e : {api.start(nullptr), api.drain(nullptr, 0), api.submit(nullptr, nullptr, nullptr, nullptr),
                  api.cancel(nullptr, "a", 1)}) {
    ASSERT_NE(e, nullptr);
    EXPECT_EQ(api.error_code(e), LOOM_ERR_INVALID_ARGUMENT);
    api.error_free(e);
  }
}
