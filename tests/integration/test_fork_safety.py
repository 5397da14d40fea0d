"""Fork-safety containment: when two processes write into one inherited client socket,
the byte stream stops parsing; lifeguard answers 08P01 naming the likely cause, closes
that client and does not hand its server to anyone else dirty; other clients see
nothing."""

import re
import os
import socket
import struct
from contextlib import closing

import pytest

import harness


def query(sql):
    body = sql.encode() + b"\0"
    return b"Q" + struct.pack("!I", len(body) + 4) + body


@pytest.mark.lifeguard_only
@pytest.mark.lg_config(main={"default_pool_size": "1", "pool_mode": "transaction"})
def test_two_writers_on_one_socket_get_08p01_and_nobody_else_notices(lg):
    bystander = lg.conn()
    with bystander.cursor() as cur:
        cur.execute("SELECT 1")
    s = lg.raw()
    harness.login_trust(s)
    a = query("SELECT 'process A'")
    b = query("SELECT 'process B'")
    # two forked processes sharing the socket: A's write is cut by B's
    r, w = os.pipe()
    pid = os.fork()
    if pid == 0:  # child: writes B once the parent wrote the first half of A
        os.read(r, 1)
        s.sendall(b)
        os._exit(0)
    s.sendall(a[:8])
    os.write(w, b"x")
    os.waitpid(pid, 0)
    s.sendall(a[8:])
    # PostgreSQL may reject the garbled message first (its own 08P01, relayed); then
    # lifeguard finds a byte that is no message type and closes the client.
    errors = []
    while True:
        err = harness.read_until_error(s)
        if err is None:
            break
        errors.append(err)
    s.close()
    ours = [e for e in errors if "two processes" in e.get("M", "")]
    assert ours and ours[0]["C"] == "08P01", errors
    # the single server was not handed over dirty: the bystander still works
    with bystander.cursor() as cur:
        cur.execute("SELECT 2")
        assert cur.fetchone() == (2,)
    bystander.close()
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 3")
        assert cur.fetchone() == (3,)


@pytest.mark.lifeguard_only
@pytest.mark.lg_config(main={"pool_mode": "transaction"})
def test_transaction_state_warnings_point_at_shared_connections(lg):
    # Two processes interleaving on one connection make PostgreSQL warn "there is
    # already a transaction in progress"; lifeguard names the likely cause.
    c = lg.conn(autocommit=False)
    with c.cursor() as cur:
        cur.execute("SELECT 1")
        cur.execute("BEGIN")  # a second BEGIN inside the driver's transaction: 25001
    c.rollback()
    c.close()
    harness.wait_until(lambda: "may be shared by two processes" in lg.log_text(), 5)
    # The line names the client (id, database/user, address), not only the pool.
    line = next(l for l in lg.log_text().splitlines() if "may be shared by two" in l)
    assert re.search(r"for client C-\d+ \S+/\S+@", line), line
