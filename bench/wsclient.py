"""A minimal WebSocket client (RFC 6455, text frames) for the node's console,
so benchmarks can send many commands over one connection without starting a
client process per command. Standard library only."""
import base64
import json
import os
import socket
import struct


class Console:
    def __init__(self, host, port, token=None, timeout=30):
        self.sock = socket.create_connection((host, port), timeout=timeout)
        self.sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
        key = base64.b64encode(os.urandom(16)).decode()
        auth = f"Authorization: Bearer {token}\r\n" if token else ""
        self.sock.sendall((f"GET /ws HTTP/1.1\r\nHost: {host}:{port}\r\nUpgrade: websocket\r\n"
                           f"Connection: Upgrade\r\nSec-WebSocket-Key: {key}\r\n"
                           f"Sec-WebSocket-Version: 13\r\n{auth}\r\n").encode())
        head = b""
        while b"\r\n\r\n" not in head:
            chunk = self.sock.recv(4096)
            if not chunk:
                raise ConnectionError("console closed during the handshake")
            head += chunk
        status = head.split(b"\r\n", 1)[0]
        if b" 101 " not in status:
            raise ConnectionError(f"handshake refused: {status.decode(errors='replace')}")
        self.buf = head.split(b"\r\n\r\n", 1)[1]
        self.next_id = 1

    def _read(self, n):
        while len(self.buf) < n:
            chunk = self.sock.recv(65536)
            if not chunk:
                raise ConnectionError("console closed the connection")
            self.buf += chunk
        out, self.buf = self.buf[:n], self.buf[n:]
        return out

    def _send_text(self, text):
        payload = text.encode()
        mask = os.urandom(4)
        n = len(payload)
        if n < 126:
            header = struct.pack("!BB", 0x81, 0x80 | n)
        elif n < 1 << 16:
            header = struct.pack("!BBH", 0x81, 0x80 | 126, n)
        else:
            header = struct.pack("!BBQ", 0x81, 0x80 | 127, n)
        masked = bytes(b ^ mask[i % 4] for i, b in enumerate(payload))
        self.sock.sendall(header + mask + masked)

    def _recv_text(self):
        message = b""
        while True:
            b0, b1 = self._read(2)
            n = b1 & 0x7F
            if n == 126:
                n = struct.unpack("!H", self._read(2))[0]
            elif n == 127:
                n = struct.unpack("!Q", self._read(8))[0]
            data = self._read(n)  # the server does not mask
            opcode = b0 & 0x0F
            if opcode == 0x8:
                raise ConnectionError("console closed the WebSocket")
            if opcode in (0x9, 0xA):  # ping/pong: not expected, skip
                continue
            message += data
            if b0 & 0x80:
                return message.decode()

    def call(self, cmd, *args):
        """Runs one command; returns the reply object ({"ok":..., ...})."""
        request_id = self.next_id
        self.next_id += 1
        self._send_text(json.dumps({"id": request_id, "cmd": cmd, "args": list(args)}))
        while True:
            reply = json.loads(self._recv_text())
            if reply.get("id") == request_id:
                return reply

    def close(self):
        self.sock.close()
