"""Pod port-forwarding for the fake Kubernetes API: the WebSocket channel protocol, to a real server.

What the API server speaks to `kubernetes.stream.portforward` (and kubectl's WebSocket
port-forward): an RFC 6455 upgrade with subprotocol `v4.channel.k8s.io`, then binary messages whose
first byte is the channel (for one port: 0 data, 1 errors). Each channel first carries the port
number (two bytes, little-endian); after that, channel 0 carries the stream's bytes both ways. Here
the stream goes to a loopback (host, port) the test names, e.g. a real OpenBao playing a Vault pod.
"""

from __future__ import annotations

import base64
import hashlib
import selectors
import socket
import struct
from contextlib import suppress
from http.server import BaseHTTPRequestHandler

_GUID = b"258EAFA5-E914-47DA-95CA-C5AB0DC85B11"
PROTOCOL = "v4.channel.k8s.io"


def _frame(payload: bytes, opcode: int = 0x2) -> bytes:
    """A server frame (unmasked, final)."""
    head = bytes([0x80 | opcode])
    size = len(payload)
    if size < 126:
        head += bytes([size])
    elif size < 1 << 16:
        head += bytes([126]) + struct.pack(">H", size)
    else:
        head += bytes([127]) + struct.pack(">Q", size)
    return head + payload


def _read_exact(sock: socket.socket, size: int) -> bytes:
    data = b""
    while len(data) < size:
        chunk = sock.recv(size - len(data))
        if not chunk:
            raise ConnectionError("closed")
        data += chunk
    return data


def _read_frame(sock: socket.socket) -> tuple[int, bytes]:
    """(opcode, payload) of one client frame (clients always mask)."""
    first, second = _read_exact(sock, 2)
    size = second & 0x7F
    if size == 126:
        size = struct.unpack(">H", _read_exact(sock, 2))[0]
    elif size == 127:
        size = struct.unpack(">Q", _read_exact(sock, 8))[0]
    mask = _read_exact(sock, 4) if second & 0x80 else b"\0\0\0\0"
    payload = bytes(b ^ mask[i % 4] for i, b in enumerate(_read_exact(sock, size)))
    return first & 0x0F, payload


def serve_portforward(handler: BaseHTTPRequestHandler, port: int, target: tuple[str, int]) -> None:
    """Upgrade `handler`'s connection and relay channel 0 to `target` until either side closes."""
    protocols = [p.strip() for p in handler.headers.get("Sec-WebSocket-Protocol", "").split(",")]
    if PROTOCOL not in protocols:
        handler.send_error(400, f"subprotocol {PROTOCOL} not offered")
        return
    key = handler.headers["Sec-WebSocket-Key"].encode()
    accept = base64.b64encode(hashlib.sha1(key + _GUID).digest())  # RFC 6455 names SHA-1
    handler.wfile.write(
        b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n"
        b"Sec-WebSocket-Accept: " + accept + b"\r\nSec-WebSocket-Protocol: " + PROTOCOL.encode() + b"\r\n\r\n"
    )
    handler.wfile.flush()
    client: socket.socket = handler.connection
    backend = socket.create_connection(target, timeout=10)
    port_bytes = struct.pack("<H", port)
    client.sendall(_frame(b"\x00" + port_bytes) + _frame(b"\x01" + port_bytes))
    try:
        _pump(client, backend)
    finally:
        with suppress(OSError):
            client.sendall(_frame(b"", 0x8))
        backend.close()


def _pump(client: socket.socket, backend: socket.socket) -> None:
    with selectors.DefaultSelector() as selector:
        selector.register(client, selectors.EVENT_READ)
        selector.register(backend, selectors.EVENT_READ)
        while True:
            for key, _ in selector.select(timeout=30):
                if key.fileobj is backend:
                    data = backend.recv(65536)
                    if not data:
                        return
                    client.sendall(_frame(b"\x00" + data))
                    continue
                try:
                    opcode, payload = _read_frame(client)
                except (ConnectionError, OSError):
                    return
                if opcode == 0x8:
                    return
                if opcode == 0x2 and payload[:1] == b"\x00" and len(payload) > 1:
                    backend.sendall(payload[1:])
