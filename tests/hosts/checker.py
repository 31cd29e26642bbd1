#!/usr/bin/env python3
"""Checks the history of a multi-host fault scenario after the fact, in the
manner of Jepsen: clients record what they asked and what they were told,
and the checker decides whether some legal execution explains it all.

A history is a list of events in the order they were recorded (a JSONL file,
one object a line):

    {"process": 3, "type": "invoke", "f": "write", "key": "k1", "value": "v7",
     "version": null, "time": 12.5, "node": 2}

Every operation is an `invoke` followed later by one completion of the same
process: `ok` (it took effect, with its result), `fail` (it certainly did
not take effect) or `info` (unknown: it may take effect at any time after
its invoke, even after the history ends, or never). An invoke that is never
completed counts as `info`. `time` is seconds on one monotonic clock.

What is checked, and why:

- KV (`write`, `read`; one register per key): the history is linearizable,
  i.e. every operation can be given one instant between its invoke and its
  completion such that the register, applied in that order, returns what
  every ok read returned. Registers are independent, so each key is checked
  on its own (P-compositionality). The search is Wing and Gong's, with
  Lowe's cache as in Knossos and Porcupine: depth first over the operations
  in invoke/return order, remembering every (set of operations placed,
  register value) already explored. An `info` write has no return (it may
  take effect at any later time) and need not take effect at all. A failed
  write, and a failed or unknown read, has no effect and is dropped.
  Cuts that lose no linearization keep unknowns and concurrency from
  multiplying the search: an `info` write whose value no read returned is
  left out (wherever it is placed it is overwritten unseen); one that is
  the only write of a value some read returned must have taken effect
  before the first such read returned, which becomes its return; a write
  may not replace a value written once while reads of it remain to be
  placed; and an `info` write of a value other writes write too is placed
  only directly before a read of that value, in invoke order among the
  unknown writes of that value. With each value written once (as the
  scenarios write them) thousands of operations check in a fraction of a
  second; the problem is NP-complete in general, and many unknown writes of
  repeated values on one key can take far longer.

- SDFS (`put`, `get`, `delete`, and the final reads taken after every fault
  healed: {"sdfs": {KEY: [{"version", "value"}, ...newest first] or null},
  "max_versions": N}). Versions are the system's, increasing per key.
  - Lost: an acknowledged put of version v must be in the final read with
    its digest, unless a delete of the key that did not fail may have taken
    effect after it (the delete completed after the put was invoked, or
    never told), or N greater versions of the key are known (acknowledged,
    read, or in the final read) so that v was pruned.
  - Phantom: a get (or the final read) returning version v with digest d
    needs a put that did not fail to have written it: the put acknowledged
    with version v wrote d, or, when no put was acknowledged with v, an
    unknown put wrote d. Bytes only a failed put wrote are phantom.
  - Stale: a get invoked after a put of version v was acknowledged returns
    version v or newer (nothing is stale too), unless a delete that did not
    fail may have taken effect between the put's invoke and the get's
    completion; a get invoked after a delete was acknowledged returns
    nothing, unless a put that did not fail may have taken effect between
    the delete's invoke and the get's completion.

- Inference results: byte-identical to the expected ones.

usage: checker.py HISTORY.jsonl [--final FINAL.json] [--results EXPECTED ACTUAL]

Prints one JSON object {"kv", "sdfs", "counts", "valid"} (and "results"
when asked) and exits 0 when the history is valid, 1 when it is not, and 2
when the input cannot be read."""
import argparse
import json
import sys
from collections import Counter
from dataclasses import dataclass

TYPES = ("invoke", "ok", "fail", "info")
KV_FUNCTIONS = ("write", "read")
SDFS_FUNCTIONS = ("put", "get", "delete")
FUNCTIONS = KV_FUNCTIONS + SDFS_FUNCTIONS
DEFAULT_MAX_VERSIONS = 5
INFINITY = float("inf")


