// "did you mean" suggestions for unknown keys and names.
#pragma once

#include <cstddef>
#include <optional>
#include <string>
#include <string_view>
#include <vector>

namespace connpool::config::detail {

/// Optimal string alignment distance: insertions, deletions, substitutions and transpositions of
/// adjacent characters each cost 1 (so "max_szie" is 1 away from "max_size").
std::size_t edit_distance(std::string_view a, std::string_view b);

/// The candidate closest to `word`, if it is close enough to be a plausible typo: at most 1 edit
/// for words up to 4 characters, 2 up to 8, 3 beyond. Ties go to the earlier candidate.
std::optional<std::string> closest(std::string_view word,
                                   const std::vector<std::string_view>& candidates);

}  // namespace connpool::config::detail
