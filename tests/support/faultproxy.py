"""A loopback TCP proxy in front of a test IMAP server that sees the client's commands and
injects faults at exact points, so tests need not patch our own modules.

- `commands`: every IMAP command line the client sent (tag stripped, literals skipped), in order;
  `journal` (optional, shared with the test) gets `("imap", line)` entries too, so a test can
  check the order of server commands against its own events (e.g. commits).
- `body_fetches()`: how many FETCH commands asked for a message body (`BODY[]`/`BODY.PEEK[]`),
  and `fetched_uids()`: the UIDs they named.
- `fault_in_reply(pattern, after_bytes, action, nth=)`: once the nth command matching `pattern`
  was sent, run `action` after `after_bytes` of the server's reply passed (mid-FETCH,
  mid-message).
- `fault_on_command(pattern, action, nth=)`: run `action` when the client sends the nth matching
  command, before the server sees it.
An action is `"reset"` (both sockets closed with RST: the client sees ECONNRESET), a callable
(e.g. `dovecot.kill_sessions`), or `Answer(reply)` (with `fault_on_command`: the server never
sees the command; the client gets `reply`, `TAG` replaced by the command's tag — e.g. Microsoft
365 throttling, `TAG NO [UNAVAILABLE] Server Unavailable. 15` — and the connection is closed
after a reply with `* BYE`); a fault fires once.
"""

from __future__ import annotations

import contextlib
import re
import socket
import struct
import threading
from collections.abc import Callable, Iterator
from dataclasses import dataclass, field


@dataclass(frozen=True)
class Answer:
    reply: bytes


Action = str | Callable[[], object] | Answer
BODY_FETCH = re.compile(rb"^(?:UID )?FETCH .*BODY(?:\.PEEK)?\[\]", re.I)
LITERAL = re.compile(rb"\{(\d+)\+?\}$")


@dataclass
class _Fault:
    pattern: re.Pattern[bytes]
    action: Action
    after_bytes: int | None  # None: on the command itself
    nth: int = 1  # fire on the nth matching command
    seen: int = 0
    fired: bool = False


@dataclass
class _Conn:
    client: socket.socket
    server: socket.socket
    armed: list[tuple[_Fault, int]] = field(default_factory=list)  # fault, reply bytes left
    lock: threading.Lock = field(default_factory=threading.Lock)
    dead: bool = False


