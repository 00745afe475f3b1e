// The usage ledger: validates usage events, drops duplicates by the 003
// seed's key, stores what it accepts in an event store (one stream), keeps
// the agent instruments (`vitals_agent_*`, the GenAI histograms) up to date
// and answers token and cost totals. An event counts as accepted only once
// the event store has taken it. On start, `load()` replays the stream so
// totals and the duplicate check survive a restart.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <limits>
#include <map>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <vector>

#include "vitals/agent/pricing.hpp"
#include "vitals/agent/spool.hpp"
#include "vitals/agent/usage_event.hpp"
#include "vitals/core/concepts.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals::agent {

struct rejected_line {
  std::size_t line = 0;  // 1-based NDJSON line, or array index + 1
  std::string error;
};

struct ingest_result {
  std::size_t accepted = 0;
  std::size_t duplicates = 0;
  std::vector<rejected_line> rejected;
};

namespace detail {

inline std::string normalised(std::string_view s) {
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
  while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
  std::string out(s);
  for (auto& c : out) c = static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  return out;
}

}  // namespace detail

/// The dedup key: the first present of tool_call_id, message_id, turn_id
/// (prefixed tool:, message:, turn:) with source system, event type, session
/// and workspace; without any id, a fingerprint of the event's content.
inline std::string dedup_key(const usage_event& e) {
  std::string id;
  if (!e.tool_call_id.empty())
    id = "tool:" + detail::normalised(e.tool_call_id);
  else if (!e.message_id.empty())
    id = "message:" + detail::normalised(e.message_id);
  else if (!e.turn_id.empty())
    id = "turn:" + detail::normalised(e.turn_id);
  std::string key;
  auto part = [&](std::string_view s) {
    key += detail::normalised(s);
    key += '\x1f';
  };
  if (!id.empty()) {
    for (auto s :
         {std::string_view(id), std::string_view(e.source_system), std::string_view(e.event_type),
          std::string_view(e.session_id), std::string_view(e.workspace_id)})
      part(s);
    return key;
  }
  auto count = [](const std::optional<std::int64_t>& v) { return v ? std::to_string(*v) : "-"; };
  for (auto s : {std::string_view("fp"), std::string_view(e.provider_id),
                 std::string_view(e.account_id), std::string_view(e.agent_name)})
    part(s);
  part(std::to_string(to_unix_ms(e.occurred_at)));
  for (const auto& c : {e.input_tokens, e.output_tokens, e.reasoning_tokens, e.cache_read_tokens,
                        e.cache_write_tokens, e.total_tokens, e.requests})
    part(count(c));
  part(e.cost_usd ? std::to_string(*e.cost_usd) : "-");
  part(e.model());
  part(e.tool_name);
  return key;
}

template <event_store EventStore>
class ledger {
 public:
  ledger(EventStore& events, registry& metrics, price_table prices = price_table::builtin(),
         std::string stream = "usage")
      : events_(events),
        stream_(std::move(stream)),
        prices_(std::move(prices)),
        tokens_(metrics.counter_family("vitals_agent_tokens",
                                       "Tokens used, by agent, model and type.",
                                       {"agent", "model", "type"})),
        cost_(metrics.counter_family("vitals_agent_cost_usd",
                                     "Cost in US dollars, by agent and model.",
                                     {"agent", "model"})),
        requests_(metrics.counter_family(
            "vitals_agent_requests", "Model requests, by agent and model.", {"agent", "model"})),
        tool_calls_(metrics.counter_family("vitals_agent_tool_calls",
                                           "Tool calls, by agent, tool and status.",
                                           {"agent", "tool", "status"})),
        tool_duration_(metrics.histogram_family(
            "vitals_agent_tool_duration_seconds", "Tool call durations, by agent and tool.",
            {"agent", "tool"}, buckets::genai_operation_duration())),
        genai_tokens_(metrics.histogram_family("gen_ai_client_token_usage",
                                               "Tokens per model call (OpenTelemetry GenAI).",
                                               {"gen_ai_token_type", "gen_ai_request_model",
                                                "gen_ai_provider_name", "gen_ai_operation_name"},
                                               buckets::genai_token_usage())),
        genai_duration_(metrics.histogram_family(
            "gen_ai_client_operation_duration_seconds",
            "Model call durations (OpenTelemetry GenAI).",
            {"gen_ai_request_model", "gen_ai_provider_name", "gen_ai_operation_name"},
            buckets::genai_operation_duration())),
        rejected_(metrics.counter("vitals_agent_events_rejected",
                                  "Usage events refused: invalid, or the store refused them.")),
        duplicates_(metrics.counter("vitals_agent_events_duplicate",
                                    "Usage events already seen (by their dedup key).")),
        unpriced_(metrics.counter_family("vitals_agent_unpriced_events",
                                         "Usage events without a cost whose model has no price.",
                                         {"model"})) {}

