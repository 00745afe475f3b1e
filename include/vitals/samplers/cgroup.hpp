// Samples one cgroup v2 directory (cpu.stat, memory.*, io.stat, pids.*) and the
// network of a member process under cAdvisor's names. A controller that is not
// enabled is skipped; a missing directory is an error value naming the path.
#pragma once

#include <sys/stat.h>

#include <cerrno>
#include <cstring>
#include <optional>
#include <string>
#include <string_view>

#include "vitals/core/concepts.hpp"
#include "vitals/samplers/detail/procfs.hpp"

namespace vitals::samplers {

/// Metric names, as cAdvisor exposes them. Values are cumulative counters
/// unless named otherwise; every sample carries the constructor's labels.
///   cpu.stat       usage/user/system_usec -> container_cpu_{usage,user,system}_seconds_total,
///                  nr_periods -> container_cpu_cfs_periods_total,
///                  nr_throttled -> container_cpu_cfs_throttled_periods_total,
///                  throttled_usec -> container_cpu_cfs_throttled_seconds_total
///   memory.current -> container_memory_usage_bytes, and
///                  container_memory_working_set_bytes = usage - inactive_file, floored at 0
///   memory.stat    anon -> container_memory_rss, file -> container_memory_cache,
///                  file_mapped -> container_memory_mapped_file,
///                  kernel -> container_memory_kernel_usage,
///                  (in)active_file -> container_memory_total_{active,inactive}_file_bytes
///   memory.swap.current -> container_memory_swap
///   memory.max     -> container_spec_memory_limit_bytes ("max", no limit, is 0 as in cAdvisor)
///   memory.events  oom_kill -> container_oom_events_total
///   io.stat        {device="MAJ:MIN"} rbytes, wbytes, rios, wios ->
///                  container_fs_{reads_bytes,writes_bytes,reads,writes}_total
///   pids.current   -> container_threads (it counts tasks, i.e. threads: cAdvisor's name for it),
///   pids.max       -> container_threads_max (0 is unlimited, as cAdvisor),
///   cgroup.procs   number of entries -> container_processes
///   <proc_root>/<first member pid>/net/dev {interface}: container_network_{receive,transmit}_
///                  {bytes,packets,errors,packets_dropped}_total; lo, veth*, docker* and nerdctl*
///                  are left out as cAdvisor does. No member process: no network samples.
class cgroup_sampler {
 public:
  /// `dir` is the cgroup's directory (for example /sys/fs/cgroup/system.slice/foo.service);
  /// `labels` are added to every sample; `proc_root` is where member pids are looked up.
  explicit cgroup_sampler(std::string dir, label_set labels = {}, std::string proc_root = "/proc")
      : dir_(trim_slashes(std::move(dir))),
        labels_(std::move(labels)),
        proc_root_(std::move(proc_root)),
        name_("cgroup:" + dir_) {}

  /// The calling process's own cgroup v2 directory: the `0::/path` line of
  /// <proc_root>/self/cgroup under the cgroup2 mount of <proc_root>/self/mountinfo
  /// (/sys/fs/cgroup when none is listed). Empty when there is no v2 hierarchy
  /// (a pure v1 host) or the directory does not exist.
  static std::optional<std::string> self_dir(const std::string& proc_root = "/proc") {
    std::string buf;
    if (!detail::read_file(proc_root + "/self/cgroup", buf)) return std::nullopt;
    std::optional<std::string> rel;
    detail::for_each_line(buf, [&](std::string_view line) {
      if (line.starts_with("0::")) rel = std::string(line.substr(3));
    });
    if (!rel || rel->empty() || rel->front() != '/') return std::nullopt;

    std::optional<std::string> dir;
    if (detail::read_file(proc_root + "/self/mountinfo", buf)) {
      detail::for_each_line(buf, [&](std::string_view line) {
        if (!dir) dir = under_cgroup2_mount(line, *rel);
      });
    }
    if (!dir) dir = join("/sys/fs/cgroup", *rel);
    struct stat st {};
    if (::stat(dir->c_str(), &st) != 0 || !S_ISDIR(st.st_mode)) return std::nullopt;
    return dir;
  }

  std::string_view name() const noexcept { return name_; }
  const std::string& dir() const noexcept { return dir_; }

  status collect(sample_batch& out, timestamp now) {
    struct stat st {};
    if (::stat(dir_.c_str(), &st) != 0) {
      const int err = errno;
      return error(std::error_code(err, std::generic_category()),
                   "cgroup directory " + dir_ + ": " + std::strerror(err));
    }
    if (!S_ISDIR(st.st_mode))
      return error(errc::not_found, "cgroup directory " + dir_ + ": not a directory");
    found_any_ = false;
    cpu(out, now);
    memory(out, now);
    io(out, now);
    pids_and_network(out, now);
    // Every cgroup v2 directory has cpu.stat and cgroup.procs: with neither, the
    // path is not a cgroup v2 directory (a v1 path, or the cgroup was just removed).
    if (!found_any_)
      return error(errc::not_found, "cgroup directory " + dir_ + ": no cgroup v2 files");
    return {};
  }

