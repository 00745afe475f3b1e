// A sink that may not be there: chosen at run time (a flag, a setting)
// while the pipeline's sink list stays fixed at compile time. Until
// `emplace` it accepts everything and does nothing.
#pragma once

#include <optional>
#include <span>
#include <utility>

#include "vitals/core/concepts.hpp"
#include "vitals/sinks/null.hpp"

namespace vitals::sinks {

template <sink S>
class optional_sink {
 public:
  /// Builds the sink in place (push sinks can be neither copied nor moved).
  template <class... Args>
  S& emplace(Args&&... args) {
    return s_.emplace(std::forward<Args>(args)...);
  }

  status write(std::span<const sample> batch) { return s_ ? s_->write(batch) : status{}; }
  status flush() { return s_ ? s_->flush() : status{}; }

  S* get() noexcept { return s_ ? &*s_ : nullptr; }
  explicit operator bool() const noexcept { return s_.has_value(); }

 private:
  std::optional<S> s_;
};

static_assert(sink<optional_sink<null_sink>>);

}  // namespace vitals::sinks
