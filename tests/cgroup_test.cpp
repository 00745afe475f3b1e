// The cgroup sampler against a fixture cgroup directory and fixture /proc for
// exact values, and against this process's own cgroup v2 tree where one exists.
#include <gtest/gtest.h>
#include <unistd.h>

#include <chrono>
#include <cstdio>
#include <ctime>
#include <filesystem>
#include <fstream>
#include <string>

#include "support/helpers.hpp"
#include "vitals/samplers/cgroup.hpp"

namespace {

using vitals::test::value;

using vitals::test::burn_cpu;
using vitals::test::temp_dir;

using namespace vitals;
using namespace vitals::samplers;
using namespace std::chrono_literals;
namespace fs = std::filesystem;

int count(const sample_batch& b, std::string_view prefix) {
  int n = 0;
  for (const auto& s : b) n += s.series.name().starts_with(prefix);
  return n;
}

/// A cgroup directory and a /proc holding <pid>/net/dev for this test's own pid.
class SamplersCgroupFixture : public ::testing::Test {
 protected:
  void SetUp() override {
    const auto* info = ::testing::UnitTest::GetInstance()->current_test_info();
    root_ = fs::temp_directory_path() /
            ("vitals-cgroup-" + std::to_string(::getpid()) + "-" + info->name());
    fs::remove_all(root_);
    cg_ = root_ / "cg" / "system.slice" / "agent.service";
    pid_ = std::to_string(::getpid());
    fs::create_directories(cg_);
    fs::create_directories(root_ / "proc" / pid_ / "net");
    write(
        "cpu.stat",
        "usage_usec 2500000\nuser_usec 2000000\nsystem_usec 500000\nnr_periods 40\nnr_throttled 7\n"
        "throttled_usec 1250000\n");
    write("memory.current", "104857600\n");
    write("memory.max", "536870912\n");
    write("memory.stat",
          "anon 52428800\nfile 41943040\nkernel 3145728\nkernel_stack 65536\nshmem "
          "4096\nfile_mapped 1048576\n"
          "active_file 10485760\ninactive_file 31457280\n");
    write("memory.swap.current", "4096\n");
    write("memory.events", "low 0\nhigh 0\nmax 3\noom 2\noom_kill 1\n");
    write("io.stat",
          "8:0 rbytes=1000 wbytes=2000 rios=10 wios=20 dbytes=0 dios=0\n"
          "259:1 rbytes=5 wbytes=6 rios=1 wios=2 dbytes=0 dios=0\n");
    write("pids.current", "12\n");
    write("pids.max", "4096\n");
    write("cgroup.procs", pid_ + "\n1\n");
    std::ofstream(root_ / "proc" / pid_ / "net" / "dev")
        << "Inter-|   Receive                                                |  Transmit\n"
           " face |bytes    packets errs drop fifo frame compressed multicast|bytes    packets "
           "errs drop fifo colls "
           "carrier compressed\n"
           "    lo:     900       9    0    0    0     0          0         0      900       9    "
           "0    0    0     0 "
           "      0          0\n"
           "  eth0:    1000      10    1    2    0     0          0         0     2000      20    "
           "3    4    0     0 "
           "      0          0\n"
           "veth12ab:    77       7    0    0    0     0          0         0       77       7    "
           "0    0    0     0 "
           "      0          0\n";
  }
  void TearDown() override { fs::remove_all(root_); }

  void write(const char* file, const std::string& text) { std::ofstream(cg_ / file) << text; }

  cgroup_sampler make() const {
    return cgroup_sampler(cg_.string(), {{"target", "agent-1"}}, (root_ / "proc").string());
  }

