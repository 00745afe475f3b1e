// Appends one JSON object per sample to a file: {"name","labels","t","v"}
// with t in unix milliseconds, non-finite values as "NaN", "+Inf", "-Inf".
// When the file passes `max_bytes` it is renamed to <file>.1 (older ones
// shift to .2 ... .<keep>) and a new file is started.
#pragma once

#include <boost/json.hpp>

#include <cerrno>
#include <cmath>
#include <cstdio>
#include <cstring>
#include <filesystem>
#include <mutex>
#include <span>
#include <string>

#include "vitals/core/concepts.hpp"

namespace vitals::sinks {

struct jsonl_options {
  std::uintmax_t max_bytes = 64u << 20;
  int keep = 3;  // rotated files kept
};

class jsonl_sink {
 public:
  explicit jsonl_sink(std::filesystem::path file, jsonl_options o = {})
      : path_(std::move(file)), opts_(o) {}
  ~jsonl_sink() { close(); }
  jsonl_sink(const jsonl_sink&) = delete;
  jsonl_sink& operator=(const jsonl_sink&) = delete;

  status write(std::span<const sample> batch) {
    std::lock_guard lock(mu_);
    if (auto s = ensure_open(); !s) return s;
    line_.clear();
    for (const auto& s : batch) {
      boost::json::object o;
      o["name"] = s.series.name();
      boost::json::object labels;
      for (const auto& l : s.series.labels()) labels[l.name] = l.value;
      o["labels"] = std::move(labels);
      o["t"] = to_unix_ms(s.t);
      if (std::isfinite(s.value) && std::trunc(s.value) == s.value && std::abs(s.value) < 9.0e15)
        o["v"] = static_cast<std::int64_t>(s.value);  // "42", not Boost.JSON's "4.2E1"
      else if (std::isfinite(s.value))
        o["v"] = s.value;
      else
        o["v"] = std::isnan(s.value) ? "NaN" : (s.value > 0 ? "+Inf" : "-Inf");
      line_ += boost::json::serialize(o);
      line_ += '\n';
    }
    if (std::fwrite(line_.data(), 1, line_.size(), f_) != line_.size())
      return error(errc::io_error, "write " + path_.string() + ": " + std::strerror(errno));
    written_ += line_.size();
    if (written_ >= opts_.max_bytes) return rotate();
    return {};
  }

  status flush() {
    std::lock_guard lock(mu_);
    if (f_ && std::fflush(f_) != 0)
      return error(errc::io_error, "flush " + path_.string() + ": " + std::strerror(errno));
    return {};
  }

  const std::filesystem::path& path() const noexcept { return path_; }

 private:
  status ensure_open() {
    if (f_) return {};
    f_ = std::fopen(path_.c_str(), "ab");
    if (!f_) return error(errc::io_error, "open " + path_.string() + ": " + std::strerror(errno));
    std::error_code ec;
    written_ = std::filesystem::file_size(path_, ec);
    return {};
  }

  void close() {
    if (f_) std::fclose(f_);
    f_ = nullptr;
  }

  status rotate() {
    close();
    std::error_code ec;
    auto numbered = [&](int i) {
      return std::filesystem::path(path_.string() + "." + std::to_string(i));
    };
    std::filesystem::remove(numbered(opts_.keep), ec);
    for (int i = opts_.keep - 1; i >= 1; --i)
      if (std::filesystem::exists(numbered(i)))
        std::filesystem::rename(numbered(i), numbered(i + 1), ec);
    std::filesystem::rename(path_, numbered(1), ec);
    if (ec) return error(errc::io_error, "rotate " + path_.string() + ": " + ec.message());
    written_ = 0;
    return {};
  }

  std::filesystem::path path_;
  jsonl_options opts_;
  std::mutex mu_;
  std::FILE* f_ = nullptr;
  std::uintmax_t written_ = 0;
  std::string line_;
};

static_assert(sink<jsonl_sink>);

}  // namespace vitals::sinks
