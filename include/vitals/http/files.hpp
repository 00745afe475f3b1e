// Static files (the dashboard) from a fixed table of URL paths to file names
// in one directory. No file name is ever built from the request: a path not
// in the table is not this route's.
#pragma once

#include <filesystem>
#include <fstream>
#include <map>
#include <sstream>
#include <string>

#include "vitals/http/router.hpp"

namespace vitals::http {

class files_route {
 public:
  /// `files`: URL path -> file name inside `dir`, e.g. {"/", "index.html"}.
  files_route(std::filesystem::path dir, std::map<std::string, std::string, std::less<>> files)
      : dir_(std::move(dir)), files_(std::move(files)) {}

  /// The dashboard's files.
  static files_route dashboard(std::filesystem::path dir) {
    return files_route(std::move(dir), {{"/", "index.html"},
                                        {"/index.html", "index.html"},
                                        {"/app.js", "app.js"},
                                        {"/charts.js", "charts.js"},
                                        {"/targets.js", "targets.js"},
                                        {"/agent.js", "agent.js"},
                                        {"/style.css", "style.css"}});
  }

  bool matches(std::string_view p) const { return files_.find(p) != files_.end(); }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::get; }
  std::string_view allow() const noexcept { return "GET"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    ex.route("static");
    const auto& name = files_.find(path_of(req.target()))->second;
    std::ifstream in(dir_ / name, std::ios::binary);
    if (!in)
      co_return json_error(bhttp::status::not_found, "file not installed: " + name, req.version());
    std::ostringstream body;
    body << in.rdbuf();
    response res{bhttp::status::ok, req.version()};
    res.set(bhttp::field::content_type, content_type(name));
    res.set(bhttp::field::cache_control, "no-cache");
    res.body() = std::move(body).str();
    co_return res;
  }

 private:
  static std::string_view content_type(std::string_view name) noexcept {
    if (name.ends_with(".html")) return "text/html; charset=utf-8";
    if (name.ends_with(".js")) return "text/javascript; charset=utf-8";
    if (name.ends_with(".css")) return "text/css; charset=utf-8";
    if (name.ends_with(".json")) return "application/json";
    if (name.ends_with(".svg")) return "image/svg+xml";
    return "application/octet-stream";
  }

  std::filesystem::path dir_;
  std::map<std::string, std::string, std::less<>> files_;
};

}  // namespace vitals::http
