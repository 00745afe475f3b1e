// The samplers agent_monitor tracks, one type per target kind, and the
// factory that turns a target spec (from the flags or `POST /api/v1/targets`)
// into one, checking what the API cannot. Apart from http/monitor.hpp so a
// server that only tracks targets (scrape_relay) needs nothing of the agent.
#pragma once

#include <filesystem>
#include <memory>
#include <string>
#include <string_view>
#include <type_traits>
#include <utility>

#include "vitals/core/error.hpp"
#include "vitals/instruments/registry.hpp"
#include "vitals/net/allow.hpp"
#include "vitals/runtime/poller.hpp"
#include "vitals/runtime/targets.hpp"
#include "vitals/samplers/cgroup.hpp"
#include "vitals/samplers/process.hpp"
#include "vitals/samplers/rate.hpp"
#include "vitals/samplers/registry.hpp"
#include "vitals/samplers/scrape.hpp"
#include "vitals/samplers/system.hpp"

namespace vitals::http {

// The samplers a monitor tracks, one per target kind: cumulative counters
// get rates beside them (samplers/rate.hpp).
using monitor_process = samplers::with_rates<samplers::process_sampler>;  // kinds self, process
using monitor_host = samplers::with_rates<samplers::system_sampler>;      // kind host
using monitor_cgroup = samplers::with_rates<samplers::cgroup_sampler>;    // kind cgroup
using monitor_scrape = samplers::scrape_sampler;                          // kind scrape
using monitor_registry = samplers::registry_sampler<registry>;            // kind registry

/// The monitor's poller over `Pipeline`: it can track every kind.
template <class Pipeline>
using monitor_poller = poller<Pipeline, monitor_process, monitor_host, monitor_cgroup,
                              monitor_scrape, monitor_registry>;

/// Turns a target spec into a sampler held in `Any` (a poller's
/// `any_sampler`), checking what the API cannot: that the process exists, the
/// cgroup lies under the cgroup root, the scrape URL is allowed. A kind whose
/// sampler `Any` cannot hold is refused like an unknown kind, so a poller over
/// fewer sampler types (a relay that only scrapes) uses the same factory.
template <class Any>
struct sampler_factory {
  const registry* reg = nullptr;                         // kind registry: null refuses it
  std::shared_ptr<const net::allowlist> scrape_allow{};  // null: scrapes may connect anywhere
  std::filesystem::path cgroup_root = "/sys/fs/cgroup";
  /// Not empty: every sampler's samples carry host=<host> (a spec that sets a
  /// `host` label keeps its own), so monitors of a fleet sharing one store
  /// keep the same target on two machines apart.
  std::string host{};

  result<Any> operator()(const target_spec& spec) const {
    namespace fs = std::filesystem;
    const bool stamp = !host.empty() && spec.labels.get("host").empty();
    target_spec with_host;
    if (stamp) {
      with_host = spec;
      with_host.labels = spec.labels.with("host", host);
    }
    const target_spec& s = stamp ? with_host : spec;
    if (s.kind == "self" && holds<monitor_process>())
      return make<monitor_process>(samplers::process_sampler::self(s.labels));
    if (s.kind == "host" && holds<monitor_host>())
      return make<monitor_host>(samplers::system_sampler(s.labels));
    if (s.kind == "registry" && reg && holds<monitor_registry>())
      return make<monitor_registry>(*reg, s.labels, "vitals");
    if (s.kind == "process" && holds<monitor_process>()) {
      std::error_code ec;
      if (!fs::is_directory("/proc/" + std::to_string(s.pid), ec))
        return error(errc::invalid_argument, "pid: no process " + std::to_string(s.pid));
      return make<monitor_process>(samplers::process_sampler(s.pid, s.labels));
    }
    if (s.kind == "cgroup" && holds<monitor_cgroup>()) {
      std::error_code ec;
      const auto dir = fs::weakly_canonical(s.path, ec);
      const auto rel = dir.lexically_relative(cgroup_root);
      if (ec || rel.empty() || *rel.begin() == ".." || !fs::is_directory(dir, ec))
        return error(errc::invalid_argument,
                     "path: not a cgroup directory under " + cgroup_root.string() + ": " + s.path);
      return make<monitor_cgroup>(samplers::cgroup_sampler(dir.string(), s.labels));
    }
    if (s.kind == "scrape" && holds<monitor_scrape>()) {
      if (auto st = samplers::check_scrape_target(s.url, scrape_allow.get()); !st)
        return error(errc::invalid_argument, "url: " + st.error().message);
      for (auto [key, name] : {std::pair{"requests_counter", &s.requests_counter},
                               std::pair{"latency_histogram", &s.latency_histogram}})
        if (!name->empty())
          if (auto st = samplers::check_scrape_family(key, *name); !st) return st.error();
      return make<monitor_scrape>(s.url,
                                  samplers::scrape_options{.labels = s.labels,
                                                           .requests_counter = s.requests_counter,
                                                           .latency_histogram = s.latency_histogram,
                                                           .allow = scrape_allow});
    }
    for (std::string_view known : {"self", "host", "registry", "process", "cgroup", "scrape"})
      if (s.kind == known)
        return error(errc::invalid_argument, "kind: '" + s.kind + "' is not sampled here");
    return error(errc::invalid_argument, "kind: unknown kind '" + s.kind + "'");
  }

 private:
  template <class S>
  static constexpr bool holds() {
    return std::is_constructible_v<Any, S>;
  }
  // Only instantiated where holds<S>(): the branches above are discarded
  // at run time, so construction goes through here to compile for any Any.
  template <class S, class... Args>
  static result<Any> make(Args&&... args) {
    if constexpr (holds<S>())
      return Any(S(std::forward<Args>(args)...));
    else
      return error(errc::invalid_argument, "kind: not sampled here");
  }
};

}  // namespace vitals::http
