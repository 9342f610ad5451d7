"""The API worker processes each accept on a listening socket of their own, in one SO_REUSEPORT
group, so the kernel spreads connections over them (node/wiring/lifecycle.py): one socket
shared by every worker let one worker accept a whole burst of keep-alive connections."""

from __future__ import annotations

import socket

import pytest
import uvicorn
from uvicorn.config import STARTUP_FAILURE

from node.wiring.lifecycle import listening_sockets

pytestmark = pytest.mark.skipif(
    not hasattr(socket, "SO_REUSEPORT"), reason="the spreading needs SO_REUSEPORT"
)


def config(port: int = 0, workers: int = 3) -> uvicorn.Config:
    return uvicorn.Config("x:app", host="127.0.0.1", port=port, workers=workers)


def test_each_worker_gets_a_listening_socket_on_the_same_port_and_connections_spread() -> None:
    sockets = listening_sockets(config())
    clients: list[socket.socket] = []
    try:
        port = sockets[0].getsockname()[1]
        assert len(sockets) == 3 and {s.getsockname()[1] for s in sockets} == {port}
        clients += [socket.create_connection(("127.0.0.1", port)) for _ in range(60)]
        accepted = []
        for listening in sockets:
            listening.setblocking(False)
            count = 0
            while True:
                try:
                    connection, _ = listening.accept()
                except BlockingIOError:
                    break
                connection.close()
                count += 1
            accepted.append(count)
        assert sum(accepted) == 60
        assert min(accepted) > 0, accepted  # all 60 on one socket: ~1e-10 by chance
    finally:
        for each in clients + sockets:
            each.close()


def test_a_port_in_use_stops_the_start_even_if_its_holder_shares_ports() -> None:
    """A port held by another SO_REUSEPORT group would be joined silently (connections shared
    with a stranger of the same user): the node refuses it like any taken port."""
    for shares in (False, True):
        with socket.socket() as holder:
            if shares:
                holder.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT, 1)
            holder.bind(("127.0.0.1", 0))
            holder.listen()
            with pytest.raises(SystemExit) as stopped:
                listening_sockets(config(port=holder.getsockname()[1]))
            assert stopped.value.code == STARTUP_FAILURE


def test_one_worker_gets_one_plain_socket() -> None:
    (only,) = listening_sockets(config(workers=1))
    try:
        assert only.getsockopt(socket.SOL_SOCKET, socket.SO_REUSEPORT) == 0
    finally:
        only.close()
