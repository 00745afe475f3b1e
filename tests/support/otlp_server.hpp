// The OTLP route over both rigs, served on 127.0.0.1:0 by one thread.
#pragma once

#include <boost/asio/io_context.hpp>

#include <string>
#include <thread>

#include "otlp_rigs.hpp"
#include "vitals/http/otlp.hpp"
#include "vitals/http/server.hpp"
#include "vitals/net/client.hpp"

namespace vitals::test::otlp {

struct server_rig {
  metrics_rig m;
  logs_rig l;
  boost::asio::io_context io;
  http::otlp_route route{m.mapper, l.mapper, m.reg,
                         http::otlp_options{.max_body = 4096, .at_root = true}};
  http::router<http::otlp_route> routes{route};
  http::server<http::router<http::otlp_route>> server{io.get_executor(), routes, m.reg,
                                                      http::server_options{.port = 0}};
  std::thread thread;

  server_rig() {
    EXPECT_TRUE(server.start());
    thread = std::thread([this] { io.run(); });
  }
  ~server_rig() {
    server.stop();
    thread.join();
  }
  net::client client() { return net::client("127.0.0.1", std::to_string(server.port())); }
};

}  // namespace vitals::test::otlp
