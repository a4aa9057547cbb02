"""A loopback TCP proxy that misbehaves on demand, put between the client and a LiveStub.

Faults are armed by the test and counted from the moment they are armed, across
connections, per direction (``"up"`` client→server, ``"down"`` server→client):

- :meth:`FaultProxy.cut` — forward ``after`` more bytes, then reset both sides of the
  connection carrying the next byte (a crash or a cable pulled mid-transfer);
- :meth:`FaultProxy.stall` — after ``after`` bytes, stop forwarding for ``seconds`` while
  keeping both sockets open (a stuck router, a hung server);
- :meth:`FaultProxy.refuse` — a server gone: open connections are reset, new ones
  refused (the listening socket is closed);
- :meth:`FaultProxy.pass_through` — no faults, listening again on the same port.

A fault fires ``times`` times (``None``: every time its byte count is reached again),
then the proxy passes traffic through. ``fired`` counts what happened, for assertions.
"""

from __future__ import annotations

import socket
import struct
import threading
import time
from collections import Counter
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass
from typing import Literal
from urllib.parse import urlsplit

Direction = Literal["up", "down"]
_BLOCK = 64 * 1024


@dataclass
class _Fault:
    kind: Literal["cut", "stall"]
    after: int
    seconds: float
    times: int | None
    seen: int = 0


class FaultProxy:
    """Forwards ``127.0.0.1:<port>`` to ``upstream_url``'s host and port."""

    def __init__(self, upstream_url: str) -> None:
        parts = urlsplit(upstream_url)
        self.upstream = (parts.hostname or "127.0.0.1", int(parts.port or 80))
        self.fired: Counter[str] = Counter()  # "cut-up", "stall-down", "connections" …
        self._faults: dict[Direction, _Fault | None] = {"up": None, "down": None}
        self._lock = threading.Lock()
        self._stop = threading.Event()
        self._links: set[socket.socket] = set()
        self._threads: list[threading.Thread] = []
        self._listener: socket.socket | None = None
        self.port = 0
        self._listen()

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    # -- arming ------------------------------------------------------------------------

    def cut(self, direction: Direction, after: int, *, times: int | None = 1) -> None:
        self._arm(direction, _Fault("cut", after, 0.0, times))

    def stall(
        self, direction: Direction, seconds: float, *, after: int = 0, times: int | None = 1
    ) -> None:
        self._arm(direction, _Fault("stall", after, seconds, times))

    def refuse(self) -> None:
        """Like a server gone: open connections are reset, new ones refused."""
        with self._lock:
            listener, self._listener = self._listener, None
            links = list(self._links)
        if listener is not None:
            _close(listener)
        for sock in links:
            _close(sock, reset=True)

    def pass_through(self) -> None:
        with self._lock:
            self._faults = {"up": None, "down": None}
            listening = self._listener is not None
        if not listening:
            self._listen()

    def _arm(self, direction: Direction, fault: _Fault) -> None:
        with self._lock:
            self._faults[direction] = fault

    # -- life --------------------------------------------------------------------------

    def close(self) -> None:
        self._stop.set()
        self.refuse()
        for thread in self._threads:
            thread.join(5)

    def _listen(self) -> None:
        listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        listener.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        listener.bind(("127.0.0.1", self.port))
        listener.listen(64)
        listener.settimeout(0.1)
        self.port = listener.getsockname()[1]
        with self._lock:
            self._listener = listener
        self._spawn(self._accept_loop, listener)

    def _spawn(self, target: object, *args: object) -> None:
        thread = threading.Thread(target=target, args=args, daemon=True)  # type: ignore[arg-type]
        self._threads.append(thread)
        thread.start()

    def _accept_loop(self, listener: socket.socket) -> None:
        while not self._stop.is_set() and self._listener is listener:
            try:
                client, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:  # closed by refuse()/close()
                return
            try:
                server = socket.create_connection(self.upstream, timeout=10)
            except OSError:
                _close(client, reset=True)
                continue
            self.fired["connections"] += 1
            for sock in (client, server):
                sock.settimeout(None)
            with self._lock:
                self._links |= {client, server}
            done: list[Direction] = []
            self._spawn(self._pump, client, server, "up", done)
            self._spawn(self._pump, server, client, "down", done)

    def _pump(
        self,
        src: socket.socket,
        dst: socket.socket,
        direction: Direction,
        done: list[Direction],
    ) -> None:
        """One direction of a link; the second pump to finish closes both sockets."""
        try:
            while not self._stop.is_set():
                data = src.recv(_BLOCK)
                if not data:
                    dst.shutdown(socket.SHUT_WR)  # half-close, as the peer did
                    break
                if not self._forward(data, src, dst, direction):
                    break
        except OSError:
            _close(src, reset=True)  # the peer reset: pass the reset on
            _close(dst, reset=True)
        with self._lock:
            done.append(direction)
            last = len(done) == 2
        if last:
            self._drop(src, dst)

    def _forward(
        self, data: bytes, src: socket.socket, dst: socket.socket, direction: Direction
    ) -> bool:
        """Send ``data`` on, applying the armed fault; False once the link is cut."""
        while data:
            with self._lock:
                fault = self._faults[direction]
                room = len(data) if fault is None else max(fault.after - fault.seen, 0)
                head, data = data[:room], data[room:]
                if fault is not None:
                    fault.seen += len(head)
            if head:
                dst.sendall(head)
            if not data or fault is None:
                continue
            self._fire(fault, direction)
            if fault.kind == "cut":
                _close(src, reset=True)
                _close(dst, reset=True)
                return False
            self._stop.wait(fault.seconds)  # stalled: sockets stay open, nothing moves
        return True

    def _fire(self, fault: _Fault, direction: Direction) -> None:
        with self._lock:
            self.fired[f"{fault.kind}-{direction}"] += 1
            fault.seen = 0
            if fault.times is not None:
                fault.times -= 1
                if fault.times <= 0 and self._faults[direction] is fault:
                    self._faults[direction] = None

    def _drop(self, *socks: socket.socket) -> None:
        for sock in socks:
            _close(sock)
        with self._lock:
            self._links.difference_update(socks)


def _close(sock: socket.socket, *, reset: bool = False) -> None:
    """Close ``sock``; with ``reset`` the peer gets an RST, as after a crash."""
    try:
        if reset:
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
            sock.shutdown(socket.SHUT_RD)  # wakes the pump blocked in recv() on it
    except OSError:
        pass
    with suppress(OSError):
        sock.close()


@contextmanager
def fault_proxy(upstream_url: str) -> Iterator[FaultProxy]:
    proxy = FaultProxy(upstream_url)
    try:
        yield proxy
    finally:
        proxy.close()


def wait_until(predicate: object, timeout: float) -> bool:
    """Poll ``predicate()`` until true or ``timeout`` seconds pass."""
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():  # type: ignore[operator]
            return True
        time.sleep(0.02)
    return False
