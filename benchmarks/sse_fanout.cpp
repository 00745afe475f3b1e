// SSE fan-out: one vitals server (a forked child: memory store + registry +
// watch_route, 2 io threads) and N clients (this process, one epoll thread),
// each on `GET /api/v1/watch?sel=tick`. Measures the child's resident memory
// per idle client, then, for S seconds, has the child append one `tick`
// sample per second whose value is its CLOCK_MONOTONIC time in microseconds;
// each client's latency is its receive time minus that value (both processes
// read the same clock). Usage: sse_fanout [clients=1000] [seconds=20].
#include <fcntl.h>
#include <netinet/in.h>
#include <signal.h>
#include <sys/epoll.h>
#include <sys/resource.h>
#include <sys/socket.h>
#include <sys/wait.h>
#include <time.h>
#include <unistd.h>

#include <boost/asio/io_context.hpp>

#include <algorithm>
#include <cerrno>
#include <chrono>
#include <cstdint>
#include <cstdio>
#include <cstdlib>
#include <fstream>
#include <iterator>
#include <span>
#include <sstream>
#include <string>
#include <thread>
#include <vector>

#include "vitals/http/sse.hpp"
#include "vitals/stores/memory.hpp"

namespace {

std::int64_t mono_us() {
  timespec ts{};
  ::clock_gettime(CLOCK_MONOTONIC, &ts);
  return std::int64_t(ts.tv_sec) * 1'000'000 + ts.tv_nsec / 1000;
}

bool read_all(int fd, void* p, std::size_t n) {
  auto* b = static_cast<char*>(p);
  while (n > 0) {
    const auto r = ::read(fd, b, n);
    if (r <= 0) return false;
    b += r;
    n -= std::size_t(r);
  }
  return true;
}

// ---- the server child ------------------------------------------------------

// Serves until `ctl` closes; each 'g' read from `ctl` runs `seconds` ticks, 1 s apart.
int run_server(int port_fd, int ctl_fd, std::size_t clients, int seconds) {
  vitals::registry reg;
  vitals::stores::memory_store store;
  boost::asio::io_context io;
  auto work = boost::asio::make_work_guard(io);
  vitals::http::router routes(vitals::http::watch_route(store, reg));
  vitals::http::server srv(io.get_executor(), routes, reg,
                           {.port = 0, .max_connections = clients + 16});
  if (auto st = srv.start(); !st) {
    std::fprintf(stderr, "sse_fanout: server: %s\n", st.error().message.c_str());
    return 1;
  }
  std::vector<std::thread> threads;
  for (int i = 0; i < 2; ++i) threads.emplace_back([&] { io.run(); });
  const std::uint16_t port = srv.port();
  if (::write(port_fd, &port, sizeof port) != sizeof port) return 1;
  ::close(port_fd);

  const vitals::series tick("tick", {});
  char cmd = 0;
  while (::read(ctl_fd, &cmd, 1) == 1) {
    if (cmd != 'g') continue;
    timespec next{};
    ::clock_gettime(CLOCK_MONOTONIC, &next);
    for (int i = 0; i < seconds; ++i) {
      ::clock_nanosleep(CLOCK_MONOTONIC, TIMER_ABSTIME, &next, nullptr);
      const vitals::sample s{tick, vitals::now(), double(mono_us())};
      (void)store.append(std::span(&s, 1));
      next.tv_sec += 1;
    }
  }
  srv.stop();
  work.reset();
  for (auto& t : threads) t.join();
  return 0;
}

// ---- the clients -----------------------------------------------------------

struct client {
  int fd = -1;
  std::string buf;
  bool head = false;   // response head read
  bool ready = false;  // `retry:` seen
  bool closed = false;
  std::size_t events = 0;
};

long rss_kib(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/status");
  for (std::string line; std::getline(f, line);)
    if (line.starts_with("VmRSS:")) return std::strtol(line.c_str() + 6, nullptr, 10);
  return -1;
}

// utime + stime of a process, in clock ticks.
long cpu_ticks(pid_t pid) {
  std::ifstream f("/proc/" + std::to_string(pid) + "/stat");
  std::string s((std::istreambuf_iterator<char>(f)), {});
  std::istringstream rest(s.substr(s.rfind(')') + 2));
  std::string field;
  long utime = 0, stime = 0;
  for (int i = 3; i <= 15 && rest >> field; ++i) {
    if (i == 14) utime = std::stol(field);
    if (i == 15) stime = std::stol(field);
  }
  return utime + stime;
}

// Consumes the complete events in `c.buf`; a partial event waits for the next read.
void parse(client& c, std::int64_t received_us, std::vector<double>& latencies_ms, int& bad) {
  if (!c.head) {
    const auto end = c.buf.find("\r\n\r\n");
    if (end == std::string::npos) return;
    if (c.buf.compare(0, 12, "HTTP/1.1 200") != 0) ++bad;
    c.buf.erase(0, end + 4);
    c.head = true;
  }
  std::size_t pos = 0;
  for (auto end = c.buf.find("\n\n"); end != std::string::npos; end = c.buf.find("\n\n", pos)) {
    const std::string_view event(c.buf.data() + pos, end - pos);
    pos = end + 2;
    if (event.starts_with("retry:")) c.ready = true;
    const auto data = event.find("data: ");
    const auto v = data == std::string_view::npos ? data : event.find("\"v\":", data);
    if (v == std::string_view::npos || !event.substr(0, data).ends_with("event: sample\n"))
      continue;
    const double sent_us = std::strtod(event.data() + v + 4, nullptr);
    latencies_ms.push_back(double(received_us - std::int64_t(sent_us)) / 1000.0);
    ++c.events;
  }
  c.buf.erase(0, pos);
}

// Reads whatever is ready until `until(clients)` holds or `deadline_us` passes.
template <class Until>
void pump(int ep, std::vector<client>& cs, std::vector<double>& lat, int& bad,
          std::int64_t deadline_us, Until until) {
  epoll_event evs[256];
  char buf[16384];
  while (!until(cs)) {
    const auto left_ms = (deadline_us - mono_us()) / 1000;
    if (left_ms <= 0) return;
    const int n = ::epoll_wait(ep, evs, 256, int(std::min<std::int64_t>(left_ms, 100)));
    for (int i = 0; i < n; ++i) {
      auto& c = cs[evs[i].data.u32];
      for (;;) {
        const auto r = ::recv(c.fd, buf, sizeof buf, 0);
        const auto now = mono_us();
        if (r > 0) {
          c.buf.append(buf, std::size_t(r));
          parse(c, now, lat, bad);
          continue;
        }
        if (r == 0 || (errno != EAGAIN && errno != EWOULDBLOCK)) {
          c.closed = true;
          ::epoll_ctl(ep, EPOLL_CTL_DEL, c.fd, nullptr);
        }
        break;
      }
    }
  }
}

double percentile(const std::vector<double>& sorted, double q) {
  if (sorted.empty()) return 0;
  const auto i = std::size_t(q * double(sorted.size()));
  return sorted[std::min(i, sorted.size() - 1)];
}

}  // namespace

