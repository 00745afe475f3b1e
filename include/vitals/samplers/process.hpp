// Samples one process by pid from /proc/<pid>/{stat,status,io,fd,limits}
// under the Prometheus client process-collector names, plus disk bytes and
// context switches. A vanished process is an error value, not an exception.
#pragma once

#include <dirent.h>
#include <unistd.h>

#include <string>
#include <string_view>
#include <vector>

#include "vitals/core/concepts.hpp"
#include "vitals/samplers/detail/procfs.hpp"

namespace vitals::samplers {

class process_sampler {
 public:
  /// `labels` are added to every sample (for example {target="agent-1"}).
  explicit process_sampler(int pid, label_set labels = {}, std::string proc_root = "/proc")
      : pid_(pid),
        labels_(std::move(labels)),
        root_(std::move(proc_root)),
        dir_(root_ + "/" + std::to_string(pid)),
        name_("process:" + std::to_string(pid)) {}

  /// The calling process.
  static process_sampler self(label_set labels = {}) {
    return process_sampler(::getpid(), std::move(labels));
  }

  std::string_view name() const noexcept { return name_; }
  int pid() const noexcept { return pid_; }

  status collect(sample_batch& out, timestamp now) {
    if (auto s = detail::read_file(dir_ + "/stat", buf_); !s) return s;
    // The command sits in parentheses and may contain spaces: fields start after the last ')'.
    const auto close = buf_.rfind(')');
    if (close == std::string::npos) return error(errc::parse_error, dir_ + "/stat: no ')'");
    detail::fields f(std::string_view(buf_).substr(close + 1));
    std::string_view tok;
    double utime = 0, stime = 0, threads = 0, start = 0, vsize = 0, rss = 0;
    for (int i = 3; f.next(tok); ++i) {  // field numbers as in proc(5)
      double v = 0;
      if (i == 14 || i == 15 || i == 20 || i == 22 || i == 23 || i == 24) detail::to_number(tok, v);
      if (i == 14)
        utime = v;
      else if (i == 15)
        stime = v;
      else if (i == 20)
        threads = v;
      else if (i == 22)
        start = v;
      else if (i == 23)
        vsize = v;
      else if (i == 24)
        rss = v;
    }
    const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    add(out, now, "process_cpu_seconds_total", (utime + stime) / hz);
    add(out, now, "process_resident_memory_bytes",
        rss * static_cast<double>(::sysconf(_SC_PAGESIZE)));
    add(out, now, "process_virtual_memory_bytes", vsize);
    add(out, now, "process_threads", threads);
    if (boot_time_ > 0 || read_boot_time())
      add(out, now, "process_start_time_seconds", boot_time_ + start / hz);

    if (const int fds = count_fds(); fds >= 0) add(out, now, "process_open_fds", fds);
    // The fd limit rarely changes and /proc/<pid>/limits is one of the
    // slower files to read: refresh it once a minute.
    if (now - limits_read_ >= std::chrono::minutes(1)) {
      max_fds_ = -1;
      if (detail::read_file(dir_ + "/limits", buf_)) {
        detail::for_each_line(buf_, [&](std::string_view line) {
          if (!line.starts_with("Max open files")) return;
          detail::fields lf(line.substr(14));
          std::string_view soft;
          double v = 0;
          if (lf.next(soft) && detail::to_number(soft, v)) max_fds_ = v;
        });
      }
      limits_read_ = now;
    }
    if (max_fds_ >= 0) add(out, now, "process_max_fds", max_fds_);
    if (detail::read_file(dir_ + "/status", buf_)) {
      detail::for_each_line(buf_, [&](std::string_view line) {
        auto value = [&](std::string_view key) {
          detail::fields lf(line.substr(key.size()));
          std::string_view t;
          double v = 0;
          return lf.next(t) && detail::to_number(t, v) ? v : -1.0;
        };
        if (line.starts_with("voluntary_ctxt_switches:"))
          add(out, now, "process_context_switches_total", value("voluntary_ctxt_switches:"),
              "voluntary");
        else if (line.starts_with("nonvoluntary_ctxt_switches:"))
          add(out, now, "process_context_switches_total", value("nonvoluntary_ctxt_switches:"),
              "involuntary");
      });
    }
    // /proc/<pid>/io needs the same user (or ptrace rights): skipped when unreadable.
    if (detail::read_file(dir_ + "/io", buf_)) {
      detail::for_each_line(buf_, [&](std::string_view line) {
        double v = 0;
        if (line.starts_with("read_bytes: ") && detail::to_number(line.substr(12), v))
          add(out, now, "process_io_read_bytes_total", v);
        else if (line.starts_with("write_bytes: ") && detail::to_number(line.substr(13), v))
          add(out, now, "process_io_write_bytes_total", v);
      });
    }
    return {};
  }

 private:
  // Series are built once per (name, kind) and copied after that: a copy
  // shares the labels, so a tick allocates only the names' strings.
  void add(sample_batch& out, timestamp now, const char* name, double v,
           const char* kind = nullptr) {
    for (const auto& c : cache_)
      if (c.name == name && c.kind == kind) return out.push_back({c.s, now, v});
    label_set l = kind ? labels_.with("type", kind) : labels_;
    cache_.push_back({name, kind, series(name, std::move(l))});
    out.push_back({cache_.back().s, now, v});
  }

  bool read_boot_time() {
    if (!detail::read_file(root_ + "/stat", buf_)) return false;
    detail::for_each_line(buf_, [&](std::string_view line) {
      if (line.starts_with("btime ")) detail::to_number(line.substr(6), boot_time_);
    });
    return boot_time_ > 0;
  }

  int count_fds() const {
    DIR* d = ::opendir((dir_ + "/fd").c_str());
    if (!d) return -1;
    int n = 0;
    while (const dirent* e = ::readdir(d))
      if (e->d_name[0] != '.') ++n;
    ::closedir(d);
    return n;
  }

  int pid_;
  label_set labels_;
  std::string root_, dir_, name_;
  std::string buf_;
  double boot_time_ = 0;
  double max_fds_ = -1;
  timestamp limits_read_{};
  struct cached {
    const char* name;
    const char* kind;
    series s;
  };
  std::vector<cached> cache_;
};

static_assert(sampler<process_sampler>);

}  // namespace vitals::samplers
