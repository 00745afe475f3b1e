// Compile-time probe (scripts/compile-times): the same as registry_text.cpp
// with prometheus-cpp (its code is a shared library; this is its header cost).
#include <prometheus/counter.h>
#include <prometheus/registry.h>
#include <prometheus/text_serializer.h>

#include <cstdio>
#include <sstream>

int main() {
  prometheus::Registry reg;
  prometheus::BuildCounter()
      .Name("requests_total")
      .Help("Requests served.")
      .Register(reg)
      .Add({{"method", "GET"}})
      .Increment();
  std::ostringstream out;
  prometheus::TextSerializer().Serialize(out, reg.Collect());
  std::fputs(out.str().c_str(), stdout);
}
