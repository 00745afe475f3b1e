// Every instrument type, with label values chosen to be awkward (quotes,
// backslashes, newlines, non-ASCII), printed as Prometheus text or, with
// --openmetrics, as OpenMetrics. `instrument_tour | promtool check metrics`.
#include <cstdio>
#include <cstring>
#include <string>

#include "vitals/format/openmetrics.hpp"
#include "vitals/format/text.hpp"
#include "vitals/instruments/registry.hpp"

int main(int argc, char** argv) {
  bool openmetrics = false;
  for (int i = 1; i < argc; ++i) {
    if (std::strcmp(argv[i], "--openmetrics") == 0) {
      openmetrics = true;
    } else {
      std::fprintf(stderr, "usage: %s [--openmetrics]\n", argv[0]);
      return 2;
    }
  }

  vitals::registry reg;

  auto& requests = reg.counter_family("tour_http_requests_total",
                                      "HTTP requests by path.\nA second help line.", {"path"});
  requests.with("/search?q=\"quoted\"").inc(3);
  requests.with("C:\\Windows\\path").inc();
  requests.with("two\nlines").inc(2);
  requests.with("caf\xc3\xa9 \xe2\x98\x95 \xe6\x97\xa5\xe6\x9c\xac").inc(5);

  reg.gauge("tour_temperature_celsius", "A gauge that went negative.").set(-3.5);
  auto& queue = reg.gauge_family("tour_queue_depth", "Items waiting, by queue.", {"queue"});
  queue.with("fast").set(12);
  queue.with("slow").add(0.25);

  auto& latency = reg.histogram_family("tour_request_duration_seconds",
                                       "Request latency (Prometheus default buckets).", {"method"});
  for (int i = 0; i < 100; ++i) latency.with("GET").observe(0.001 * i * i);
  latency.with("POST").observe(7.5);

  auto& tokens = reg.histogram_family("gen_ai_client_token_usage", "Tokens used per operation.",
                                      {"gen_ai_token_type", "gen_ai_request_model"},
                                      vitals::buckets::genai_token_usage());
  tokens.with("input", "claude-sonnet-4").observe(1200);
  tokens.with("output", "claude-sonnet-4").observe(350);

  reg.histogram("gen_ai_client_operation_duration_seconds", "GenAI operation duration.",
                vitals::buckets::genai_operation_duration())
      .observe(2.3);

  // A native (exponential) histogram: its buckets go out in the protobuf
  // format (format/protobuf.hpp); text shows its count, sum and +Inf bucket.
  auto& sizes = reg.exponential_histogram("tour_response_size_bytes", "Response sizes (native).");
  for (int i = 1; i <= 50; ++i) sizes.observe(100.0 * i);

  int polls = 0;
  reg.gauge_callback("tour_uptime_seconds", "Read when collected.", [] { return 42.0; });
  reg.counter_callback("tour_polls_total", "A callback counter.", [&] { return ++polls; });

  const auto snapshot = reg.collect();
  const std::string out =
      openmetrics ? vitals::format::to_openmetrics(snapshot) : vitals::format::to_text(snapshot);
  std::fwrite(out.data(), 1, out.size(), stdout);
  return 0;
}