 private:
  /// Reads an optional file of the cgroup into buf_; false when absent or unreadable.
  bool read(const char* file) {
    if (!detail::read_file(dir_ + "/" + file, buf_)) return false;
    found_any_ = true;
    return true;
  }

  /// A single-value file: a number, or "max" read as `max_value`.
  bool read_value(const char* file, double& v, double max_value = 0) {
    if (!read(file)) return false;
    std::string_view s(buf_);
    while (!s.empty() && (s.back() == '\n' || s.back() == ' ')) s.remove_suffix(1);
    if (s == "max") {
      v = max_value;
      return true;
    }
    return detail::to_number(s, v);
  }

  /// Calls f(key, value) for each "key value" line of buf_.
  template <class F>
  void for_each_pair(F&& f) {
    detail::for_each_line(buf_, [&](std::string_view line) {
      detail::fields fl(line);
      std::string_view key, tok;
      double v = 0;
      if (fl.next(key) && fl.next(tok) && detail::to_number(tok, v)) f(key, v);
    });
  }

  void add(sample_batch& out, timestamp now, const char* name, double v) {
    out.push_back({series(name, labels_), now, v});
  }
  void add(sample_batch& out, timestamp now, const char* name, double v, const label_set& l) {
    out.push_back({series(name, l), now, v});
  }

  void cpu(sample_batch& out, timestamp now) {
    if (!read("cpu.stat")) return;
    for_each_pair([&](std::string_view key, double v) {
      if (key == "usage_usec")
        add(out, now, "container_cpu_usage_seconds_total", v / 1e6);
      else if (key == "user_usec")
        add(out, now, "container_cpu_user_seconds_total", v / 1e6);
      else if (key == "system_usec")
        add(out, now, "container_cpu_system_seconds_total", v / 1e6);
      else if (key == "nr_periods")
        add(out, now, "container_cpu_cfs_periods_total", v);
      else if (key == "nr_throttled")
        add(out, now, "container_cpu_cfs_throttled_periods_total", v);
      else if (key == "throttled_usec")
        add(out, now, "container_cpu_cfs_throttled_seconds_total", v / 1e6);
    });
  }

  void memory(sample_batch& out, timestamp now) {
    double usage = 0, v = 0;
    const bool has_usage = read_value("memory.current", usage);
    double inactive_file = 0;
    if (read("memory.stat")) {
      for_each_pair([&](std::string_view key, double x) {
        if (key == "anon")
          add(out, now, "container_memory_rss", x);
        else if (key == "file")
          add(out, now, "container_memory_cache", x);
        else if (key == "file_mapped")
          add(out, now, "container_memory_mapped_file", x);
        else if (key == "kernel")
          add(out, now, "container_memory_kernel_usage", x);
        else if (key == "active_file")
          add(out, now, "container_memory_total_active_file_bytes", x);
        else if (key == "inactive_file") {
          add(out, now, "container_memory_total_inactive_file_bytes", x);
          inactive_file = x;
        }
      });
    }
    if (has_usage) {
      add(out, now, "container_memory_usage_bytes", usage);
      add(out, now, "container_memory_working_set_bytes",
          usage > inactive_file ? usage - inactive_file : 0);
    }
    if (read_value("memory.swap.current", v)) add(out, now, "container_memory_swap", v);
    if (read_value("memory.max", v)) add(out, now, "container_spec_memory_limit_bytes", v);
    if (read("memory.events")) {
      for_each_pair([&](std::string_view key, double x) {
        if (key == "oom_kill") add(out, now, "container_oom_events_total", x);
      });
    }
  }

  void io(sample_batch& out, timestamp now) {
    if (!read("io.stat")) return;
    detail::for_each_line(buf_, [&](std::string_view line) {
      detail::fields f(line);
      std::string_view dev, tok;
      if (!f.next(dev)) return;
      const label_set l = labels_.with("device", std::string(dev));
      while (f.next(tok)) {
        const auto eq = tok.find('=');
        double v = 0;
        if (eq == std::string_view::npos || !detail::to_number(tok.substr(eq + 1), v)) continue;
        const std::string_view key = tok.substr(0, eq);
        if (key == "rbytes")
          add(out, now, "container_fs_reads_bytes_total", v, l);
        else if (key == "wbytes")
          add(out, now, "container_fs_writes_bytes_total", v, l);
        else if (key == "rios")
          add(out, now, "container_fs_reads_total", v, l);
        else if (key == "wios")
          add(out, now, "container_fs_writes_total", v, l);
      }
    });
  }

