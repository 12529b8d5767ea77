"""A port another program holds is seen before the server tries it, and the next free one
is found."""

from __future__ import annotations

import socket

from fireside.core.server.runner import free_port_near, port_available


def _listening() -> socket.socket:
    sock = socket.socket()
    sock.bind(("127.0.0.1", 0))
    sock.listen(1)
    return sock


def test_a_held_port_is_not_available_and_the_next_free_one_is_found() -> None:
    with _listening() as held:
        port = held.getsockname()[1]
        assert not port_available("127.0.0.1", port)
        free = free_port_near("127.0.0.1", port)
        assert free is not None and free > port
        assert port_available("127.0.0.1", free)
    assert port_available("127.0.0.1", port)  # released: free again


def test_no_free_port_in_range_says_none() -> None:
    with _listening() as held:
        port = held.getsockname()[1]
        assert free_port_near("127.0.0.1", port, tries=1) is None
