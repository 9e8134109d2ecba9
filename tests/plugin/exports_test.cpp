// Only loom_plugin_get_api leaves each plugin .so: the dynamic symbol table
// as `nm -D --defined-only` lists it must hold nothing else.
#include <gtest/gtest.h>

#include <cstdio>
#include <sstream>
#include <string>
#include <vector>

#include "tests/plugin/plugin_paths.h"

namespace {

// Names of the defined dynamic symbols of `path` (nm lines: "addr type name").
std::vector<std::string> defined_dynamic_symbols(const std::string& path) {
  const std::string cmd = "nm -D --defined-only '" + path + "' 2>&1";
  FILE* pipe = popen(cmd.c_str(), "r");
  EXPECT_NE(pipe, nullptr);
  std::string out;
  char buf[4096];
  size_t n;
  while (pipe && (n = fread(buf, 1, sizeof(buf), pipe)) > 0) out.append(buf, n);
  const int status = pipe ? pclose(pipe) : -1;
  EXPECT_EQ(status, 0) << out;
  std::vector<std::string> names;
  std::istringstream lines(out);
  std::string line;
  while (std::getline(lines, line)) {
    std::istringstream fields(line);
    std::string addr, type, name;
    if (fields >> addr >> type >> name) names.push_back(name);
  }
  return names;
}

void expect_only_entry(const std::string& path) {
  const auto names = defined_dynamic_symbols(path);
  ASSERT_FALSE(names.empty()) << path << ": nm listed nothing";
  for (const auto& name : names) EXPECT_EQ(name, "loom_plugin_get_api") << path << " exports " << name;
}

}  // namespace

TEST(PluginExports, CpuPluginExportsOnlyTheEntry) { expect_only_entry(loom::test::cpu_plugin_path()); }

TEST(PluginExports, CpuRefPluginExportsOnlyTheEntry) { expect_only_entry(loom::test::cpu_ref_plugin_path()); }