  fs::path root_, cg_;
  std::string pid_;
};

TEST_F(SamplersCgroupFixture, ExactValuesNamesAndLabels) {
  auto cg = make();
  EXPECT_EQ(cg.name(), "cgroup:" + cg_.string());
  sample_batch b;
  const auto t = now();
  ASSERT_TRUE(cg.collect(b, t));

  EXPECT_EQ(*value(b, "container_cpu_usage_seconds_total"), 2.5);
  EXPECT_EQ(*value(b, "container_cpu_user_seconds_total"), 2.0);
  EXPECT_EQ(*value(b, "container_cpu_system_seconds_total"), 0.5);
  EXPECT_EQ(*value(b, "container_cpu_cfs_periods_total"), 40);
  EXPECT_EQ(*value(b, "container_cpu_cfs_throttled_periods_total"), 7);
  EXPECT_EQ(*value(b, "container_cpu_cfs_throttled_seconds_total"), 1.25);

  EXPECT_EQ(*value(b, "container_memory_usage_bytes"), 104857600);
  EXPECT_EQ(*value(b, "container_memory_working_set_bytes"), 104857600 - 31457280);
  EXPECT_EQ(*value(b, "container_memory_rss"), 52428800);
  EXPECT_EQ(*value(b, "container_memory_cache"), 41943040);
  EXPECT_EQ(*value(b, "container_memory_mapped_file"), 1048576);
  EXPECT_EQ(*value(b, "container_memory_kernel_usage"), 3145728);
  EXPECT_EQ(*value(b, "container_memory_total_active_file_bytes"), 10485760);
  EXPECT_EQ(*value(b, "container_memory_total_inactive_file_bytes"), 31457280);
  EXPECT_EQ(*value(b, "container_memory_swap"), 4096);
  EXPECT_EQ(*value(b, "container_spec_memory_limit_bytes"), 536870912);
  EXPECT_EQ(*value(b, "container_oom_events_total"), 1);  // oom_kill, not oom

  EXPECT_EQ(*value(b, "container_fs_reads_bytes_total", "device", "8:0"), 1000);
  EXPECT_EQ(*value(b, "container_fs_writes_bytes_total", "device", "8:0"), 2000);
  EXPECT_EQ(*value(b, "container_fs_reads_total", "device", "8:0"), 10);
  EXPECT_EQ(*value(b, "container_fs_writes_total", "device", "8:0"), 20);
  EXPECT_EQ(*value(b, "container_fs_writes_total", "device", "259:1"), 2);
  EXPECT_EQ(count(b, "container_fs_"), 8);

  EXPECT_EQ(*value(b, "container_threads"), 12);
  EXPECT_EQ(*value(b, "container_threads_max"), 4096);
  EXPECT_EQ(*value(b, "container_processes"), 2);

  EXPECT_EQ(*value(b, "container_network_receive_bytes_total", "interface", "eth0"), 1000);
  EXPECT_EQ(*value(b, "container_network_receive_packets_total", "interface", "eth0"), 10);
  EXPECT_EQ(*value(b, "container_network_receive_errors_total", "interface", "eth0"), 1);
  EXPECT_EQ(*value(b, "container_network_receive_packets_dropped_total", "interface", "eth0"), 2);
  EXPECT_EQ(*value(b, "container_network_transmit_bytes_total", "interface", "eth0"), 2000);
  EXPECT_EQ(*value(b, "container_network_transmit_packets_total", "interface", "eth0"), 20);
  EXPECT_EQ(*value(b, "container_network_transmit_errors_total", "interface", "eth0"), 3);
  EXPECT_EQ(*value(b, "container_network_transmit_packets_dropped_total", "interface", "eth0"), 4);
  EXPECT_EQ(count(b, "container_network_"), 8);  // lo and veth* are left out, as cAdvisor

  for (const auto& s : b) {
    EXPECT_EQ(s.series.labels().get("target"), "agent-1") << s.series.name();
    EXPECT_EQ(s.t, t);
    EXPECT_TRUE(s.series.name().starts_with("container_")) << s.series.name();
  }
  EXPECT_EQ(b.size(), 6u + 11u + 8u + 3u + 8u);
}

TEST_F(SamplersCgroupFixture, MaxLimitsAreZeroAndWorkingSetIsFloored) {
  write("memory.max", "max\n");
  write("pids.max", "max\n");
  write("memory.current", "1000\n");  // less than inactive_file: the working set floors at 0
  auto cg = make();
  sample_batch b;
  ASSERT_TRUE(cg.collect(b, now()));
  EXPECT_EQ(*value(b, "container_spec_memory_limit_bytes"), 0);
  EXPECT_EQ(*value(b, "container_threads_max"), 0);
  EXPECT_EQ(*value(b, "container_memory_working_set_bytes"), 0);
}

TEST_F(SamplersCgroupFixture, MissingOptionalFilesAreSkipped) {
  for (const char* f : {"io.stat", "memory.stat", "memory.events", "memory.swap.current",
                        "pids.current", "pids.max"})
    fs::remove(cg_ / f);
  auto cg = make();
  sample_batch b;
  ASSERT_TRUE(cg.collect(b, now()));
  EXPECT_EQ(count(b, "container_fs_"), 0);
  EXPECT_FALSE(value(b, "container_memory_rss"));
  EXPECT_FALSE(value(b, "container_memory_swap"));
  EXPECT_FALSE(value(b, "container_oom_events_total"));
  EXPECT_FALSE(value(b, "container_threads"));
  EXPECT_FALSE(value(b, "container_threads_max"));
  // Without memory.stat there is no inactive_file to subtract.
  EXPECT_EQ(*value(b, "container_memory_working_set_bytes"), 104857600);
  EXPECT_EQ(*value(b, "container_cpu_usage_seconds_total"), 2.5);
  EXPECT_EQ(*value(b, "container_processes"), 2);
}

TEST_F(SamplersCgroupFixture, NoMemberProcessMeansNoNetworkAndNoError) {
  write("cgroup.procs", "");
  auto cg = make();
  sample_batch b;
  ASSERT_TRUE(cg.collect(b, now()));
  EXPECT_EQ(count(b, "container_network_"), 0);
  EXPECT_EQ(*value(b, "container_processes"), 0);
}

TEST_F(SamplersCgroupFixture, AVanishedFirstMemberFallsBackToTheNext) {
  write("cgroup.procs", "999999999\n" + pid_ + "\n");
  auto cg = make();
  sample_batch b;
  ASSERT_TRUE(cg.collect(b, now()));
  EXPECT_EQ(*value(b, "container_network_receive_bytes_total", "interface", "eth0"), 1000);
}

TEST_F(SamplersCgroupFixture, AMissingDirectoryIsAnErrorValue) {
  const std::string gone = (root_ / "cg" / "gone.service").string();
  cgroup_sampler cg(gone);
  sample_batch b;
  auto r = cg.collect(b, now());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find(gone), std::string::npos) << r.error().message;
  EXPECT_TRUE(b.empty());
}