  /// Sends events the store refuses to `s` (it must outlive the ledger):
  /// they are accepted once spooled, and `replay()` stores them later, in
  /// order. While the spool holds anything, new events queue behind it.
  void use_spool(spool& s) { spool_ = &s; }

  /// Replays the stored stream, then what waits in the spool, into the
  /// totals and the duplicate check. A spooled event that is already stored
  /// (a crash between storing and acknowledging it) is acknowledged now.
  status load() {
    auto stored = events_.read(stream_, 1);
    if (!stored) return stored.error();
    std::lock_guard lock(mu_);
    for (const auto& s : *stored) {
      boost::system::error_code ec;
      auto v = boost::json::parse(s.event.data, ec);
      if (ec) continue;
      auto e = parse_usage_event(v, s.event.t);
      if (!e) continue;
      remember(std::move(*e));  // a later version of a key is its enrichment
    }
    if (!spool_) return {};
    auto pending = spool_->read_oldest(std::numeric_limits<std::size_t>::max());
    if (!pending) return pending.error();
    for (auto& p : *pending) {
      auto e = from_spool(p.record);
      if (!e) continue;
      auto it = index_.find(dedup_key(*e));
      if (usage_event known; it != index_.end() && !merge_usage(known = stored_[it->second], *e))
        (void)spool_->ack(p);  // stored already: it adds nothing
      else
        remember(std::move(*e));
    }
    spooled_ = spool_->size();
    return {};
  }

  /// Stores up to `batch` spooled events, oldest first, and acknowledges
  /// them; on failure they stay, marked with the attempt and the error.
  /// Returns how many were stored.
  result<std::size_t> replay(std::size_t batch = 1000) {
    if (!spool_) return std::size_t{0};
    std::lock_guard lock(mu_);
    auto pending = spool_->read_oldest(batch);
    if (!pending) return pending.error();
    std::vector<event> rows;
    std::vector<pending_record*> taken;
    for (auto& p : *pending) {
      auto e = from_spool(p.record);
      if (!e) {  // unreadable payload: keep it aside for a person, count it
        (void)spool_->mark_failed(p, e.error().message);
        continue;
      }
      rows.push_back(row_of(*e));
      taken.push_back(&p);
    }
    if (!rows.empty()) {
      if (auto st = events_.append(stream_, rows); !st) {
        for (auto* p : taken) (void)spool_->mark_failed(*p, st.error().message);
        return st.error();
      }
      for (auto* p : taken) (void)spool_->ack(*p);
    }
    spooled_ = spool_->size();
    return rows.size();
  }

  /// Events waiting in the spool.
  std::size_t spooled() const {
    std::lock_guard lock(mu_);
    return spooled_;
  }

