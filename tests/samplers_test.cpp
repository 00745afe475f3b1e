// Samplers against real processes and the real /proc, plus a fixture /proc
// for exact values.
#include <gtest/gtest.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <cstring>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <thread>
#include <vector>

#include "support/helpers.hpp"
#include "vitals/instruments/registry.hpp"
#include "vitals/samplers/process.hpp"
#include "vitals/samplers/rate.hpp"
#include "vitals/samplers/registry.hpp"
#include "vitals/samplers/system.hpp"

namespace {

using vitals::test::value;

using vitals::test::burn_cpu;
using vitals::test::temp_dir;

using namespace vitals;
using namespace vitals::samplers;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

/// A child that allocates and touches `bytes`, burns CPU for `burn`, then waits to be killed.
pid_t spawn_worker(std::size_t bytes, std::chrono::milliseconds burn, int ready_fd) {
  const pid_t pid = ::fork();
  if (pid != 0) return pid;
  std::vector<char> mem(bytes);
  volatile char* touch = mem.data();  // volatile: the compiler may not drop the pages
  for (std::size_t i = 0; i < bytes; i += 4096) touch[i] = 1;
  burn_cpu(burn);
  if (::write(ready_fd, "r", 1) != 1) ::_exit(1);
  for (;;) ::pause();
}

TEST(SamplersProcess, SeesAChildsCpuTimeAndMemory) {
  int fds[2];
  ASSERT_EQ(::pipe(fds), 0);
  constexpr std::size_t bytes = 64u << 20;
  const pid_t child = spawn_worker(bytes, 400ms, fds[1]);
  ASSERT_GT(child, 0);
  process_sampler p(child, {{"target", "worker"}});
  char c;
  ASSERT_EQ(::read(fds[0], &c, 1), 1);  // allocation and burning are done
  sample_batch b;
  const auto t = now();
  ASSERT_TRUE(p.collect(b, t));
  ::kill(child, SIGKILL);
  ::waitpid(child, nullptr, 0);
  ::close(fds[0]);
  ::close(fds[1]);

  EXPECT_GE(*value(b, "process_cpu_seconds_total"), 0.25);
  EXPECT_GE(*value(b, "process_resident_memory_bytes"), double(bytes));
  EXPECT_GE(*value(b, "process_virtual_memory_bytes"), double(bytes));
  EXPECT_GE(*value(b, "process_open_fds"), 3);
  EXPECT_GT(*value(b, "process_max_fds"), 0);
  EXPECT_EQ(*value(b, "process_threads"), 1);
  const double started = *value(b, "process_start_time_seconds");
  EXPECT_NEAR(started, to_unix_seconds(t), 30);
  EXPECT_TRUE(value(b, "process_context_switches_total", "type", "voluntary").has_value());
  for (const auto& s : b) {
    EXPECT_EQ(s.series.labels().get("target"), "worker");
    EXPECT_EQ(s.t, t);
  }
  // The process is gone now: an error value, not an exception.
  sample_batch after;
  auto gone = p.collect(after, now());
  EXPECT_FALSE(gone);
  EXPECT_TRUE(after.empty());
}

TEST(SamplersProcess, CpuTimeGrowsWhileTheProcessWorks) {
  auto self = process_sampler::self();
  sample_batch a, b;
  ASSERT_TRUE(self.collect(a, now()));
  burn_cpu(200ms);
  ASSERT_TRUE(self.collect(b, now()));
  EXPECT_GT(*value(b, "process_cpu_seconds_total"), *value(a, "process_cpu_seconds_total") + 0.1);
}

TEST(SamplersSystem, AgreesWithProcReadIndependently) {
  system_sampler sys;
  sample_batch b;
  ASSERT_TRUE(sys.collect(b, now()));
  // MemTotal and btime, read here with sscanf.
  double mem_kb = 0, btime = 0;
  std::ifstream meminfo("/proc/meminfo");
  for (std::string line; std::getline(meminfo, line);)
    std::sscanf(line.c_str(), "MemTotal: %lf kB", &mem_kb);
  std::ifstream stat("/proc/stat");
  int cpus = 0;
  for (std::string line; std::getline(stat, line);) {
    std::sscanf(line.c_str(), "btime %lf", &btime);
    if (line.starts_with("cpu") && line[3] != ' ') ++cpus;
  }
  EXPECT_EQ(*value(b, "node_memory_MemTotal_bytes"), mem_kb * 1024);
  EXPECT_EQ(*value(b, "node_boot_time_seconds"), btime);
  EXPECT_GT(*value(b, "node_memory_MemAvailable_bytes"), 0);
  int idle = 0;
  for (const auto& s : b)
    idle += s.series.name() == "node_cpu_seconds_total" && s.series.labels().get("mode") == "idle";
  EXPECT_EQ(idle, cpus);
  EXPECT_TRUE(value(b, "node_network_receive_bytes_total", "device", "lo").has_value());
  EXPECT_TRUE(value(b, "node_load1").has_value());
}

TEST(SamplersSystem, ExactValuesFromAFixtureProc) {
  const fs::path root = fs::temp_directory_path() / ("vitals-proc-" + std::to_string(::getpid()));
  fs::create_directories(root / "net");
  auto write = [&](const char* name, const char* text) { std::ofstream(root / name) << text; };
  write("stat",
        "cpu  10 0 10 100 0 0 0 0 0 0\ncpu0 200 3 100 5000 7 1 2 0 0 0\nctxt 12345\nbtime "
        "1700000000\n"
        "processes 99\nprocs_running 2\nprocs_blocked 1\n");
  write("meminfo",
        "MemTotal:       1000 kB\nMemAvailable:    500 kB\nActive(anon):     10 "
        "kB\nHugePages_Total:       0\n");
  write("net/dev",
        "Inter-|   Receive |  Transmit\n face |bytes packets errs drop fifo frame compressed "
        "multicast|bytes\n"
        "  eth0: 1000 10 1 2 0 0 0 0 2000 20 3 4 0 0 0 0\n");
  write("diskstats",
        "   8       0 sda 100 0 800 50 200 0 1600 70 0 90 120\n   7       0 loop0 1 0 8 0 0 0 0 0 "
        "0 0 0\n");
  write("loadavg", "0.50 0.25 0.10 1/100 1234\n");
  system_sampler sys({{"host", "fixture"}}, root.string());
  sample_batch b;
  ASSERT_TRUE(sys.collect(b, now()));
  const double hz = double(::sysconf(_SC_CLK_TCK));
  for (const auto& s : b) {
    if (s.series.name() == "node_cpu_seconds_total" && s.series.labels().get("mode") == "user") {
      EXPECT_DOUBLE_EQ(s.value, 200 / hz);
    }
  }
  EXPECT_EQ(*value(b, "node_context_switches_total"), 12345);
  EXPECT_EQ(*value(b, "node_forks_total"), 99);
  EXPECT_EQ(*value(b, "node_memory_MemTotal_bytes"), 1024000);
  EXPECT_EQ(*value(b, "node_memory_Active_anon_bytes"), 10240);
  EXPECT_EQ(*value(b, "node_memory_HugePages_Total"), 0);
  EXPECT_EQ(*value(b, "node_network_receive_bytes_total", "device", "eth0"), 1000);
  EXPECT_EQ(*value(b, "node_network_transmit_errs_total", "device", "eth0"), 3);
  EXPECT_EQ(*value(b, "node_disk_read_bytes_total", "device", "sda"), 800 * 512);
  EXPECT_EQ(*value(b, "node_disk_written_bytes_total", "device", "sda"), 1600 * 512);
  EXPECT_EQ(*value(b, "node_disk_io_time_seconds_total", "device", "sda"), 0.09);
  EXPECT_FALSE(value(b, "node_disk_read_bytes_total", "device", "loop0").has_value());
  EXPECT_EQ(*value(b, "node_load1"), 0.5);
  EXPECT_EQ(*value(b, "node_load15"), 0.1);
  for (const auto& s : b) EXPECT_EQ(s.series.labels().get("host"), "fixture");
  fs::remove_all(root);
}

TEST(SamplersSystem, AMissingProcIsAnErrorValue) {
  system_sampler sys({}, "/nonexistent-vitals-proc");
  sample_batch b;
  auto r = sys.collect(b, now());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("/nonexistent-vitals-proc/stat"), std::string::npos);
}

