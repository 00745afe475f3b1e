// The usage ledger: validates usage events, prices them, drops duplicates
// by the 003 seed's key (a duplicate may enrich the stored event), stores
// what it accepts in a usage store and keeps the agent instruments
// (`vitals_agent_*`, the GenAI histograms) up to date. An event counts as
// accepted once the store, or the durable spool in front of it, has taken
// it. The duplicate check asks the store, so nothing grows in memory with
// the number of events; `load()` restores the counters from the store.
// Quota readings (limit_snapshot events) are no usage: they go to the
// store's `put_limits` (a limit_store), never through the spool (the next
// reading replaces a refused one), and a store that keeps none refuses them.
//
// Here: ingest (parse, validate, price, key, dedup, store or spool). The
// dedup key is agent/dedup.hpp; the instruments detail/ledger_metrics.hpp;
// the spool and its replay into the store detail/replay.hpp.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <functional>
#include <mutex>
#include <optional>
#include <string>
#include <string_view>
#include <tuple>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vitals/agent/dedup.hpp"
#include "vitals/agent/detail/ledger_metrics.hpp"
#include "vitals/agent/detail/replay.hpp"
#include "vitals/agent/json_items.hpp"
#include "vitals/agent/pricing.hpp"
#include "vitals/agent/spool.hpp"
#include "vitals/agent/usage_event.hpp"
#include "vitals/agent/usage_store.hpp"
#include "vitals/instruments/registry.hpp"

namespace vitals::agent {

struct ingest_result {
  std::size_t accepted = 0;
  std::size_t duplicates = 0;
  std::vector<rejected_line> rejected;
};

template <usage_store Store>
class ledger {
 public:
  ledger(Store& store, registry& metrics, price_table prices = price_table::builtin())
      : store_(store), prices_(std::move(prices)), metrics_(metrics) {}

  /// Sends events the store refuses to `s` (it must outlive the ledger):
  /// they are accepted once spooled, and `replay()` stores them later, in
  /// order. While the spool holds anything, new events queue behind it.
  void use_spool(spool& s) { backlog_.attach(s); }

  Store& store() noexcept { return store_; }

  /// The host events taken in from now on came from (usage_event::host),
  /// unless they name one: a monitor's --host-name. Set it before ingesting.
  void set_host(std::string host) { host_ = std::move(host); }

  /// `f(event, before)` for each event taken in (stored or spooled): a new
  /// one with `before` null, or an enrichment with the version it improves
  /// on, as the instruments count them. It runs under the ledger's lock, so
  /// it must be quick and must not call the ledger. Set it before ingesting.
  void on_taken(std::function<void(const usage_event&, const usage_event*)> f) {
    on_taken_ = std::move(f);
  }

  /// Restores the counters from the store (this host's events: see
  /// set_host), then takes in what waits in the
  /// spool. A spooled event that is already stored (a crash between storing
  /// and acknowledging it) is acknowledged now.
  status load() {
    std::lock_guard lock(mu_);
    if (auto st = metrics_.restore(store_, host_); !st) return st;
    return backlog_.load(store_, [this](const usage_event& e, const usage_event* known) {
      metrics_.count(e, known);
    });
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
    if (!backlog_.attached()) return std::size_t{0};
    std::lock_guard lock(mu_);
    return backlog_.replay(store_, batch);
  }

  /// Records moved to the spool's dead-letter folder since it was opened.
  std::uint64_t dead_letters() const { return backlog_.attached() ? backlog_.get()->dead() : 0; }

  /// The spool: records waiting, and the dead-letter folder's count and
  /// newest `last` records (file name, attempts, last error).
  struct spool_state {
    std::size_t pending = 0, dead = 0;
    std::vector<dead_record> recent_dead;
  };
  spool_state spool_status(std::size_t last = 10) const {
    spool_state out;
    if (!backlog_.attached()) return out;
    out.pending = spooled();
    std::tie(out.dead, out.recent_dead) = backlog_.get()->dead_records(last);
    return out;
  }

  /// Events waiting in the spool.
  std::size_t spooled() const {
    std::lock_guard lock(mu_);
    return backlog_.size();
  }

  /// One JSON object, a JSON array of objects, or NDJSON. Good lines are
  /// kept when others are rejected.
  ingest_result ingest(std::string_view body) {
    ingest_result out;
    auto items = split_json_items(body, out.rejected);
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
    // 0. Quota readings apart.
    std::vector<limit_snapshot> limits;
    std::vector<std::size_t> limit_lines;
    std::erase_if(events, [&](const auto& item) {
      if (item.second.event_type != "limit_snapshot") return false;
      limits.push_back(limit_snapshot::of(item.second));
      limit_lines.push_back(item.first);
      return true;
    });
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
    auto known = backlog_.known(store_, fresh);
    if (!known && backlog_.attached() && detail::spool_backlog::is_outage(known.error()))
      // The store is down (the database of a fleet went away): what cannot
      // be checked now is spooled, and its replay merges it into what is
      // stored by then, so nothing is lost and nothing counted twice there.
      known = backlog_.known_spooled(fresh);
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
      if (backlog_.size() == 0 || !backlog_.attached()) st = store_.put(changed);
      bool spooled = false;
      if (!st && backlog_.attached()) {
        st = backlog_.write(changed, st.error().message);
        spooled = bool(st);
      }
      if (!st) {
        for (auto line : changed_lines)
          out.rejected.push_back({line, "not stored: " + st.error().message});
        out.duplicates -= changed.size() - out.accepted;  // refused enrichments
        out.accepted = 0;
      } else {
        for (std::size_t i = 0; i < changed.size(); ++i) {
          metrics_.count(changed[i].event, before[i] ? &*before[i] : nullptr);
          if (on_taken_) on_taken_(changed[i].event, before[i] ? &*before[i] : nullptr);
          if (spooled) backlog_.remember(std::move(changed[i].key), std::move(changed[i].event));
        }
      }
    }
    if constexpr (limit_store<Store>) {
      if (auto added = limits.empty() ? result<std::size_t>(0) : store_.put_limits(limits)) {
        out.accepted += *added;
        out.duplicates += limits.size() - *added;
      } else {
        for (auto line : limit_lines)
          out.rejected.push_back({line, "not stored: " + added.error().message});
      }
    } else {
      for (auto line : limit_lines)
        out.rejected.push_back({line, "event_type: this usage store keeps no limit snapshots"});
    }
    std::sort(out.rejected.begin(), out.rejected.end(),
              [](const auto& a, const auto& b) { return a.line < b.line; });
    metrics_.rejected(out.rejected.size());
    metrics_.duplicates(out.duplicates);
    return out;
  }

  // The host, the canonical model name and, when the event has none, its cost.
  void enrich(usage_event& e) {
    if (e.host.empty()) e.host = host_;
    if (e.model_canonical.empty() && !e.model_raw.empty())
      e.model_canonical = normalise_model(e.model_raw);
    const bool has_tokens =
        e.input_tokens || e.output_tokens || e.cache_read_tokens || e.cache_write_tokens;
    if (e.cost_usd || !has_tokens) return;
    if (auto c = prices_.cost(e))
      e.cost_usd = *c;
    else
      metrics_.unpriced(e.model());
  }

  Store& store_;
  price_table prices_;
  detail::ledger_metrics metrics_;
  mutable std::mutex mu_;
  detail::spool_backlog backlog_;  // guarded by mu_
  std::function<void(const usage_event&, const usage_event*)> on_taken_;
  std::string host_;
};

}  // namespace vitals::agent
