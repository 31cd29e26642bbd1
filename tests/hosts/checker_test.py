#!/usr/bin/env python3
"""Tests of checker.py on histories it must accept and on hand-made
histories it must reject: each kind of anomaly the scenarios look for (a
stale read, a read of bytes nobody wrote, reads going backwards, a lost
acknowledged write, orders no linearization allows), the unknowns it must
tolerate (writes that take effect late or never), the SDFS checks against
the final reads, and the command line. The linearizability search is also
compared with a brute-force search on small random histories, and timed on
generated histories of 2000 operations. Random histories are seeded."""
import itertools
import json
import os
import random
import subprocess
import sys
import tempfile
import time
import unittest

sys.dont_write_bytecode = True
sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import checker  # noqa: E402

CHECKER = os.path.join(os.path.dirname(os.path.abspath(__file__)), "checker.py")


# ---- building histories ------------------------------------------------------

def op(process, f, key, value, start, end, outcome="ok", version=None, node=1):
    """The events of one operation: its invoke at `start` and its completion
    (`outcome`) at `end`, or no completion when end is None. `value` is what a
    write or put wrote, or what a read or get returned."""
    writes = f in ("write", "put")
    invoke = {"process": process, "type": "invoke", "f": f, "key": key,
              "value": value if writes else None, "version": None, "time": start, "node": node}
    if end is None:
        return [invoke]
    told = outcome == "ok"
    completion = {"process": process, "type": outcome, "f": f, "key": key,
                  "value": value if (writes or told) else None,
                  "version": version if told else None, "time": end, "node": node}
    return [invoke, completion]


def history(*ops):
    """The events of the operations in the order a recorder would see them."""
    events = [event for events in ops for event in events]
    return sorted(events, key=lambda e: e["time"])


def w(process, value, start, end, outcome="ok", key="x"):
    return op(process, "write", key, value, start, end, outcome)


def r(process, value, start, end, key="x"):
    return op(process, "read", key, value, start, end)


def put(process, key, digest, version, start, end, outcome="ok"):
    return op(process, "put", key, digest, start, end, outcome, version=version)


def get(process, key, digest, version, start, end):
    return op(process, "get", key, digest, start, end, version=version)


def delete(process, key, start, end, outcome="ok"):
    return op(process, "delete", key, None, start, end, outcome)


def final(sdfs, max_versions=5):
    return {"sdfs": sdfs, "max_versions": max_versions}


def versions(*pairs):
    """Final-read versions, newest first, from (version, digest) pairs."""
    return [{"version": v, "value": d} for v, d in pairs]


# ---- generated histories -------------------------------------------------------

def generate_kv(rng, ops, keys, processes, values=None, info_rate=0.05, fail_rate=0.02):
    """A linearizable KV history: each operation takes effect at a random
    instant inside its interval (an unknown write: later, possibly after the
    history, or never) and reads return what the register holds then.
    `values`: a small set to draw written values from (repeats), else each
    write writes a value of its own."""
    planned = []  # [process, f, key, value, start, end, outcome, instant]
    clocks = [0.0] * processes
    ids = list(range(processes))
    next_id = processes
    for n in range(ops):
        slot = rng.randrange(processes)
        start = clocks[slot] + rng.uniform(0.0001, 0.01)
        end = start + rng.uniform(0.001, 0.05)
        clocks[slot] = end
        f = rng.choice(("write", "read"))
        key = f"k{rng.randrange(keys)}"
        outcome = "ok"
        roll = rng.random()
        if roll < info_rate:
            outcome = "info"
        elif roll < info_rate + fail_rate:
            outcome = "fail"
        instant = rng.uniform(start, end)
        if outcome == "info" and f == "write":
            instant = rng.choice((None, rng.uniform(start, end + 2.0)))
        if outcome == "fail" and f == "write":
            instant = None
        value = (rng.choice(values) if values else f"v{n}") if f == "write" else None
        planned.append([ids[slot], f, key, value, start, end, outcome, instant])
        if outcome == "info":
            ids[slot] = next_id  # a process whose outcome is unknown is never used again
            next_id += 1
    registers = {}
    for entry in sorted((e for e in planned if e[7] is not None), key=lambda e: e[7]):
        if entry[1] == "write":
            registers[entry[2]] = entry[3]
        elif entry[6] == "ok":
            entry[3] = registers.get(entry[2])
    events = []
    for process, f, key, value, start, end, outcome, _ in planned:
        events += op(process, f, key, value, start, end, outcome)
    return sorted(events, key=lambda e: e["time"])


