"""Client buffers in transaction mode: a client that has sent requests keeps its input
buffer between transactions (a give-back and re-take per transaction costs more than it
saves); one that only logged in gives it back at once, and the janitor takes back the
buffers of clients quiet for a second, so thousands of idle clients hold none."""

from contextlib import closing

import pytest

import harness
from harness import wait_until

TXN = {"pool_mode": "transaction", "admin_users": "trustuser", "default_pool_size": "2"}
N = 24


def iobufs_live(lg):
    with closing(lg.conn(db="pgbouncer")) as a, a.cursor() as cur:
        cur.execute("SHOW MEM")
        return {r[0]: r for r in cur.fetchall()}["iobuf"][2]


@pytest.mark.lg_config(main=TXN)
def test_buffers_kept_after_a_transaction_go_back_when_the_client_is_quiet(lg):
    conns = [lg.conn() for _ in range(N)]
    try:
        base = iobufs_live(lg)
        assert base < N, base  # logged in only: nothing kept
        for _ in range(2):  # (the first transaction's end marks the client as busy)
            for c in conns:
                with c.cursor() as cur:
                    cur.execute("SELECT 1")
        assert iobufs_live(lg) >= base + N - 2  # kept for the next transaction
        # Quiet for a janitor period or two: back, though every client is still connected.
        wait_until(lambda: iobufs_live(lg) <= base, 5 * harness.SLOW)
        for c in conns:  # and the clients go on as before
            with c.cursor() as cur:
                cur.execute("SELECT 41 + 1")
                assert cur.fetchone()[0] == 42
    finally:
        for c in conns:
            c.close()