TEST_F(SamplersCgroupFixture, ADirectoryWithoutCgroupFilesIsAnErrorValue) {
  cgroup_sampler cg((root_ / "proc").string());
  sample_batch b;
  auto r = cg.collect(b, now());
  ASSERT_FALSE(r);
  EXPECT_NE(r.error().message.find("no cgroup v2 files"), std::string::npos) << r.error().message;
}

TEST_F(SamplersCgroupFixture, SelfDirJoinsTheCgroupLineToTheCgroup2Mount) {
  const fs::path proc = root_ / "fakeproc";
  fs::create_directories(proc / "self");
  const fs::path mnt = root_ / "cgroup two";  // mountinfo escapes the space as \040
  fs::create_directories(mnt / "user.slice" / "session-1.scope");
  fs::create_directories(mnt / "session-1.scope");
  std::string escaped = mnt.string();
  escaped.replace(escaped.find(' '), 1, "\\040");
  auto set = [&](const std::string& cgroup, const std::string& mountinfo) {
    std::ofstream(proc / "self" / "cgroup") << cgroup;
    std::ofstream(proc / "self" / "mountinfo") << mountinfo;
  };
  const std::string v1 =
      "35 31 0:32 / /sys/fs/cgroup/memory rw,relatime - cgroup cgroup rw,memory\n";

  // A hybrid host: v1 controllers, plus the v2 tree at its own mount.
  set("4:memory:/x\n0::/user.slice/session-1.scope\n",
      v1 + "41 31 0:38 / " + escaped + " rw,relatime shared:9 - cgroup2 cgroup2 rw,nsdelegate\n");
  EXPECT_EQ(cgroup_sampler::self_dir(proc.string()),
            (mnt / "user.slice" / "session-1.scope").string());

  // The root cgroup is the mount point itself.
  set("0::/\n", "41 31 0:38 / " + escaped + " rw - cgroup2 cgroup2 rw\n");
  EXPECT_EQ(cgroup_sampler::self_dir(proc.string()), mnt.string());

  // A mount of a sub-tree: its root is cut from the cgroup path.
  set("0::/user.slice/session-1.scope\n",
      "41 31 0:38 /user.slice " + escaped + " rw - cgroup2 cgroup2 rw\n");
  EXPECT_EQ(cgroup_sampler::self_dir(proc.string()), (mnt / "session-1.scope").string());

  // A pure v1 host has no 0:: line; a directory that does not exist is not returned.
  set("4:memory:/x\n", v1);
  EXPECT_FALSE(cgroup_sampler::self_dir(proc.string()));
  set("0::/no/such/cgroup\n", "41 31 0:38 / " + escaped + " rw - cgroup2 cgroup2 rw\n");
  EXPECT_FALSE(cgroup_sampler::self_dir(proc.string()));
  EXPECT_FALSE(cgroup_sampler::self_dir((root_ / "nothing").string()));
}

