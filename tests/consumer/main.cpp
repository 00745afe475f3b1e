// A user's program: a registry, a labelled counter, and the Prometheus text
// exposition on stdout. It exits 0 only when the counter's value is right
// (and a regex selector and a URL parse, which need RE2 and Boost.URL linked);
// run.sh builds it against vitals three ways and checks the printed series.
#include <cstdio>

#include "vitals/format/text.hpp"
#include "vitals/instruments/registry.hpp"
#include "vitals/net/url.hpp"
#include "vitals/stores/selector.hpp"

int main() {
  vitals::registry reg;
  auto& requests = reg.counter_family("consumer_requests_total", "Requests served.", {"method"});
  requests.with("GET").inc();
  requests.with("GET").inc(2);

  std::fputs(vitals::format::to_text(reg.collect()).c_str(), stdout);
  const auto sel = vitals::stores::selector::parse(R"({__name__=~"consumer_.*"})");
  const bool linked = sel && sel->matches(vitals::series("consumer_requests_total", {})) &&
                      vitals::net::parse_http_url("http://[::1]:9100/metrics");
  return requests.with("GET").value() == 3 && linked ? 0 : 1;
}
