"""Session pooling: servers are shared between successive clients without
leaking session state, dead servers are noticed, and a crowd of clients is
served by a small pool."""

import threading
import time
from contextlib import closing

import psycopg2
import pytest

import harness
from harness import wait_until


@pytest.mark.lg_config(main={"default_pool_size": "1"})
def test_session_state_does_not_leak_to_next_client(lg, pg):
    with closing(lg.conn()) as a, a.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid_a = cur.fetchone()[0]
        cur.execute("SET work_mem = '77MB'")
        cur.execute("CREATE TEMP TABLE lg_tmp (x int)")
        cur.execute("SELECT pg_advisory_lock(4242)")
        cur.execute("PREPARE lg_stmt AS SELECT 1")
        cur.execute("LISTEN lg_channel")
        cur.execute("DECLARE lg_cursor CURSOR WITH HOLD FOR SELECT 1")
        cur.execute("SHOW work_mem")
        assert cur.fetchone()[0] == "77MB"
        assert pg.sql("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")[0][0] == 1

    with closing(lg.conn()) as b, b.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] == pid_a, "pool_size=1: B must get A's server back"
        cur.execute("SHOW work_mem")
        assert cur.fetchone()[0] == pg.default_work_mem
        cur.execute("SELECT to_regclass('pg_temp.lg_tmp')")
        assert cur.fetchone()[0] is None
        cur.execute("SELECT count(*) FROM pg_locks WHERE locktype = 'advisory'")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(*) FROM pg_listening_channels()")
        assert cur.fetchone()[0] == 0
        cur.execute("SELECT count(*) FROM pg_cursors")
        assert cur.fetchone()[0] == 0
        # and B can take the lock A held
        cur.execute("SELECT pg_try_advisory_lock(4242)")
        assert cur.fetchone()[0] is True


@pytest.mark.lg_config(
    main={"default_pool_size": "1", "server_reset_query": "SET work_mem = '3MB'"}
)
def test_custom_server_reset_query_runs_between_clients(lg, pg):
    with closing(lg.conn()) as a, a.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid_a = cur.fetchone()[0]
        cur.execute("SET work_mem = '77MB'")
    with closing(lg.conn()) as b, b.cursor() as cur:
        cur.execute("SELECT pg_backend_pid(), current_setting('work_mem')")
        assert cur.fetchone() == (pid_a, "3MB")


def test_server_killed_under_client_gives_error_then_pool_recovers(lg, pg):
    a = lg.conn()
    try:
        with a.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]
        assert pg.sql("SELECT pg_terminate_backend(%s)", (pid,))[0][0] is True
        wait_until(lambda: pid not in harness.backend_pids(pg, "p0", "trustuser"), 10)
        with pytest.raises(psycopg2.Error):
            with a.cursor() as cur:
                cur.execute("SELECT 1")
                cur.fetchall()
    finally:
        a.close()
    with closing(lg.conn()) as b, b.cursor() as cur:
        cur.execute("SELECT pg_backend_pid(), 42")
        new_pid, answer = cur.fetchone()
        assert answer == 42 and new_pid != pid


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_server_fatal_reaches_client_alone_then_close(make_lg, pg, mode):
    """PostgreSQL ends a session with one FATAL ErrorResponse and a close; the client
    sees exactly that through the pooler, not a second error of lifeguard's after it.
    node-postgres reports each ErrorResponse with no query waiting as a client 'error'
    event, so a second one is an unhandled error there (its own suite's
    query-error-handling-prepared-statement-tests.js, 'query killed ...')."""
    lg = make_lg(main={"pool_mode": mode})
    sock = lg.raw(timeout=10)
    try:
        harness.login_trust(sock)
        sock.sendall(harness.query_message("SELECT pg_sleep(30) /* lg-fatal-once */"))

        def sleeper():
            rows = pg.sql("SELECT pid FROM pg_stat_activity WHERE state = 'active' "
                          "AND query LIKE '%%lg-fatal-once%%' AND pid <> pg_backend_pid()")
            return rows[0][0] if rows else None

        wait_until(sleeper, 10)
        assert pg.sql("SELECT pg_terminate_backend(%s)", (sleeper(),))[0][0] is True
        errors = []
        while True:
            msg = harness.read_message(sock)
            if msg is None:
                break
            if msg[0] == b"E":
                errors.append(harness.parse_error(msg[1]))
    finally:
        sock.close()
    assert [(e.get("S"), e.get("C")) for e in errors] == [("FATAL", "57P01")], errors
    with closing(lg.conn()) as b, b.cursor() as cur:
        cur.execute("SELECT 42")
        assert cur.fetchone()[0] == 42


def test_idle_server_killed_is_replaced_for_next_client(lg, pg):
    """A server that dies while idle in the pool costs the next client nothing."""
    with closing(lg.conn()) as a, a.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    wait_until(lambda: pg.sql(
        "SELECT state FROM pg_stat_activity WHERE pid = %s", (pid,)) == [("idle",)], 10)
    pg.sql("SELECT pg_terminate_backend(%s)", (pid,))
    wait_until(lambda: pid not in harness.backend_pids(pg, "p0", "trustuser"), 10)
    with closing(lg.conn()) as b, b.cursor() as cur:
        cur.execute("SELECT 7")
        assert cur.fetchone()[0] == 7


@pytest.mark.lg_config(main={"default_pool_size": "10", "max_client_conn": "400"})
def test_200_concurrent_clients_share_10_servers(lg, pg):
    n_clients = 200
    errors = []
    pids = []
    lock = threading.Lock()
    start = threading.Barrier(n_clients + 1, timeout=30)
    done = threading.Event()
    max_backends = [0]

    def client(i):
        try:
            start.wait()
            with closing(lg.conn(application_name=f"lg-crowd-{i}")) as c, c.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                pid = cur.fetchone()[0]
                cur.execute("SELECT pg_sleep(0.01)")
                cur.execute("SELECT %s::int * 2", (i,))
                assert cur.fetchone()[0] == i * 2
                cur.execute("SELECT count(*) FROM generate_series(1, 1000)")
                assert cur.fetchone()[0] == 1000
            with lock:
                pids.append(pid)
        except Exception as e:  # collected and reported below
            with lock:
                errors.append(f"client {i}: {e!r}")

    def monitor():
        with closing(pg.conn()) as m, m.cursor() as cur:
            while not done.is_set():
                cur.execute(
                    "SELECT count(*) FROM pg_stat_activity "
                    "WHERE datname = 'p0' AND usename = 'trustuser'"
                )
                max_backends[0] = max(max_backends[0], cur.fetchone()[0])
                done.wait(0.005)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(n_clients)]
    mon = threading.Thread(target=monitor)
    mon.start()
    for t in threads:
        t.start()
    t0 = time.monotonic()
    start.wait()
    for t in threads:
        t.join(timeout=max(1.0, 50 * harness.SLOW - (time.monotonic() - t0)))
    done.set()
    mon.join(timeout=10)
    assert not any(t.is_alive() for t in threads), "clients still running at the deadline"
    assert not errors, f"{len(errors)} clients failed:\n" + "\n".join(errors[:20])
    assert len(pids) == n_clients
    assert 1 <= max_backends[0] <= 10, f"saw {max_backends[0]} backends for p0/trustuser"
    assert len(set(pids)) <= 10, f"clients saw {len(set(pids))} distinct server pids"