  /// One JSON object, a JSON array of objects, or NDJSON. Good lines are
  /// kept when others are rejected.
  ingest_result ingest(std::string_view body) {
    ingest_result out;
    std::vector<std::pair<std::size_t, boost::json::value>> items;
    boost::system::error_code ec;
    auto whole = boost::json::parse(body, ec);
    if (!ec && whole.is_array()) {
      std::size_t i = 0;
      for (auto& v : whole.get_array()) items.emplace_back(++i, std::move(v));
    } else if (!ec) {
      items.emplace_back(1, std::move(whole));
    } else {  // NDJSON
      std::size_t line = 0;
      while (!body.empty()) {
        const auto nl = body.find('\n');
        std::string_view text = body.substr(0, nl);
        body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
        ++line;
        if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
        boost::system::error_code lec;
        auto v = boost::json::parse(text, lec);
        if (lec)
          out.rejected.push_back({line, "invalid JSON: " + lec.message()});
        else
          items.emplace_back(line, std::move(v));
      }
    }
    const timestamp received = vitals::now();
    std::vector<usage_event> fresh;
    std::vector<std::string> fresh_keys;  // what is stored: new events and enrichments
    std::vector<std::size_t> fresh_lines;
    std::lock_guard lock(mu_);
    std::unordered_map<std::string, std::size_t> in_batch;  // key -> index in fresh
    for (auto& [line, v] : items) {
      auto e = parse_usage_event(v, received);
      if (!e) {
        out.rejected.push_back({line, e.error().message});
        continue;
      }
      enrich(*e);
      auto key = dedup_key(*e);
      // A duplicate is not stored again: it may enrich the first report.
      if (auto b = in_batch.find(key); b != in_batch.end()) {
        merge_usage(fresh[b->second], *e);
        ++out.duplicates;
        continue;
      }
      if (auto it = index_.find(key); it != index_.end()) {
        ++out.duplicates;
        usage_event merged = stored_[it->second];
        if (!merge_usage(merged, *e)) continue;
        *e = std::move(merged);
      } else {
        ++out.accepted;
      }
      in_batch.emplace(key, fresh.size());
      fresh_keys.push_back(std::move(key));
      fresh_lines.push_back(line);
      fresh.push_back(std::move(*e));
    }
    if (!fresh.empty()) {
      std::vector<event> rows;
      rows.reserve(fresh.size());
      for (const auto& e : fresh) rows.push_back(row_of(e));
      // Behind a non-empty spool, or refused by the store: spool, in order.
      status st = error(errc::unavailable, "the spool is draining");
      if (spooled_ == 0 || !spool_) {
        auto stored = events_.append(stream_, rows);
        st = stored ? status{} : status(stored.error());
      }
      if (!st && spool_) st = to_spool(fresh, st.error().message);
      if (!st) {
        for (std::size_t i = 0; i < fresh.size(); ++i)
          out.rejected.push_back({fresh_lines[i], "not stored: " + st.error().message});
        out.duplicates -= fresh.size() - out.accepted;  // refused enrichments
        out.accepted = 0;
      } else {
        for (auto& e : fresh) remember(std::move(e));
      }
    }
    std::sort(out.rejected.begin(), out.rejected.end(),
              [](const auto& a, const auto& b) { return a.line < b.line; });
    rejected_.inc(out.rejected.size());
    duplicates_.inc(out.duplicates);
    return out;
  }

