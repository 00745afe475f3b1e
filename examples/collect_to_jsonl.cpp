// Samples this process, its cgroup and the host every interval into a memory store and a
// JSONL file, until SIGINT or SIGTERM (or --duration).
//   collect_to_jsonl [--out FILE] [--interval 1s] [--duration 10s]
#include <boost/asio/io_context.hpp>
#include <boost/asio/signal_set.hpp>
#include <boost/asio/steady_timer.hpp>

#include <cstdio>
#include <cstring>
#include <future>
#include <string>
#include <thread>

#include "vitals/runtime/pipeline.hpp"
#include "vitals/runtime/poller.hpp"
#include "vitals/samplers/cgroup.hpp"
#include "vitals/samplers/process.hpp"
#include "vitals/samplers/rate.hpp"
#include "vitals/samplers/system.hpp"
#include "vitals/sinks/jsonl.hpp"
#include "vitals/stores/memory.hpp"
#include "vitals/stores/query.hpp"

namespace asio = boost::asio;
using namespace vitals;

int main(int argc, char** argv) {
  std::string out = "vitals-samples.jsonl";
  stores::duration interval = std::chrono::seconds(1), duration{0};
  for (int i = 1; i < argc; ++i) {
    const std::string a = argv[i];
    auto next = [&]() -> const char* { return i + 1 < argc ? argv[++i] : ""; };
    auto dur = [&](stores::duration& d) {
      auto r = vitals::parse_duration(next());
      if (!r) std::fprintf(stderr, "%s: %s\n", a.c_str(), r.error().message.c_str()), std::exit(2);
      d = *r;
    };
    if (a == "--out")
      out = next();
    else if (a == "--interval")
      dur(interval);
    else if (a == "--duration")
      dur(duration);
    else
      return std::fprintf(stderr, "usage: %s [--out FILE] [--interval 1s] [--duration 10s]\n",
                          argv[0]),
             2;
  }

  stores::memory_store store;
  sinks::jsonl_sink file(out);
  pipeline pipe(store, file);
  using process = samplers::with_rates<samplers::process_sampler>;
  using host = samplers::with_rates<samplers::system_sampler>;
  using cgroup = samplers::with_rates<samplers::cgroup_sampler>;
  asio::io_context io;
  poller<decltype(pipe), process, host, cgroup> poll(io.get_executor(), pipe,
                                                     poller_options{.interval = interval});
  poll.track("self", process(samplers::process_sampler::self({{"target", "self"}})));
  poll.track("host", host(samplers::system_sampler()));
  if (auto dir = samplers::cgroup_sampler::self_dir())  // cgroup v2 only
    poll.track("cgroup", cgroup(samplers::cgroup_sampler(*dir, {{"target", "self"}})));

  std::promise<void> done;
  asio::signal_set signals(io, SIGINT, SIGTERM);
  signals.async_wait([&](auto, int) { done.set_value(); });
  asio::steady_timer deadline(io);
  if (duration.count() > 0) {
    deadline.expires_after(duration);
    deadline.async_wait([&](auto ec) {
      if (!ec) signals.cancel();  // the signal handler then completes, once
    });
  }
  std::thread runner([&] { io.run(); });
  std::fprintf(stderr, "collecting every %lld ms into %s; Ctrl-C stops\n",
               static_cast<long long>(interval.count()), out.c_str());
  done.get_future().wait();
  poll.stop();  // every sampler coroutine has ended after this
  pipe.flush();
  deadline.cancel();
  io.stop();
  runner.join();

  const auto cpu = stores::query_latest(store, *stores::selector::parse("process_cpu_percent"));
  std::fprintf(stderr, "%zu series, %zu samples, %llu batches; last cpu%% of self: %s\n",
               store.list_series().size(), store.sample_count(),
               static_cast<unsigned long long>(pipe.batches()),
               cpu.empty() ? "n/a" : std::to_string(cpu[0].second.value).c_str());
  return pipe.sink_failures(0) == 0 ? 0 : 1;
}
