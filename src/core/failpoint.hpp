#pragma once
// Failpoints: named places where a test can make this process crash at the
// worst moment, such as between committing a decision and acting on it.
//
// Why: some failures matter only in a window too short to hit with kill -9
// from outside (a coordinator that dies after its lease is committed but
// before the worker hears of it). A failpoint makes that window the crash
// point, in a real process, so a cluster test can show what recovery does
// there.
//
// Armed only from the environment, read once:
// IDUNNO_FAILPOINTS="name[,name...]". An armed failpoint logs
// `event=failpoint_crash name=...`, flushes the log, and ends the process
// with _exit (as a crash would: no shutdown, no goodbye to peers). Unarmed
// (the default) it costs one lookup in an empty set. Any thread.

#include <string_view>

namespace idunno::core {

// The names IDUNNO_FAILPOINTS arms (for tests of the parser).
bool failpoint_armed_in(std::string_view spec, std::string_view name);

// Crashes the process here if `name` is armed.
void failpoint(std::string_view name);

}  // namespace idunno::core