  void pids_and_network(sample_batch& out, timestamp now) {
    double v = 0;
    if (read_value("pids.current", v)) add(out, now, "container_threads", v);
    if (read_value("pids.max", v)) add(out, now, "container_threads_max", v);
    if (!read("cgroup.procs")) return;
    // Up to three members are tried, so a first pid that exits between the two
    // reads does not lose the tick's network samples.
    std::string candidates[3];
    int n = 0, processes = 0;
    detail::for_each_line(buf_, [&](std::string_view line) {
      if (line.empty()) return;
      ++processes;
      if (n < 3) candidates[n++] = std::string(line);
    });
    add(out, now, "container_processes", processes);
    for (int i = 0; i < n; ++i)
      if (network(out, now, candidates[i])) return;
  }

  bool network(sample_batch& out, timestamp now, const std::string& pid) {
    if (!detail::read_file(proc_root_ + "/" + pid + "/net/dev", buf_)) return false;
    // Columns of /proc/net/dev used by cAdvisor, by position after the colon.
    static constexpr struct {
      int column;
      const char* name;
    } columns[] = {{0, "container_network_receive_bytes_total"},
                   {1, "container_network_receive_packets_total"},
                   {2, "container_network_receive_errors_total"},
                   {3, "container_network_receive_packets_dropped_total"},
                   {8, "container_network_transmit_bytes_total"},
                   {9, "container_network_transmit_packets_total"},
                   {10, "container_network_transmit_errors_total"},
                   {11, "container_network_transmit_packets_dropped_total"}};
    detail::for_each_line(buf_, [&](std::string_view line) {
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) return;  // the two header lines
      std::string_view ifname = line.substr(0, colon);
      while (!ifname.empty() && ifname.front() == ' ') ifname.remove_prefix(1);
      if (ignored_interface(ifname)) return;
      double v[12] = {};
      detail::fields f(line.substr(colon + 1));
      std::string_view tok;
      for (double& x : v)
        if (!f.next(tok) || !detail::to_number(tok, x)) return;
      const label_set l = labels_.with("interface", std::string(ifname));
      for (const auto& c : columns) add(out, now, c.name, v[c.column], l);
    });
    return true;
  }

  static bool ignored_interface(std::string_view name) {
    auto starts = [&](std::string_view prefix) {
      if (name.size() < prefix.size()) return false;
      for (std::size_t i = 0; i < prefix.size(); ++i) {
        const char c = name[i];
        if ((c >= 'A' && c <= 'Z' ? static_cast<char>(c - 'A' + 'a') : c) != prefix[i])
          return false;
      }
      return true;
    };
    return starts("lo") || starts("veth") || starts("docker") || starts("nerdctl");
  }

  static std::string trim_slashes(std::string s) {
    while (s.size() > 1 && s.back() == '/') s.pop_back();
    return s;
  }

  static std::string join(std::string_view base, std::string_view rel) {
    std::string s = trim_slashes(std::string(base));
    if (rel == "/") return s;
    if (s == "/") s.clear();
    return s += rel;
  }

  /// mountinfo escapes space, tab, newline and backslash as \ooo.
  static std::string unescape(std::string_view s) {
    std::string r;
    r.reserve(s.size());
    for (std::size_t i = 0; i < s.size(); ++i) {
      if (s[i] == '\\' && i + 3 < s.size() && s[i + 1] >= '0' && s[i + 1] <= '3' &&
          s[i + 2] >= '0' && s[i + 2] <= '7' && s[i + 3] >= '0' && s[i + 3] <= '7') {
        r += static_cast<char>((s[i + 1] - '0') * 64 + (s[i + 2] - '0') * 8 + (s[i + 3] - '0'));
        i += 3;
      } else {
        r += s[i];
      }
    }
    return r;
  }

  /// For a cgroup2 line of mountinfo whose root contains `rel`, the directory of `rel` under it.
  static std::optional<std::string> under_cgroup2_mount(std::string_view line,
                                                        std::string_view rel) {
    const auto sep = line.find(" - ");
    if (sep == std::string_view::npos) return std::nullopt;
    detail::fields tail(line.substr(sep + 3));
    std::string_view fstype;
    if (!tail.next(fstype) || fstype != "cgroup2") return std::nullopt;
    detail::fields f(line.substr(0, sep));
    std::string_view tok, root, mount_point;
    if (!f.next(tok) || !f.next(tok) || !f.next(tok) || !f.next(root) || !f.next(mount_point))
      return std::nullopt;
    const std::string r = unescape(root);
    // A bind mount of a sub-tree shows that sub-tree as its root: `rel` must lie inside it.
    if (r == "/") return join(unescape(mount_point), rel);
    if (!rel.starts_with(r) || (rel.size() > r.size() && rel[r.size()] != '/')) return std::nullopt;
    const std::string_view inner =
        rel.size() == r.size() ? std::string_view("/") : rel.substr(r.size());
    return join(unescape(mount_point), inner);
  }

  std::string dir_;
  label_set labels_;
  std::string proc_root_, name_;
  std::string buf_;
  bool found_any_ = false;
};

static_assert(sampler<cgroup_sampler>);

}  // namespace vitals::samplers
