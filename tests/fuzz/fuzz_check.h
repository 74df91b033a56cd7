#pragma once

#include <algorithm>
#include <cstdio>
#include <cstdlib>
#include <string>
#include <type_traits>

#include "content/value.h"

// Helpers shared by the fuzz targets (one translation unit each).
namespace envflow::fuzz {

// Stop the run when a promise of the code under test does not hold: abort,
// so libFuzzer (or driver.cpp) keeps the input that got here. `what` says
// which promise: a string, or a function that makes it (so a message that
// costs something is only made when the promise is broken).
template <typename What>
void expect(bool holds, const What& what) {
  if (holds) {
    return;
  }
  if constexpr (std::is_invocable_v<What>) {
    std::fprintf(stderr, "fuzz: property violated: %s\n", std::string(what()).c_str());
  } else {
    std::fprintf(stderr, "fuzz: property violated: %s\n", std::string(what).c_str());
  }
  std::abort();
}

// Nodes in `value` (itself included) and its deepest nesting of sequences
// and mappings (0 for a scalar).
struct Shape {
  std::size_t nodes = 0;
  std::size_t depth = 0;
};

inline Shape shape_of(const content::Value& value) {
  Shape shape{1, 0};
  const auto add = [&shape](const content::Value& child) {
    const Shape inner = shape_of(child);
    shape.nodes += inner.nodes;
    shape.depth = std::max(shape.depth, inner.depth + 1);
  };
  for (const auto& item : value.items) {
    add(item);
  }
  for (const auto& member : value.members) {
    add(member.value);
  }
  if (!value.is_scalar() && shape.depth == 0) {
    shape.depth = 1; // an empty collection is one level
  }
  return shape;
}

} // namespace envflow::fuzz
