#include "core/base64.hpp"

#include <array>

namespace lockwatch {
namespace {

constexpr int k_invalid = -1;

constexpr std::array<int, 256> make_decode_table() {
  std::array<int, 256> table{};
  table.fill(k_invalid);
  constexpr std::string_view k_alphabet =
      "ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/";
  for (std::size_t i = 0; i < k_alphabet.size(); ++i) {
    table[static_cast<unsigned char>(k_alphabet[i])] = static_cast<int>(i);
  }
  return table;
}

constexpr std::array<int, 256> k_decode = make_decode_table();

// Padding is one or two '=' at the very end, so the data part is what precedes them.
std::optional<std::string_view> strip_padding(std::string_view text) {
  if (text.size() % 4 != 0) return std::nullopt;
  std::size_t data = text.size();
  while (data > 0 && text.size() - data < 2 && text[data - 1] == '=') --data;
  return text.substr(0, data);
}

}  // namespace

std::optional<std::string> decode_base64(std::string_view text) {
  const auto data = strip_padding(text);
  if (!data) return std::nullopt;
  std::string out;
  out.reserve(data->size() * 3 / 4);
  unsigned bits = 0;
  int pending = 0;
  for (const char c : *data) {
    const int value = k_decode[static_cast<unsigned char>(c)];
    if (value == k_invalid) return std::nullopt;
    bits = (bits << 6) | static_cast<unsigned>(value);
    pending += 6;
    if (pending >= 8) {
      pending -= 8;
      out.push_back(static_cast<char>((bits >> pending) & 0xFFu));
    }
  }
  return out;
}

}  // namespace lockwatch
