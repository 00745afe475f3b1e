// A user's program: a registry, a labelled counter, and the Prometheus text
// exposition on stdout. It exits 0 only when the counter's value is right;
// run.sh builds it against vitals three ways and checks the printed series.
#include <cstdio>

#include "vitals/format/text.hpp"
#include "vitals/instruments/registry.hpp"

int main() {
  vitals::registry reg;
  auto& requests = reg.counter_family("consumer_requests_total", "Requests served.", {"method"});
  requests.with("GET").inc();
  requests.with("GET").inc(2);

  std::fputs(vitals::format::to_text(reg.collect()).c_str(), stdout);
  return requests.with("GET").value() == 3 ? 0 : 1;
}