@dataclass
class Op:
    """One operation: its invoke and its completion. `complete` is None when
    the outcome is unknown (`info`): it may take effect at any later time."""
    line: int  # 1-based position of the invoke in the history
    process: int
    f: str
    key: str
    value: object  # written (write, put) or returned (read, get)
    version: object  # SDFS version: assigned (put ok) or returned (get ok)
    type: str  # "ok", "fail" or "info"
    invoke: float
    complete: object  # float, or None when the outcome is unknown
    node: object

    @property
    def returns(self):
        return INFINITY if self.complete is None else self.complete


# ---- reading a history ---------------------------------------------------

def _require(condition, line, message):
    if not condition:
        raise ValueError(f"event {line}: {message}")


def validate_event(event, line):
    """Raises ValueError, naming the event, when it is not a well-formed
    history event."""
    _require(isinstance(event, dict), line, "not a JSON object")
    _require(isinstance(event.get("process"), int), line, "process must be an integer")
    _require(event.get("type") in TYPES, line, f"type must be one of {', '.join(TYPES)}")
    _require(event.get("f") in FUNCTIONS, line, f"f must be one of {', '.join(FUNCTIONS)}")
    _require(isinstance(event.get("key"), str), line, "key must be a string")
    _require(event.get("value") is None or isinstance(event.get("value"), str), line,
             "value must be a string or null")
    version = event.get("version")
    _require(version is None or (isinstance(version, int) and not isinstance(version, bool)), line,
             "version must be an integer or null")
    time = event.get("time")
    _require(isinstance(time, (int, float)) and not isinstance(time, bool), line, "time must be a number")


def parse_history(text):
    """The events of a JSONL history (blank lines skipped)."""
    events = []
    for number, raw in enumerate(text.splitlines(), 1):
        if not raw.strip():
            continue
        try:
            event = json.loads(raw)
        except json.JSONDecodeError as e:
            raise ValueError(f"line {number}: not JSON ({e.msg})") from None
        validate_event(event, number)
        events.append(event)
    return events


def _completed(invoke, line, completion):
    f = invoke["f"]
    if f in ("write", "put"):
        value = invoke.get("value") if invoke.get("value") is not None else completion.get("value")
    else:
        value = completion.get("value") if completion is not None else None
    version = completion.get("version") if completion is not None else None
    return Op(line=line, process=invoke["process"], f=f, key=invoke["key"], value=value,
              version=version, type=completion["type"] if completion is not None else "info",
              invoke=float(invoke["time"]),
              complete=float(completion["time"]) if completion is not None and completion["type"] != "info"
              else None,
              node=invoke.get("node"))


def operations(history):
    """The operations of a history, in the order of their invokes. Each
    completion is paired with the pending invoke of its process; an invoke
    left without a completion (or followed by another invoke of the same
    process) is unknown."""
    pending = {}  # process -> (line, invoke event)
    done = []
    for line, event in enumerate(history, 1):
        validate_event(event, line)
        process = event["process"]
        if event["type"] == "invoke":
            if process in pending:
                done.append(_completed(pending[process][1], pending[process][0], None))
            pending[process] = (line, event)
            continue
        _require(process in pending, line, f"a completion of process {process} without an invoke")
        start, invoke = pending.pop(process)
        _require(event["f"] == invoke["f"], line,
                 f"completes {invoke['f']} (event {start}) as {event['f']}")
        _require(event["key"] == invoke["key"], line,
                 f"completes a {invoke['f']} of {invoke['key']!r} (event {start}) with key {event['key']!r}")
        done.append(_completed(invoke, start, event))
    for start, invoke in pending.values():
        done.append(_completed(invoke, start, None))
    done.sort(key=lambda op: op.line)
    return done