def brute_force_linearizable(events):
    """Whether some order of the KV operations is a linearization, by trying
    every order of the ok operations and every subset of the unknown writes."""
    ops = [o for o in checker.operations(events)
           if (o.f == "read" and o.type == "ok") or (o.f == "write" and o.type != "fail")]
    for key in {o.key for o in ops}:
        mine = [o for o in ops if o.key == key]
        required = [o for o in mine if o.type == "ok"]
        optional = [o for o in mine if o.type == "info"]
        if not any(_some_order_works(required + list(chosen))
                   for size in range(len(optional) + 1)
                   for chosen in itertools.combinations(optional, size)):
            return False
    return True


def _some_order_works(ops):
    for order in itertools.permutations(ops):
        if any(order[j].returns < order[i].invoke for i in range(len(order)) for j in range(i + 1, len(order))):
            continue
        state, legal = None, True
        for o in order:
            if o.f == "write":
                state = o.value
            elif o.value != state:
                legal = False
                break
        if legal:
            return True
    return False


def small_random_history(rng):
    """Up to 6 operations on one key with random intervals and random read
    results: some linearizable, most not."""
    events = []
    for n in range(rng.randint(2, 6)):
        start = rng.uniform(0, 10)
        end = start + rng.uniform(0.1, 4)
        roll = rng.random()
        if roll < 0.5:
            outcome = rng.choice(("ok", "ok", "ok", "info", "fail"))
            events += w(n, rng.choice("abc"), start, rng.choice((end, end, None)) if outcome == "info" else end,
                        outcome)
        else:
            events += r(n, rng.choice(("a", "b", "c", None)), start, end)
    return sorted(events, key=lambda e: e["time"])


# ---- KV --------------------------------------------------------------------------

