#!/usr/bin/python3
"""Console WebSocket helper for the cluster tests (python3-websocket).

  ws_events.py watch URL OUT [--origin O] [--seconds S]
      subscribes to events and appends each event object to OUT as one JSON
      line, until killed or S seconds (default 200) pass.
  ws_events.py connect URL [--origin O]
      opens the WebSocket and runs `list_self`; exits 0 when that works, 3
      when the console refused the handshake (the HTTP status is printed).
"""
import argparse
import json
import sys
import time

import websocket


def open_socket(url, origin):
    kwargs = {"timeout": 5}
    if origin:
        kwargs["origin"] = origin
    return websocket.create_connection(url, **kwargs)


def call(ws, ident, cmd, args):
    ws.send(json.dumps({"id": ident, "cmd": cmd, "args": args}))
    while True:
        frame = json.loads(ws.recv())
        if frame.get("id") == ident:
            return frame


def main():
    parser = argparse.ArgumentParser()
    parser.add_argument("mode", choices=["watch", "connect"])
    parser.add_argument("url")
    parser.add_argument("out", nargs="?")
    parser.add_argument("--origin")
    parser.add_argument("--seconds", type=float, default=200)
    a = parser.parse_args()
    try:
        ws = open_socket(a.url, a.origin)
    except websocket.WebSocketBadStatusException as e:
        print(f"refused: {e.status_code}")
        return 3
    if a.mode == "connect":
        reply = call(ws, 1, "list_self", [])
        print(json.dumps(reply))
        return 0 if reply.get("ok") else 1
    reply = call(ws, 1, "subscribe", ["events"])
    if not reply.get("ok"):
        print(f"subscribe failed: {reply}", file=sys.stderr)
        return 1
    deadline = time.monotonic() + a.seconds
    ws.settimeout(1)
    with open(a.out, "a", buffering=1) as out:
        while time.monotonic() < deadline:
            try:
                frame = json.loads(ws.recv())
            except websocket.WebSocketTimeoutException:
                continue
            if "event" in frame:
                out.write(json.dumps(frame["event"]) + "\n")
    return 0


if __name__ == "__main__":
    sys.exit(main())