def describe(op):
    """One operation in a line a person reads: process, what, when, outcome."""
    if op.f in ("write", "put"):
        what = f"{op.f} {op.key} := {op.value!r}"
    elif op.f == "delete":
        what = f"delete {op.key}"
    else:
        what = f"{op.f} {op.key} -> {op.value!r}"
    if op.version is not None:
        what += f" (version {op.version})"
    end = "?" if op.complete is None else f"{op.complete:.3f}"
    return f"p{op.process} {what} [{op.invoke:.3f}, {end}] {op.type}"


# ---- counts ------------------------------------------------------------------

def summarize(history):
    """Operations attempted (invoked), acknowledged (ok), failed and unknown
    (info, or never completed): per function and in total."""
    counts = {}
    total = {"attempted": 0, "ok": 0, "fail": 0, "info": 0}
    for op in operations(history):
        row = counts.setdefault(op.f, {"attempted": 0, "ok": 0, "fail": 0, "info": 0})
        for tally in (row, total):
            tally["attempted"] += 1
            tally[op.type] += 1
    counts["total"] = total
    return counts


# ---- KV: linearizability of registers ------------------------------------

def _by_key(ops):
    keys = {}
    for op in ops:
        keys.setdefault(op.key, []).append(op)
    return keys


def _never_written(reads, writes):
    """A failure for the first ok read of a value no write (that did not
    fail) wrote, or None."""
    written = {w.value for w in writes if w.type != "fail"}
    failed = {w.value for w in writes if w.type == "fail"}
    for r in reads:
        if r.value is not None and r.value not in written:
            how = "only a failed write wrote it" if r.value in failed else "no write wrote it"
            return {"explanation": f"{describe(r)} returned {r.value!r}, but {how}",
                    "unplaced": [describe(r)], "prefix": []}
    return None


def _searched_ops(ops):
    """The operations the search places, as (op, deadline): the time by
    which it must have taken effect (INFINITY: any time later, or never)."""
    reads = [op for op in ops if op.f == "read" and op.type == "ok"]
    writes = [op for op in ops if op.f == "write" and op.type != "fail"]
    writers = Counter(w.value for w in writes)
    first_read = {}
    for r in reads:
        first_read[r.value] = min(first_read.get(r.value, INFINITY), r.complete)
    placed = []
    for op in sorted(reads + writes, key=lambda op: (op.invoke, op.line)):
        if op.type == "ok":
            placed.append((op, op.complete))
        elif op.value not in first_read:
            continue  # an unknown write nobody saw: never needed
        elif op.value is not None and writers[op.value] == 1:
            placed.append((op, first_read[op.value]))  # must precede its first reader
        else:
            placed.append((op, INFINITY))
    return placed


def _readers_of_unique_values(placed):
    """For each value the register holds at most once (written by one write
    only, or the initial absence if no write writes null), how many reads
    return it. All of them must take effect before anything overwrites it."""
    writers = Counter(op.value for op, _ in placed if op.f == "write")
    readers = Counter(op.value for op, _ in placed if op.f == "read")
    return {value: n for value, n in readers.items() if writers.get(value, 0) == (0 if value is None else 1)}


