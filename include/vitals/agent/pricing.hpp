// Model prices: USD per token for input, output, cache reads and cache
// writes, with a higher tier once a request's context passes a threshold
// (200k tokens, as Anthropic and Google bill). Tables load from LiteLLM's
// model_prices_and_context_window.json shape; a small built-in table covers
// the current major models and a user file overrides it entry by entry.
//
// Token convention (Anthropic's, and the Claude Code transcripts'):
// `input_tokens` excludes cache reads and writes, which are priced on their
// own; reasoning tokens are part of `output_tokens`.
#pragma once

#include <boost/json.hpp>

#include <algorithm>
#include <cctype>
#include <filesystem>
#include <fstream>
#include <map>
#include <optional>
#include <sstream>
#include <string>
#include <string_view>

#include "vitals/agent/usage_event.hpp"
#include "vitals/core/error.hpp"

namespace vitals::agent {

struct model_price {
  double input = 0, output = 0, cache_read = 0, cache_write = 0;  // USD per token
  // Above `threshold` context tokens (input + cache read + cache write), when set.
  std::optional<double> input_above{}, output_above{}, cache_read_above{}, cache_write_above{};
  std::int64_t threshold = 200'000;
};

namespace detail {

inline bool all_digits(std::string_view s) {
  return !s.empty() && std::all_of(s.begin(), s.end(), [](char c) { return c >= '0' && c <= '9'; });
}

}  // namespace detail

/// The name prices are looked up by: lower case; without a provider path
/// (`anthropic/`, `openrouter/openai/`), a Bedrock region or vendor prefix
/// (`us.anthropic.`), a version tag (`-v1:0`, `:0`, `@20241022`), a date
/// (`-20250929`, `-2025-08-07`) or `-latest`.
inline std::string normalise_model(std::string_view raw) {
  std::string s;
  for (char c : raw)
    if (!std::isspace(static_cast<unsigned char>(c)))
      s += static_cast<char>(std::tolower(static_cast<unsigned char>(c)));
  if (auto slash = s.rfind('/'); slash != std::string::npos) s.erase(0, slash + 1);
  for (std::string_view p : {"us.", "eu.", "apac.", "global."})
    if (s.starts_with(p)) s.erase(0, p.size());
  for (std::string_view p : {"anthropic.", "openai.", "google.", "meta."})
    if (s.starts_with(p)) s.erase(0, p.size());
  if (auto at = s.find('@'); at != std::string::npos) s.erase(at);
  if (auto colon = s.rfind(':');
      colon != std::string::npos && detail::all_digits(s.substr(colon + 1)))
    s.erase(colon);
  if (auto v = s.rfind("-v"); v != std::string::npos && detail::all_digits(s.substr(v + 2)))
    s.erase(v);
  if (s.ends_with("-latest")) s.resize(s.size() - 7);
  if (auto d = s.rfind('-');
      d != std::string::npos && s.size() - d == 9 && detail::all_digits(s.substr(d + 1)))
    s.erase(d);         // -YYYYMMDD
  if (s.size() > 11) {  // -YYYY-MM-DD
    const std::string_view tail = std::string_view(s).substr(s.size() - 11);
    if (tail[0] == '-' && tail[5] == '-' && tail[8] == '-' &&
        detail::all_digits(tail.substr(1, 4)) && detail::all_digits(tail.substr(6, 2)) &&
        detail::all_digits(tail.substr(9, 2)))
      s.resize(s.size() - 11);
  }
  return s;
}

class price_table {
 public:
  /// Current list prices of the major models (USD per token), late 2025.
  static price_table builtin() {
    price_table t;
    const double m = 1e-6;  // prices below are per million tokens
    auto add = [&](const char* name, double in, double out, double cr, double cw) {
      t.set(name,
            {.input = in * m, .output = out * m, .cache_read = cr * m, .cache_write = cw * m});
    };
    add("claude-opus-4-5", 5, 25, 0.5, 6.25);
    add("claude-opus-4-1", 15, 75, 1.5, 18.75);
    add("claude-opus-4", 15, 75, 1.5, 18.75);
    add("claude-haiku-4-5", 1, 5, 0.1, 1.25);
    add("claude-3-5-haiku", 0.8, 4, 0.08, 1);
    add("gpt-5", 1.25, 10, 0.125, 0);
    add("gpt-5-mini", 0.25, 2, 0.025, 0);
    add("gpt-5-nano", 0.05, 0.4, 0.005, 0);
    add("gpt-5-codex", 1.25, 10, 0.125, 0);
    add("gpt-4.1", 2, 8, 0.5, 0);
    add("gpt-4o", 2.5, 10, 1.25, 0);
    add("o3", 2, 8, 0.5, 0);
    add("gemini-2.5-flash", 0.3, 2.5, 0.075, 0);
    for (const char* sonnet : {"claude-sonnet-4-5", "claude-sonnet-4"})
      t.set(sonnet, {.input = 3 * m,
                     .output = 15 * m,
                     .cache_read = 0.3 * m,
                     .cache_write = 3.75 * m,
                     .input_above = 6 * m,
                     .output_above = 22.5 * m,
                     .cache_read_above = 0.6 * m,
                     .cache_write_above = 7.5 * m});
    t.set("gemini-2.5-pro", {.input = 1.25 * m,
                             .output = 10 * m,
                             .cache_read = 0.31 * m,
                             .input_above = 2.5 * m,
                             .output_above = 15 * m,
                             .cache_read_above = 0.625 * m});
    return t;
  }