int main(int argc, char** argv) {
  const std::size_t n = argc > 1 ? std::strtoul(argv[1], nullptr, 10) : 1000;
  const int seconds = argc > 2 ? std::atoi(argv[2]) : 20;
  ::signal(SIGPIPE, SIG_IGN);

  rlimit rl{};
  ::getrlimit(RLIMIT_NOFILE, &rl);
  const rlim_t need = n + 256;
  if (rl.rlim_cur < need) {
    rl.rlim_cur = std::min(need, rl.rlim_max);
    ::setrlimit(RLIMIT_NOFILE, &rl);
  }
  if (rl.rlim_cur < need) {
    std::fprintf(stderr, "sse_fanout: RLIMIT_NOFILE is %lu, %lu needed\n",
                 (unsigned long)rl.rlim_cur, (unsigned long)need);
    return 1;
  }

  int port_pipe[2], ctl_pipe[2];
  if (::pipe(port_pipe) != 0 || ::pipe(ctl_pipe) != 0) return 1;
  const pid_t child = ::fork();
  if (child == 0) {
    ::close(port_pipe[0]);
    ::close(ctl_pipe[1]);
    std::_Exit(run_server(port_pipe[1], ctl_pipe[0], n, seconds));
  }
  ::close(port_pipe[1]);
  ::close(ctl_pipe[0]);
  std::uint16_t port = 0;
  if (!read_all(port_pipe[0], &port, sizeof port)) return 1;
  std::this_thread::sleep_for(std::chrono::milliseconds(300));
  const long rss_before = rss_kib(child);

  const int ep = ::epoll_create1(0);
  std::vector<client> cs(n);
  std::vector<double> lat;
  lat.reserve(n * std::size_t(seconds) + n);
  int bad = 0;
  const std::string req =
      "GET /api/v1/watch?sel=tick HTTP/1.1\r\nHost: 127.0.0.1\r\nAccept: text/event-stream\r\n\r\n";
  const auto t0 = mono_us();
  for (std::size_t i = 0; i < n; ++i) {
    auto& c = cs[i];
    c.fd = ::socket(AF_INET, SOCK_STREAM, 0);
    sockaddr_in a{};
    a.sin_family = AF_INET;
    a.sin_port = htons(port);
    a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (::connect(c.fd, reinterpret_cast<sockaddr*>(&a), sizeof a) != 0 ||
        ::send(c.fd, req.data(), req.size(), MSG_NOSIGNAL) != ssize_t(req.size())) {
      std::fprintf(stderr, "sse_fanout: client %zu could not connect\n", i);
      c.closed = true;
      continue;
    }
    ::fcntl(c.fd, F_SETFL, ::fcntl(c.fd, F_GETFL) | O_NONBLOCK);
    epoll_event ev{};
    ev.events = EPOLLIN;
    ev.data.u32 = std::uint32_t(i);
    ::epoll_ctl(ep, EPOLL_CTL_ADD, c.fd, &ev);
  }
  auto all_ready = [](const std::vector<client>& v) {
    return std::all_of(v.begin(), v.end(), [](const client& c) { return c.ready || c.closed; });
  };
  pump(ep, cs, lat, bad, mono_us() + 30'000'000, all_ready);
  const auto t_connected = mono_us();
  const auto ready =
      std::size_t(std::count_if(cs.begin(), cs.end(), [](auto& c) { return c.ready; }));
  // Idle for a second (nothing to read) so the server settles, then measure.
  pump(ep, cs, lat, bad, mono_us() + 1'000'000, [](auto&) { return false; });
  const long rss_idle = rss_kib(child);

  const long cpu0 = cpu_ticks(child), own0 = cpu_ticks(::getpid());
  const auto t_events = mono_us();
  if (::write(ctl_pipe[1], "g", 1) != 1) return 1;
  pump(ep, cs, lat, bad, t_events + (std::int64_t(seconds) + 2) * 1'000'000,
       [](auto&) { return false; });
  const double cpu_s = double(cpu_ticks(child) - cpu0) / double(::sysconf(_SC_CLK_TCK));
  const double own_s = double(cpu_ticks(::getpid()) - own0) / double(::sysconf(_SC_CLK_TCK));
  const double wall_s = double(mono_us() - t_events) / 1e6;
  const long rss_after = rss_kib(child);

  for (auto& c : cs) ::close(c.fd);
  ::close(ctl_pipe[1]);
  int st = 0;
  ::waitpid(child, &st, 0);

  std::sort(lat.begin(), lat.end());
  const std::size_t expected = n * std::size_t(seconds);
  const auto closed = std::count_if(cs.begin(), cs.end(), [](auto& c) { return c.closed; });
  std::printf("clients            %zu ready of %zu in %.2f s (%ld closed, %d bad answers)\n", ready,
              n, double(t_connected - t0) / 1e6, long(closed), bad);
  std::printf(
      "server RSS         %ld KiB before, %ld KiB with %zu idle clients, %ld KiB after "
      "events\n",
      rss_before, rss_idle, ready, rss_after);
  std::printf("per idle client    %.0f bytes (%.1f KiB)\n",
              ready ? double(rss_idle - rss_before) * 1024.0 / double(ready) : 0.0,
              ready ? double(rss_idle - rss_before) / double(ready) : 0.0);
  std::printf("events             %zu received of %zu expected (%d s x 1/s x %zu clients)\n",
              lat.size(), expected, seconds, n);
  const auto slow = lat.end() - std::upper_bound(lat.begin(), lat.end(), 100.0);
  std::printf("latency ms         p50 %.2f  p99 %.2f  max %.2f  min %.2f  (%ld over 100 ms)\n",
              percentile(lat, 0.5), percentile(lat, 0.99), lat.empty() ? 0.0 : lat.back(),
              lat.empty() ? 0.0 : lat.front(), long(slow));
  std::printf(
      "CPU                server %.2f s, clients %.2f s in %.1f s; server %.0f us per "
      "delivered event\n",
      cpu_s, own_s, wall_s, lat.empty() ? 0.0 : 1e6 * cpu_s / double(lat.size()));
  const bool ok = ready == n && lat.size() == expected && WIFEXITED(st) && WEXITSTATUS(st) == 0;
  return ok ? 0 : 2;
}
