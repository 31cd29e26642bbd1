#include "net/swim/member_table.hpp"

#include <algorithm>

namespace idunno::swim {

const Member* MemberTable::find(const MemberId& id) const {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

Member* MemberTable::find(const MemberId& id) {
  auto it = members_.find(id);
  return it == members_.end() ? nullptr : &it->second;
}

Member* MemberTable::find_by_tag(std::uint32_t tag) {
  auto it = by_tag_.find(tag);
  return it == by_tag_.end() ? nullptr : it->second;
}

Member* MemberTable::newest_with_name(const std::string& name) {
  Member* best = nullptr;
  auto [lo, hi] = by_name_.equal_range(name);
  for (auto it = lo; it != hi; ++it) {
    if (!best || it->second->id.start_ms > best->id.start_ms) best = it->second;
  }
  return best;
}

Member* MemberTable::newest_at(const core::HostPort& addr) {
  Member* best = nullptr;
  auto [lo, hi] = by_addr_.equal_range(addr);
  for (auto it = lo; it != hi; ++it) {
    if (!best || it->second->id.start_ms > best->id.start_ms) best = it->second;
  }
  return best;
}

std::vector<Member*> MemberTable::same_name_or_addr(const std::string& name, const core::HostPort& addr) {
  std::vector<Member*> out;
  auto [lo, hi] = by_name_.equal_range(name);
  for (auto it = lo; it != hi; ++it) out.push_back(it->second);
  auto [alo, ahi] = by_addr_.equal_range(addr);
  for (auto it = alo; it != ahi; ++it) {
    if (std::find(out.begin(), out.end(), it->second) == out.end()) out.push_back(it->second);
  }
  return out;
}

Member& MemberTable::insert(Member member, Rng& rng) {
  auto [it, inserted] = members_.emplace(member.id, std::move(member));
  Member& m = it->second;
  if (!inserted) return m;
  index_add(m);
  if (m.state == MemberState::alive) ++alive_;
  if (is_active(m.state)) {
    ++active_;
    // A random place in the rest of the current round.
    const std::size_t lo = std::min(probe_index_, probe_round_.size());
    std::uniform_int_distribution<std::size_t> pick(lo, probe_round_.size());
    probe_round_.insert(probe_round_.begin() + static_cast<std::ptrdiff_t>(pick(rng)), m.id);
  }
  return m;
}

void MemberTable::set_state(Member& member, MemberState state, core::TimePoint now) {
  if (is_active(member.state) && !is_active(state)) --active_;
  if (!is_active(member.state) && is_active(state)) ++active_;
  if (member.state == MemberState::alive && state != MemberState::alive) --alive_;
  if (member.state != MemberState::alive && state == MemberState::alive) ++alive_;
  member.state = state;
  member.state_since = now;
}

void MemberTable::erase(const MemberId& id) {
  auto it = members_.find(id);
  if (it == members_.end()) return;
  if (is_active(it->second.state)) --active_;
  if (it->second.state == MemberState::alive) --alive_;
  index_remove(it->second);
  members_.erase(it);
}

void MemberTable::index_add(Member& m) {
  by_tag_[m.id.tag()] = &m;
  by_name_.emplace(m.id.name, &m);
  by_addr_.emplace(m.id.addr, &m);
  slot_of_[&m] = slots_.size();
  slots_.push_back(&m);
}

void MemberTable::index_remove(const Member& m) {
  auto tag_it = by_tag_.find(m.id.tag());
  if (tag_it != by_tag_.end() && tag_it->second == &m) by_tag_.erase(tag_it);
  auto erase_from = [&m](auto& index, const auto& key) {
    auto [lo, hi] = index.equal_range(key);
    for (auto it = lo; it != hi; ++it) {
      if (it->second == &m) {
        index.erase(it);
        return;
      }
    }
  };
  erase_from(by_name_, m.id.name);
  erase_from(by_addr_, m.id.addr);
  auto slot_it = slot_of_.find(&m);
  const std::size_t slot = slot_it->second;
  slot_of_.erase(slot_it);
  if (slot + 1 != slots_.size()) {
    slots_[slot] = slots_.back();
    slot_of_[slots_[slot]] = slot;
  }
  slots_.pop_back();
}

std::optional<MemberId> MemberTable::next_probe_target(const MemberId& self, Rng& rng) {
  for (int round = 0; round < 2; ++round) {
    while (probe_index_ < probe_round_.size()) {
      const MemberId& id = probe_round_[probe_index_++];
      const Member* m = find(id);
      if (m && id != self && is_active(m->state)) return id;
    }
    probe_round_.clear();
    probe_index_ = 0;
    for (const auto& [id, m] : members_) {
      if (id != self && is_active(m.state)) probe_round_.push_back(id);
    }
    std::shuffle(probe_round_.begin(), probe_round_.end(), rng);
  }
  return std::nullopt;
}

std::vector<Member*> MemberTable::random_members(std::size_t k, Rng& rng,
                                                 const std::function<bool(const Member&)>& filter) {
  std::vector<Member*> picked;
  if (slots_.empty() || k == 0) return picked;
  std::uniform_int_distribution<std::size_t> pick(0, slots_.size() - 1);
  // Random picks are cheap for big tables; the bounded number of tries keeps
  // the cost fixed when few members qualify (then fewer than k come back).
  const std::size_t tries = 3 * slots_.size() < 64 ? 64 : 3 * slots_.size();
  for (std::size_t i = 0; i < tries && picked.size() < k; ++i) {
    Member* m = slots_[pick(rng)];
    if (!filter(*m) || std::find(picked.begin(), picked.end(), m) != picked.end()) continue;
    picked.push_back(m);
  }
  return picked;
}

std::size_t MemberTable::reap(core::TimePoint now, core::Duration retention) {
  std::vector<MemberId> old;
  for (const auto& [id, m] : members_) {
    if (!is_active(m.state) && now - m.state_since > retention) old.push_back(id);
  }
  for (const auto& id : old) erase(id);
  return old.size();
}

}  // namespace idunno::swim
