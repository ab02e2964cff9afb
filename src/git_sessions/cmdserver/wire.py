"""The messages between client and server: a small self-describing binary encoding (strings,
ints, None, lists, string-keyed dicts) behind a 4-byte length, with file descriptors passed
alongside (SCM_RIGHTS). Not json: importing json (and re) would cost the client ~5 ms, more
than the rest of its work. Decoding is total: anything malformed raises WireError."""

from __future__ import annotations

import _socket
import os
import struct

TYPE_CHECKING = False  # not typing.TYPE_CHECKING: importing typing costs the client ~6 ms
if TYPE_CHECKING:
    from typing import TypeAlias

    Value: TypeAlias = "str | int | list[Value] | dict[str, Value] | None"

MAX_MESSAGE = 16 * 1024 * 1024
MAX_FDS = 3
_LENGTH = struct.Struct("!I")
_INT = struct.Struct("!q")


class WireError(Exception):
    """A message that is malformed, too large, or cut short (the peer went away)."""


def encode(value: Value) -> bytes:
    parts: list[bytes] = []
    _put(value, parts)
    return b"".join(parts)


def _put(value: Value, parts: list[bytes]) -> None:
    if value is None:
        parts.append(b"n")
    elif isinstance(value, bool | int):
        parts += [b"i", _INT.pack(int(value))]
    elif isinstance(value, str):
        data = value.encode("utf-8", "surrogateescape")
        parts += [b"s", _LENGTH.pack(len(data)), data]
    elif isinstance(value, list):
        parts += [b"l", _LENGTH.pack(len(value))]
        for item in value:
            _put(item, parts)
    else:
        parts += [b"d", _LENGTH.pack(len(value))]
        for name in sorted(value):  # sorted: equal dicts encode equally (the key hashes this)
            _put(name, parts)
            _put(value[name], parts)


def decode(data: bytes) -> Value:
    try:
        value, end = _get(data, 0, 0)
    except struct.error as exc:
        raise WireError("cut short") from exc
    if end != len(data):
        raise WireError("trailing bytes")
    return value


def _get(data: bytes, at: int, depth: int) -> tuple[Value, int]:
    if depth > 8:
        raise WireError("nested too deeply")
    tag = data[at : at + 1]
    at += 1
    if tag == b"n":
        return None, at
    if tag == b"i":
        return _INT.unpack_from(data, at)[0], at + _INT.size
    if tag not in (b"s", b"l", b"d"):
        raise WireError(f"unknown tag {tag!r}")
    if at + _LENGTH.size > len(data):
        raise WireError("cut short")
    (count,) = _LENGTH.unpack_from(data, at)
    at += _LENGTH.size
    if tag == b"s":
        if at + count > len(data):
            raise WireError("cut short")
        return data[at : at + count].decode("utf-8", "surrogateescape"), at + count
    if count > len(data) - at:  # every item takes at least one byte
        raise WireError("cut short")
    if tag == b"l":
        items: list[Value] = []
        for _ in range(count):
            item, at = _get(data, at, depth + 1)
            items.append(item)
        return items, at
    found: dict[str, Value] = {}
    for _ in range(count):
        name, at = _get(data, at, depth + 1)
        if not isinstance(name, str):
            raise WireError("a dict key that is not a string")
        found[name], at = _get(data, at, depth + 1)
    return found, at


def send(sock: _socket.socket, value: Value, fds: tuple[int, ...] = ()) -> None:
    """Send one message (and `fds` with its first byte)."""
    payload = encode(value)
    data = _LENGTH.pack(len(payload)) + payload
    rights = [(_socket.SOL_SOCKET, _socket.SCM_RIGHTS, struct.pack(f"{len(fds)}i", *fds))]
    sent = sock.sendmsg([data], rights if fds else [])
    while sent < len(data):
        sent += sock.send(data[sent:])


def receive(sock: _socket.socket) -> tuple[Value, list[int]]:
    """One message and the descriptors that came with it (the caller owns and closes them).
    WireError if the connection ends first or the message is malformed; OSError as raised."""
    space = _socket.CMSG_SPACE(MAX_FDS * 4)
    # the length alone first: never read into the next message (the child's exit code can
    # follow its pid at once); the descriptors come with the first byte
    data, ancillary, flags, _ = sock.recvmsg(_LENGTH.size, space)
    fds: list[int] = []
    for level, kind, body in ancillary:
        if level == _socket.SOL_SOCKET and kind == _socket.SCM_RIGHTS:
            usable = len(body) - len(body) % 4
            fds += struct.unpack(f"{usable // 4}i", body[:usable])
    try:
        if flags & _socket.MSG_CTRUNC:
            raise WireError("too many descriptors")
        if not data:
            raise WireError("the connection ended before a message")
        head = data + _exactly(sock, _LENGTH.size - len(data))
        (length,) = _LENGTH.unpack(head)
        if length > MAX_MESSAGE:
            raise WireError("message too large")
        return decode(_exactly(sock, length)), fds
    except (WireError, OSError):
        for fd in fds:
            os.close(fd)
        raise


def _exactly(sock: _socket.socket, count: int) -> bytes:
    chunks = []
    while count:
        chunk = sock.recv(min(count, 1 << 20))
        if not chunk:
            raise WireError("the connection ended inside a message")
        chunks.append(chunk)
        count -= len(chunk)
    return b"".join(chunks)
