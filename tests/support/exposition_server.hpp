// A tiny exporter on 127.0.0.1:0 for the scrape tests: it serves a body the
// test sets (or makes afresh for each request), one request per connection.
#pragma once

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/detached.hpp>
#include <boost/asio/executor_work_guard.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/ip/tcp.hpp>
#include <boost/asio/redirect_error.hpp>
#include <boost/asio/use_awaitable.hpp>
#include <boost/beast/core.hpp>
#include <boost/beast/http.hpp>

#include <functional>
#include <mutex>
#include <string>
#include <thread>

namespace vitals::test {

/// Serves `body` with `content_type` on 127.0.0.1:<port>, one request per connection.
class exposition_server {
 public:
  exposition_server() : acceptor_(io_, {boost::asio::ip::make_address("127.0.0.1"), 0}) {
    boost::asio::co_spawn(io_, accept_loop(), boost::asio::detached);
    thread_ = std::thread([this] { io_.run(); });
  }
  ~exposition_server() {
    boost::asio::post(io_, [this] { acceptor_.close(); });
    work_.reset();
    io_.stop();
    thread_.join();
  }
  std::string url(const char* path = "/metrics") const {
    return "http://127.0.0.1:" + std::to_string(acceptor_.local_endpoint().port()) + path;
  }
  void set(std::string body, std::string type = "text/plain; version=0.0.4; charset=utf-8",
           int status = 200) {
    std::lock_guard lock(mu_);
    body_ = std::move(body), type_ = std::move(type), status_ = status;
  }
  /// The body of the n-th request served (1, 2, ...), made when it comes.
  void generate(std::function<std::string(int)> f) {
    std::lock_guard lock(mu_);
    make_ = std::move(f);
  }

 private:
  boost::asio::awaitable<void> accept_loop() {
    for (;;) {
      boost::beast::error_code ec;
      boost::asio::ip::tcp::socket s = co_await acceptor_.async_accept(
          boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec) co_return;
      boost::beast::flat_buffer buf;
      boost::beast::http::request<boost::beast::http::empty_body> req;
      co_await boost::beast::http::async_read(
          s, buf, req, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
      if (ec) continue;
      boost::beast::http::response<boost::beast::http::string_body> res;
      {
        std::lock_guard lock(mu_);
        res.result(status_);
        res.set(boost::beast::http::field::content_type, type_);
        res.body() = make_ ? make_(++served_) : body_;
      }
      res.prepare_payload();
      co_await boost::beast::http::async_write(
          s, res, boost::asio::redirect_error(boost::asio::use_awaitable, ec));
    }
  }

  boost::asio::io_context io_;
  boost::asio::executor_work_guard<boost::asio::io_context::executor_type> work_{
      io_.get_executor()};
  boost::asio::ip::tcp::acceptor acceptor_;
  std::thread thread_;
  std::mutex mu_;
  std::string body_, type_;
  int status_ = 200;
  std::function<std::string(int)> make_;
  int served_ = 0;
};

}  // namespace vitals::test
