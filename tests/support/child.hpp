// A program under test, run as a user would: its own process, stdout read
// line by line, stopped by a signal, its exit status checked.
#pragma once

#include <fcntl.h>
#include <poll.h>
#include <signal.h>
#include <sys/wait.h>
#include <unistd.h>

#include <chrono>
#include <optional>
#include <regex>
#include <string>
#include <thread>
#include <vector>

namespace vitals::test {

class child {
 public:
  /// Starts `argv[0]` with the arguments; stderr goes to stdout.
  explicit child(std::vector<std::string> argv) {
    int fds[2];
    if (::pipe(fds) != 0) return;
    pid_ = ::fork();
    if (pid_ == 0) {
      ::dup2(fds[1], 1);
      ::dup2(fds[1], 2);
      ::close(fds[0]);
      ::close(fds[1]);
      std::vector<char*> args;
      for (auto& a : argv) args.push_back(a.data());
      args.push_back(nullptr);
      ::execv(args[0], args.data());
      ::_exit(127);
    }
    ::close(fds[1]);
    out_ = fds[0];
  }
  ~child() {
    if (pid_ > 0 && !status_) {
      ::kill(pid_, SIGKILL);
      ::waitpid(pid_, nullptr, 0);
    }
    if (out_ >= 0) ::close(out_);
  }
  child(const child&) = delete;
  child& operator=(const child&) = delete;

  pid_t pid() const noexcept { return pid_; }

  /// Reads output until `re` matches it (the first capture group, or the
  /// whole match), or the timeout.
  std::optional<std::string> wait_for(
      const std::string& re, std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const std::regex pattern(re);
    const auto end = std::chrono::steady_clock::now() + timeout;
    for (;;) {
      std::smatch m;
      if (std::regex_search(output_, m, pattern)) return m.size() > 1 ? m[1].str() : m[0].str();
      if (!read_some(end)) return std::nullopt;
    }
  }

  /// Sends `sig` and waits for the exit; the exit code, 128 + signal when
  /// killed, or nullopt when it did not end in time.
  std::optional<int> stop(int sig = SIGTERM,
                          std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    if (!status_) ::kill(pid_, sig);
    return wait(timeout);
  }

  std::optional<int> wait(std::chrono::milliseconds timeout = std::chrono::seconds(20)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!status_) {
      int st = 0;
      if (::waitpid(pid_, &st, WNOHANG) == pid_) {
        status_ = WIFEXITED(st) ? WEXITSTATUS(st) : 128 + WTERMSIG(st);
        break;
      }
      if (std::chrono::steady_clock::now() > end) return std::nullopt;
      read_some(std::chrono::steady_clock::now() + std::chrono::milliseconds(20));
    }
    while (read_some(std::chrono::steady_clock::now() + std::chrono::milliseconds(50))) {
    }
    return status_;
  }

  const std::string& output() const noexcept { return output_; }

 private:
  bool read_some(std::chrono::steady_clock::time_point end) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (out_ < 0 || left.count() <= 0) return false;
    pollfd p{out_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[4096];
    const auto n = ::read(out_, buf, sizeof buf);
    if (n <= 0) return false;
    output_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  pid_t pid_ = -1;
  int out_ = -1;
  std::string output_;
  std::optional<int> status_;
};

}  // namespace vitals::test
