// The usage ledger: validates usage events, prices them, drops duplicates
// by the 003 seed's key (a duplicate may enrich the stored event), stores
// what it accepts in a usage store and keeps the agent instruments
// (`vitals_agent_*`, the GenAI histograms) up to date. An event counts as
// accepted once the store, or the durable spool in front of it, has taken
// it. The duplicate check asks the store, so nothing grows in memory with
// the number of events; `load()` restores the counters from the store.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <functional>
#include <limits>
#include <mutex>
#include <optional>
#include <span>
#include <string>
#include <tuple>
#include <unordered_map>
#include <vector>

#include "vitals/agent/pricing.hpp"
#include "vitals/agent/spool.hpp"
#include "vitals/agent/usage_event.hpp"
#include "vitals/agent/usage_store.hpp"
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
  key.reserve(128);
  auto part = [&](std::string_view s) {  // detail::normalised, without a copy
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.front()))) s.remove_prefix(1);
    while (!s.empty() && std::isspace(static_cast<unsigned char>(s.back()))) s.remove_suffix(1);
    for (char c : s) key += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
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

template <usage_store Store>
class ledger {
 public:
  ledger(Store& store, registry& metrics, price_table prices = price_table::builtin())
      : store_(store),
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

  Store& store() noexcept { return store_; }

  /// `f(event, before)` for each event taken in (stored or spooled): a new
  /// one with `before` null, or an enrichment with the version it improves
  /// on, as the instruments count them. It runs under the ledger's lock, so
  /// it must be quick and must not call the ledger. Set it before ingesting.
  void on_taken(std::function<void(const usage_event&, const usage_event*)> f) {
    on_taken_ = std::move(f);
  }

  /// Restores the counters from the store, then takes in what waits in the
  /// spool. A spooled event that is already stored (a crash between storing
  /// and acknowledging it) is acknowledged now.
  status load() {
    std::lock_guard lock(mu_);
    if (auto st = restore_counters(); !st) return st;
    if (!spool_) return {};
    auto waiting = spool_->read_oldest(std::numeric_limits<std::size_t>::max());
    if (!waiting) return waiting.error();
    for (auto& p : *waiting) {
      auto e = from_spool(p.record);
      if (!e) continue;  // replay() marks it failed
      std::string key = dedup_key(*e);
      auto known = known_event(key);
      if (!known) return known.error();
      if (usage_event merged; *known && !merge_usage(merged = **known, *e)) {
        (void)spool_->ack(p);  // stored already: it adds nothing
        continue;
      }
      count(*e, known->has_value() ? &**known : nullptr);
      remember_pending(std::move(key), std::move(*e));
    }
    spooled_ = spool_->size();
    return {};
  }

  /// Stores up to `batch` spooled events, oldest first, and acknowledges
  /// them. Returns how many were stored.
  ///
  /// When the store is unavailable (errc::unavailable: down, busy, full) all
  /// of them wait, in order, marked with the attempt and the error, and the
  /// error is returned. When it refuses the batch for another reason, the
  /// records are stored one at a time: those it takes are acknowledged, and
  /// one it refuses is marked and, after spool max_refusals (10) refusals,
  /// moved to the dead-letter folder. So a poison record never blocks the
  /// records behind it: order holds among the records the store takes.
  result<std::size_t> replay(std::size_t batch = 1000) {
    if (!spool_) return std::size_t{0};
    std::lock_guard lock(mu_);
    auto waiting = spool_->read_oldest(batch);
    if (!waiting) return waiting.error();
    std::vector<usage_record> records;
    std::vector<pending_record*> taken;
    for (auto& p : *waiting) {
      auto e = from_spool(p.record);
      if (!e) {  // an unreadable payload never becomes readable: a refusal
        (void)spool_->mark_failed(p, e.error().message, true);
        continue;
      }
      records.push_back({dedup_key(*e), std::move(*e)});
      taken.push_back(&p);
    }
    std::size_t stored = 0;
    if (!records.empty()) {
      auto st = store_.put(records);
      if (!st && is_outage(st.error())) {
        for (auto* p : taken) (void)spool_->mark_failed(*p, st.error().message);
        spooled_ = spool_->size();
        return st.error();
      }
      if (st) {
        for (std::size_t i = 0; i < records.size(); ++i) settle(*taken[i], records[i].key, true);
        stored = records.size();
      } else {
        for (std::size_t i = 0; i < records.size(); ++i) {
          auto one = store_.put(std::span<const usage_record>(&records[i], 1));
          if (one) {
            settle(*taken[i], records[i].key, true);
            ++stored;
            continue;
          }
          const bool outage = is_outage(one.error());
          (void)spool_->mark_failed(*taken[i], one.error().message, !outage);
          if (taken[i]->dead) settle(*taken[i], records[i].key, false);
          if (outage) break;  // the rest wait for the store
        }
      }
    }
    spooled_ = spool_->size();
    return stored;
  }