class KvTest(unittest.TestCase):
    def accept(self, events):
        valid, details = checker.check_kv(events)
        self.assertTrue(valid, json.dumps(details, indent=1))
        return details

    def reject(self, events):
        valid, details = checker.check_kv(events)
        self.assertFalse(valid, json.dumps(details, indent=1))
        self.assertEqual(details["failure"]["key"], "x")
        self.assertTrue(details["failure"]["explanation"])
        return details["failure"]

    def test_sequential_history_is_accepted(self):
        self.accept(history(r(1, None, 0, 1), w(1, "a", 2, 3), r(2, "a", 4, 5), w(2, "b", 6, 7), r(1, "b", 8, 9)))

    def test_stale_read_after_acked_write(self):
        failure = self.reject(history(w(1, "a", 0, 1), r(2, None, 2, 3)))
        self.assertIn("read x -> None", failure["explanation"])

    def test_read_of_a_value_never_written(self):
        failure = self.reject(history(w(1, "a", 0, 1), r(2, "z", 2, 3)))
        self.assertIn("no write wrote it", failure["explanation"])

    def test_sequential_reads_going_backwards(self):
        self.reject(history(w(1, "1", 0, 1), w(1, "2", 2, 3), r(2, "2", 4, 5), r(2, "1", 6, 7)))

    def test_lost_acked_write(self):
        # The later read sees the older value and no write is concurrent with it.
        failure = self.reject(history(w(1, "a", 0, 1), w(2, "b", 2, 3), r(3, "a", 4, 5)))
        self.assertIn("leaves the register at 'a'", failure["explanation"])
        self.assertIn("with p3 read x -> 'a' [4.000, 5.000] ok still to take effect", failure["explanation"])

    def test_concurrent_writes_linearizable_in_one_order_only(self):
        details = self.accept(history(w(1, "a", 0, 10), w(2, "b", 0, 10),
                                      r(3, "a", 1, 2), r(3, "b", 3, 4), r(4, "b", 11, 12)))
        self.assertEqual(details["ops"], 5)

    def test_unknown_write_taking_effect_late(self):
        # The write's client gave up at 3; it took effect between 5 and 7.
        self.accept(history(w(1, "a", 0, 1), w(2, "b", 2, 3, "info"), r(3, "a", 4, 5), r(3, "b", 6, 7)))

    def test_unknown_write_never_completed(self):
        self.accept(history(w(1, "a", 0, 1), w(2, "b", 2, None), r(3, "a", 4, 5), r(3, "b", 6, 7)))

    def test_unknown_write_never_taking_effect(self):
        self.accept(history(w(1, "a", 0, 1), w(2, "b", 2, 3, "info"), r(3, "a", 4, 5), r(3, "a", 6, 7)))

    def test_unknown_write_read_before_it_was_invoked(self):
        self.reject(history(w(1, "a", 0, 1), r(3, "b", 2, 3), w(2, "b", 4, 5, "info")))

    def test_unknown_write_seen_then_overwritten_then_seen_again(self):
        # "b" is written once: it cannot come back after "c" replaced it.
        self.reject(history(w(2, "b", 0, 1, "info"), r(3, "b", 2, 3), w(1, "c", 4, 5), r(3, "b", 6, 7)))

    def test_repeated_value_with_unknown_writes(self):
        # Two writes of "a", one unknown: "a" may come back after "b".
        self.accept(history(w(1, "a", 0, 1), w(2, "a", 0.5, 1.5, "info"), w(1, "b", 2, 3),
                            r(3, "b", 4, 5), r(3, "a", 6, 7)))

    def test_failed_write_whose_value_is_read(self):
        failure = self.reject(history(w(1, "a", 0, 1), w(2, "b", 2, 3, "fail"), r(3, "b", 4, 5)))
        self.assertIn("only a failed write wrote it", failure["explanation"])

    def test_failed_and_unknown_reads_are_dropped(self):
        self.accept(history(w(1, "a", 0, 1), op(2, "read", "x", None, 2, 3, "fail"),
                            op(3, "read", "x", None, 2, 3, "info"), r(4, "a", 4, 5)))

    def test_readers_disagreeing_on_the_order_of_concurrent_writes(self):
        # r1 sees a then b, r2 sees b then a, all while both writes run.
        failure = self.reject(history(w(1, "a", 0, 10), w(2, "b", 0, 10),
                                      r(3, "a", 1, 2), r(3, "b", 3, 4), r(4, "b", 1, 2), r(4, "a", 3, 4)))
        self.assertTrue(failure["unplaced"])
        self.assertIn("no linearization of key 'x'", failure["explanation"])

    def test_readers_disagreeing_after_both_writes_completed(self):
        self.reject(history(w(1, "a", 0, 10), w(2, "b", 0, 10),
                            r(3, "a", 11, 12), r(3, "b", 13, 14), r(4, "b", 11, 12), r(4, "a", 13, 14)))

    def test_keys_are_independent(self):
        self.accept(history(w(1, "a", 0, 1, key="x"), w(2, "b", 0, 1, key="y"),
                            r(3, "a", 2, 3, key="x"), r(4, "b", 2, 3, key="y")))
        valid, details = checker.check_kv(history(w(1, "a", 0, 1, key="x"), r(3, "a", 2, 3, key="y")))
        self.assertFalse(valid)
        self.assertEqual(details["failure"]["key"], "y")

    def test_operations_at_the_same_instant_are_concurrent(self):
        self.accept(history(w(1, "a", 0, 1), r(2, None, 1, 2)))

    def test_agrees_with_brute_force_on_small_random_histories(self):
        rng = random.Random(20240611)
        verdicts = {True: 0, False: 0}
        for _ in range(1500):
            events = small_random_history(rng)
            expected = brute_force_linearizable(events)
            valid, details = checker.check_kv(events)
            self.assertEqual(valid, expected, json.dumps({"history": events, "details": details}, indent=1))
            verdicts[expected] += 1
        self.assertGreater(verdicts[True], 150)
        self.assertGreater(verdicts[False], 150)

    def test_generated_histories_with_repeated_values_are_accepted(self):
        rng = random.Random(7)
        for _ in range(20):
            self.accept(generate_kv(rng, ops=150, keys=2, processes=5, values=["a", "b", "c"], info_rate=0.1))

    def test_two_thousand_operations_check_in_seconds(self):
        for keys, processes in ((5, 8), (1, 16)):
            events = generate_kv(random.Random(42), ops=2000, keys=keys, processes=processes, info_rate=0.05)
            counts = checker.summarize(events)
            self.assertEqual(counts["total"]["attempted"], 2000)
            self.assertGreater(counts["write"]["info"], 20)
            began = time.monotonic()
            details = self.accept(events)
            elapsed = time.monotonic() - began
            print(f"\n  2000 operations, {keys} keys, {processes} processes: {details['states']} states, "
                  f"{elapsed:.2f} s", file=sys.stderr)
            self.assertLess(elapsed, 10.0)


# ---- SDFS ------------------------------------------------------------------------