class _Entries:
    """The invoke and return events of the operations being placed, as a
    doubly linked list in time order (an invoke before a return at the same
    instant: they count as concurrent). Lifting an operation removes both
    its events; unlifting in reverse order restores them (dancing links)."""
    HEAD = 0
    END = -1

    def __init__(self, placed):
        events = []
        for index, (op, deadline) in enumerate(placed):
            events.append((op.invoke, 0, index))
            if deadline != INFINITY:
                events.append((deadline, 1, index))
        events.sort()
        self.op = [None] + [index for _, _, index in events]
        self.is_return = [False] + [kind == 1 for _, kind, _ in events]
        size = len(events) + 1
        self.next = [i + 1 for i in range(size)]
        self.next[-1] = self.END
        self.prev = [i - 1 for i in range(size)]
        self.match = [None] * size  # invoke entry -> its return entry
        invoke_of = {self.op[e]: e for e in range(1, size) if not self.is_return[e]}
        for entry in range(1, size):
            if self.is_return[entry]:
                self.match[invoke_of[self.op[entry]]] = entry

    def first(self):
        return self.next[self.HEAD]

    def _unlink(self, entry):
        self.next[self.prev[entry]] = self.next[entry]
        if self.next[entry] != self.END:
            self.prev[self.next[entry]] = self.prev[entry]

    def _relink(self, entry):
        self.next[self.prev[entry]] = entry
        if self.next[entry] != self.END:
            self.prev[self.next[entry]] = entry

    def lift(self, entry):
        self._unlink(entry)
        if self.match[entry] is not None:
            self._unlink(self.match[entry])

    def unlift(self, entry):
        if self.match[entry] is not None:
            self._relink(self.match[entry])
        self._relink(entry)

    def invokes_before(self, stop):
        """The operations whose invoke is still listed before entry `stop`."""
        found, entry = [], self.first()
        while entry != stop and entry != self.END:
            if not self.is_return[entry]:
                found.append(self.op[entry])
            entry = self.next[entry]
        return found


def _linearize(placed):
    """(True, explored) when the operations have a linearization, else
    (False, deepest) where deepest describes the longest linearizable prefix
    found and the operation that could not be placed after it.

    Besides the register's rules, two cuts that lose no linearization: a
    write may not replace a value the register holds only once while reads
    of that value remain to be placed (they could never be placed
    afterwards), which stops the search at the overwrite rather than at the
    next return of one of those reads; an unknown write without a deadline is
    placed only directly before a read of its value (anywhere else it is
    overwritten unseen, as good as never taking effect); and such writes of
    the same value are interchangeable, so they are placed in invoke order
    only (the first one not yet placed)."""
    entries = _Entries(placed)
    unread = _readers_of_unique_values(placed)
    rank, used = _interchangeable(placed)
    required = sum(1 for _, deadline in placed if deadline != INFINITY)
    done, linearized, state, read_next = 0, 0, None, False
    stack = []  # (entry, register value and read_next before it)
    cache = set()  # (set placed, register value, read_next); unread and used follow from the set
    deepest = None
    entry = entries.first()
    while done < required:
        if entry == _Entries.END or entries.is_return[entry]:
            if deepest is None or len(stack) > len(deepest["prefix"]):
                deepest = _deepest(entries, stack, state, unread, entry)
            if not stack:
                return False, deepest
            entry, state, read_next = stack.pop()
            op, deadline = placed[entries.op[entry]]
            linearized &= ~(1 << entries.op[entry])
            done -= deadline != INFINITY
            if op.f == "read" and op.value in unread:
                unread[op.value] += 1
            if deadline == INFINITY:
                used[op.value] -= 1
            entries.unlift(entry)
            entry = entries.next[entry]
            continue
        index = entries.op[entry]
        op, deadline = placed[index]
        if op.f == "write":
            legal, after = not read_next and unread.get(state, 0) == 0, op.value
            if deadline == INFINITY:
                legal = legal and rank[index] == used[op.value]
        else:
            legal, after = op.value == state, state
        grown = linearized | (1 << index)
        seen = (grown, after, op.f == "write" and deadline == INFINITY)
        if legal and seen not in cache:
            cache.add(seen)
            stack.append((entry, state, read_next))
            linearized, state, read_next = seen
            done += deadline != INFINITY
            if op.f == "read" and op.value in unread:
                unread[op.value] -= 1
            if deadline == INFINITY:
                used[op.value] += 1
            entries.lift(entry)
            entry = entries.first()
            continue
        entry = entries.next[entry]
    return True, len(cache)


def _interchangeable(placed):
    """(rank, used): for each unknown write without a deadline, its rank in
    invoke order among those writing the same value; per value, how many of
    them are placed (0 to begin with)."""
    rank, used = {}, {}
    for index, (op, deadline) in sorted(enumerate(placed), key=lambda item: (item[1][0].invoke, item[1][0].line)):
        if deadline == INFINITY:
            rank[index] = used.get(op.value, 0)
            used[op.value] = rank[index] + 1
    return rank, dict.fromkeys(used, 0)


