#pragma once
// keep_alive: runs a member coroutine while holding its object.
//
// Why: a member coroutine only captures `this`; when it is spawned (rather
// than awaited) nothing keeps the object alive. `tasks.spawn(keep_alive(self,
// self->loop()))` ties the object's lifetime to the coroutine, the Asio
// chat-server `shared_from_this` idiom in one place.

#include <boost/asio/awaitable.hpp>
#include <memory>
#include <utility>

namespace idunno::net {

template <typename T>
boost::asio::awaitable<void> keep_alive(std::shared_ptr<T> owner, boost::asio::awaitable<void> task) {
  co_await std::move(task);
  owner.reset();
}

}  // namespace idunno::net
