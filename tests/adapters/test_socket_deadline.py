"""The watchdog that bounds a whole blocking conversation (a drip never trips a timeout)."""

from __future__ import annotations

import socket
import threading
import time

from opsconsole.adapters.socket_deadline import Deadline


def test_a_blocked_read_returns_when_the_deadline_passes() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        ours.settimeout(5)  # the per-read timeout alone would wait 5 s
        deadline = Deadline(0.2).start()
        deadline.watch(ours)
        started = time.monotonic()
        assert ours.recv(10) == b""  # shut down under the blocked read
        elapsed = time.monotonic() - started
        deadline.cancel()
        assert deadline.expired
        assert 0.15 <= elapsed < 2, elapsed


def test_a_socket_watched_after_the_deadline_is_shut_at_once() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        deadline = Deadline(0.01).start()
        time.sleep(0.1)
        assert deadline.expired
        deadline.watch(ours)
        ours.settimeout(5)
        assert ours.recv(10) == b""
        deadline.cancel()


def test_a_cancelled_deadline_touches_nothing() -> None:
    ours, theirs = socket.socketpair()
    with ours, theirs:
        deadline = Deadline(0.05).start()
        deadline.watch(ours)
        deadline.cancel()
        time.sleep(0.15)
        assert not deadline.expired
        theirs.sendall(b"still here")
        ours.settimeout(1)
        assert ours.recv(10) == b"still here"


def test_a_closed_socket_is_skipped_without_error() -> None:
    ours, theirs = socket.socketpair()
    deadline = Deadline(0.05).start()
    deadline.watch(ours)
    ours.close()  # the conversation ended before the deadline, cancel() not yet called
    fired = threading.Event()
    threading.Timer(0.15, fired.set).start()
    fired.wait(1)
    assert deadline.expired  # fired on a closed socket: nothing raised, nothing touched
    deadline.cancel()
    theirs.close()
