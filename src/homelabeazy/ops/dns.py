"""Ask a DNS server for a name's A records: one UDP query, the answer's code and addresses.

`homelab status` needs exactly this (does NAME resolve, at this server, to the model's address),
so it is a small RFC 1035 query rather than a dependency. It asks the given server, never the
system resolver: the point is to check the resolver the homelab configures.
"""

from __future__ import annotations

import secrets
import socket
import struct
from dataclasses import dataclass
from ipaddress import IPv4Address

from homelabeazy.ops.probes import ProbeError

TYPE_A = 1
CLASS_IN = 1
RECURSION_DESIRED = 0x0100
RCODES = {0: "NOERROR", 1: "FORMERR", 2: "SERVFAIL", 3: "NXDOMAIN", 4: "NOTIMP", 5: "REFUSED"}
HEADER = struct.Struct("!HHHHHH")
RECORD = struct.Struct("!HHIH")


@dataclass(frozen=True)
class DnsAnswer:
    """The response code (`NOERROR`, `NXDOMAIN`, ...) and the A addresses, in answer order."""

    rcode: str
    addresses: tuple[IPv4Address, ...]


def _question(query_id: int, name: str) -> bytes:
    labels = b"".join(bytes([len(p)]) + p.encode("ascii") for p in name.rstrip(".").split("."))
    return (
        HEADER.pack(query_id, RECURSION_DESIRED, 1, 0, 0, 0)
        + labels
        + b"\0"
        + struct.pack("!HH", TYPE_A, CLASS_IN)
    )


def _skip_name(data: bytes, at: int) -> int:
    """The offset after a (possibly compressed) name starting at `at`."""
    while True:
        if at >= len(data):
            raise ProbeError("DNS: truncated name in the answer")
        length = data[at]
        if length & 0xC0 == 0xC0:
            return at + 2
        if length == 0:
            return at + 1
        at += 1 + length


def parse_answer(data: bytes, query_id: int) -> DnsAnswer:
    """The code and A addresses of a response to `query_id` (other record types are skipped)."""
    if len(data) < HEADER.size:
        raise ProbeError("DNS: answer shorter than its header")
    answer_id, flags, questions, answers, _, _ = HEADER.unpack_from(data)
    if answer_id != query_id:
        raise ProbeError("DNS: answer to another query")
    at = HEADER.size
    for _ in range(questions):
        at = _skip_name(data, at) + 4
    addresses = []
    for _ in range(answers):
        at = _skip_name(data, at)
        if at + RECORD.size > len(data):
            raise ProbeError("DNS: truncated record in the answer")
        rtype, rclass, _ttl, length = RECORD.unpack_from(data, at)
        at += RECORD.size
        if rtype == TYPE_A and rclass == CLASS_IN and length == 4:
            addresses.append(IPv4Address(data[at : at + 4]))
        at += length
    return DnsAnswer(RCODES.get(flags & 0xF, f"RCODE{flags & 0xF}"), tuple(addresses))


def query_a(server: str, port: int, name: str, timeout: float) -> DnsAnswer:
    """Ask `server`:`port` over UDP for `name`'s A records."""
    query_id = secrets.randbelow(1 << 16)
    with socket.socket(socket.AF_INET, socket.SOCK_DGRAM) as sock:
        sock.settimeout(timeout)
        sock.connect((server, port))
        sock.send(_question(query_id, name))
        return parse_answer(sock.recv(4096), query_id)
