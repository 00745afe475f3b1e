// A real Prometheus (Debian's 2.42) with its remote write receiver on,
// listening on a free loopback port and storing into a temp dir; killed when
// the object goes. For the remote write test and benchmark, and, scraping a
// test server every second, for what it reads from /metrics (exemplars).
#pragma once

#include <netinet/in.h>
#include <sys/socket.h>
#include <unistd.h>

#include <boost/json.hpp>

#include <cstdio>
#include <filesystem>
#include <fstream>
#include <string>
#include <vector>

#include "child.hpp"
#include "helpers.hpp"
#include "vitals/net/client.hpp"

namespace vitals::test {

/// A port nobody listens on now (another process could take it before us: rare on loopback).
inline std::uint16_t free_port() {
  const int fd = ::socket(AF_INET, SOCK_STREAM, 0);
  sockaddr_in a{};
  a.sin_family = AF_INET;
  a.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
  ::bind(fd, reinterpret_cast<sockaddr*>(&a), sizeof a);
  socklen_t len = sizeof a;
  ::getsockname(fd, reinterpret_cast<sockaddr*>(&a), &len);
  ::close(fd);
  return ntohs(a.sin_port);
}

/// What the Prometheus under test does besides receiving remote writes.
struct prometheus_options {
  std::string scrape{};            // host:port of a /metrics to scrape every second; empty: none
  std::vector<std::string> flags;  // e.g. --enable-feature=exemplar-storage
};

class prometheus {
 public:
  static constexpr const char* exe = "/usr/bin/prometheus";

  explicit prometheus(prometheus_options o = {})
      : port_(free_port()),
        config_(write_config(dir_.path(), o.scrape)),
        proc_(argv(o)),
        client_("127.0.0.1", std::to_string(port_), std::chrono::seconds(5)) {}

  /// Waits for /-/ready: up to a minute, since a loaded machine running
  /// sanitized tests two at a time once took Prometheus more than 20 s. On a
  /// timeout its output goes to stderr (a port taken, a bad flag: it says).
  bool ready() {
    const bool up = eventually(
        [&] {
          auto r = client_.get("/-/ready");
          return r && r->status == 200;
        },
        std::chrono::seconds(60));
    if (!up)
      std::fprintf(stderr, "prometheus did not become ready; its output:\n%s\n", log().c_str());
    return up;
  }
  std::string url() const { return "http://127.0.0.1:" + std::to_string(port_); }
  const std::string& log() const { return proc_.output(); }

  /// The `data` of an API answer (an array for query_exemplars); null when it failed.
  boost::json::value data(const std::string& path) {
    auto r = client_.get(path);
    if (!r || r->status != 200) return nullptr;
    return boost::json::parse(r->body).at("data");
  }

  /// The `data.result` of an API query.
  boost::json::array query(const std::string& path) {
    auto r = client_.get(path);
    if (!r || r->status != 200) return {};
    return boost::json::parse(r->body).at("data").at("result").as_array();
  }

 private:
  std::vector<std::string> argv(const prometheus_options& o) const {
    std::vector<std::string> a{exe, "--config.file=" + config_,
                               "--storage.tsdb.path=" + (dir_.path() / "data").string(),
                               "--web.listen-address=127.0.0.1:" + std::to_string(port_),
                               "--web.enable-remote-write-receiver"};
    a.insert(a.end(), o.flags.begin(), o.flags.end());
    return a;
  }

  static std::string write_config(const std::filesystem::path& dir, const std::string& scrape) {
    const auto file = dir / "prometheus.yml";
    std::ofstream out(file);
    out << "global:\n  scrape_interval: 1m\n";
    if (!scrape.empty())
      out << "scrape_configs:\n  - job_name: vitals\n    scrape_interval: 1s\n"
          << "    static_configs:\n      - targets: ['" << scrape << "']\n";
    return file.string();
  }

  temp_dir dir_;
  std::uint16_t port_;
  std::string config_;
  child proc_;
  vitals::net::client client_;
};

}  // namespace vitals::test