def _deepest(entries, stack, state, unread, entry):
    return {"prefix": [entries.op[e] for e, _, _ in stack], "state": state, "unread": unread.get(state, 0),
            "blocked": None if entry == _Entries.END else entries.op[entry],
            "pending": entries.invokes_before(entry)}


def _explain(key, placed, deepest):
    ops = [op for op, _ in placed]
    prefix = [ops[i] for i in deepest["prefix"]]
    pending = [ops[i] for i in deepest["pending"]]
    after = f"after {describe(prefix[-1])}" if prefix else "from the start"
    text = (f"no linearization of key {key!r}: the longest linearizable prefix found places "
            f"{len(prefix)} of {len(ops)} operations and leaves the register at {deepest['state']!r} "
            f"({after})")
    if deepest["unread"]:
        placed_ids = set(deepest["prefix"])
        waiting = [op for i, op in enumerate(ops)
                   if op.f == "read" and op.value == deepest["state"] and i not in placed_ids]
        more = f" and {len(waiting) - 1} more" if len(waiting) > 1 else ""
        text += (f", with {describe(waiting[0])}{more} still to take effect before any write replaces "
                 f"{deepest['state']!r} (no other write writes it)")
    if deepest["blocked"] is not None:
        blocked = ops[deepest["blocked"]]
        text += (f"; then {describe(blocked)} must take effect, but no order of the "
                 f"{len(pending)} operations pending there continues it")
    return {"explanation": text, "prefix": [describe(op) for op in prefix[-8:]],
            "unplaced": [describe(op) for op in pending]}


def check_key(key, ops):
    """(valid, details) for the operations of one register."""
    reads = [op for op in ops if op.f == "read" and op.type == "ok"]
    writes = [op for op in ops if op.f == "write"]
    failure = _never_written(reads, writes)
    if failure is not None:
        return False, {"key": key, **failure}
    placed = _searched_ops(ops)
    valid, result = _linearize(placed)
    if valid:
        return True, {"key": key, "ops": len(placed), "states": result}
    return False, {"key": key, **_explain(key, placed, result)}


def check_kv(history):
    """(valid, details): whether the KV operations of the history are
    linearizable, key by key. On failure, details names the key and says
    where no linearization continues."""
    ops = [op for op in operations(history) if op.f in KV_FUNCTIONS]
    keys = _by_key(ops)
    states = 0
    for key in sorted(keys):
        valid, details = check_key(key, keys[key])
        if not valid:
            return False, {"valid": False, "keys": len(keys), "ops": len(ops), "failure": details}
        states += details["states"]
    return True, {"valid": True, "keys": len(keys), "ops": len(ops), "states": states}


# ---- SDFS --------------------------------------------------------------------

def validate_final(final):
    """Raises ValueError when the final reads are not
    {"sdfs": {KEY: [{"version", "value"}...] or null}, "max_versions": N}."""
    if not isinstance(final, dict) or not isinstance(final.get("sdfs"), dict):
        raise ValueError('final reads: expected an object with "sdfs": {KEY: versions or null}')
    limit = final.get("max_versions", DEFAULT_MAX_VERSIONS)
    if not isinstance(limit, int) or limit < 1:
        raise ValueError("final reads: max_versions must be a positive integer")
    for key, versions in final["sdfs"].items():
        if versions is None:
            continue
        if not isinstance(versions, list) or not all(
                isinstance(v, dict) and isinstance(v.get("version"), int) and isinstance(v.get("value"), str)
                for v in versions):
            raise ValueError(f"final reads of {key!r}: expected null or a list of {{version, value}}")


def _may_follow(op, start):
    """Whether op (not failed) may have taken effect after instant `start`."""
    return op.type != "fail" and op.returns > start


