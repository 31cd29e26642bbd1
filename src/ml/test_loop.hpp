#pragma once
// Runs one awaitable to completion on a fresh io_context (the ML tests'
// event loop), returning its value or rethrowing its exception.

#include <boost/asio/co_spawn.hpp>
#include <boost/asio/io_context.hpp>
#include <boost/asio/use_future.hpp>

namespace idunno::ml::test {

template <typename T>
T run_loop(boost::asio::io_context& io, boost::asio::awaitable<T> task) {
  auto future = boost::asio::co_spawn(io, std::move(task), boost::asio::use_future);
  io.restart();
  io.run();
  return future.get();
}

}  // namespace idunno::ml::test
