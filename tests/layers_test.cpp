// The layers of shared/DESIGN.md ("Layers and what each may include"), checked
// over the include lines of every header under include/vitals/: a header
// includes only its own folder and the folders its layer may use, never
// another layer's detail/ (core/detail is the shared plumbing, open to all),
// and core/, instruments/ and format/ never pull in Asio or Beast. A failure
// names file:line and the rule, so the fix is obvious from the test output.
#include <gtest/gtest.h>

#include <algorithm>
#include <cstddef>
#include <filesystem>
#include <fstream>
#include <map>
#include <set>
#include <string>
#include <string_view>
#include <vector>

namespace {

namespace fs = std::filesystem;

/// DESIGN's table. The generated OTLP protobuf headers (vitals/otlp/*.pb.h)
/// count as a layer of their own that agent and http may use.
const std::map<std::string, std::set<std::string>, std::less<>>& allowed_layers() {
  static const std::map<std::string, std::set<std::string>, std::less<>> table = {
      {"core", {}},
      {"instruments", {"core"}},
      {"format", {"core"}},
      {"net", {"core"}},
      {"samplers", {"core", "format", "net"}},
      {"stores", {"core"}},
      {"sinks", {"core", "format", "instruments", "net"}},
      {"runtime", {"core"}},
      {"agent", {"core", "instruments", "format", "stores", "runtime", "otlp"}},
      {"http",
       {"core", "instruments", "format", "net", "samplers", "stores", "sinks", "runtime", "agent",
        "otlp"}},
  };
  return table;
}

/// `<...>` prefixes a layer must not include; core is std (and POSIX) only.
const std::map<std::string, std::vector<std::string>, std::less<>>& refused_libraries() {
  static const std::vector<std::string> async = {"boost/asio", "boost/beast"};
  static const std::vector<std::string> third_party = {
      "boost/", "google/", "re2/", "sqlite3.h", "libpq-fe.h", "zlib.h", "snappy.h"};
  static const std::map<std::string, std::vector<std::string>, std::less<>> table = {
      {"core", third_party}, {"instruments", async}, {"format", async}};
  return table;
}

/// Named exceptions to refused_libraries, each with its reason. The durable
/// spool is shared plumbing below stores/ and agent/, and its records are
/// JSON files: it reads and writes them with Boost.JSON rather than by hand.
bool library_exception(std::string_view header, std::string_view include) {
  return header == "vitals/core/detail/spool.hpp" && include == "boost/json.hpp";
}

struct include_line {
  std::size_t line = 0;
  std::string path;  // what stands between the quotes or angle brackets
  bool angled = false;
};

/// The `#include` lines of a file (a `#  include` too); others are ignored.
std::vector<include_line> includes_of(const fs::path& file) {
  std::vector<include_line> out;
  std::ifstream in(file);
  std::string text;
  for (std::size_t n = 1; std::getline(in, text); ++n) {
    std::string_view s = text;
    const auto skip_blank = [&s] {
      while (!s.empty() && (s.front() == ' ' || s.front() == '\t')) s.remove_prefix(1);
    };
    skip_blank();
    if (!s.starts_with('#')) continue;
    s.remove_prefix(1);
    skip_blank();
    if (!s.starts_with("include")) continue;
    s.remove_prefix(7);
    skip_blank();
    if (s.empty() || (s.front() != '"' && s.front() != '<')) continue;
    const char close = s.front() == '"' ? '"' : '>';
    const auto end = s.find(close, 1);
    if (end == std::string_view::npos) continue;
    out.push_back({n, std::string(s.substr(1, end - 1)), close == '>'});
  }
  return out;
}

/// "vitals/stores/detail/pg.hpp" -> {"stores", true}; not a vitals path: {"", false}.
struct vitals_path {
  std::string layer;
  bool detail = false;
};
vitals_path parse_vitals_path(std::string_view p) {
  if (!p.starts_with("vitals/")) return {};
  p.remove_prefix(7);
  const auto slash = p.find('/');
  if (slash == std::string_view::npos) return {std::string(p), false};
  return {std::string(p.substr(0, slash)), p.substr(slash + 1).starts_with("detail/")};
}

/// Every broken rule under `include_root` (the folder holding vitals/), one
/// "file:line: why" each, in file order.
std::vector<std::string> layer_violations(const fs::path& include_root) {
  std::vector<fs::path> headers;
  for (const auto& e : fs::recursive_directory_iterator(include_root / "vitals"))
    if (e.is_regular_file() && (e.path().extension() == ".hpp" || e.path().extension() == ".h"))
      headers.push_back(e.path());
  std::sort(headers.begin(), headers.end());

  std::vector<std::string> out;
  for (const auto& file : headers) {
    const std::string rel = fs::relative(file, include_root).generic_string();
    const auto own = parse_vitals_path(rel);
    const auto layer = allowed_layers().find(own.layer);
    if (layer == allowed_layers().end()) {
      out.push_back(rel + ":1: folder '" + own.layer + "' is not a layer in DESIGN.md's table");
      continue;
    }
    const auto refused = refused_libraries().find(own.layer);
    for (const auto& inc : includes_of(file)) {
      const std::string where = rel + ":" + std::to_string(inc.line) + ": ";
      const auto target = parse_vitals_path(inc.path);
      if (target.layer.empty()) {
        if (!inc.angled || refused == refused_libraries().end()) continue;
        for (const auto& prefix : refused->second)
          if (inc.path.starts_with(prefix) && !library_exception(rel, inc.path))
            out.push_back(where + own.layer + "/ must not include <" + inc.path + ">");
        continue;
      }
      if (target.layer == own.layer) continue;  // within a layer, its detail/ included
      if (!layer->second.contains(target.layer))
        out.push_back(where + own.layer + "/ must not include " + inc.path + " (" + target.layer +
                      "/ is not below it)");
      else if (target.detail && target.layer != "core")
        out.push_back(where + own.layer + "/ must not include another layer's detail: " + inc.path);
    }
  }
  return out;
}

std::string joined(const std::vector<std::string>& lines) {
  std::string s;
  for (const auto& l : lines) s += l + "\n";
  return s;
}

TEST(Layers, EveryHeaderIncludesOnlyTheLayersBelowIt) {
  const fs::path root = VITALS_INCLUDE_DIR;
  ASSERT_TRUE(fs::is_directory(root / "vitals")) << root;
  const auto found = layer_violations(root);
  EXPECT_TRUE(found.empty()) << found.size() << " include(s) against shared/DESIGN.md's layers:\n"
                             << joined(found);
}

/// Every include reached from `header` through vitals' own headers, as
/// "from: path" lines. The `detail/*_impl.hpp` files are left out: they are
/// what the header-only mode adds, and the compiled mode leaves them to
/// vitals::compiled.
std::vector<std::string> reached_from(const fs::path& include_root, const std::string& header) {
  std::vector<std::string> out;
  std::set<std::string> seen{header};
  std::vector<std::string> todo{header};
  while (!todo.empty()) {
    const auto at = todo.back();
    todo.pop_back();
    for (const auto& inc : includes_of(include_root / at)) {
      if (inc.path.find("/detail/") != std::string::npos && inc.path.ends_with("_impl.hpp"))
        continue;
      out.push_back(at + ": " + inc.path);
      if (inc.path.starts_with("vitals/") && seen.insert(inc.path).second) todo.push_back(inc.path);
    }
  }
  return out;
}

// Headers split off so that a file can include them cheaply (docs/benchmarks.md,
// issue 14): with vitals::compiled, the exporter's header reaches neither Asio
// nor Beast, and a --scrape value is checked without the HTTP client.
TEST(Layers, TheLightHeadersStayLight) {
  const fs::path root = VITALS_INCLUDE_DIR;
  const std::vector<std::pair<std::string, std::vector<std::string>>> light = {
      {"vitals/http/exporter.hpp", {"boost/asio", "boost/beast", "vitals/http/server.hpp"}},
      {"vitals/http/server_options.hpp", {"boost/", "vitals/"}},
      {"vitals/samplers/scrape_flag.hpp", {"boost/beast", "vitals/net/client.hpp"}},
  };
  for (const auto& [header, refused] : light) {
    ASSERT_TRUE(fs::is_regular_file(root / header)) << header;
    const auto reached = reached_from(root, header);
    EXPECT_FALSE(reached.empty()) << header;
    for (const auto& line : reached)
      for (const auto& prefix : refused)
        EXPECT_EQ(line.find(": " + prefix), std::string::npos) << header << " reaches " << line;
  }
}

// The checker itself, on a small tree that breaks each rule once.
class LayerChecker : public ::testing::Test {
 protected:
  void SetUp() override {
    root_ = fs::temp_directory_path() /
            ("vitals_layers_" +
             std::string(::testing::UnitTest::GetInstance()->current_test_info()->name()));
    fs::remove_all(root_);
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const std::string& rel, const std::string& text) {
    const auto p = root_ / "vitals" / rel;
    fs::create_directories(p.parent_path());
    std::ofstream(p) << text;
  }

