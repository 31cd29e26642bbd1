#pragma once
// The coroutine test runner (core/coro_test.hpp) under the name the net
// tests use. Header-only; for tests on one thread.

#include "core/coro_test.hpp"

namespace idunno::net::testing {

using idunno::testing::CoroutineTest;
using idunno::testing::eventually;
using idunno::testing::HangError;
using idunno::testing::run_ready;
using idunno::testing::run_until_done;

}  // namespace idunno::net::testing