  /// Token and cost totals per agent, with a per-model breakdown ordered by
  /// cost (docs/http-api.md, /api/v1/usage/summary).
  boost::json::array summary(std::optional<std::string_view> agent, timestamp from,
                             timestamp to) const {
    struct totals {
      std::int64_t input = 0, output = 0, cache_read = 0, cache_write = 0, reasoning = 0, total = 0;
      std::int64_t requests = 0, tool_calls = 0;
      double cost = 0;
    };
    std::map<std::string, std::pair<totals, std::map<std::string, totals>>> by_agent;
    {
      std::lock_guard lock(mu_);
      for (const auto& r : rows_) {
        if (r.t < from || r.t > to || (agent && r.agent != *agent)) continue;
        auto& [all, models] = by_agent[r.agent];
        for (totals* t : {&all, r.model.empty() ? nullptr : &models[r.model]}) {
          if (!t) continue;
          t->input += r.input;
          t->output += r.output;
          t->cache_read += r.cache_read;
          t->cache_write += r.cache_write;
          t->reasoning += r.reasoning;
          t->total += r.total;
          t->requests += r.requests;
          t->tool_calls += r.tool_call;
          t->cost += r.cost;
        }
      }
    }
    boost::json::array out;
    for (const auto& [name, entry] : by_agent) {
      const auto& [all, models] = entry;
      boost::json::object o;
      o["agent_name"] = name;
      o["tokens"] = {{"input", all.input},           {"output", all.output},
                     {"cache_read", all.cache_read}, {"cache_write", all.cache_write},
                     {"reasoning", all.reasoning},   {"total", all.total}};
      o["cost"] = {{"total_usd", all.cost}};
      o["requests"] = all.requests;
      o["tool_calls"] = all.tool_calls;
      std::vector<std::pair<std::string, totals>> sorted(models.begin(), models.end());
      std::stable_sort(sorted.begin(), sorted.end(),
                       [](const auto& a, const auto& b) { return a.second.cost > b.second.cost; });
      boost::json::array ms;
      for (const auto& [model, t] : sorted)
        ms.push_back({{"model", model},
                      {"cost_usd", t.cost},
                      {"input_tokens", t.input},
                      {"output_tokens", t.output},
                      {"requests", t.requests}});
      o["models"] = std::move(ms);
      out.push_back(std::move(o));
    }
    return out;
  }

  std::size_t size() const {
    std::lock_guard lock(mu_);
    return rows_.size();
  }

 private:
  struct row {
    timestamp t;
    std::string agent, model;
    std::int64_t input = 0, output = 0, cache_read = 0, cache_write = 0, reasoning = 0, total = 0;
    std::int64_t requests = 0;
    bool tool_call = false;
    double cost = 0;
  };

  static event row_of(const usage_event& e) {
    return {e.event_type, e.occurred_at, e.session_id,
            e.agent_name, e.model(),     boost::json::serialize(to_json(e))};
  }

  static result<usage_event> from_spool(const spool_record& r) {
    boost::system::error_code ec;
    auto v = boost::json::parse(r.payload, ec);
    if (ec) return error(errc::parse_error, "spooled payload: " + ec.message());
    return parse_usage_event(v, r.created_at);
  }

  // All or nothing: a batch that cannot be spooled whole is refused whole
  // (the records already written are acknowledged away again).
  status to_spool(const std::vector<usage_event>& events, const std::string& why) {
    std::vector<std::string> written;
    for (const auto& e : events) {
      spool_record r{.created_at = vitals::now(),
                     .source_system = e.source_system,
                     .source_channel = e.source_channel,
                     .payload = boost::json::serialize(to_json(e)),
                     .last_error = why};
      auto id = spool_->write(std::move(r));
      if (!id) {
        for (const auto& w : written) (void)spool_->ack({spool_->dir() / (w + ".json"), {}});
        return error(errc::unavailable,
                     "store refused (" + why + ") and spool failed: " + id.error().message);
      }
      written.push_back(std::move(*id));
    }
    spooled_ += events.size();
    return {};
  }

  // The canonical model name and, when the event has none, its cost.
  void enrich(usage_event& e) {
    if (e.model_canonical.empty() && !e.model_raw.empty())
      e.model_canonical = normalise_model(e.model_raw);
    const bool has_tokens =
        e.input_tokens || e.output_tokens || e.cache_read_tokens || e.cache_write_tokens;
    if (e.cost_usd || !has_tokens) return;
    if (auto c = prices_.cost(e))
      e.cost_usd = *c;
    else
      unpriced_.with(e.model().empty() ? std::string_view("unknown") : std::string_view(e.model()))
          .inc();
  }

  // A new event, or a later version (an enrichment) of one already known.
  void remember(usage_event e) {
    auto key = dedup_key(e);
    row r = make_row(e);
    if (auto it = index_.find(key); it != index_.end()) {
      count(e, r, &rows_[it->second]);
      rows_[it->second] = std::move(r);
      stored_[it->second] = std::move(e);
      return;
    }
    count(e, r, nullptr);
    index_.emplace(std::move(key), rows_.size());
    rows_.push_back(std::move(r));
    stored_.push_back(std::move(e));
  }

