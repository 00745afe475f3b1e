// Small helpers to read /proc files: whole-file reads into a reused buffer,
// and a field splitter. The proc root is a parameter so tests can use a copy.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <cerrno>
#include <charconv>
#include <cstdint>
#include <cstring>
#include <string>
#include <string_view>

#include "vitals/core/error.hpp"

namespace vitals::samplers::detail {

/// Reads a whole (small, virtual) file; /proc files report size 0, so read until EOF.
inline status read_file(const std::string& path, std::string& out) {
  out.clear();
  const int fd = ::open(path.c_str(), O_RDONLY | O_CLOEXEC);
  if (fd < 0)
    return error(std::error_code(errno, std::generic_category()),
                 "open " + path + ": " + std::strerror(errno));
  char buf[8192];
  for (;;) {
    const ssize_t n = ::read(fd, buf, sizeof buf);
    if (n > 0) {
      out.append(buf, static_cast<std::size_t>(n));
      continue;
    }
    if (n < 0 && errno == EINTR) continue;
    const int err = errno;
    ::close(fd);
    if (n < 0)
      return error(std::error_code(err, std::generic_category()),
                   "read " + path + ": " + std::strerror(err));
    return {};
  }
}

/// Splits on runs of spaces and tabs.
class fields {
 public:
  explicit fields(std::string_view s) : s_(s) {}
  bool next(std::string_view& out) {
    while (pos_ < s_.size() && (s_[pos_] == ' ' || s_[pos_] == '\t')) ++pos_;
    if (pos_ >= s_.size()) return false;
    const std::size_t start = pos_;
    while (pos_ < s_.size() && s_[pos_] != ' ' && s_[pos_] != '\t') ++pos_;
    out = s_.substr(start, pos_ - start);
    return true;
  }

 private:
  std::string_view s_;
  std::size_t pos_ = 0;
};

template <class T>
bool to_number(std::string_view s, T& out) {
  auto [p, ec] = std::from_chars(s.data(), s.data() + s.size(), out);
  return ec == std::errc{} && p == s.data() + s.size();
}

/// Calls f(line) for each line.
template <class F>
void for_each_line(std::string_view text, F&& f) {
  while (!text.empty()) {
    const auto nl = text.find('\n');
    f(text.substr(0, nl));
    if (nl == std::string_view::npos) break;
    text.remove_prefix(nl + 1);
  }
}

}  // namespace vitals::samplers::detail
