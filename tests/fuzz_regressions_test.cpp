// Every saved fuzz input, replayed through the fuzz target's own entry
// function (fuzz/<target>.hpp) in the normal suite, under every build of it:
// the crashes the fuzzers found (fuzz/regressions/<target>/, one named file
// each) and the seed corpora (fuzz/corpus/<target>/). An input that fails
// aborts its test with the property it broke.
#include <gtest/gtest.h>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <iterator>
#include <map>
#include <sstream>
#include <string>
#include <vector>

#define VITALS_FUZZ_DASHBOARD_DIR \
  (std::string(VITALS_SOURCE_DIR) + "/examples/agent_monitor/dashboard")
#include "../fuzz/exposition.hpp"
#include "../fuzz/importers.hpp"
#include "../fuzz/router.hpp"
#include "../fuzz/selector.hpp"
#include "../fuzz/times.hpp"
#include "../fuzz/usage_events.hpp"

namespace {

namespace fs = std::filesystem;
using entry = void (*)(std::string_view);

const std::map<std::string, entry>& targets() {
  static const std::map<std::string, entry> t{
      {"exposition", vitals::fuzz::exposition}, {"importers", vitals::fuzz::importers},
      {"router", vitals::fuzz::router},         {"selector", vitals::fuzz::selector},
      {"times", vitals::fuzz::times},           {"usage_events", vitals::fuzz::usage_events}};
  return t;
}

const fs::path fuzz_dir = fs::path(VITALS_SOURCE_DIR) / "fuzz";

struct saved_input {
  std::string kind;    // regressions or corpus
  std::string target;  // the folder: the fuzz target
  fs::path file;
};

std::vector<saved_input> saved_inputs() {
  std::vector<saved_input> out;
  for (const std::string kind : {"regressions", "corpus"}) {
    std::error_code ec;
    for (const auto& dir : fs::directory_iterator(fuzz_dir / kind, ec)) {
      if (!dir.is_directory()) continue;
      for (const auto& f : fs::directory_iterator(dir.path()))
        if (f.is_regular_file() && f.path().filename().string().front() != '.')
          out.push_back({kind, dir.path().filename().string(), f.path()});
    }
  }
  std::sort(out.begin(), out.end(), [](const auto& a, const auto& b) { return a.file < b.file; });
  return out;
}

std::string read_file(const fs::path& p) {
  std::ifstream in(p, std::ios::binary);
  return std::string(std::istreambuf_iterator<char>(in), {});
}

class FuzzInputs : public testing::TestWithParam<saved_input> {};

TEST_P(FuzzInputs, PassesItsTarget) {
  const auto& in = GetParam();
  const auto it = targets().find(in.target);
  ASSERT_NE(it, targets().end()) << in.file << ": fuzz/" << in.kind << "/" << in.target
                                 << " is not a fuzz target";
  const std::string data = read_file(in.file);
  SCOPED_TRACE(in.file.string());
  it->second(data);  // aborts, naming the broken property, when it fails
}

std::string test_name(const testing::TestParamInfo<saved_input>& i) {
  std::string name = i.param.kind + "_" + i.param.target + "_" + i.param.file.filename().string();
  for (auto& c : name)
    if (!std::isalnum(static_cast<unsigned char>(c))) c = '_';
  return name;
}

INSTANTIATE_TEST_SUITE_P(Saved, FuzzInputs, testing::ValuesIn(saved_inputs()), test_name);

TEST(FuzzRegressions, EveryTargetHasASeedCorpus) {
  for (const auto& [name, fn] : targets()) {
    std::error_code ec;
    EXPECT_FALSE(fs::is_empty(fuzz_dir / "corpus" / name, ec) || ec) << name;
  }
}

TEST(FuzzRegressions, TheEntryFunctionsCheckWhatTheyPromise) {
  // The properties are real: a broken one aborts the process.
  EXPECT_DEATH(VITALS_FUZZ_CHECK(1 + 1 == 3, "arithmetic"), "fuzz check failed.*arithmetic");
  // And an empty input is no input to choke on.
  for (const auto& [name, fn] : targets()) fn({});
}

}  // namespace
