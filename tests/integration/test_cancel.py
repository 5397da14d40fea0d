"""CancelRequest: forwarded to the server the client is on; bogus ones are
harmless."""

import struct
import threading
import time
from contextlib import closing

import psycopg
import psycopg2
import psycopg2.errors
import pytest

import harness
from harness import wait_until


def wait_active_sleep(pg, pid):
    wait_until(
        lambda: pg.sql(
            "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND state = 'active' "
            "AND query LIKE %s", (pid, "%pg_sleep(30)%")),
        10,
        msg=f"backend {pid} never started pg_sleep(30)",
    )


def test_psycopg2_cancel_interrupts_pg_sleep(lg, pg):
    with closing(lg.conn()) as c:
        with c.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pid = cur.fetchone()[0]

        def cancel_when_running():
            wait_active_sleep(pg, pid)
            c.cancel()

        t = threading.Thread(target=cancel_when_running)
        t.start()
        t0 = time.monotonic()
        try:
            with c.cursor() as cur:
                try:
                    cur.execute("SELECT pg_sleep(30)")
                    raise AssertionError("pg_sleep(30) was not cancelled")
                except psycopg2.errors.QueryCanceled:
                    pass
        finally:
            t.join(timeout=15)
        assert time.monotonic() - t0 < 10 * harness.SLOW
        # the session survives its cancelled query
        with c.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            assert cur.fetchone()[0] == pid


def test_psycopg3_cancel_interrupts_pg_sleep(lg, pg):
    with psycopg.connect(lg.dsn(), autocommit=True) as c:
        pid = c.execute("SELECT pg_backend_pid()").fetchone()[0]

        def cancel_when_running():
            wait_active_sleep(pg, pid)
            c.cancel()

        t = threading.Thread(target=cancel_when_running)
        t.start()
        try:
            try:
                c.execute("SELECT pg_sleep(30)")
                raise AssertionError("pg_sleep(30) was not cancelled")
            except psycopg.errors.QueryCanceled:
                pass
        finally:
            t.join(timeout=15)
        assert c.execute("SELECT 5").fetchone()[0] == 5


def test_bogus_cancel_request_is_closed_and_harmless(lg):
    with closing(lg.raw()) as victim:
        harness.login_trust(victim)
        with closing(lg.raw()) as s:
            s.sendall(harness.request_packet(harness.CANCEL_REQUEST_CODE,
                                             struct.pack("!II", 12345, 67890)))
            assert harness.wait_closed(s), "pooler kept a bogus CancelRequest open"
        rows = harness.simple_query(victim, "SELECT 'unharmed'")
        assert rows[0].endswith(b"unharmed")
        victim.sendall(harness.TERMINATE)


def test_cancel_request_for_idle_client_is_harmless(lg):
    """libpq's PQcancel waits for the cancel connection to close, taking that
    as the sign the cancel was delivered; a pooler that closes it before the
    server got the cancel lets it land on the client's next query."""
    with closing(lg.raw()) as victim:
        victim.sendall(harness.startup_packet({"user": "trustuser", "database": "p0"}))
        key = None
        while True:
            mtype, payload = harness.read_message(victim)
            if mtype == b"K":
                key = payload
            if mtype == b"Z":
                break
        assert key is not None
        with closing(lg.raw()) as s:
            s.sendall(harness.request_packet(harness.CANCEL_REQUEST_CODE, key))
            assert harness.wait_closed(s)
        rows = harness.simple_query(victim, "SELECT 'still fine'")
        assert rows[0].endswith(b"still fine")
        victim.sendall(harness.TERMINATE)


def test_cancel_request_cut_short_is_harmless(lg):
    """A CancelRequest connection that closes mid-packet touches nothing."""
    for payload in (b"\0\0\0\x10", b"\0\0\0\x10\x04\xd2\x16\x2e\0\0"):
        with closing(lg.raw()) as s:
            s.sendall(payload)
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone()[0] == 1


@pytest.mark.timeout(90)
@pytest.mark.lg_config(main={"pool_mode": "transaction", "default_pool_size": "1"})
def test_late_cancel_does_not_stop_the_next_clients_query(lg):
    """A client cancels just as its transaction ends (lib/pq's and pgconn's context
    cancellation race their query this way). PostgreSQL delivers a cancel a little
    later; in transaction mode the server was already serving the next client, whose
    query it stopped (lib/pq's TestConnectorWithNoticeHandler_Simple got 57014 from
    another test's cancel). The server now stays with the cancelling client until
    PostgreSQL has taken the cancel."""
    pq = psycopg.pq
    a = pq.PGconn.connect(lg.dsn().encode())
    assert a.status == pq.ConnStatus.OK, a.error_message
    cancelled = []
    try:
        for i in range(10):
            assert a.exec_(b"BEGIN").status == pq.ExecStatus.COMMAND_OK
            assert a.exec_(b"SELECT 1").status == pq.ExecStatus.TUPLES_OK
            outcome = {}

            def other():
                try:
                    with psycopg.connect(lg.dsn(), autocommit=True) as b:
                        outcome["row"] = b.execute("SELECT 7, pg_sleep(0.3)").fetchone()
                except psycopg.Error as e:
                    outcome["err"] = e

            t = threading.Thread(target=other)
            t.start()
            # B is waiting for the only server, which A holds.
            time.sleep(0.2)
            a.send_query(b"COMMIT")  # raises on failure
            a.get_cancel().cancel()  # returns once PostgreSQL has closed the cancel connection
            while a.get_result() is not None:
                pass
            t.join(10)
            assert not t.is_alive()
            if "err" in outcome:
                cancelled.append((i, repr(outcome["err"])))
            else:
                assert outcome["row"][0] == 7
            assert a.exec_(b"SELECT 2").status == pq.ExecStatus.TUPLES_OK, a.error_message
    finally:
        a.finish()
    assert cancelled == [], f"another client's cancel stopped B's query: {cancelled}"