  /// A LiteLLM-shaped object: model -> {input_cost_per_token, ...}. Entries
  /// without a price (image models, the "sample_spec" entry) are skipped;
  /// a price that is not a non-negative number is an error naming it.
  static result<price_table> parse_litellm(std::string_view json) {
    boost::system::error_code ec;
    auto v = boost::json::parse(json, ec);
    if (ec) return error(errc::parse_error, "prices: invalid JSON: " + ec.message());
    if (!v.is_object()) return error(errc::parse_error, "prices: expected an object of models");
    price_table t;
    // No structured binding: clang 14's lambdas cannot capture one.
    for (const auto& kv : v.get_object()) {
      const std::string_view name = kv.key();
      const auto* o = kv.value().if_object();
      if (!o || name == "sample_spec") continue;
      model_price p;
      bool priced = false;
      std::string bad;
      auto read = [&](std::string_view key, auto& field) {
        const auto* f = o->if_contains(key);
        if (!f || f->is_null()) return;
        if (!f->is_number() || f->to_number<double>() < 0) {
          bad = std::string(name) + "." + std::string(key) + ": expected a non-negative number";
          return;
        }
        field = f->to_number<double>();
        priced = true;
      };
      read("input_cost_per_token", p.input);
      read("output_cost_per_token", p.output);
      read("cache_read_input_token_cost", p.cache_read);
      read("cache_creation_input_token_cost", p.cache_write);
      read("input_cost_per_token_above_200k_tokens", p.input_above);
      read("output_cost_per_token_above_200k_tokens", p.output_above);
      read("cache_read_input_token_cost_above_200k_tokens", p.cache_read_above);
      read("cache_creation_input_token_cost_above_200k_tokens", p.cache_write_above);
      if (!bad.empty()) return error(errc::parse_error, "prices: " + bad);
      if (priced) t.set(name, p);
    }
    return t;
  }

  static result<price_table> load(const std::filesystem::path& file) {
    std::ifstream in(file);
    if (!in) return error(errc::io_error, "prices: cannot read " + file.string());
    std::ostringstream text;
    text << in.rdbuf();
    return parse_litellm(text.str());
  }

  /// Entries of `other` replace ours, model by model.
  void merge(const price_table& other) {
    for (const auto& [k, v] : other.prices_) prices_[k] = v;
  }

  void set(std::string_view model, model_price p) { prices_[normalise_model(model)] = p; }

  const model_price* find(std::string_view model) const {
    auto key = normalise_model(model);
    if (auto it = prices_.find(key); it != prices_.end()) return &it->second;
    // "claude-sonnet-4.5" and "claude-sonnet-4-5" are the same model.
    std::replace(key.begin(), key.end(), '.', '-');
    for (const auto& [k, v] : prices_) {
      std::string dashed = k;
      std::replace(dashed.begin(), dashed.end(), '.', '-');
      if (dashed == key) return &v;
    }
    return nullptr;
  }

  /// The event's cost, or nullopt when its model has no price (or no model).
  std::optional<double> cost(const usage_event& e) const {
    const auto* p = find(e.model_raw.empty() ? e.model_canonical : e.model_raw);
    if (!p) return std::nullopt;
    const auto in = e.input_tokens.value_or(0), out = e.output_tokens.value_or(0);
    const auto cr = e.cache_read_tokens.value_or(0), cw = e.cache_write_tokens.value_or(0);
    const bool above = in + cr + cw > p->threshold;
    auto price = [&](double base, const std::optional<double>& high) {
      return above && high ? *high : base;
    };
    return double(in) * price(p->input, p->input_above) +
           double(out) * price(p->output, p->output_above) +
           double(cr) * price(p->cache_read, p->cache_read_above) +
           double(cw) * price(p->cache_write, p->cache_write_above);
  }

  std::size_t size() const noexcept { return prices_.size(); }

 private:
  std::map<std::string, model_price, std::less<>> prices_;
};

}  // namespace vitals::agent