class SdfsTest(unittest.TestCase):
    def check(self, events, final_reads=None):
        return checker.check_sdfs(events, final_reads)

    def test_clean_history_is_accepted(self):
        events = history(put(1, "f", "d1", 1, 0, 1), get(2, "f", "d1", 1, 2, 3), put(1, "f", "d2", 2, 4, 5),
                         get(2, "f", "d2", 2, 6, 7), get(3, "g", None, None, 6, 7))
        valid, details = self.check(events, final({"f": versions((2, "d2"), (1, "d1")), "g": None}))
        self.assertTrue(valid, details)
        self.assertEqual(details["acked_puts"], 2)

    def test_lost_acked_version(self):
        events = history(put(1, "f", "d1", 1, 0, 1), put(1, "f", "d2", 2, 2, 3))
        valid, details = self.check(events, final({"f": versions((1, "d1"))}))
        self.assertFalse(valid)
        self.assertEqual([(x["key"], x["version"]) for x in details["lost"]], [("f", 2)])
        valid, details = self.check(events, final({"f": None}))
        self.assertEqual(len(details["lost"]), 2)

    def test_digest_mismatch_in_final_read(self):
        valid, details = self.check(history(put(1, "f", "d1", 1, 0, 1)), final({"f": versions((1, "other"))}))
        self.assertFalse(valid)
        self.assertIn("digest", details["lost"][0]["why"])
        self.assertEqual(len(details["phantom"]), 1)

    def test_digest_mismatch_in_get(self):
        valid, details = self.check(history(put(1, "f", "d1", 1, 0, 1), get(2, "f", "d9", 1, 2, 3)))
        self.assertFalse(valid)
        self.assertIn("written with digest 'd1'", details["phantom"][0]["why"])

    def test_stale_get(self):
        events = history(put(1, "f", "d1", 1, 0, 1), put(1, "f", "d2", 2, 2, 3), get(2, "f", "d1", 1, 4, 5))
        valid, details = self.check(events)
        self.assertFalse(valid)
        self.assertEqual(len(details["stale"]), 1)
        valid, details = self.check(history(put(1, "f", "d1", 1, 0, 1), get(2, "f", None, None, 2, 3)))
        self.assertFalse(valid)
        self.assertIn("returned nothing", details["stale"][0]["why"])

    def test_get_concurrent_with_put_may_be_old(self):
        events = history(put(1, "f", "d1", 1, 0, 1), put(1, "f", "d2", 2, 2, 4), get(2, "f", "d1", 1, 3, 5))
        valid, details = self.check(events, final({"f": versions((2, "d2"), (1, "d1"))}))
        self.assertTrue(valid, details)

    def test_get_returning_a_failed_puts_digest(self):
        events = history(put(1, "f", "d1", 1, 0, 1), put(1, "f", "bad", None, 2, 3, "fail"),
                         get(2, "f", "bad", 2, 4, 5))
        valid, details = self.check(events)
        self.assertFalse(valid)
        self.assertIn("no put that did not fail", details["phantom"][0]["why"])

    def test_get_returning_an_unknown_puts_digest(self):
        events = history(put(1, "f", "d1", 1, 0, 1), put(1, "f", "d2", None, 2, 3, "info"),
                         get(2, "f", "d2", 2, 4, 5))
        valid, details = self.check(events, final({"f": versions((2, "d2"), (1, "d1"))}))
        self.assertTrue(valid, details)

    def test_deleted_file_readable_after_acked_delete(self):
        events = history(put(1, "f", "d1", 1, 0, 1), delete(1, "f", 2, 3), get(2, "f", "d1", 1, 4, 5))
        valid, details = self.check(events, final({"f": None}))
        self.assertFalse(valid)
        self.assertIn("deleted before it began", details["stale"][0]["why"])
        self.assertEqual(details["lost"], [])

    def test_deleted_file_recreated_by_a_later_put(self):
        events = history(put(1, "f", "d1", 1, 0, 1), delete(1, "f", 2, 3), put(3, "f", "d2", 2, 3.5, 6),
                         get(2, "f", "d2", 2, 4, 5))
        valid, details = self.check(events, final({"f": versions((2, "d2"))}))
        self.assertTrue(valid, details)

    def test_delete_concurrent_or_unknown_excuses_a_missing_put(self):
        events = history(put(1, "f", "d1", 1, 0, 2), delete(2, "f", 1, 3, "info"))
        valid, details = self.check(events, final({"f": None}))
        self.assertTrue(valid, details)
        events = history(put(1, "f", "d1", 1, 0, 2), delete(2, "f", 3, 4, "fail"))
        valid, details = self.check(events, final({"f": None}))
        self.assertFalse(valid)

    def test_pruned_versions_are_not_lost(self):
        events = history(*(put(1, "f", f"d{v}", v, 2 * v, 2 * v + 1) for v in range(1, 8)))
        kept = versions(*((v, f"d{v}") for v in range(7, 2, -1)))
        valid, details = self.check(events, final({"f": kept}))
        self.assertTrue(valid, details)
        self.assertEqual(details["acked_puts"], 7)
        valid, details = self.check(events, final({"f": kept[:4]}))  # version 3 dropped too early
        self.assertEqual([x["version"] for x in details["lost"]], [3])

    def test_final_read_must_cover_acked_keys(self):
        with self.assertRaises(ValueError):
            self.check(history(put(1, "f", "d1", 1, 0, 1)), final({}))


