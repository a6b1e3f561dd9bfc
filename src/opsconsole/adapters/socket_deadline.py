"""One deadline for a whole blocking conversation with a server.

A socket timeout bounds each read, not the conversation: a server that drips one byte
every few seconds never trips it, and a stdlib client (``smtplib``, ``imaplib``) would sit
in its worker thread for as long as the server likes. :class:`Deadline` is a watchdog
timer: the client registers each socket it opens (:meth:`Deadline.watch`) and, when the
deadline passes, every registered socket is shut down, so the blocked read returns at once
and the client raises; :attr:`Deadline.expired` then tells the caller why.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from typing import TypeVar

_S = TypeVar("_S", bound=socket.socket)


class Deadline:
    """A watchdog that shuts down the watched sockets ``seconds`` after :meth:`start`.

    Call :meth:`cancel` when the conversation ends (in a ``finally``), *after* closing the
    client: a conversation ended by the deadline still closes its sockets normally."""

    def __init__(self, seconds: float) -> None:
        self.seconds = seconds
        self.expired = False
        self._sockets: list[socket.socket] = []
        self._lock = threading.Lock()
        self._timer = threading.Timer(seconds, self._expire)
        self._timer.daemon = True

    def start(self) -> Deadline:
        """Start the clock (returns self)."""
        self._timer.start()
        return self

    def cancel(self) -> None:
        """The conversation is over: stop the clock and forget the sockets."""
        self._timer.cancel()
        with self._lock:
            self._sockets.clear()

    def watch(self, sock: _S) -> _S:
        """Register ``sock`` (shut down at once if the deadline already passed)."""
        with self._lock:
            self._sockets.append(sock)
            if self.expired:
                _shut(sock)
        return sock

    def _expire(self) -> None:
        with self._lock:
            self.expired = True
            for sock in self._sockets:
                _shut(sock)


def _shut(sock: socket.socket) -> None:
    # A closed socket object has no descriptor any more (fileno -1): nothing to shut, and
    # no risk of touching a descriptor number the system has since given to someone else.
    with contextlib.suppress(OSError):
        sock.shutdown(socket.SHUT_RDWR)