/// This process's own cgroup v2 directory, or the reason there is none.
std::optional<std::string> own_cgroup(std::string& why_not) {
  auto dir = cgroup_sampler::self_dir();
  if (!dir)
    why_not =
        "no cgroup v2 directory for this process (no 0:: line in /proc/self/cgroup, or no such "
        "directory)";
  return dir;
}

TEST(SamplersCgroupReal, CpuUsageOfTheOwnCgroupGrowsWithWork) {
  std::string why;
  const auto dir = own_cgroup(why);
  if (!dir) GTEST_SKIP() << why;
  cgroup_sampler cg(*dir, {{"target", "self"}});
  sample_batch a, b;
  if (auto r = cg.collect(a, now()); !r)
    GTEST_SKIP() << *dir << " is not readable: " << r.error().message;
  const auto before = value(a, "container_cpu_usage_seconds_total");
  if (!before) GTEST_SKIP() << *dir << "/cpu.stat has no usage_usec";
  std::printf("own cgroup v2 directory: %s, %zu samples\n", dir->c_str(), a.size());
  EXPECT_GT(*before, 0);
  // The directory is this process's own cgroup, so it accounts the work done here.
  burn_cpu(200ms);
  ASSERT_TRUE(cg.collect(b, now()));
  EXPECT_GE(*value(b, "container_cpu_usage_seconds_total"), *before + 0.1);
}

TEST(SamplersCgroupReal, MemoryUsageOfTheOwnCgroupIsPositive) {
  std::string why;
  const auto dir = own_cgroup(why);
  if (!dir) GTEST_SKIP() << why;
  cgroup_sampler cg(*dir);
  sample_batch b;
  if (auto r = cg.collect(b, now()); !r)
    GTEST_SKIP() << *dir << " is not readable: " << r.error().message;
  const auto usage = value(b, "container_memory_usage_bytes");
  if (!usage)
    GTEST_SKIP() << *dir
                 << " has no memory.current: the memory controller is not enabled in this v2 tree "
                 << "(the root cgroup, or a hybrid host with memory on cgroup v1)";
  EXPECT_GT(*usage, 0);
  EXPECT_LE(*value(b, "container_memory_working_set_bytes"), *usage);
}

}  // namespace
