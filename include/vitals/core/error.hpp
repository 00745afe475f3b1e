// Errors are values: expected failures come back as `vitals::error` inside a
// `result<T>`; exceptions are kept for programming errors and construction.
#pragma once

#include <cassert>
#include <string>
#include <system_error>
#include <type_traits>
#include <utility>
#include <variant>

namespace vitals {

enum class errc {
  invalid_name = 1,
  invalid_argument,
  parse_error,
  limit_exceeded,
  not_found,
  io_error,
  unavailable,
  already_exists,
};

class error_category_impl final : public std::error_category {
 public:
  const char* name() const noexcept override { return "vitals"; }
  std::string message(int c) const override {
    switch (static_cast<errc>(c)) {
      case errc::invalid_name:
        return "invalid name";
      case errc::invalid_argument:
        return "invalid argument";
      case errc::parse_error:
        return "parse error";
      case errc::limit_exceeded:
        return "limit exceeded";
      case errc::not_found:
        return "not found";
      case errc::io_error:
        return "i/o error";
      case errc::unavailable:
        return "unavailable";
      case errc::already_exists:
        return "already exists";
    }
    return "unknown vitals error";
  }
};

inline const std::error_category& error_category() noexcept {
  static const error_category_impl instance;
  return instance;
}

inline std::error_code make_error_code(errc e) noexcept {
  return {static_cast<int>(e), error_category()};
}

/// An error code plus a message meant for a person: it names the field, the
/// line or the position that was wrong.
struct error {
  std::error_code code;
  std::string message;

  error(errc e, std::string msg) : code(make_error_code(e)), message(std::move(msg)) {}
  error(std::error_code c, std::string msg) : code(c), message(std::move(msg)) {}

  friend bool operator==(const error&, const error&) = default;
};

/// A value or an error. Small on purpose: `std::expected` arrives in C++23.
template <class T>
class [[nodiscard]] result {
 public:
  template <class U = T>
  requires std::is_constructible_v<T, U&&> &&
      (!std::is_same_v<std::remove_cvref_t<U>, vitals::error>)result(U&& v)
      : v_(std::in_place_index<0>, std::forward<U>(v)) {}
  result(vitals::error e) : v_(std::in_place_index<1>, std::move(e)) {}

  bool has_value() const noexcept { return v_.index() == 0; }
  explicit operator bool() const noexcept { return has_value(); }

  T& value() & { return check(), std::get<0>(v_); }
  const T& value() const& { return check(), std::get<0>(v_); }
  T&& value() && { return check(), std::get<0>(std::move(v_)); }
  T& operator*() & { return value(); }
  const T& operator*() const& { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }

  const vitals::error& error() const& {
    assert(!has_value());
    return std::get<1>(v_);
  }

 private:
  void check() const {
    if (!has_value()) throw std::system_error(std::get<1>(v_).code, std::get<1>(v_).message);
  }
  std::variant<T, vitals::error> v_;
};

/// The result of an operation that yields nothing but may fail.
template <>
class [[nodiscard]] result<void> {
 public:
  result() = default;
  result(vitals::error e) : e_(std::move(e)), failed_(true) {}

  bool has_value() const noexcept { return !failed_; }
  explicit operator bool() const noexcept { return !failed_; }
  void value() const {
    if (failed_) throw std::system_error(e_.code, e_.message);
  }
  const vitals::error& error() const& {
    assert(failed_);
    return e_;
  }

 private:
  vitals::error e_{std::error_code{}, {}};
  bool failed_ = false;
};

using status = result<void>;

}  // namespace vitals

template <>
struct std::is_error_code_enum<vitals::errc> : std::true_type {};