  fs::path root_;
};

TEST_F(LayerChecker, NamesFileAndLineOfEachBrokenRule) {
  write("sinks/push.hpp",
        "#pragma once\n#include <string>\n#include \"vitals/core/error.hpp\"\n"
        "#include \"vitals/http/client.hpp\"\n");
  write("agent/spool.hpp", "#pragma once\n  #  include \"vitals/stores/detail/spool.hpp\"\n");
  write("format/text.hpp", "#include <boost/json.hpp>\n#include <boost/asio/post.hpp>\n");
  write("core/time.hpp", "#include <chrono>\n#include <boost/url/url.hpp>\n");
  write("widgets/x.hpp", "#pragma once\n");
  const auto found = layer_violations(root_);
  ASSERT_EQ(found.size(), 5u) << joined(found);
  EXPECT_EQ(found[0],
            "vitals/agent/spool.hpp:2: agent/ must not include another layer's detail: "
            "vitals/stores/detail/spool.hpp");
  EXPECT_EQ(found[1], "vitals/core/time.hpp:2: core/ must not include <boost/url/url.hpp>");
  EXPECT_EQ(found[2], "vitals/format/text.hpp:2: format/ must not include <boost/asio/post.hpp>");
  EXPECT_EQ(found[3],
            "vitals/sinks/push.hpp:4: sinks/ must not include vitals/http/client.hpp (http/ is "
            "not below it)");
  EXPECT_EQ(found[4],
            "vitals/widgets/x.hpp:1: folder 'widgets' is not a layer in DESIGN.md's table");
}

TEST_F(LayerChecker, AcceptsWhatTheTableAllows) {
  write("core/detail/file.hpp", "#include <fcntl.h>\n#include <string>\n");
  write("stores/sqlite_db.hpp", "#include <sqlite3.h>\n#include \"vitals/core/detail/file.hpp\"\n");
  write("stores/sqlite.hpp", "#include \"vitals/stores/detail/ring.hpp\"\n");
  write("agent/usage_sqlite.hpp",
        "#include \"vitals/stores/sqlite_db.hpp\"\n#include \"vitals/otlp/logs.pb.h\"\n");
  write("http/events.hpp", "#include \"vitals/agent/ledger.hpp\"\n#include <boost/beast.hpp>\n");
  EXPECT_EQ(joined(layer_violations(root_)), "");
}

}  // namespace
