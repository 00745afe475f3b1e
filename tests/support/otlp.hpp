// Shared by the OTLP receiver's tests: gzip, attributes, a token sum
// export, a log record export, reading a value off an exposition. The rigs
// holding mappers over memory stores are in otlp_rigs.hpp, the server over
// them in otlp_server.hpp, so that a file pays only for what it uses.
#pragma once

#include <gtest/gtest.h>
#include <zlib.h>

#include <string>
#include <utility>
#include <vector>

#include "vitals/agent/otlp_decode.hpp"
#include "vitals/core/series.hpp"

namespace vitals::test::otlp {

namespace pb = vitals::otlp::v1;

inline std::string gzip(std::string_view in) {
  z_stream z{};
  deflateInit2(&z, Z_BEST_SPEED, Z_DEFLATED, 15 + 16, 8, Z_DEFAULT_STRATEGY);
  std::string out(deflateBound(&z, uLong(in.size())) + 64, '\0');
  z.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(in.data()));
  z.avail_in = uInt(in.size());
  z.next_out = reinterpret_cast<Bytef*>(out.data());
  z.avail_out = uInt(out.size());
  deflate(&z, Z_FINISH);
  out.resize(z.total_out);
  deflateEnd(&z);
  return out;
}

inline void attr(google::protobuf::RepeatedPtrField<pb::KeyValue>* kvs, std::string key,
                 std::string value) {
  auto* kv = kvs->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_string_value(std::move(value));
}

inline void attr_int(google::protobuf::RepeatedPtrField<pb::KeyValue>* kvs, std::string key,
                     std::int64_t value) {
  auto* kv = kvs->Add();
  kv->set_key(std::move(key));
  kv->mutable_value()->set_int_value(value);
}

constexpr std::uint64_t t0 = 1'780'000'000'000'000'000ull;  // 2026-05-28, in nanoseconds
constexpr std::uint64_t sec = 1'000'000'000ull;

// One delta (or cumulative) monotonic sum point of claude_code.token.usage.
inline pb::ExportMetricsServiceRequest token_sum(double v, std::uint64_t start, std::uint64_t end,
                                                 bool delta = true, std::string type = "input") {
  pb::ExportMetricsServiceRequest req;
  auto* rm = req.add_resource_metrics();
  attr(rm->mutable_resource()->mutable_attributes(), "service.name", "claude-code");
  auto* m = rm->add_scope_metrics()->add_metrics();
  m->set_name("claude_code.token.usage");
  m->set_unit("tokens");
  auto* sum = m->mutable_sum();
  sum->set_is_monotonic(true);
  sum->set_aggregation_temporality(delta ? pb::AGGREGATION_TEMPORALITY_DELTA
                                         : pb::AGGREGATION_TEMPORALITY_CUMULATIVE);
  auto* p = sum->add_data_points();
  attr(p->mutable_attributes(), "type", type);
  attr(p->mutable_attributes(), "session.id", "s-1");
  p->set_start_time_unix_nano(start);
  p->set_time_unix_nano(end);
  p->set_as_double(v);
  return req;
}

inline const series token_series("claude_code_token_usage_tokens_total",
                                 label_set{{"service_name", "claude-code"},
                                           {"session_id", "s-1"},
                                           {"type", "input"}});

inline pb::ExportLogsServiceRequest log_export(
    std::string service, std::vector<std::pair<std::string, std::string>> text,
    std::vector<std::pair<std::string, std::int64_t>> ints, std::uint64_t t = t0) {
  pb::ExportLogsServiceRequest req;
  auto* rl = req.add_resource_logs();
  attr(rl->mutable_resource()->mutable_attributes(), "service.name", std::move(service));
  auto* rec = rl->add_scope_logs()->add_log_records();
  rec->set_time_unix_nano(t);
  for (auto& [k, v] : text) attr(rec->mutable_attributes(), k, v);
  for (auto& [k, v] : ints) attr_int(rec->mutable_attributes(), k, v);
  return req;
}

// The value of the first exposition line that has every part, or -1.
inline double exposed(const std::string& text, std::vector<std::string> parts) {
  std::size_t pos = 0;
  while (pos < text.size()) {
    auto end = text.find('\n', pos);
    if (end == std::string::npos) end = text.size();
    const std::string line = text.substr(pos, end - pos);
    pos = end + 1;
    if (line.starts_with('#')) continue;
    bool all = true;
    for (const auto& p : parts) all = all && line.find(p) != std::string::npos;
    if (all) return std::stod(line.substr(line.rfind(' ') + 1));
  }
  return -1;
}

}  // namespace vitals::test::otlp