class FaultProxy:
    def __init__(
        self, upstream_host: str, upstream_port: int, journal: list[tuple[str, str]] | None = None
    ) -> None:
        self.upstream = (upstream_host, upstream_port)
        self.journal = journal if journal is not None else []
        self.commands: list[str] = []
        self._faults: list[_Fault] = []
        self._conns: list[_Conn] = []
        self._lock = threading.Lock()
        self._listener = socket.create_server(("127.0.0.1", 0))
        self.host, self.port = "127.0.0.1", int(self._listener.getsockname()[1])
        self._threads: list[threading.Thread] = []
        self._closed = False
        self._spawn(self._accept)

    # -- what tests use ----------------------------------------------------------------------
    def fault_in_reply(
        self, pattern: str, after_bytes: int, action: Action = "reset", *, nth: int = 1
    ) -> None:
        """After the `nth` command matching `pattern`, act once `after_bytes` of replies passed."""
        self._faults.append(_Fault(re.compile(pattern.encode(), re.I), action, after_bytes, nth))

    def fault_on_command(self, pattern: str, action: Action = "reset", *, nth: int = 1) -> None:
        """Act when the client sends the `nth` command matching `pattern` (it is not forwarded
        when the action drops the connection)."""
        self._faults.append(_Fault(re.compile(pattern.encode(), re.I), action, None, nth))

    def fired(self) -> int:
        return sum(f.fired for f in self._faults)

    def body_fetches(self) -> int:
        return sum(bool(BODY_FETCH.match(c.encode())) for c in self.commands)

    def fetched_uids(self) -> list[int]:
        out: list[int] = []
        for c in self.commands:
            if BODY_FETCH.match(c.encode()):
                out += _uid_set(c.split()[2 if c.upper().startswith("UID ") else 1])
        return out

    def close(self) -> None:
        self._closed = True
        with contextlib.suppress(OSError):
            self._listener.shutdown(socket.SHUT_RDWR)  # wakes accept(); close() alone does not
        with contextlib.suppress(OSError):
            self._listener.close()
        with self._lock:
            conns = list(self._conns)
        for conn in conns:
            self._drop(conn, reset=False)
        for t in self._threads:
            t.join(5)

    # -- plumbing ----------------------------------------------------------------------------
    def _spawn(self, target: Callable[..., None], *args: object) -> None:
        t = threading.Thread(target=target, args=args, daemon=True)
        t.start()
        self._threads.append(t)

    def _accept(self) -> None:
        while not self._closed:
            try:
                client, _ = self._listener.accept()
            except OSError:
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                client.close()
                continue
            server.settimeout(None)
            conn = _Conn(client, server)
            with self._lock:
                self._conns.append(conn)
            self._spawn(self._client_to_server, conn)
            self._spawn(self._server_to_client, conn)

    def _client_to_server(self, conn: _Conn) -> None:
        pending = b""
        literal = 0  # bytes of a client literal still to pass through unparsed
        while True:
            try:
                data = conn.client.recv(65536)
            except OSError:
                data = b""
            if not data:
                return self._drop(conn, reset=False)
            pending += data
            out = b""
            while pending:
                if literal:
                    chunk, pending = pending[:literal], pending[literal:]
                    literal -= len(chunk)
                    out += chunk
                    continue
                line, sep, rest = pending.partition(b"\r\n")
                if not sep:
                    break
                pending = rest
                verdict = self._command(conn, line)
                if verdict is True:  # a fault fired before the server saw it
                    return None
                if verdict == "answered":
                    continue
                out += line + sep
                m = LITERAL.search(line)
                literal = int(m.group(1)) if m else 0
            if out:
                try:
                    conn.server.sendall(out)
                except OSError:
                    return self._drop(conn, reset=False)

    def _command(self, conn: _Conn, line: bytes) -> bool | str:
        parts = line.split(b" ", 1)
        if len(parts) < 2 or parts[0] in (b"*", b"+") or line.upper() == b"DONE":
            return False
        text = parts[1].decode("utf-8", "replace")
        self.commands.append(text)
        self.journal.append(("imap", text))
        for fault in self._faults:
            if fault.fired or not fault.pattern.search(parts[1]):
                continue
            fault.seen += 1
            if fault.seen != fault.nth:
                continue
            if fault.after_bytes is None:
                fault.fired = True
                if isinstance(fault.action, Answer):
                    return self._answer(conn, fault.action, parts[0])
                self._act(conn, fault.action)
                return conn.dead
            with conn.lock:
                conn.armed.append((fault, fault.after_bytes))
        return False

    def _server_to_client(self, conn: _Conn) -> None:
        while True:
            try:
                data = conn.server.recv(65536)
            except OSError:
                data = b""
            if not data:
                return self._drop(conn, reset=False)
            while data:
                due, data_now = self._split_at_fault(conn, data)
                data = data[len(data_now) :]
                try:
                    conn.client.sendall(data_now)
                except OSError:
                    return self._drop(conn, reset=False)
                if due is not None:
                    self._act(conn, due.action)
                if conn.dead:
                    return None

    def _split_at_fault(self, conn: _Conn, data: bytes) -> tuple[_Fault | None, bytes]:
        """The part of `data` to forward now, and the fault due right after it (if any)."""
        with conn.lock:
            live = [(f, left) for f, left in conn.armed if not f.fired]
            if not live:
                conn.armed = []
                return None, data
            first, left = min(live, key=lambda fl: fl[1])
            n = min(left, len(data))
            conn.armed = [(f, rest - n) for f, rest in live]
            if left > len(data):
                return None, data
            first.fired = True
            conn.armed = [(f, rest) for f, rest in conn.armed if f is not first]
            return first, data[:n]

    def _answer(self, conn: _Conn, answer: Answer, tag: bytes) -> bool | str:
        try:
            conn.client.sendall(answer.reply.replace(b"TAG", tag))
        except OSError:
            pass
        if b"* BYE" in answer.reply:
            self._drop(conn, reset=False)
            return True
        return "answered"

    def _act(self, conn: _Conn, action: Action) -> None:
        if action == "reset":
            self._drop(conn, reset=True)
        elif callable(action):
            action()
        else:
            raise ValueError(f"unknown fault action {action!r}")

    def _drop(self, conn: _Conn, *, reset: bool) -> None:
        conn.dead = True
        for s in (conn.client, conn.server):
            with contextlib.suppress(OSError):
                if reset and s is conn.client:  # RST, not FIN: the client sees "connection reset"
                    s.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
                    s.shutdown(socket.SHUT_RD)  # wakes our other pump without telling the peer
                else:
                    s.shutdown(socket.SHUT_RDWR)
            with contextlib.suppress(OSError):
                s.close()


def _uid_set(spec: str) -> list[int]:
    out: list[int] = []
    for part in spec.split(","):
        lo, _, hi = part.partition(":")
        out += range(int(lo), int(hi or lo) + 1) if hi != "*" else [int(lo)]
    return out


@contextlib.contextmanager
def proxied(
    host: str, port: int, journal: list[tuple[str, str]] | None = None
) -> Iterator[FaultProxy]:
    proxy = FaultProxy(host, port, journal)
    try:
        yield proxy
    finally:
        proxy.close()
