#!/usr/bin/env python3
"""Finds immediately-invoked capturing coroutine lambdas (STYLE.md).

    [&]() -> asio::awaitable<void> { ... }()

The closure is a temporary: it dies at the end of the full expression while
the coroutine frame, which refers to the captures through it, lives on. The
test runner's form passes the lambda itself, uninvoked, and owns it until
the coroutine ends:

    run([&]() -> asio::awaitable<void> { ... });

clang-tidy's cppcoreguidelines-avoid-capturing-lambda-coroutines flags every
capturing coroutine lambda, including that safe form, so test files (which
use it throughout) are checked with this script instead.

Usage: check_coroutine_lambdas.py FILE...   (exit status 1 on a finding)
"""
import re
import sys


def strip_code(text):
    """Blanks comments, string and character literals, keeping offsets."""
    out = list(text)
    i, n = 0, len(text)

    def blank(a, b):
        for k in range(a, b):
            if out[k] != "\n":
                out[k] = " "

    while i < n:
        c = text[i]
        if text.startswith("//", i):
            j = text.find("\n", i)
            j = n if j < 0 else j
            blank(i, j)
            i = j
        elif text.startswith("/*", i):
            j = text.find("*/", i + 2)
            j = n if j < 0 else j + 2
            blank(i, j)
            i = j
        elif c == "R" and i + 1 < n and text[i + 1] == '"' and (i == 0 or not (text[i - 1].isalnum() or text[i - 1] == "_")):
            m = re.match(r'R"([^(]*)\(', text[i:])
            if not m:
                i += 1
                continue
            end = text.find(")" + m.group(1) + '"', i)
            end = n if end < 0 else end + len(m.group(1)) + 2
            blank(i, end)
            i = end
        elif c in "\"'":
            if c == "'" and i > 0 and text[i - 1].isalnum():  # digit separator 1'000
                i += 1
                continue
            j = i + 1
            while j < n and text[j] != c:
                j += 2 if text[j] == "\\" else 1
            blank(i, min(j + 1, n))
            i = j + 1
        else:
            i += 1
    return "".join(out)


def matching(code, i, open_ch, close_ch):
    """Index of the bracket closing the one at i, or -1."""
    depth = 0
    for j in range(i, len(code)):
        if code[j] == open_ch:
            depth += 1
        elif code[j] == close_ch:
            depth -= 1
            if depth == 0:
                return j
    return -1


def findings(path):
    text = open(path, encoding="utf-8").read()
    code = strip_code(text)
    for m in re.finditer(r"\[", code):
        start = m.start()
        before = code[:start].rstrip()
        # A subscript or attribute follows a name, a ')' or a ']', or is '[['.
        if before and (before[-1].isalnum() or before[-1] in "_)]") or code.startswith("[[", start):
            continue
        if before.endswith("["):
            continue
        close = matching(code, start, "[", "]")
        if close < 0:
            continue
        captures = code[start + 1 : close].strip()
        if not captures:
            continue
        k = close + 1
        rest = code[k:].lstrip()
        k = len(code) - len(rest)
        if rest.startswith("("):
            end = matching(code, k, "(", ")")
            if end < 0:
                continue
            k = end + 1
        body = code.find("{", k)
        if body < 0:
            continue
        header = code[k:body]
        if ";" in header or "awaitable" not in header or "->" not in header:
            continue
        end = matching(code, body, "{", "}")
        if end < 0:
            continue
        after = code[end + 1 :].lstrip()
        if after.startswith("("):
            yield text.count("\n", 0, start) + 1, captures


def main(paths):
    bad = 0
    for path in paths:
        for line, captures in findings(path):
            print(f"{path}:{line}: immediately-invoked coroutine lambda captures [{captures}]: "
                  "pass the lambda uninvoked to the runner, or pass what it needs as parameters")
            bad += 1
    return 1 if bad else 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
