#pragma once

#include <string>
#include <utility>
#include <variant>

namespace lockwatch {

// An error message for an expected failure (bad config, bad argument, failed poll).
struct Error {
  std::string message;
};

// Either a value or an Error; the return type of every operation that can fail in a
// foreseeable way (exceptions are reserved for "print and exit" failures).
template <typename T>
class Expected {
 public:
  Expected(T value) : m_data(std::move(value)) {}      // NOLINT(google-explicit-constructor)
  Expected(Error error) : m_data(std::move(error)) {}  // NOLINT(google-explicit-constructor)

  bool has_value() const { return m_data.index() == 0; }
  explicit operator bool() const { return has_value(); }
  T& value() { return std::get<0>(m_data); }
  const T& value() const { return std::get<0>(m_data); }
  T& operator*() { return value(); }
  const T& operator*() const { return value(); }
  T* operator->() { return &value(); }
  const T* operator->() const { return &value(); }
  const std::string& error() const { return std::get<1>(m_data).message; }

 private:
  std::variant<T, Error> m_data;
};

}  // namespace lockwatch
