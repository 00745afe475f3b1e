// Samples the host from /proc/{stat,meminfo,net/dev,diskstats,loadavg} under
// node_exporter's names and labels, so dashboards built for node_exporter
// read vitals data unchanged.
#pragma once

#include <unistd.h>

#include <string>
#include <string_view>

#include "vitals/core/concepts.hpp"
#include "vitals/samplers/detail/procfs.hpp"

namespace vitals::samplers {

class system_sampler {
 public:
  explicit system_sampler(label_set labels = {}, std::string proc_root = "/proc")
      : labels_(std::move(labels)), root_(std::move(proc_root)) {}

  std::string_view name() const noexcept { return "system"; }

  status collect(sample_batch& out, timestamp now) {
    if (auto s = cpu_and_kernel(out, now); !s) return s;
    if (auto s = memory(out, now); !s) return s;
    if (auto s = network(out, now); !s) return s;
    if (auto s = disks(out, now); !s) return s;
    return load(out, now);
  }

 private:
  void add(sample_batch& out, timestamp now, std::string name, double v, label_set l) {
    out.push_back({series(std::move(name), std::move(l)), now, v});
  }
  void add(sample_batch& out, timestamp now, std::string name, double v) {
    add(out, now, std::move(name), v, labels_);
  }

  status cpu_and_kernel(sample_batch& out, timestamp now) {
    if (auto s = detail::read_file(root_ + "/stat", buf_); !s) return s;
    static constexpr const char* modes[] = {"user",   "nice", "system",  "idle",
                                            "iowait", "irq",  "softirq", "steal"};
    const double hz = static_cast<double>(::sysconf(_SC_CLK_TCK));
    detail::for_each_line(buf_, [&](std::string_view line) {
      detail::fields f(line);
      std::string_view key, tok;
      if (!f.next(key)) return;
      if (key.starts_with("cpu") &&
          key.size() > 3) {  // per-cpu lines; the total "cpu" is derivable
        const label_set cpu = labels_.with("cpu", std::string(key.substr(3)));
        for (const char* mode : modes) {
          double v = 0;
          if (!f.next(tok) || !detail::to_number(tok, v)) break;
          add(out, now, "node_cpu_seconds_total", v / hz, cpu.with("mode", mode));
        }
        return;
      }
      double v = 0;
      if (!f.next(tok) || !detail::to_number(tok, v)) return;
      if (key == "ctxt")
        add(out, now, "node_context_switches_total", v);
      else if (key == "btime")
        add(out, now, "node_boot_time_seconds", v);
      else if (key == "processes")
        add(out, now, "node_forks_total", v);
      else if (key == "procs_running")
        add(out, now, "node_procs_running", v);
      else if (key == "procs_blocked")
        add(out, now, "node_procs_blocked", v);
    });
    return {};
  }

  status memory(sample_batch& out, timestamp now) {
    if (auto s = detail::read_file(root_ + "/meminfo", buf_); !s) return s;
    detail::for_each_line(buf_, [&](std::string_view line) {
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) return;
      detail::fields f(line.substr(colon + 1));
      std::string_view num, unit;
      double v = 0;
      if (!f.next(num) || !detail::to_number(num, v)) return;
      const bool kb = f.next(unit) && unit == "kB";
      std::string key(line.substr(0, colon));  // "Active(anon)" -> "Active_anon", as node_exporter
      for (char& c : key)
        if (c == '(' || c == ')') c = '_';
      while (!key.empty() && key.back() == '_') key.pop_back();
      add(out, now, "node_memory_" + key + (kb ? "_bytes" : ""), kb ? v * 1024 : v);
    });
    return {};
  }

  status network(sample_batch& out, timestamp now) {
    if (auto s = detail::read_file(root_ + "/net/dev", buf_); !s) return s;
    static constexpr const char* names[] = {
        "receive_bytes",  "receive_packets",  "receive_errs",       "receive_drop",
        "receive_fifo",   "receive_frame",    "receive_compressed", "receive_multicast",
        "transmit_bytes", "transmit_packets", "transmit_errs",      "transmit_drop",
        "transmit_fifo",  "transmit_colls",   "transmit_carrier",   "transmit_compressed"};
    detail::for_each_line(buf_, [&](std::string_view line) {
      const auto colon = line.find(':');
      if (colon == std::string_view::npos) return;  // the two header lines
      std::string_view dev = line.substr(0, colon);
      while (!dev.empty() && dev.front() == ' ') dev.remove_prefix(1);
      const label_set l = labels_.with("device", std::string(dev));
      detail::fields f(line.substr(colon + 1));
      std::string_view tok;
      for (const char* n : names) {
        double v = 0;
        if (!f.next(tok) || !detail::to_number(tok, v)) break;
        add(out, now, std::string("node_network_") + n + "_total", v, l);
      }
    });
    return {};
  }

  status disks(sample_batch& out, timestamp now) {
    if (auto s = detail::read_file(root_ + "/diskstats", buf_); !s) return s;
    detail::for_each_line(buf_, [&](std::string_view line) {
      detail::fields f(line);
      std::string_view tok, dev;
      double v[11] = {};
      if (!f.next(tok) || !f.next(tok) || !f.next(dev)) return;
      for (double& x : v)
        if (!f.next(tok) || !detail::to_number(tok, x)) return;
      if (dev.starts_with("loop") || dev.starts_with("ram"))
        return;  // as node_exporter's default filter
      const label_set l = labels_.with("device", std::string(dev));
      add(out, now, "node_disk_reads_completed_total", v[0], l);
      add(out, now, "node_disk_read_bytes_total", v[2] * 512,
          l);  // sectors are 512 bytes in this file
      add(out, now, "node_disk_read_time_seconds_total", v[3] / 1000, l);
      add(out, now, "node_disk_writes_completed_total", v[4], l);
      add(out, now, "node_disk_written_bytes_total", v[6] * 512, l);
      add(out, now, "node_disk_write_time_seconds_total", v[7] / 1000, l);
      add(out, now, "node_disk_io_now", v[8], l);
      add(out, now, "node_disk_io_time_seconds_total", v[9] / 1000, l);
    });
    return {};
  }

  status load(sample_batch& out, timestamp now) {
    if (auto s = detail::read_file(root_ + "/loadavg", buf_); !s) return s;
    detail::fields f(buf_);
    std::string_view tok;
    static constexpr const char* names[] = {"node_load1", "node_load5", "node_load15"};
    for (const char* n : names) {
      double v = 0;
      if (f.next(tok) && detail::to_number(tok, v)) add(out, now, n, v);
    }
    return {};
  }

  label_set labels_;
  std::string root_;
  std::string buf_;
};

static_assert(sampler<system_sampler>);

}  // namespace vitals::samplers