TEST(SamplersRegistry, InstrumentsBecomeSamplesWithExpositionNames) {
  registry reg(registry_options{.self_metrics = false});
  reg.counter_family("jobs_total", "h", {"queue"}).with("fast").inc(4);
  reg.gauge("depth", "h").set(2.5);
  reg.histogram("latency_seconds", "h", {0.1, 1}).observe(0.5);
  registry_sampler smp(reg, {{"instance", "me"}});
  static_assert(sampler<decltype(smp)>);
  sample_batch b;
  const auto t = from_unix_ms(1000);
  ASSERT_TRUE(smp.collect(b, t));
  EXPECT_EQ(*value(b, "jobs_total", "queue", "fast"), 4);
  EXPECT_EQ(*value(b, "depth"), 2.5);
  EXPECT_EQ(*value(b, "latency_seconds_bucket", "le", "0.1"), 0);
  EXPECT_EQ(*value(b, "latency_seconds_bucket", "le", "1"), 1);
  EXPECT_EQ(*value(b, "latency_seconds_bucket", "le", "+Inf"), 1);
  EXPECT_EQ(*value(b, "latency_seconds_count"), 1);
  EXPECT_EQ(*value(b, "latency_seconds_sum"), 0.5);
  for (const auto& s : b) {
    EXPECT_EQ(s.series.labels().get("instance"), "me");
    EXPECT_EQ(s.t, t);
  }
}

