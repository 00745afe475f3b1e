// `POST /v1/metrics`, `/v1/logs` and `/v1/traces`: OTLP/HTTP as agents
// send it. Bodies are Export*ServiceRequest messages in binary protobuf
// (application/x-protobuf) or OTLP JSON (application/json), optionally
// gzip-compressed. A JSON body names its signal (resourceMetrics, ...) and
// is taken as that signal on any of these paths, and on `/` where the
// options allow it: Gemini CLI's http exporters post every signal to the
// endpoint as configured. Traces are counted (vitals_otlp_spans_dropped)
// and dropped. The answer is the Export*ServiceResponse in the request's
// encoding, with partial_success counting the points or records refused
// and why; 400 for an undecodable body, 413 over the limit (once inflated
// too), 415 for another media type or encoding, 503 with Retry-After when
// the store refuses (the sender retries; replays are not counted twice).
#pragma once

#include <string>
#include <string_view>

#include "vitals/agent/otlp_decode.hpp"
#include "vitals/agent/otlp_logs.hpp"
#include "vitals/agent/otlp_metrics.hpp"
#include "vitals/http/router.hpp"

namespace vitals::http {

struct otlp_options {
  std::size_t max_body = 16u << 20;  // bytes, after decompression
  int retry_after_s = 5;
  bool at_root = false;  // also take OTLP JSON at `/` (a port that serves only OTLP)
};

class otlp_route {
 public:
  otlp_route(agent::otlp_metrics_mapper& metrics, agent::otlp_logs_mapper& logs, registry& reg,
             otlp_options o = {})
      : metrics_(metrics),
        logs_(logs),
        opts_(o),
        spans_(reg.counter("vitals_otlp_spans_dropped",
                           "OTLP spans received and dropped: vitals keeps no traces.")) {}

  bool matches(std::string_view p) const noexcept {
    return agent::otlp_signal_of_path(p) || (opts_.at_root && p == "/");
  }
  bool allows(bhttp::verb v) const noexcept { return v == bhttp::verb::post; }
  std::string_view allow() const noexcept { return "POST"; }

  asio::awaitable<std::optional<response>> handle(const request& req, exchange& ex) {
    const auto by_path = agent::otlp_signal_of_path(path_of(req.target()));
    ex.route(route_name(by_path));
    const unsigned v = req.version();
    const auto enc = agent::otlp_encoding_of(req[bhttp::field::content_type]);
    if (!enc)
      co_return json_error(bhttp::status::unsupported_media_type,
                           "Content-Type: send application/x-protobuf or application/json", v,
                           "Content-Type");
    std::string inflated;
    std::string_view body = req.body();
    const auto coding = agent::detail::normalised(req[bhttp::field::content_encoding]);
    if (coding == "gzip") {
      auto r = agent::gunzip(body, opts_.max_body);
      if (!r)
        co_return json_error(r.error().code == errc::limit_exceeded
                                 ? bhttp::status::payload_too_large
                                 : bhttp::status::bad_request,
                             r.error().message, v, "Content-Encoding");
      inflated = std::move(*r);
      body = inflated;
    } else if (!coding.empty() && coding != "identity") {
      co_return json_error(bhttp::status::unsupported_media_type,
                           "Content-Encoding: send gzip or identity", v, "Content-Encoding");
    }
    if (body.size() > opts_.max_body)
      co_return json_error(bhttp::status::payload_too_large,
                           "body is larger than " + std::to_string(opts_.max_body) + " bytes", v);
    auto signal = by_path;
    if (*enc == agent::otlp_encoding::json)
      if (auto in_body = agent::otlp_json_signal(body)) signal = in_body;
    if (!signal)
      co_return json_error(bhttp::status::bad_request,
                           "body: at / send OTLP JSON (resourceMetrics, resourceLogs or "
                           "resourceSpans), or post to /v1/metrics, /v1/logs, /v1/traces",
                           v);
    ex.route(route_name(signal));
    if (*signal == agent::otlp_signal::traces) {
      auto n = agent::otlp_count_spans(body, *enc);
      if (!n) co_return json_error(bhttp::status::bad_request, n.error().message, v);
      spans_.inc(*n);
      agent::otlp_pb::ExportLogsServiceResponse empty;  // the same empty message on the wire
      co_return answer(empty, *enc, v);
    }
    const bool is_metrics = *signal == agent::otlp_signal::metrics;
    // The request's messages live in one arena, freed at once: parsing and
    // freeing thousands of small messages one by one cost a third of ingest.
    google::protobuf::Arena arena(agent::otlp_arena_options(body.size()));
    if (is_metrics) {
      auto& msg =
          *google::protobuf::Arena::CreateMessage<agent::otlp_pb::ExportMetricsServiceRequest>(
              &arena);
      if (auto st = agent::otlp_parse(body, *enc, msg); !st)
        co_return json_error(bhttp::status::bad_request, st.error().message, v);
      const auto r = metrics_.ingest(msg);
      if (r.store_failed) co_return unavailable(r.message, v);
      agent::otlp_pb::ExportMetricsServiceResponse out;
      if (r.rejected > 0) {
        out.mutable_partial_success()->set_rejected_data_points(std::int64_t(r.rejected));
        out.mutable_partial_success()->set_error_message(r.message);
      }
      co_return answer(out, *enc, v);
    }
    auto& msg =
        *google::protobuf::Arena::CreateMessage<agent::otlp_pb::ExportLogsServiceRequest>(&arena);
    if (auto st = agent::otlp_parse(body, *enc, msg); !st)
      co_return json_error(bhttp::status::bad_request, st.error().message, v);
    const auto r = logs_.ingest(msg);
    if (r.store_failed && r.accepted == 0 && r.duplicates == 0) co_return unavailable(r.message, v);
    agent::otlp_pb::ExportLogsServiceResponse out;
    if (r.rejected > 0) {
      out.mutable_partial_success()->set_rejected_log_records(std::int64_t(r.rejected));
      out.mutable_partial_success()->set_error_message(r.message);
    }
    co_return answer(out, *enc, v);
  }

 private:
  static std::string_view route_name(std::optional<agent::otlp_signal> s) {
    if (!s) return "otlp";
    return *s == agent::otlp_signal::metrics ? "otlp_metrics"
           : *s == agent::otlp_signal::logs  ? "otlp_logs"
                                             : "otlp_traces";
  }

  template <class Message>
  static response answer(const Message& m, agent::otlp_encoding enc, unsigned version) {
    response res{bhttp::status::ok, version};
    res.set(bhttp::field::content_type,
            enc == agent::otlp_encoding::json ? "application/json" : "application/x-protobuf");
    res.body() = agent::otlp_serialize(m, enc);
    return res;
  }

  response unavailable(const std::string& why, unsigned version) const {
    auto res = json_error(bhttp::status::service_unavailable, why, version);
    res.set(bhttp::field::retry_after, std::to_string(opts_.retry_after_s));
    return res;
  }

  agent::otlp_metrics_mapper& metrics_;
  agent::otlp_logs_mapper& logs_;
  otlp_options opts_;
  vitals::counter& spans_;
};

}  // namespace vitals::http
