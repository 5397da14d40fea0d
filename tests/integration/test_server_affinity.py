"""server_affinity (transaction mode): the server a client's transaction ended on is parked
for that client's next transaction while no other client needs it. Parked servers count as
idle, are taken at once by a client that finds no idle server, go back to the idle servers
after a second (so idle timeouts apply), and a parked server that dies takes nothing with
it: its client was between transactions."""

import time
from contextlib import closing

import psycopg2
import pytest

import harness
from harness import wait_until

TXN = {"pool_mode": "transaction", "admin_users": "trustuser"}


def pid(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def show(lg, what):
    with closing(lg.conn(db="pgbouncer")) as a, a.cursor() as cur:
        cur.execute(what)
        cols = [d[0] for d in cur.description]
        return [dict(zip(cols, r)) for r in cur.fetchall()]


def pool_row(lg, db="p0", user="trustuser"):
    for r in show(lg, "SHOW POOLS"):
        if r["database"] == db and r["user"] == user:
            return r
    return None


def alternate(lg, rounds=5):
    with closing(lg.conn()) as a, closing(lg.conn()) as b:
        wait_until(lambda: pool_row(lg)["sv_idle"] + pool_row(lg)["sv_active"] >= 2, 10)
        seen_a, seen_b = set(), set()
        for _ in range(rounds):
            seen_a.add(pid(a))
            seen_b.add(pid(b))
        return seen_a, seen_b


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "2", "min_pool_size": "2"})
def test_each_client_keeps_its_server_between_transactions(lg):
    seen_a, seen_b = alternate(lg)
    # A and B each stay on one server, and not the same one.
    assert len(seen_a) == 1 and len(seen_b) == 1 and seen_a != seen_b


@pytest.mark.lg_config(
    main={**TXN, "default_pool_size": "2", "min_pool_size": "2", "server_affinity": "0"}
)
def test_without_affinity_the_most_recently_used_server_serves_the_next(lg):
    seen_a, seen_b = alternate(lg)
    assert seen_a == seen_b and len(seen_a) == 1


@pytest.mark.lg_config(main=TXN)
def test_parked_server_counts_as_idle(lg):
    with closing(lg.conn()) as a:
        p = pid(a)
        row = pool_row(lg)
        assert row["sv_active"] == 0 and row["sv_idle"] == 1 and row["cl_active"] == 0, row
        servers = [s for s in show(lg, "SHOW SERVERS") if s["remote_pid"] == p]
        assert len(servers) == 1 and servers[0]["state"] == "idle" and not servers[0]["link"]
        clients = [c for c in show(lg, "SHOW CLIENTS") if c["database"] == "p0"]
        assert len(clients) == 1 and not clients[0]["link"]
        assert pid(a) == p  # and it is still this client's


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1", "query_wait_timeout": "2"})
def test_a_parked_server_never_makes_another_client_wait(lg):
    with closing(lg.conn()) as a:
        p = pid(a)  # parked for A now
        t0 = time.monotonic()
        with closing(lg.conn()) as b:
            assert pid(b) == p  # B took it at once (pool size 1: nothing else to take)
            assert time.monotonic() - t0 < 1.5 * harness.SLOW
            assert pid(a) == p  # and A takes it back the same way
            assert pid(b) == p


@pytest.mark.lg_config(main={**TXN, "server_idle_timeout": "1"})
def test_parked_server_goes_back_to_the_pool_and_idles_out(lg, pg):
    with closing(lg.conn()) as a:
        p = pid(a)
        assert p in harness.backend_pids(pg, "p0", "trustuser")
        # Back with the idle servers after a second, then closed by server_idle_timeout.
        wait_until(lambda: p not in harness.backend_pids(pg, "p0", "trustuser"), 10 * harness.SLOW)
        assert "server_idle_timeout" in lg.log_text()
        assert pid(a) != p  # the client goes on with a new server


@pytest.mark.lg_config(main=TXN)
def test_parked_server_terminated_the_client_goes_on(lg, pg):
    with closing(lg.conn()) as a:
        p = pid(a)
        pg.sql("SELECT pg_terminate_backend(%s)", (p,))
        wait_until(lambda: p not in harness.backend_pids(pg, "p0", "trustuser"), 10)
        wait_until(lambda: pool_row(lg)["sv_idle"] == 0, 10)
        q = pid(a)  # no error: it was between transactions
        assert q != p
        with a.cursor() as cur:
            cur.execute("SELECT 41 + 1")
            assert cur.fetchone()[0] == 42


