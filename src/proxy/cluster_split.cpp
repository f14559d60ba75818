// Splitting multi-key commands by hash slot and merging the replies (see cluster_split.hpp).
#include "cluster_split.hpp"

#include "connpool/proxy/command_rules.hpp"
#include "connpool/redis/cluster/hash_slot.hpp"

#include <map>

namespace connpool::proxy::detail {

namespace {

struct MultiKey {
  std::string_view name;
  SlotSplit::Merge merge;
  std::size_t step;  // arguments per key: 2 for MSET's key value pairs
};

// MSETNX is not here on purpose: its all-or-nothing promise cannot hold across slots, so it
// goes unsplit and the cluster answers CROSSSLOT, as it would to a cluster client.
constexpr MultiKey kMultiKey[] = {
    {"mget", SlotSplit::Merge::values, 1}, {"mset", SlotSplit::Merge::ok, 2},
    {"del", SlotSplit::Merge::sum, 1},     {"exists", SlotSplit::Merge::sum, 1},
    {"unlink", SlotSplit::Merge::sum, 1},  {"touch", SlotSplit::Merge::sum, 1},
};

}  // namespace

std::optional<SlotSplit> split_by_slot(const std::vector<std::string>& command) {
  if (command.size() < 3) return std::nullopt;  // at most one key
  const MultiKey* kind = nullptr;
  for (const auto& m : kMultiKey) {
    if (iequals(command[0], m.name)) kind = &m;
  }
  if (!kind || (command.size() - 1) % kind->step != 0) return std::nullopt;

  SlotSplit split;
  split.merge = kind->merge;
  split.key_count = (command.size() - 1) / kind->step;
  std::map<std::uint16_t, std::size_t> part_of_slot;
  for (std::size_t k = 0; k < split.key_count; ++k) {
    const std::size_t at = 1 + k * kind->step;
    const auto slot = redis::cluster::hash_slot(command[at]);
    auto [it, inserted] = part_of_slot.emplace(slot, split.parts.size());
    if (inserted) {
      split.parts.push_back({command[0]});
      split.positions.emplace_back();
    }
    auto& part = split.parts[it->second];
    part.insert(part.end(), command.begin() + static_cast<std::ptrdiff_t>(at),
                command.begin() + static_cast<std::ptrdiff_t>(at + kind->step));
    split.positions[it->second].push_back(k);
  }
  if (split.parts.size() < 2) return std::nullopt;  // one slot: the command goes unchanged
  return split;
}

redis::Reply merge_parts(const SlotSplit& split, std::span<redis::Reply> replies) {
  for (auto& r : replies) {
    if (r.is_error()) return std::move(r);
  }
  const auto unexpected = [](const redis::Reply& r) {
    return redis::Reply::error("ERR connpool proxy: unexpected reply from a cluster node: " +
                               std::string(to_string(r.type())));
  };
  switch (split.merge) {
    case SlotSplit::Merge::values: {
      std::vector<redis::Reply> out(split.key_count);
      for (std::size_t p = 0; p < replies.size() && p < split.positions.size(); ++p) {
        auto& elements = replies[p].elements();
        if (!replies[p].is_array() || elements.size() != split.positions[p].size()) {
          return unexpected(replies[p]);
        }
        for (std::size_t i = 0; i < elements.size(); ++i) {
          out[split.positions[p][i]] = std::move(elements[i]);
        }
      }
      return redis::Reply::array(std::move(out));
    }
    case SlotSplit::Merge::sum: {
      long long total = 0;
      for (const auto& r : replies) {
        if (!r.is_integer()) return unexpected(r);
        total += r.as_integer();
      }
      return redis::Reply::integer(total);
    }
    case SlotSplit::Merge::ok:
      for (const auto& r : replies) {
        if (!r.is_status()) return unexpected(r);
      }
      return redis::Reply::status("OK");
  }
  return redis::Reply::error("ERR connpool proxy: unknown merge");
}

}  // namespace connpool::proxy::detail
