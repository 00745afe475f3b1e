// The ledger's durable spool (agent/ledger.hpp): events the store refused
// go to it whole or not at all, and are replayed into the store later, in
// order. Until then their latest version is known here by dedup key, so a
// duplicate that arrives meanwhile is recognised without asking the store.
// Not thread-safe: the ledger's mutex guards every call.
#pragma once

#include <boost/json.hpp>

#include <cstddef>
#include <limits>
#include <optional>
#include <span>
#include <string>
#include <unordered_map>
#include <utility>
#include <vector>

#include "vitals/agent/dedup.hpp"
#include "vitals/agent/spool.hpp"
#include "vitals/agent/usage_event.hpp"
#include "vitals/agent/usage_store.hpp"
#include "vitals/core/error.hpp"

namespace vitals::agent::detail {

class spool_backlog {
 public:
  void attach(spool& s) { spool_ = &s; }
  bool attached() const noexcept { return spool_ != nullptr; }
  spool* get() const noexcept { return spool_; }
  /// Events waiting in the spool.
  std::size_t size() const noexcept { return spooled_; }

  /// The known version of each record's key: spooled, else stored.
  template <usage_store Store>
  result<std::vector<std::optional<usage_event>>> known(Store& store,
                                                        const std::vector<usage_record>& records) {
    std::vector<std::string> ask;
    for (const auto& r : records)
      if (!pending_.contains(r.key)) ask.push_back(r.key);
    auto stored = store.find(ask);
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

  /// The spooled version of each record's key, or nullopt: what is known
  /// while the store cannot be asked (an outage).
  std::vector<std::optional<usage_event>> known_spooled(const std::vector<usage_record>& records) {
    std::vector<std::optional<usage_event>> out;
    out.reserve(records.size());
    for (const auto& r : records)
      if (auto it = pending_.find(r.key); it != pending_.end())
        out.emplace_back(it->second.event);
      else
        out.emplace_back();
    return out;
  }

  /// Takes in what waits in the spool (at start-up): a spooled event that is
  /// already stored and adds nothing (a crash between storing and
  /// acknowledging it) is acknowledged now; each other one is passed to
  /// `count(event, known version or null)` and remembered.
  template <usage_store Store, class Count>
  status load(Store& store, Count&& count) {
    if (!spool_) return {};
    auto waiting = spool_->read_oldest(std::numeric_limits<std::size_t>::max());
    if (!waiting) return waiting.error();
    for (auto& p : *waiting) {
      auto e = from_spool(p.record);
      if (!e) continue;  // replay() marks it failed
      std::string key = dedup_key(*e);
      auto was = known_event(store, key);
      if (!was) return was.error();
      if (usage_event merged; *was && !merge_usage(merged = **was, *e)) {
        (void)spool_->ack(p);  // stored already: it adds nothing
        continue;
      }
      count(*e, was->has_value() ? &**was : nullptr);
      remember(std::move(key), std::move(*e));
    }
    spooled_ = spool_->size();
    return {};
  }

  /// See ledger::replay.
  template <usage_store Store>
  result<std::size_t> replay(Store& store, std::size_t batch) {
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
    // Events spooled while the store could not be asked may be stored
    // already (sent to another monitor of the fleet too, or stored just
    // before an outage): each is merged into the stored version, as the
    // ledger would have, and one that adds nothing is acknowledged unstored.
    if (!records.empty()) {
      std::vector<std::string> keys;
      keys.reserve(records.size());
      for (const auto& r : records) keys.push_back(r.key);
      auto was = store.find(keys);
      if (!was) {
        for (auto* p : taken) (void)spool_->mark_failed(*p, was.error().message);
        spooled_ = spool_->size();
        return was.error();
      }
      std::unordered_map<std::string, usage_event> latest;  // by key, merged in spool order
      std::vector<usage_record> changed;
      std::vector<pending_record*> changed_taken;
      for (std::size_t i = 0; i < records.size(); ++i) {
        auto it = latest.find(records[i].key);
        if (it == latest.end() && (*was)[i]) it = latest.emplace(records[i].key, *(*was)[i]).first;
        if (it != latest.end()) {
          if (!merge_usage(it->second, records[i].event)) {
            settle(*taken[i], records[i].key, true);  // stored already: it adds nothing
            continue;
          }
          records[i].event = it->second;
        } else {
          latest.emplace(records[i].key, records[i].event);
        }
        changed.push_back(std::move(records[i]));
        changed_taken.push_back(taken[i]);
      }
      records = std::move(changed);
      taken = std::move(changed_taken);
    }
    std::size_t stored = 0;
    if (!records.empty()) {
      auto st = store.put(records);
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
          auto one = store.put(std::span<const usage_record>(&records[i], 1));
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

  /// All or nothing: a batch that cannot be spooled whole is refused whole
  /// (the records already written are acknowledged away again).
  status write(const std::vector<usage_record>& records, const std::string& why) {
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

  /// `e` is the latest spooled version of `key`; one more copy waits.
  void remember(std::string key, usage_event e) {
    auto& p = pending_[std::move(key)];
    p.event = std::move(e);
    ++p.copies;
  }

  static bool is_outage(const error& e) { return e.code == make_error_code(errc::unavailable); }

 private:
  // A spooled event not yet stored: its latest version, and how many of its
  // versions wait in the spool.
  struct pending_event {
    usage_event event;
    std::size_t copies = 0;
  };

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

  template <usage_store Store>
  result<std::optional<usage_event>> known_event(Store& store, const std::string& key) {
    auto one = known(store, {usage_record{key, {}}});
    if (!one) return one.error();
    return std::move(one->front());
  }

  spool* spool_ = nullptr;
  std::unordered_map<std::string, pending_event> pending_;  // dedup key -> spooled, not stored
  std::size_t spooled_ = 0;
};

}  // namespace vitals::agent::detail
