// Where the tests find the executables they run and the source tree:
// VITALS_SOURCE_DIR, VITALS_INCLUDE_DIR (the folder holding vitals/),
// VITALS_TOUR_EXE, VITALS_COLLECT_EXE, VITALS_MONITOR_EXE,
// VITALS_SIMULATOR_EXE, VITALS_MINIMAL_EXE, VITALS_RELAY_EXE, each a
// std::string expression, defined only where the build has that target.
//
// tests/CMakeLists.txt force-includes this header into every test file, so a
// test never skips because it forgot an #include. The paths are relative to
// the test executable and resolved when the test runs: an absolute path
// compiled into a test would differ in every clone, and ccache (which can
// rewrite paths on the command line, never inside the code) would miss on
// every test file in a fresh CI clone.
#pragma once

#include <filesystem>
#include <string>
#include <system_error>

namespace vitals::test {

/// `relative` (a path from the test executable's directory) made absolute.
inline std::string build_path(const char* relative) {
  static const std::filesystem::path exe_dir = [] {
    std::error_code ec;
    const auto exe = std::filesystem::read_symlink("/proc/self/exe", ec);
    return ec ? std::filesystem::current_path() : exe.parent_path();
  }();
  return (exe_dir / relative).lexically_normal().string();
}

}  // namespace vitals::test

#include "vitals_test_paths.hpp"  // generated: the macros, with relative paths