def _overlaps(op, start, end):
    """Whether op (not failed) may have taken effect between start and end."""
    return op.type != "fail" and op.invoke < end and op.returns > start


def _lost(key, puts, deletes, final_versions, known, limit):
    """The acknowledged puts of key missing from its final read."""
    lost = []
    newest = {v["version"]: v["value"] for v in final_versions or []}
    for put in puts:
        if any(_may_follow(d, put.invoke) for d in deletes):
            continue  # a delete may have removed it
        if sum(1 for v in known if v > put.version) >= limit:
            continue  # pruned: enough newer versions
        if final_versions is None:
            why = f"{key!r} does not exist in the final read"
        elif put.version not in newest:
            shown = ", ".join(str(v) for v in newest) or "none"
            why = f"version {put.version} is not in the final read (versions {shown})"
        elif newest[put.version] != put.value:
            why = f"the final read has version {put.version} with digest {newest[put.version]!r}"
        else:
            continue
        lost.append({"key": key, "version": put.version, "digest": put.value, "op": describe(put), "why": why})
    return lost


def _phantom(key, version, digest, writers, source):
    """A phantom-read record when no put (ok or info) can explain
    (version, digest), else None."""
    by_version = [w for w in writers if w.version == version]
    if by_version:
        if any(w.value == digest for w in by_version):
            return None
        why = f"version {version} was written with digest {by_version[0].value!r}"
    elif any(w.type == "info" and w.value == digest for w in writers):
        return None  # an unknown put, its version never told, wrote these bytes
    elif any(w.value == digest for w in writers):
        why = "the put of these bytes was acknowledged with another version"
    else:
        why = "no put that did not fail wrote these bytes"
    return {"key": key, "version": version, "digest": digest, "read": source, "why": why}


def _stale(key, get, puts, deletes, all_puts):
    """A stale-read record for a get older than what was acknowledged
    before it began, else None."""
    before = [put for put in puts if put.complete < get.invoke
              and not any(_overlaps(d, put.invoke, get.complete) for d in deletes)]
    floor = max(before, key=lambda put: put.version, default=None)
    if floor is not None and (get.version is None or get.version < floor.version):
        got = "nothing" if get.version is None else f"version {get.version}"
        return {"key": key, "get": describe(get), "why": f"returned {got}, but version {floor.version} "
                f"was acknowledged before it began ({describe(floor)})"}
    for delete in deletes:
        if delete.type != "ok" or delete.complete >= get.invoke or get.value is None:
            continue
        if any(_overlaps(p, delete.invoke, get.complete) for p in all_puts):
            continue
        return {"key": key, "get": describe(get),
                "why": f"returned version {get.version}, but the file was deleted before it began "
                       f"({describe(delete)}) and no put may have recreated it"}
    return None


def _check_sdfs_key(key, ops, have_final, final_versions, limit):
    """(acknowledged puts, lost, stale, phantom) of one key; final_versions
    is its final read (None: the file does not exist), used when have_final."""
    puts_all = [op for op in ops if op.f == "put"]
    writers = [op for op in puts_all if op.type != "fail"]
    acked = [op for op in puts_all if op.type == "ok"]
    deletes = [op for op in ops if op.f == "delete"]
    gets = [op for op in ops if op.f == "get" and op.type == "ok"]
    for op in acked + gets:
        if op.value is not None and op.version is None:
            raise ValueError(f"event {op.line}: {op.f} ok of {key!r} with a value but no version")
    known = {op.version for op in acked + gets if op.version is not None}
    known |= {v["version"] for v in final_versions or []}
    lost = _lost(key, acked, deletes, final_versions, known, limit) if have_final else []
    phantom = [p for p in (_phantom(key, g.version, g.value, writers, describe(g))
                           for g in gets if g.value is not None) if p]
    if final_versions:
        phantom += [p for p in (_phantom(key, v["version"], v["value"], writers, "final read")
                                for v in final_versions) if p]
    stale = [s for s in (_stale(key, g, acked, deletes, writers) for g in gets) if s]
    return len(acked), lost, stale, phantom