  /// Records moved to the spool's dead-letter folder since it was opened.
  std::uint64_t dead_letters() const { return spool_ ? spool_->dead() : 0; }

  /// The spool: records waiting, and the dead-letter folder's count and
  /// newest `last` records (file name, attempts, last error).
  struct spool_state {
    std::size_t pending = 0, dead = 0;
    std::vector<dead_record> recent_dead;
  };
  spool_state spool_status(std::size_t last = 10) const {
    spool_state out;
    if (!spool_) return out;
    out.pending = spooled();
    std::tie(out.dead, out.recent_dead) = spool_->dead_records(last);
    return out;
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
    auto items = split_items(body, out.rejected);
    const timestamp received = vitals::now();
    std::vector<std::pair<std::size_t, usage_event>> events;
    events.reserve(items.size());
    for (auto& [line, v] : items) {
      auto e = parse_usage_event(v, received);
      if (!e)
        out.rejected.push_back({line, e.error().message});
      else
        events.emplace_back(line, std::move(*e));
    }
    return take(std::move(events), std::move(out));
  }

  /// Events built in code (an importer's, OTLP's): checked as `ingest`
  /// checks parsed ones (validate_usage_event), without a JSON round trip.
  /// A rejection's `line` is the event's index + 1.
  ingest_result ingest_events(std::vector<usage_event> batch) {
    ingest_result out;
    std::vector<std::pair<std::size_t, usage_event>> events;
    events.reserve(batch.size());
    for (std::size_t i = 0; i < batch.size(); ++i) {
      if (auto st = validate_usage_event(batch[i]); !st)
        out.rejected.push_back({i + 1, st.error().message});
      else
        events.emplace_back(i + 1, std::move(batch[i]));
    }
    return take(std::move(events), std::move(out));
  }

 private:
  ingest_result take(std::vector<std::pair<std::size_t, usage_event>> events, ingest_result out) {
    // 1. Price and key; a repeat within the batch enriches the first.
    std::vector<usage_record> fresh;
    std::vector<std::size_t> lines;
    std::unordered_map<std::string, std::size_t> in_batch;
    fresh.reserve(events.size());
    lines.reserve(events.size());
    in_batch.reserve(events.size());
    for (auto& [line, e] : events) {
      enrich(e);
      auto key = dedup_key(e);
      if (auto b = in_batch.find(key); b != in_batch.end()) {
        merge_usage(fresh[b->second].event, e);
        ++out.duplicates;
        continue;
      }
      in_batch.emplace(key, fresh.size());
      fresh.push_back({std::move(key), std::move(e)});
      lines.push_back(line);
    }
    std::lock_guard lock(mu_);
    // 2. Against what is stored or spooled: a duplicate is stored again only
    //    when it enriches the known version.
    auto known = known_events(fresh);
    if (!known) {
      for (auto line : lines)
        out.rejected.push_back({line, "not stored: " + known.error().message});
      fresh.clear();
    }
    std::vector<usage_record> changed;
    std::vector<std::optional<usage_event>> before;
    std::vector<std::size_t> changed_lines;
    changed.reserve(fresh.size());
    before.reserve(fresh.size());
    changed_lines.reserve(fresh.size());
    for (std::size_t i = 0; i < fresh.size(); ++i) {
      auto& was = (*known)[i];
      if (was) {
        ++out.duplicates;
        usage_event merged = *was;
        if (!merge_usage(merged, fresh[i].event)) continue;
        fresh[i].event = std::move(merged);
      } else {
        ++out.accepted;
      }
      changed.push_back(std::move(fresh[i]));
      before.push_back(std::move(was));
      changed_lines.push_back(lines[i]);
    }
    // 3. Store, or spool when the store refuses or the spool is draining.
    if (!changed.empty()) {
      status st = error(errc::unavailable, "the spool is draining");
      if (spooled_ == 0 || !spool_) st = store_.put(changed);
      bool spooled = false;
      if (!st && spool_) {
        st = to_spool(changed, st.error().message);
        spooled = bool(st);
      }
      if (!st) {
        for (auto line : changed_lines)
          out.rejected.push_back({line, "not stored: " + st.error().message});
        out.duplicates -= changed.size() - out.accepted;  // refused enrichments
        out.accepted = 0;
      } else {
        for (std::size_t i = 0; i < changed.size(); ++i) {
          count(changed[i].event, before[i] ? &*before[i] : nullptr);
          if (on_taken_) on_taken_(changed[i].event, before[i] ? &*before[i] : nullptr);
          if (spooled) remember_pending(std::move(changed[i].key), std::move(changed[i].event));
        }
      }
    }
    std::sort(out.rejected.begin(), out.rejected.end(),
              [](const auto& a, const auto& b) { return a.line < b.line; });
    rejected_.inc(out.rejected.size());
    duplicates_.inc(out.duplicates);
    return out;
  }

