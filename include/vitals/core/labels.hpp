// Metric and label names follow the Prometheus data model. A label set is
// sorted by name and validated when it is built, never on the increment path.
#pragma once

#include <algorithm>
#include <cstdint>
#include <initializer_list>
#include <memory>
#include <stdexcept>
#include <string>
#include <string_view>
#include <utility>
#include <vector>

#include "vitals/core/detail/config.hpp"
#include "vitals/core/detail/utf8.hpp"
#include "vitals/core/error.hpp"

namespace vitals {

namespace detail {
constexpr bool is_name_start(char c) noexcept {
  return (c >= 'a' && c <= 'z') || (c >= 'A' && c <= 'Z') || c == '_';
}
constexpr bool is_name_char(char c) noexcept { return is_name_start(c) || (c >= '0' && c <= '9'); }
}  // namespace detail

/// `[a-zA-Z_:][a-zA-Z0-9_:]*`
constexpr bool is_valid_metric_name(std::string_view n) noexcept {
  if (n.empty() || !(detail::is_name_start(n[0]) || n[0] == ':')) return false;
  return std::all_of(n.begin(), n.end(),
                     [](char c) { return detail::is_name_char(c) || c == ':'; });
}

/// `[a-zA-Z_][a-zA-Z0-9_]*`, and not starting with `__` (reserved for internal use).
constexpr bool is_valid_label_name(std::string_view n) noexcept {
  if (n.empty() || !detail::is_name_start(n[0])) return false;
  if (n.starts_with("__")) return false;
  return std::all_of(n.begin(), n.end(), detail::is_name_char);
}

VITALS_DECL status check_metric_name(std::string_view n);

VITALS_DECL status check_label_name(std::string_view n);

/// Well-formed UTF-8 (no overlong forms, no surrogates, nothing above
/// U+10FFFF) without NUL: text that every store, SQL client and JSON writer
/// takes as it is (PostgreSQL text cannot hold NUL; libpq would cut there).
constexpr bool is_clean_text(std::string_view s) noexcept {
  for (std::size_t i = 0; i < s.size();) {
    const std::size_t n = detail::utf8_length(s, i);
    if (n == 0 || s[i] == '\0') return false;
    i += n;
  }
  return true;
}

/// A label value from outside: clean text (see is_clean_text), named in the error.
VITALS_DECL status check_label_value(std::string_view name, std::string_view v);

struct label {
  std::string name;
  std::string value;
  friend auto operator<=>(const label&, const label&) = default;
};

/// An immutable set of labels, sorted by name, names unique and valid.
/// Copies share one allocation, so passing label sets around is cheap.
class label_set {
 public:
  label_set() = default;

  /// Throws std::invalid_argument naming the bad label (construction is where
  /// mistakes are caught).
  label_set(std::initializer_list<label> l) : label_set(std::vector<label>(l)) {}
  explicit label_set(std::vector<label> l) {
    auto r = make(std::move(l));
    if (!r) throw std::invalid_argument(r.error().message);
    *this = std::move(*r);
  }

  /// The non-throwing way in, for input that comes from outside.
  VITALS_DECL static result<label_set> make(std::vector<label> l);

  /// For labels already known to be valid and sorted (internal fast path).
  static label_set from_sorted_unchecked(std::vector<label> l) {
    label_set s;
    if (!l.empty()) s.labels_ = std::make_shared<const std::vector<label>>(std::move(l));
    return s;
  }

  const std::vector<label>& items() const noexcept { return labels_ ? *labels_ : empty_(); }
  auto begin() const noexcept { return items().begin(); }
  auto end() const noexcept { return items().end(); }
  std::size_t size() const noexcept { return items().size(); }
  bool empty() const noexcept { return items().empty(); }
  const label& operator[](std::size_t i) const noexcept { return items()[i]; }

  /// The value of a label, or an empty view (Prometheus treats absent as empty).
  std::string_view get(std::string_view name) const noexcept {
    for (const auto& l : items())
      if (l.name == name) return l.value;
    return {};
  }

  /// A copy with one more label (or a replaced value).
  label_set with(std::string name, std::string value) const {
    std::vector<label> l = items();
    auto it = std::find_if(l.begin(), l.end(), [&](const label& x) { return x.name == name; });
    if (it != l.end()) {
      it->value = std::move(value);
      return from_sorted_unchecked(std::move(l));
    }
    l.push_back({std::move(name), std::move(value)});
    return label_set(std::move(l));
  }

  friend auto operator<=>(const label_set& a, const label_set& b) {
    return a.items() <=> b.items();
  }
  friend bool operator==(const label_set& a, const label_set& b) {
    return a.labels_ == b.labels_ || a.items() == b.items();
  }

 private:
  static const std::vector<label>& empty_() noexcept {
    static const std::vector<label> none;
    return none;
  }
  std::shared_ptr<const std::vector<label>> labels_;
};

}  // namespace vitals

#if defined(VITALS_HEADER_ONLY)
#include "vitals/core/detail/labels_impl.hpp"
#endif
