#pragma once

#include <array>
#include <cstddef>
#include <optional>
#include <string_view>

namespace envflow::util {

// One value of an enum and the word it is printed (and read back) as.
template <typename Enum> struct EnumName {
  Enum value;
  std::string_view name;
};

// The words of an enum, one entry per value, written once where the enum is
// printed:
//   constexpr auto k_gate_names = std::to_array<util::EnumName<Gate>>({
//       {Gate::identity, "identity"}, {Gate::fast_forward, "fast-forward"}});
template <typename Enum, std::size_t N> using EnumNames = std::array<EnumName<Enum>, N>;

// The word for `value` in `names`; `fallback` for a value `names` leaves out.
// Every name is a string literal, so `.data()` is null-terminated.
template <typename Enum, std::size_t N>
constexpr std::string_view name_of(const EnumNames<Enum, N>& names, Enum value,
                                   std::string_view fallback) {
  for (const EnumName<Enum>& entry : names) {
    if (entry.value == value) {
      return entry.name;
    }
  }
  return fallback;
}

// The value whose word is `name`, or none.
template <typename Enum, std::size_t N>
constexpr std::optional<Enum> value_of(const EnumNames<Enum, N>& names, std::string_view name) {
  for (const EnumName<Enum>& entry : names) {
    if (entry.name == name) {
      return entry.value;
    }
  }
  return std::nullopt;
}

} // namespace envflow::util