  // Errors are counted as requests and tool calls but not in token sums.
  static row make_row(const usage_event& e) {
    const bool tool = e.event_type == "tool_usage";
    row r{e.occurred_at, e.agent_name, tool ? std::string() : e.model()};
    if (e.status != "error") {
      r.input = e.input_tokens.value_or(0);
      r.output = e.output_tokens.value_or(0);
      r.cache_read = e.cache_read_tokens.value_or(0);
      r.cache_write = e.cache_write_tokens.value_or(0);
      r.reasoning = e.reasoning_tokens.value_or(0);
      r.total = e.total_tokens.value_or(0);
    }
    r.cost = e.cost_usd.value_or(0);
    r.requests = tool ? 0 : e.requests.value_or(1);
    r.tool_call = tool;
    return r;
  }

  // The instruments: what `r` adds over `before` (an enrichment only ever
  // adds to the counters; calls and observations count once).
  void count(const usage_event& e, const row& r, const row* before) {
    const std::string_view m =
        r.model.empty() ? std::string_view("unknown") : std::string_view(r.model);
    auto grow = [](std::int64_t now, std::int64_t was) {
      return static_cast<std::uint64_t>(now > was ? now - was : 0);
    };
    if (r.tool_call) {
      if (before) return;
      const std::string_view name = e.tool_name.empty() ? std::string_view("unknown") : e.tool_name;
      tool_calls_.with(e.agent_name, name, e.status).inc();
      if (e.duration_ms) tool_duration_.with(e.agent_name, name).observe(*e.duration_ms / 1000.0);
    } else {
      if (!before) requests_.with(e.agent_name, m).inc(static_cast<std::uint64_t>(r.requests));
      const row zero{};
      const row& b = before ? *before : zero;
      const std::pair<const char*, std::uint64_t> parts[] = {
          {"input", grow(r.input, b.input)},
          {"output", grow(r.output, b.output)},
          {"cache_read", grow(r.cache_read, b.cache_read)},
          {"cache_write", grow(r.cache_write, b.cache_write)},
          {"reasoning", grow(r.reasoning, b.reasoning)}};
      for (auto [type, n] : parts)
        if (n > 0) tokens_.with(e.agent_name, m, type).inc(n);
      if (!before) {
        const std::string_view provider =
            e.provider_id.empty() ? std::string_view("unknown") : e.provider_id;
        if (e.status != "error" && e.input_tokens)
          genai_tokens_.with("input", m, provider, "chat").observe(double(*e.input_tokens));
        if (e.status != "error" && e.output_tokens)
          genai_tokens_.with("output", m, provider, "chat").observe(double(*e.output_tokens));
        if (e.duration_ms)
          genai_duration_.with(m, provider, "chat").observe(*e.duration_ms / 1000.0);
      }
    }
    const double extra = r.cost - (before ? before->cost : 0);
    if (extra > 0) cost_.with(e.agent_name, m).add(extra);
  }

  EventStore& events_;
  std::string stream_;
  price_table prices_;
  family<vitals::counter>& tokens_;
  family<vitals::counter>& cost_;
  family<vitals::counter>& requests_;
  family<vitals::counter>& tool_calls_;
  family<vitals::histogram>& tool_duration_;
  family<vitals::histogram>& genai_tokens_;
  family<vitals::histogram>& genai_duration_;
  vitals::counter& rejected_;
  vitals::counter& duplicates_;
  family<vitals::counter>& unpriced_;
  mutable std::mutex mu_;
  std::unordered_map<std::string, std::size_t> index_;  // dedup key -> rows_ / stored_
  std::vector<row> rows_;
  std::vector<usage_event> stored_;
  spool* spool_ = nullptr;
  std::size_t spooled_ = 0;
};

}  // namespace vitals::agent
