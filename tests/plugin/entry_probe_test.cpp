// The entry symbol, the host-side version check and probe, through dlopen.
#include <gtest/gtest.h>

#include <cstring>

#include "loom/plugin_host.hpp"
#include "tests/plugin/plugin_paths.h"

namespace ph = loom::plugin_host;

TEST(PluginEntry, RefusesAnotherMajor) {
  auto lib = ph::Library::open(loom::test::cpu_plugin_path());
  auto entry = reinterpret_cast<loom_plugin_get_api_fn>(dlsym(RTLD_DEFAULT, "loom_plugin_get_api"));
  EXPECT_EQ(entry, nullptr) << "RTLD_LOCAL: the entry must not leak into the global namespace";
  // Reach the entry through the library's own handle.
  void* h = dlopen(loom::test::cpu_plugin_path().c_str(), RTLD_NOW | RTLD_LOCAL | RTLD_NOLOAD);
  ASSERT_NE(h, nullptr);
  entry = reinterpret_cast<loom_plugin_get_api_fn>(dlsym(h, LOOM_PLUGIN_ENTRY_SYMBOL));
  ASSERT_NE(entry, nullptr);
  EXPECT_EQ(entry(LOOM_PLUGIN_ABI_MAJOR + 1), nullptr);
  EXPECT_EQ(entry(0), nullptr);
  const loom_plugin_api* api = entry(LOOM_PLUGIN_ABI_MAJOR);
  ASSERT_NE(api, nullptr);
  EXPECT_EQ(api, &lib->api());
  EXPECT_EQ(api->abi_major, 1u);
  EXPECT_EQ(api->struct_size, sizeof(loom_plugin_api));
  EXPECT_STREQ(api->backend_name, "cpu");
  dlclose(h);
}

TEST(PluginEntry, HostRefusesAnotherMajorOrATruncatedTable) {
  loom_plugin_api fake{};
  fake.struct_size = sizeof(fake);
  fake.abi_major = LOOM_PLUGIN_ABI_MAJOR + 1;
  try {
    ph::check_api(&fake, "fake");
    FAIL() << "accepted major " << fake.abi_major;
  } catch (const ph::Error& e) {
    EXPECT_EQ(e.code(), LOOM_ERR_UNAVAILABLE);
    EXPECT_NE(std::string(e.what()).find("plugin ABI 2.0"), std::string::npos) << e.what();
  }
  fake.abi_major = LOOM_PLUGIN_ABI_MAJOR;
  fake.struct_size = offsetof(loom_plugin_api, stats);  // a table missing its last entry
  EXPECT_THROW(ph::check_api(&fake, "fake"), ph::Error);
  EXPECT_THROW(ph::check_api(nullptr, "fake"), ph::Error);
  fake.struct_size = sizeof(fake);
  EXPECT_NO_THROW(ph::check_api(&fake, "fake"));
}

TEST(PluginEntry, OpenMissingLibraryIsNotFound) {
  try {
    ph::Library::open("/nonexistent/libloom_nothing.so");
    FAIL();
  } catch (const ph::Error& e) {
    EXPECT_EQ(e.code(), LOOM_ERR_NOT_FOUND);
  }
}

TEST(PluginProbe, SaysWhatWouldRun) {
  auto lib = ph::Library::open(loom::test::cpu_plugin_path());
  const loom_probe_info info = lib->probe();
  EXPECT_EQ(std::strncmp(info.device, "cpu: ", 5), 0) << info.device;
  EXPECT_NE(std::string(info.device).find("isa "), std::string::npos) << info.device;
  EXPECT_GT(info.hardware_threads, 0);
  EXPECT_GT(info.memory_available_bytes, 0);

  auto ref = ph::Library::open(loom::test::cpu_ref_plugin_path());
  EXPECT_STREQ(ref->api().backend_name, "cpu-ref");
  EXPECT_NE(std::string(ref->probe().device).find("isa scalar"), std::string::npos) << ref->probe().device;
}

// A host built against an older, smaller loom_probe_info (v1.0 without the
// last two fields): the plugin must not write past its struct_size.
TEST(PluginProbe, OlderSmallerInfoIsNotOverrun) {
  struct OldProbeInfo {
    size_t struct_size;
    char device[128];
  };
  struct {
    OldProbeInfo info;
    unsigned char canary[64];
  } buf;
  std::memset(&buf, 0x5A, sizeof(buf));
  buf.info.struct_size = sizeof(OldProbeInfo);
  auto lib = ph::Library::open(loom::test::cpu_plugin_path());
  loom_error* err = lib->api().probe(reinterpret_cast<loom_probe_info*>(&buf.info));
  ASSERT_EQ(err, nullptr) << lib->api().error_message(err);
  EXPECT_EQ(std::strncmp(buf.info.device, "cpu: ", 5), 0);
  for (unsigned char c : buf.canary) ASSERT_EQ(c, 0x5A) << "probe wrote past the host's struct_size";
}

TEST(PluginProbe, TooSmallOrNullInfoIsInvalidArgument) {
  auto lib = ph::Library::open(loom::test::cpu_plugin_path());
  const loom_plugin_api& api = lib->api();
  loom_probe_info info{};
  info.struct_size = 8;
  loom_error* err = api.probe(&info);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(api.error_code(err), LOOM_ERR_INVALID_ARGUMENT);
  EXPECT_NE(std::string(api.error_message(err)).find("struct_size 8"), std::string::npos) << api.error_message(err);
  api.error_free(err);
  err = api.probe(nullptr);
  ASSERT_NE(err, nullptr);
  EXPECT_EQ(api.error_code(err), LOOM_ERR_INVALID_ARGUMENT);
  api.error_free(err);
  api.error_free(nullptr);  // allowed
  api.destroy(nullptr);     // allowed
}