  // A spooled event not yet stored: its latest version, and how many of its
  // versions wait in the spool.
  struct pending_event {
    usage_event event;
    std::size_t copies = 0;
  };

  static std::vector<std::pair<std::size_t, boost::json::value>> split_items(
      std::string_view body, std::vector<rejected_line>& rejected) {
    std::vector<std::pair<std::size_t, boost::json::value>> items;
    boost::system::error_code ec;
    auto whole = boost::json::parse(body, ec);
    if (!ec && whole.is_array()) {
      std::size_t i = 0;
      for (auto& v : whole.get_array()) items.emplace_back(++i, std::move(v));
      return items;
    }
    if (!ec) {
      items.emplace_back(1, std::move(whole));
      return items;
    }
    std::size_t line = 0;  // NDJSON
    while (!body.empty()) {
      const auto nl = body.find('\n');
      std::string_view text = body.substr(0, nl);
      body.remove_prefix(nl == std::string_view::npos ? body.size() : nl + 1);
      ++line;
      if (text.find_first_not_of(" \t\r") == std::string_view::npos) continue;
      boost::system::error_code lec;
      auto v = boost::json::parse(text, lec);
      if (lec)
        rejected.push_back({line, "invalid JSON: " + lec.message()});
      else
        items.emplace_back(line, std::move(v));
    }
    return items;
  }

  static bool is_outage(const error& e) { return e.code == make_error_code(errc::unavailable); }

  // A spooled record is done: stored (acknowledged) or dead-lettered. Its
  // key stops being pending once no other version of it waits.
  void settle(pending_record& p, const std::string& key, bool stored) {
    if (stored) (void)spool_->ack(p);
    if (auto it = pending_.find(key); it != pending_.end() && --it->second.copies == 0)
      pending_.erase(it);
  }

  static result<usage_event> from_spool(const spool_record& r) {
    boost::system::error_code ec;
    auto v = boost::json::parse(r.payload, ec);
    if (ec) return error(errc::parse_error, "spooled payload: " + ec.message());
    return parse_usage_event(v, r.created_at);
  }

  // The known version of each record's key: spooled, else stored.
  result<std::vector<std::optional<usage_event>>> known_events(
      const std::vector<usage_record>& records) {
    std::vector<std::string> ask;
    for (const auto& r : records)
      if (!pending_.contains(r.key)) ask.push_back(r.key);
    auto stored = store_.find(ask);
    if (!stored) return stored.error();
    std::vector<std::optional<usage_event>> out;
    out.reserve(records.size());
    std::size_t next = 0;
    for (const auto& r : records) {
      if (auto it = pending_.find(r.key); it != pending_.end())
        out.emplace_back(it->second.event);
      else
        out.push_back(std::move((*stored)[next++]));
    }
    return out;
  }

  result<std::optional<usage_event>> known_event(const std::string& key) {
    auto one = known_events({usage_record{key, {}}});
    if (!one) return one.error();
    return std::move(one->front());
  }

  void remember_pending(std::string key, usage_event e) {
    auto& p = pending_[std::move(key)];
    p.event = std::move(e);
    ++p.copies;
  }

