// Compile-time probe (scripts/compile-times): a registry, one labelled
// counter and the text writer: what a service pays to include vitals' core.
#include <cstdio>

#include "vitals/format/text.hpp"
#include "vitals/instruments/registry.hpp"

int main() {
  vitals::registry reg;
  reg.counter_family("requests_total", "Requests served.", {"method"}).with("GET").inc();
  std::fputs(vitals::format::to_text(reg.collect()).c_str(), stdout);
}
