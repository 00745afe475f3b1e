// Small helpers shared by the test files.
#pragma once

#include <time.h>
#include <unistd.h>

#include <atomic>
#include <chrono>
#include <filesystem>
#include <optional>
#include <string>
#include <string_view>
#include <thread>

#include "vitals/core/sample.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals::test {

/// A fresh directory, removed with everything in it when the object goes.
class temp_dir {
 public:
  temp_dir() {
    path_ = std::filesystem::temp_directory_path() /
            ("vitals-test-" + std::to_string(::getpid()) + "-" + std::to_string(counter_++));
    std::filesystem::remove_all(path_);
    std::filesystem::create_directories(path_);
  }
  ~temp_dir() { std::filesystem::remove_all(path_); }
  temp_dir(const temp_dir&) = delete;
  temp_dir& operator=(const temp_dir&) = delete;
  const std::filesystem::path& path() const { return path_; }

 private:
  static inline std::atomic<int> counter_{0};
  std::filesystem::path path_;
};

/// Spins until this process has used `cpu` of CPU time (not wall time: the
/// machine may be busy).
inline void burn_cpu(std::chrono::milliseconds cpu) {
  auto used = [] {
    timespec ts{};
    ::clock_gettime(CLOCK_PROCESS_CPUTIME_ID, &ts);
    return std::chrono::seconds(ts.tv_sec) + std::chrono::nanoseconds(ts.tv_nsec);
  };
  const auto end = used() + cpu;
  volatile double x = 0;
  while (used() < end) x = x + 1;
}

/// The value of the first sample named `name` (and carrying `label` =
/// `label_value`, when a label is given).
inline std::optional<double> value(const sample_batch& b, std::string_view name,
                                   std::string_view label = {}, std::string_view label_value = {}) {
  for (const auto& s : b)
    if (s.series.name() == name && (label.empty() || s.series.labels().get(label) == label_value))
      return s.value;
  return std::nullopt;
}

/// A family's value in `reg`, summed over the series whose `label` is
/// `value` (over all series when no label is given).
inline double family_total(const registry& reg, std::string_view name, std::string_view label = {},
                           std::string_view value = {}) {
  double sum = 0;
  for (const auto& f : reg.collect())
    if (f.name == name)
      for (const auto& p : f.points)
        if (label.empty() || p.labels.get(label) == value) sum += p.value;
  return sum;
}

/// Polls `f` until it holds or `within` has passed; its last answer.
template <class F>
bool eventually(F&& f, std::chrono::milliseconds within = std::chrono::seconds(10)) {
  const auto end = std::chrono::steady_clock::now() + within;
  while (std::chrono::steady_clock::now() < end) {
    if (f()) return true;
    std::this_thread::sleep_for(std::chrono::milliseconds(20));
  }
  return f();
}

}  // namespace vitals::test