def check_sdfs(history, final=None):
    """(valid, details) for the SDFS operations of the history and, when
    given, the final reads. details counts the acknowledged puts and lists
    the lost puts, stale reads and phantom reads."""
    ops = [op for op in operations(history) if op.f in SDFS_FUNCTIONS]
    limit = DEFAULT_MAX_VERSIONS
    if final is not None:
        validate_final(final)
        limit = final.get("max_versions", DEFAULT_MAX_VERSIONS)
    details = {"acked_puts": 0, "lost": [], "stale": [], "phantom": [], "final": final is not None,
               "max_versions": limit}
    for key, key_ops in sorted(_by_key(ops).items()):
        final_versions = None
        if final is not None and key in final["sdfs"]:
            final_versions = final["sdfs"][key]
        elif final is not None and any(op.f == "put" and op.type == "ok" for op in key_ops):
            raise ValueError(f"final reads: no entry for {key!r}, which has acknowledged puts")
        acked, lost, stale, phantom = _check_sdfs_key(key, key_ops, final is not None, final_versions, limit)
        details["acked_puts"] += acked
        details["lost"] += lost
        details["stale"] += stale
        details["phantom"] += phantom
    valid = not (details["lost"] or details["stale"] or details["phantom"])
    return valid, {"valid": valid, **details}


# ---- inference results ---------------------------------------------------

def check_results(expected_text, actual_text):
    """(valid, details): whether the results are byte-identical; on a
    mismatch, the first differing line (1-based) and both lines (null past
    the end of a file)."""
    if expected_text == actual_text:
        return True, {"valid": True, "lines": len(expected_text.splitlines())}
    expected = expected_text.splitlines(keepends=True)
    actual = actual_text.splitlines(keepends=True)
    number = next((i for i, (e, a) in enumerate(zip(expected, actual)) if e != a), min(len(expected), len(actual)))

    def shown(lines):
        if number >= len(lines):
            return None
        line = lines[number]
        return line.decode(errors="replace") if isinstance(line, bytes) else line

    return False, {"valid": False, "line": number + 1, "expected": shown(expected), "actual": shown(actual),
                   "explanation": f"line {number + 1} differs"}


# ---- command line --------------------------------------------------------------

def _read(path, mode="r"):
    try:
        with open(path, mode) as f:
            return f.read()
    except OSError as e:
        raise ValueError(f"{path}: {e.strerror}") from None


def run(args):
    """The report and the exit status for parsed command-line arguments."""
    history = parse_history(_read(args.history))
    final = None
    if args.final:
        try:
            final = json.loads(_read(args.final))
        except json.JSONDecodeError as e:
            raise ValueError(f"{args.final}: not JSON ({e.msg})") from None
    kv_valid, kv = check_kv(history)
    sdfs_valid, sdfs = check_sdfs(history, final)
    report = {"kv": kv, "sdfs": sdfs, "counts": summarize(history)}
    valid = kv_valid and sdfs_valid
    if args.results:
        results_valid, report["results"] = check_results(_read(args.results[0], "rb"), _read(args.results[1], "rb"))
        valid = valid and results_valid
    report["valid"] = valid
    return report, 0 if valid else 1


def main(argv=None):
    parser = argparse.ArgumentParser(description="Checks a fault scenario's history (see the module docstring).")
    parser.add_argument("history", help="the history, JSONL")
    parser.add_argument("--final", help="the final reads, JSON")
    parser.add_argument("--results", nargs=2, metavar=("EXPECTED", "ACTUAL"),
                        help="inference results that must be byte-identical")
    args = parser.parse_args(argv)
    try:
        report, status = run(args)
    except ValueError as e:
        print(json.dumps({"error": str(e), "valid": False}))
        return 2
    print(json.dumps(report, indent=1))
    return status


if __name__ == "__main__":
    sys.exit(main())
