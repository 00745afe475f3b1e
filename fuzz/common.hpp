// Shared by the fuzz targets: each target is an entry function over raw
// bytes in its own header (fuzz/<target>.hpp), called by the libFuzzer main
// in fuzz/<target>.cpp and by tests/fuzz_regressions_test.cpp for every
// saved input, so a crash found once stays found.
#pragma once

#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <string_view>

/// A property every input must keep; a violation aborts, which libFuzzer
/// (and the regression test, as a death) reports as a crash with this text.
#define VITALS_FUZZ_CHECK(cond, what)                                                         \
  do {                                                                                        \
    if (!(cond)) {                                                                            \
      std::fprintf(stderr, "fuzz check failed at %s:%d: %s (%s)\n", __FILE__, __LINE__, what, \
                   #cond);                                                                    \
      std::abort();                                                                           \
    }                                                                                         \
  } while (false)

/// The libFuzzer entry point over `fn(std::string_view)`.
#define VITALS_FUZZ_MAIN(fn)                                                          \
  extern "C" int LLVMFuzzerTestOneInput(const std::uint8_t* data, std::size_t size) { \
    fn(std::string_view(reinterpret_cast<const char*>(data), size));                  \
    return 0;                                                                         \
  }