TEST(SamplersCallback, AnyFunctionIsASampler) {
  int calls = 0;
  callback_sampler smp("answers", [&](sample_batch& out, timestamp t) -> status {
    if (++calls == 2) return error(errc::unavailable, "second call fails");
    out.push_back({series("answer", {}), t, 42});
    return {};
  });
  static_assert(sampler<decltype(smp)>);
  sample_batch b;
  ASSERT_TRUE(smp.collect(b, now()));
  EXPECT_EQ(*value(b, "answer"), 42);
  EXPECT_FALSE(smp.collect(b, now()));
  EXPECT_EQ(smp.name(), "answers");
}

TEST(SamplersRate, PerSecondRatesAreResetSafe) {
  rate_tracker r;
  const series s("bytes_total", {});
  EXPECT_FALSE(r.update(s, from_unix_ms(0), 100));
  EXPECT_DOUBLE_EQ(*r.update(s, from_unix_ms(10'000), 600), 50);
  EXPECT_DOUBLE_EQ(*r.update(s, from_unix_ms(20'000), 40), 4);  // reset: the increase is 40
  EXPECT_FALSE(r.update(s, from_unix_ms(20'000), 50));          // no time passed
}

TEST(SamplersRate, WithRatesDerivesCpuPercentAndPerSecondValues) {
  double cpu = 10, rx = 1000;
  std::int64_t t = 0;
  callback_sampler fake("fake", [&](sample_batch& out, timestamp) -> status {
    out.push_back({series("process_cpu_seconds_total", {{"target", "a"}}), from_unix_ms(t), cpu});
    out.push_back(
        {series("node_network_receive_bytes_total", {{"device", "eth0"}}), from_unix_ms(t), rx});
    out.push_back({series("process_resident_memory_bytes", {}), from_unix_ms(t), 5});
    return {};
  });
  with_rates smp(std::move(fake));
  sample_batch b;
  ASSERT_TRUE(smp.collect(b, now()));
  EXPECT_EQ(b.size(), 3u);  // nothing to derive from a first sample
  cpu = 15, rx = 3000, t = 10'000;
  b.clear();
  ASSERT_TRUE(smp.collect(b, now()));
  EXPECT_DOUBLE_EQ(*value(b, "process_cpu_percent", "target", "a"), 50);  // half a core
  ASSERT_TRUE(value(b, "process_cpu_seconds_per_second").has_value());
  EXPECT_DOUBLE_EQ(*value(b, "process_cpu_seconds_per_second"), 0.5);
  EXPECT_DOUBLE_EQ(*value(b, "node_network_receive_bytes_per_second", "device", "eth0"), 200);
  EXPECT_FALSE(value(b, "process_resident_memory_per_second").has_value());
}

}  // namespace