# ---- results, counts, input ------------------------------------------------------

class ResultsTest(unittest.TestCase):
    def test_identical(self):
        self.assertEqual(checker.check_results("a 1\nb 2\n", "a 1\nb 2\n"), (True, {"valid": True, "lines": 2}))

    def test_mismatch_names_the_first_differing_line(self):
        valid, details = checker.check_results("a 1\nb 2\nc 3\n", "a 1\nb 7\nc 9\n")
        self.assertFalse(valid)
        self.assertEqual((details["line"], details["expected"], details["actual"]), (2, "b 2\n", "b 7\n"))

    def test_missing_lines_and_bytes(self):
        valid, details = checker.check_results(b"a\nb\n", b"a\n")
        self.assertEqual((valid, details["line"], details["expected"], details["actual"]), (False, 2, "b\n", None))
        valid, details = checker.check_results("a\nb\n", "a\nb")
        self.assertEqual((valid, details["line"]), (False, 2))


class CountsAndInputTest(unittest.TestCase):
    def test_summarize(self):
        events = history(w(1, "a", 0, 1), w(2, "b", 0, 1, "fail"), w(3, "c", 0, 1, "info"), w(4, "d", 0, None),
                         r(5, "a", 2, 3), put(6, "f", "d1", 1, 0, 1))
        counts = checker.summarize(events)
        self.assertEqual(counts["write"], {"attempted": 4, "ok": 1, "fail": 1, "info": 2})
        self.assertEqual(counts["total"], {"attempted": 6, "ok": 3, "fail": 1, "info": 2})

    def test_an_invoke_left_open_is_unknown(self):
        events = w(1, "a", 0, None) + w(1, "b", 1, 2)  # process 1 invoked again without a completion
        ops = checker.operations(events)
        self.assertEqual([(o.value, o.type, o.complete) for o in ops], [("a", "info", None), ("b", "ok", 2)])

    def test_bad_histories(self):
        for text in ('{"process": 1', '{"process": 1, "type": "ok", "f": "read", "key": "x", "time": 1}',
                     '{"process": 1, "type": "invoke", "f": "scan", "key": "x", "time": 1}'):
            with self.assertRaises(ValueError):
                checker.operations(checker.parse_history(text))

    def run_cli(self, events, final_reads=None, results=None):
        with tempfile.TemporaryDirectory() as tmp:
            path = os.path.join(tmp, "history.jsonl")
            with open(path, "w") as f:
                f.write("".join(json.dumps(e) + "\n" for e in events) if isinstance(events, list) else events)
            args = [sys.executable, CHECKER, path]
            if final_reads is not None:
                args += ["--final", os.path.join(tmp, "final.json")]
                with open(args[-1], "w") as f:
                    json.dump(final_reads, f)
            if results is not None:
                args += ["--results", os.path.join(tmp, "expected"), os.path.join(tmp, "actual")]
                for name, text in zip(args[-2:], results):
                    with open(name, "w") as f:
                        f.write(text)
            done = subprocess.run(args, capture_output=True, text=True, timeout=60)
            return done.returncode, json.loads(done.stdout)

    def test_command_line(self):
        good = history(w(1, "a", 0, 1), r(2, "a", 2, 3), put(3, "f", "d1", 1, 0, 1))
        status, report = self.run_cli(good, final({"f": versions((1, "d1"))}))
        self.assertEqual((status, report["valid"], report["counts"]["total"]["ok"]), (0, True, 3))
        self.assertEqual(set(report), {"kv", "sdfs", "counts", "valid"})
        status, report = self.run_cli(history(w(1, "a", 0, 1), r(2, "b", 2, 3)))
        self.assertEqual((status, report["valid"], report["kv"]["valid"]), (1, False, False))
        status, report = self.run_cli(good, final({"f": versions((1, "d1"))}), results=("a\nb\n", "a\nc\n"))
        self.assertEqual((status, report["results"]["line"]), (1, 2))
        status, report = self.run_cli("not json\n")
        self.assertEqual(status, 2)
        status, report = self.run_cli(good)  # no final reads: the SDFS checks without them
        self.assertEqual((status, report["sdfs"]["final"]), (0, False))


if __name__ == "__main__":
    unittest.main(verbosity=2)
