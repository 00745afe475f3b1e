// A real server on 127.0.0.1:0 with the monitor's routes (http::monitor_routes)
// over a memory store, a registry, a usage ledger and a poller with run-time
// targets, run on two threads (built in http_fixture.cpp); plus a raw
// socket for what a well-behaved client never does (oversized bodies, not
// reading, holding connections).
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <chrono>
#include <memory>
#include <string>
#include <thread>
#include <vector>

#include "helpers.hpp"
#include "vitals/http/server.hpp"
#include "vitals/http/sse.hpp"
#include "vitals/net/client.hpp"
#include "vitals/runtime/targets.hpp"
#include "vitals/stores/memory.hpp"

namespace vitals::test {

/// A blocking socket with a receive timeout, speaking raw bytes.
class raw_socket {
 public:
  explicit raw_socket(std::uint16_t port, int rcvbuf = 0) : fd_(::socket(AF_INET, SOCK_STREAM, 0)) {
    if (rcvbuf > 0) ::setsockopt(fd_, SOL_SOCKET, SO_RCVBUF, &rcvbuf, sizeof rcvbuf);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    connected_ = ::connect(fd_, reinterpret_cast<sockaddr*>(&a), sizeof a) == 0;
  }
  ~raw_socket() { ::close(fd_); }
  raw_socket(const raw_socket&) = delete;
  raw_socket& operator=(const raw_socket&) = delete;

  bool connected() const noexcept { return connected_; }
  bool send(std::string_view data) {
    while (!data.empty()) {
      const auto n = ::send(fd_, data.data(), data.size(), MSG_NOSIGNAL);
      if (n <= 0) return false;
      data.remove_prefix(static_cast<std::size_t>(n));
    }
    return true;
  }
  /// Reads until `needle` has arrived (true), or EOF / the timeout (false).
  bool read_until(std::string_view needle,
                  std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (received_.find(needle) == std::string::npos) {
      if (!read_some(end)) return false;
    }
    return true;
  }
  /// Reads until the peer closes (true) or the timeout (false).
  bool read_to_eof(std::chrono::milliseconds timeout = std::chrono::seconds(5)) {
    const auto end = std::chrono::steady_clock::now() + timeout;
    while (!eof_)
      if (!read_some(end) && !eof_) return false;
    return true;
  }
  const std::string& received() const noexcept { return received_; }
  std::size_t count(std::string_view needle) const {
    std::size_t n = 0;
    for (auto p = received_.find(needle); p != std::string::npos; p = received_.find(needle, p + 1))
      ++n;
    return n;
  }

 private:
  bool read_some(std::chrono::steady_clock::time_point end) {
    const auto left = std::chrono::duration_cast<std::chrono::milliseconds>(
        end - std::chrono::steady_clock::now());
    if (left.count() <= 0 || eof_) return false;
    pollfd p{fd_, POLLIN, 0};
    if (::poll(&p, 1, static_cast<int>(left.count())) <= 0) return false;
    char buf[65536];
    const auto n = ::recv(fd_, buf, sizeof buf, 0);
    if (n <= 0) {
      eof_ = true;
      return false;
    }
    received_.append(buf, static_cast<std::size_t>(n));
    return true;
  }

  int fd_;
  bool connected_ = false;
  bool eof_ = false;
  std::string received_;
};

struct fixture_options {
  http::server_options server{.port = 0, .max_connections = 16};
  http::sse_options sse{};
  targets_options targets{};
};

/// The server, its routes and everything under them live in
/// http_fixture.cpp: the monitor's routes are instantiated once for the
/// suite, not once per test file that starts a server.
class http_fixture {
 public:
  explicit http_fixture(fixture_options o = {});
  ~http_fixture();
  http_fixture(const http_fixture&) = delete;
  http_fixture& operator=(const http_fixture&) = delete;

  /// Stops the server and the poller; true when every thread ended in time.
  bool shutdown(std::chrono::milliseconds within = std::chrono::seconds(10));

  std::uint16_t port() const;
  net::client client() const {
    return net::client("127.0.0.1", std::to_string(port()), std::chrono::seconds(10));
  }
  stores::memory_store& store();
  registry& metrics();

  /// A counter's value from the registry, summed over the series matching `label`.
  double counter(std::string_view family, std::string_view label = {},
                 std::string_view value = {}) {
    return family_total(metrics(), family, label, value);
  }

 private:
  struct parts;
  std::unique_ptr<parts> parts_;
};

}  // namespace vitals::test