@pytest.mark.lg_config(main=TXN)
def test_client_leaving_gives_its_parked_server_back(lg):
    a = lg.conn()
    p = pid(a)
    a.close()
    wait_until(lambda: pool_row(lg)["cl_active"] == 0 and pool_row(lg)["sv_idle"] == 1, 10)
    with closing(lg.conn()) as b:
        assert pid(b) == p  # reused, not closed


@pytest.mark.lg_config(main=TXN)
def test_pause_does_not_wait_for_a_parked_server(lg):
    with closing(lg.conn()) as a:
        p = pid(a)
        t0 = time.monotonic()
        with closing(lg.conn(db="pgbouncer")) as adm, adm.cursor() as cur:
            cur.execute("PAUSE p0")
            assert time.monotonic() - t0 < 1.5 * harness.SLOW
            cur.execute("RESUME p0")
        assert pid(a) == p  # the idle server is still there for it


@pytest.mark.lg_config(main=TXN)
def test_transaction_block_keeps_the_server_linked(lg):
    # A parked server is between transactions only: inside a block the link stays.
    with closing(lg.conn(autocommit=False)) as a, closing(lg.conn()) as b:
        p = pid(a)  # BEGIN ... still open
        row = pool_row(lg)
        assert row["sv_active"] == 1 and row["cl_active"] == 1, row
        assert pid(b) != p
        a.rollback()
        assert pid(a) == p


@pytest.mark.lg_config(main={**TXN, "max_db_connections": "1", "query_wait_timeout": "5"})
def test_a_parked_server_makes_room_under_max_db_connections(lg, pg):
    # Another pool of the same database at the cap takes (closes) the parked server at
    # once instead of waiting for it: it was idle.
    with closing(lg.conn()) as a:
        p = pid(a)
        t0 = time.monotonic()
        with closing(lg.conn(user="md5user", password=harness.PASSWORDS["md5user"])) as b:
            q = pid(b)
            assert time.monotonic() - t0 < 2 * harness.SLOW
            assert q != p and p not in harness.backend_pids(pg, "p0", "trustuser")
            assert pid(a) not in (p, q)  # and back the other way: b's parked one makes room


@pytest.mark.lg_config(main=TXN)
def test_reconnect_closes_a_parked_server(lg, pg):
    with closing(lg.conn()) as a:
        p = pid(a)
        with closing(lg.conn(db="pgbouncer")) as adm, adm.cursor() as cur:
            cur.execute("RECONNECT p0")
        wait_until(lambda: p not in harness.backend_pids(pg, "p0", "trustuser"), 10)
        assert pid(a) != p


@pytest.mark.lg_config(main={**TXN, "client_idle_timeout": "1"})
def test_client_idle_timeout_gives_the_parked_server_back(lg):
    a = lg.conn()
    p = pid(a)
    time.sleep(2.5)
    with pytest.raises(psycopg2.OperationalError):
        pid(a)  # closed by client_idle_timeout while its server was parked
    a.close()
    with closing(lg.conn()) as b:
        assert pid(b) == p  # the server was clean: kept and reused


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "2", "min_pool_size": "2"})
def test_a_taken_parked_server_stops_parking_for_a_second(lg):
    # More clients at work than servers: once C has to take A's parked server, the pool
    # parks nothing for a second (each such take would cost a detach and win nothing).
    with closing(lg.conn()) as a, closing(lg.conn()) as b, closing(lg.conn()) as c:
        wait_until(lambda: pool_row(lg)["sv_idle"] + pool_row(lg)["sv_active"] >= 2, 10)
        pa = pid(a)  # parked for A
        pb = pid(b)  # the other server, parked for B
        assert pa != pb
        assert pid(c) == pa  # no idle server: C takes the one parked longest, A's
        # C's server was not parked for C (else A, finding no idle server, would take
        # B's parked one): it went back to the idle servers, where A finds it.
        assert pid(a) == pa
        assert pid(b) == pb  # B's stayed parked (parked before the take)
        time.sleep(1.5)  # a second later the pool parks again
        wait_until(lambda: pool_row(lg)["sv_idle"] == 2, 10)
        pa2 = pid(a)
        pb2 = pid(b)
        assert pid(a) == pa2 and pid(b) == pb2 and pa2 != pb2
