// A real server on 127.0.0.1:0 with the monitor's routes (http::monitor_routes)
// over a memory store, a registry, a usage ledger and a poller with run-time
// targets, run on two threads; plus a raw
// socket for what a well-behaved client never does (oversized bodies, not
// reading, holding connections).
#pragma once

#include <netinet/in.h>
#include <poll.h>
#include <signal.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <chrono>
#include <string>
#include <thread>
#include <vector>

#include "helpers.hpp"
#include "vitals/http/monitor.hpp"
#include "vitals/net/client.hpp"
#include "vitals/runtime/pipeline.hpp"
#include "vitals/runtime/poller.hpp"
#include "vitals/samplers/process.hpp"
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

class http_fixture {
 public:
  using process = samplers::process_sampler;
  using pipe_t = pipeline<stores::memory_store>;
  using poller_t = poller<pipe_t, process>;
  struct factory {
    result<poller_t::any_sampler> operator()(const target_spec& s) const {
      if (s.kind != "process") return error(errc::invalid_argument, "kind: only process here");
      if (::kill(s.pid, 0) != 0)
        return error(errc::invalid_argument, "pid: no process " + std::to_string(s.pid));
      return poller_t::any_sampler(process(s.pid, s.labels));
    }
  };

  explicit http_fixture(fixture_options o = {})
      : pipe_(store_),
        poller_(io_.get_executor(), pipe_,
                poller_options{.interval = std::chrono::milliseconds(100)}),
        targets_(poller_, factory{}, o.targets),
        ledger_(usage_, reg_),
        routes_(reg_, pipe_, targets_, ledger_, {.sse = o.sse}),
        server_(io_.get_executor(), routes_, reg_, o.server) {
    if (auto st = server_.start(); !st) throw std::runtime_error(st.error().message);
    for (int i = 0; i < 2; ++i) threads_.emplace_back([this] { io_.run(); });
  }
  ~http_fixture() { shutdown(); }

  /// Stops the server and the poller; true when every thread ended in time.
  bool shutdown(std::chrono::milliseconds within = std::chrono::seconds(10)) {
    if (threads_.empty()) return true;
    server_.stop();
    poller_.stop();
    work_.reset();
    const auto end = std::chrono::steady_clock::now() + within;
    while (!io_.stopped() && std::chrono::steady_clock::now() < end)
      std::this_thread::sleep_for(std::chrono::milliseconds(10));
    const bool ok = io_.stopped();
    if (!ok) io_.stop();
    for (auto& t : threads_) t.join();
    threads_.clear();
    return ok;
  }

  std::uint16_t port() const { return server_.port(); }
  net::client client() const {
    return net::client("127.0.0.1", std::to_string(port()), std::chrono::seconds(10));
  }
  stores::memory_store& store() { return store_; }
  registry& metrics() { return reg_; }

  /// A counter's value from the registry, summed over the series matching `label`.
  double counter(std::string_view family, std::string_view label = {},
                 std::string_view value = {}) {
    return family_total(reg_, family, label, value);
  }

 private:
  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_ =
      boost::asio::make_work_guard(io_);
  registry reg_;
  stores::memory_store store_;
  pipe_t pipe_;
  poller_t poller_;
  poller_targets<poller_t, factory> targets_;
  agent::usage_memory usage_;
  agent::ledger<agent::usage_memory> ledger_;
  http::monitor_routes<pipe_t, poller_targets<poller_t, factory>, agent::usage_memory> routes_;
  http::server<decltype(routes_)> server_;
  std::vector<std::thread> threads_;
};

}  // namespace vitals::test