  // All or nothing: a batch that cannot be spooled whole is refused whole
  // (the records already written are acknowledged away again).
  status to_spool(const std::vector<usage_record>& records, const std::string& why) {
    std::vector<std::string> written;
    for (const auto& [key, e] : records) {
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
    spooled_ += records.size();
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

  static std::string_view or_unknown(std::string_view s) { return s.empty() ? "unknown" : s; }

  // After a restart the counters go on from the stored totals; the
  // histograms start again, as a restarted process's do.
  status restore_counters() {
    auto models = store_.aggregate({.group = by_agent | by_model, .kind = usage_kind::model_calls});
    if (!models) return models.error();
    for (const auto& r : *models) {
      const auto& t = r.totals;
      const std::pair<const char*, std::int64_t> parts[] = {{"input", t.input},
                                                            {"output", t.output},
                                                            {"cache_read", t.cache_read},
                                                            {"cache_write", t.cache_write},
                                                            {"reasoning", t.reasoning}};
      for (auto [type, n] : parts)
        if (n > 0) tokens_.with(r.agent, or_unknown(r.model), type).inc(std::uint64_t(n));
      if (t.requests > 0)
        requests_.with(r.agent, or_unknown(r.model)).inc(std::uint64_t(t.requests));
      if (t.cost_usd > 0) cost_.with(r.agent, or_unknown(r.model)).add(t.cost_usd);
    }
    auto tools =
        store_.aggregate({.group = by_agent | by_tool | by_status, .kind = usage_kind::tool_calls});
    if (!tools) return tools.error();
    for (const auto& r : *tools) {
      tool_calls_.with(r.agent, or_unknown(r.tool), r.status)
          .inc(std::uint64_t(r.totals.tool_calls));
      if (r.totals.cost_usd > 0) cost_.with(r.agent, "unknown").add(r.totals.cost_usd);
    }
    return {};
  }

  // The instruments: what `e` adds over `before`, its earlier version (an
  // enrichment only ever adds to the counters; calls and observations
  // count once).
  void count(const usage_event& e, const usage_event* before) {
    usage_totals now, was;
    now.add(e);
    if (before) was.add(*before);
    const std::string_view m = or_unknown(detail::grouped_model(e));
    if (e.event_type == "tool_usage") {
      if (!before) {
        const std::string_view tool = or_unknown(e.tool_name);
        tool_calls_.with(e.agent_name, tool, e.status).inc();
        if (e.duration_ms) tool_duration_.with(e.agent_name, tool).observe(*e.duration_ms / 1000.0);
      }
    } else {
      auto grow = [](std::int64_t a, std::int64_t b) { return std::uint64_t(a > b ? a - b : 0); };
      const std::pair<const char*, std::uint64_t> parts[] = {
          {"input", grow(now.input, was.input)},
          {"output", grow(now.output, was.output)},
          {"cache_read", grow(now.cache_read, was.cache_read)},
          {"cache_write", grow(now.cache_write, was.cache_write)},
          {"reasoning", grow(now.reasoning, was.reasoning)}};
      for (auto [type, n] : parts)
        if (n > 0) tokens_.with(e.agent_name, m, type).inc(n);
      if (!before) {
        requests_.with(e.agent_name, m).inc(std::uint64_t(now.requests));
        const std::string_view provider = or_unknown(e.provider_id);
        if (e.status != "error" && e.input_tokens)
          genai_tokens_.with("input", m, provider, "chat").observe(double(*e.input_tokens));
        if (e.status != "error" && e.output_tokens)
          genai_tokens_.with("output", m, provider, "chat").observe(double(*e.output_tokens));
        if (e.duration_ms)
          genai_duration_.with(m, provider, "chat").observe(*e.duration_ms / 1000.0);
      }
    }
    if (const double extra = now.cost_usd - was.cost_usd; extra > 0)
      cost_.with(e.agent_name, m).add(extra);
  }

  Store& store_;
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
  std::unordered_map<std::string, pending_event> pending_;  // dedup key -> spooled, not stored
  spool* spool_ = nullptr;
  std::size_t spooled_ = 0;
  std::function<void(const usage_event&, const usage_event*)> on_taken_;
};

}  // namespace vitals::agent
