// The one atomic file write of vitals (the spool, the importers' watermarks,
// session files): a private temporary file beside the target, created with
// O_CREAT|O_EXCL|O_NOFOLLOW (never an existing file, never through a link),
// written whole (short writes and EINTR retried), fsynced, renamed over the
// target, and the directory fsynced. Every step's result is checked: a
// reader sees the old file or the new one, never a part.
#pragma once

#include <fcntl.h>
#include <unistd.h>

#include <atomic>
#include <cerrno>
#include <cstring>
#include <filesystem>
#include <random>
#include <string>
#include <string_view>

#include "vitals/core/error.hpp"

namespace vitals::detail {

inline std::string errno_message(int e) { return std::strerror(e); }

/// Writes all of `data` to `fd` with `write_fn` (::write by default),
/// retrying short writes and EINTR. Returns 0, or the errno that stopped it.
/// A writer that makes no progress (returns 0) stops the loop with EIO, so
/// it always ends.
template <class WriteFn>
int write_all(int fd, std::string_view data, WriteFn&& write_fn) {
  const char* p = data.data();
  std::size_t left = data.size();
  while (left > 0) {
    const ssize_t n = write_fn(fd, p, left);
    if (n < 0) {
      if (errno == EINTR) continue;
      return errno;
    }
    if (n == 0 || static_cast<std::size_t>(n) > left) return EIO;
    p += n;
    left -= static_cast<std::size_t>(n);
  }
  return 0;
}

inline int write_all(int fd, std::string_view data) {
  return write_all(fd, data, [](int f, const void* b, std::size_t n) { return ::write(f, b, n); });
}

/// fsync, retried on EINTR; 0 or the errno.
inline int fsync_checked(int fd) {
  for (int i = 0; i < 100; ++i) {  // bounded: EINTR cannot repeat forever
    if (::fsync(fd) == 0) return 0;
    if (errno != EINTR) return errno;
  }
  return EINTR;
}

/// Opens a new file for writing: fails when anything (a file, a symlink,
/// even a dangling one) is already at `path`.
inline int create_exclusive(const std::filesystem::path& path, int mode = 0644) {
  return ::open(path.c_str(), O_WRONLY | O_CREAT | O_EXCL | O_NOFOLLOW | O_CLOEXEC, mode);
}

/// fsyncs the directory `dir`, so that a rename in it survives a crash.
inline status fsync_directory(const std::filesystem::path& dir) {
  const auto d = dir.empty() ? std::filesystem::path(".") : dir;
  const int dfd = ::open(d.c_str(), O_RDONLY | O_DIRECTORY | O_CLOEXEC);
  if (dfd < 0)
    return error(errc::io_error, "cannot open " + d.string() + ": " + errno_message(errno));
  const int e = fsync_checked(dfd);
  ::close(dfd);
  if (e != 0 && e != EINVAL)  // EINVAL: a file system that cannot sync directories
    return error(errc::io_error, "cannot fsync " + d.string() + ": " + errno_message(e));
  return {};
}

/// The temporary names start with ".tmp-" so that a cleanup can find the
/// ones a crash left behind; the process id, a counter and a random salt
/// make them unique and not guessable in advance.
inline std::filesystem::path temp_name_for(const std::filesystem::path& path) {
  static std::atomic<std::uint64_t> seq{0};
  static const unsigned salt = std::random_device{}();
  return path.parent_path() /
         (".tmp-" + path.filename().string() + "-" + std::to_string(::getpid()) + "-" +
          std::to_string(seq.fetch_add(1)) + "-" + std::to_string(salt));
}

/// Replaces `path` with `data`, whole or not at all. `durable` false skips
/// the fsyncs (tests, benchmarks); the rest is the same.
inline status atomic_write_file(const std::filesystem::path& path, std::string_view data,
                                bool durable = true) {
  const auto tmp = temp_name_for(path);
  const int fd = create_exclusive(tmp);
  if (fd < 0)
    return error(errc::io_error, "cannot create " + tmp.string() + ": " + errno_message(errno));
  int e = write_all(fd, data);
  if (e == 0 && durable) e = fsync_checked(fd);
  if (::close(fd) != 0 && e == 0) e = errno;
  if (e == 0 && ::rename(tmp.c_str(), path.c_str()) != 0) e = errno;
  if (e != 0) {
    ::unlink(tmp.c_str());
    return error(errc::io_error, "cannot write " + path.string() + ": " + errno_message(e));
  }
  if (durable) return fsync_directory(path.parent_path());
  return {};
}

}  // namespace vitals::detail
