// One process-wide registry, and the 001 seed's package-level helpers over it,
// for code that records a few numbers without passing a registry around
// (client_golang's DefaultRegisterer and promauto). Libraries should still
// take a `registry&` from their caller: the default one is for programs.
//
//   vitals::record_tool_call("grep");
//   vitals::record_model_latency(std::chrono::milliseconds(840));
//   vitals::format::to_text(vitals::default_registry().collect())  // format/text.hpp
//
// The helpers' families (the seed's names) are created on first use and kept
// for the life of the process: do not remove() them from the default
// registry. Label values count against the family's series limit
// (registry_options::max_series_per_family, 2,000), as everywhere.
#pragma once

#include <chrono>
#include <cstdint>
#include <string_view>

#include "vitals/instruments/registry.hpp"

namespace vitals {

/// The process-wide registry, built on first use (thread-safe) and never
/// destroyed, so it is usable until the process exits, from other statics'
/// destructors too.
inline registry& default_registry() {
  static registry* r = new registry;
  return *r;
}

/// The 001 seed's metric names (its Metric* constants), without the `_total`
/// the writers add to counters.
namespace metric_names {
inline constexpr std::string_view tool_calls = "tool_calls";
inline constexpr std::string_view tool_duration_seconds = "tool_duration_seconds";
inline constexpr std::string_view model_requests = "model_requests";
inline constexpr std::string_view model_latency_seconds = "model_latency_seconds";
inline constexpr std::string_view storage_operations = "storage_operations";
inline constexpr std::string_view storage_errors = "storage_errors";
inline constexpr std::string_view active_sessions = "active_sessions";
}  // namespace metric_names

namespace detail {

struct default_families {
  family<counter>& tool_calls;
  family<histogram>& tool_duration;
  family<counter>& model_requests;
  histogram& model_latency;
  family<counter>& storage_operations;
  family<counter>& storage_errors;
  gauge& active_sessions;

  static default_families& get() {
    static default_families f{make()};
    return f;
  }

 private:
  static default_families make() {
    auto& r = default_registry();
    using std::string;
    return {
        r.counter_family(string(metric_names::tool_calls), "Tool calls, by tool.", {"tool"}),
        r.histogram_family(string(metric_names::tool_duration_seconds),
                           "Time per tool call, by tool.", {"tool"}, buckets::latency_1ms_to_10s()),
        r.counter_family(string(metric_names::model_requests), "Model requests, by model.",
                         {"model"}),
        r.histogram(string(metric_names::model_latency_seconds), "Time per model request.",
                    buckets::latency_1ms_to_10s()),
        r.counter_family(string(metric_names::storage_operations),
                         "Storage operations, by operation.", {"operation"}),
        r.counter_family(string(metric_names::storage_errors),
                         "Failed storage operations, by operation.", {"operation"}),
        r.gauge(string(metric_names::active_sessions), "Sessions open now."),
    };
  }
};

}  // namespace detail

inline void record_tool_call(std::string_view tool) {
  detail::default_families::get().tool_calls.with(tool).inc();
}
template <class Rep, class Period>
void record_tool_duration(std::string_view tool, std::chrono::duration<Rep, Period> d) {
  detail::default_families::get().tool_duration.with(tool).observe_duration(d);
}
inline void record_model_request(std::string_view model) {
  detail::default_families::get().model_requests.with(model).inc();
}
template <class Rep, class Period>
void record_model_latency(std::chrono::duration<Rep, Period> d) {
  detail::default_families::get().model_latency.observe_duration(d);
}
inline void record_storage_operation(std::string_view operation) {
  detail::default_families::get().storage_operations.with(operation).inc();
}
inline void record_storage_error(std::string_view operation) {
  detail::default_families::get().storage_errors.with(operation).inc();
}
inline void set_active_sessions(std::int64_t n) {
  detail::default_families::get().active_sessions.set(double(n));
}
inline void inc_active_sessions() { detail::default_families::get().active_sessions.inc(); }
inline void dec_active_sessions() { detail::default_families::get().active_sessions.dec(); }

}  // namespace vitals
