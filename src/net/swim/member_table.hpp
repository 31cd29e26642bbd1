#pragma once
// What this node knows about every member (itself included), with the
// indexes the protocol needs: by id, by tag, by name and address, a
// randomized round-robin probe order, and random picks for gossip.
//
// Why: every SWIM concern reads and updates the same records; keeping the
// indexes consistent in one place keeps the concerns simple. Records live in
// a std::map, so pointers stay valid until erase(). Owned by the SWIM core;
// not thread-safe.

#include <cstdint>
#include <functional>
#include <map>
#include <optional>
#include <random>
#include <vector>

#include "net/swim/member.hpp"

namespace idunno::swim {

class MemberTable {
 public:
  using Rng = std::mt19937_64;

  const Member* find(const MemberId& id) const;
  Member* find(const MemberId& id);
  // The member with this tag, if any (tags are 32-bit fingerprints).
  Member* find_by_tag(std::uint32_t tag);
  // The newest member (latest start) that has this name or this address.
  Member* newest_with_name(const std::string& name);
  Member* newest_at(const core::HostPort& addr);
  // Every member with this name or this address (each once).
  std::vector<Member*> same_name_or_addr(const std::string& name, const core::HostPort& addr);

  // Adds a member; it takes a random place in the current probe round so it
  // is probed soon. The id must not be present.
  Member& insert(Member member, Rng& rng);
  void set_state(Member& member, MemberState state, core::TimePoint now);
  void erase(const MemberId& id);

  // Next member to probe (alive or suspect, not `self`); a new round is
  // shuffled when the previous one is used up.
  std::optional<MemberId> next_probe_target(const MemberId& self, Rng& rng);

  // Up to k distinct random members accepted by `filter`.
  std::vector<Member*> random_members(std::size_t k, Rng& rng, const std::function<bool(const Member&)>& filter);

  // Removes dead and left members whose state is older than `retention`.
  // Returns how many were removed.
  std::size_t reap(core::TimePoint now, core::Duration retention);

  // Members in alive or suspect state, self included.
  std::size_t active_count() const { return active_; }
  // Members in alive state, self included.
  std::size_t alive_count() const { return alive_; }
  std::size_t size() const { return members_.size(); }
  const std::map<MemberId, Member>& all() const { return members_; }

 private:
  void index_add(Member& m);
  void index_remove(const Member& m);

  std::map<MemberId, Member> members_;
  std::map<std::uint32_t, Member*> by_tag_;
  std::multimap<std::string, Member*> by_name_;
  std::multimap<core::HostPort, Member*> by_addr_;
  std::vector<Member*> slots_;  // random access for random_members
  std::map<const Member*, std::size_t> slot_of_;
  std::vector<MemberId> probe_round_;
  std::size_t probe_index_ = 0;
  std::size_t active_ = 0;
  std::size_t alive_ = 0;
};

}  // namespace idunno::swim
