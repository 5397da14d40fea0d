"""Switching a pool's servers over (RECONNECT, a RELOAD that moves a database) as
PgBouncer's operators script it: server_fast_close ends session-mode sessions at their
next transaction boundary instead of when the client leaves, and WAIT_CLOSE answers once
every server marked for closing is gone."""

import threading
import time
from contextlib import closing

import psycopg2
import pytest

from harness import wait_until

ADMIN = {"admin_users": "trustuser"}


def admin(lg, sql):
    with closing(lg.conn(db="pgbouncer")) as c, c.cursor() as cur:
        cur.execute(sql)


def pid_of(conn):
    with conn.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        return cur.fetchone()[0]


def session_ended(conn):
    """True once a query on @conn fails with a lost connection."""
    try:
        pid_of(conn)
        conn.commit()
        return False
    except psycopg2.OperationalError:
        return True


@pytest.mark.lg_config(main={**ADMIN, "server_fast_close": "1"})
def test_fast_close_ends_an_idle_session_at_reconnect(lg, pg):
    """The session is between transactions: RECONNECT closes its server now, and the
    client with it (it must notice that its session ended: 08006 on its next query)."""
    c = lg.conn()
    try:
        pid = pid_of(c)
        admin(lg, "RECONNECT p0")
        wait_until(lambda: not pg.sql("SELECT 1 FROM pg_stat_activity WHERE pid = %s", (pid,)),
                   10)
        assert session_ended(c)
    finally:
        c.close()
    with closing(lg.conn()) as fresh:  # the pool serves new sessions on new servers
        assert pid_of(fresh) != pid
    assert "RECONNECT (server_fast_close)" in lg.log_text()


@pytest.mark.lg_config(main={**ADMIN, "server_fast_close": "1"})
def test_fast_close_waits_for_the_transaction_to_end(lg):
    c = lg.conn(autocommit=False)
    try:
        with c.cursor() as cur:
            cur.execute("SELECT 1")  # a transaction is open
            admin(lg, "RECONNECT p0")
            time.sleep(0.5)
            cur.execute("SELECT 2")  # still the same session
            assert cur.fetchone()[0] == 2
        c.commit()  # the boundary: the session ends here, after COMMIT's answer
        wait_until(lambda: session_ended(c), 5)
    finally:
        c.close()


@pytest.mark.lg_config(main=ADMIN)
def test_without_fast_close_a_session_keeps_its_server(lg):
    with closing(lg.conn()) as c:
        pid = pid_of(c)
        admin(lg, "RECONNECT p0")
        time.sleep(0.5)
        assert pid_of(c) == pid  # replaced only when the client leaves


@pytest.mark.lg_config(main=ADMIN)
def test_wait_close_answers_when_the_marked_servers_are_gone(lg):
    """RECONNECT marks the session's server; WAIT_CLOSE answers only once it has closed,
    here when its client leaves (session mode, no server_fast_close)."""
    holder = lg.conn()
    pid_of(holder)
    admin(lg, "WAIT_CLOSE p0")  # nothing marked: at once
    admin(lg, "RECONNECT p0")
    done = []
    t = threading.Thread(target=lambda: (admin(lg, "WAIT_CLOSE p0"), done.append(time.monotonic())))
    t.start()
    time.sleep(1)
    assert not done, "WAIT_CLOSE answered while the marked server was still open"
    left = time.monotonic()
    holder.close()
    t.join(10)
    assert done and done[0] >= left
    with pytest.raises(psycopg2.Error) as e:
        admin(lg, "WAIT_CLOSE nosuchdb")
    assert e.value.pgcode == "3D000"


@pytest.mark.lg_config(main={**ADMIN, "server_fast_close": "1"})
def test_reconnect_then_wait_close_with_fast_close(lg):
    """The switchover idiom: RECONNECT; WAIT_CLOSE returns once the idle sessions were
    closed, with no client leaving on its own."""
    c = lg.conn()
    try:
        pid_of(c)
        admin(lg, "RECONNECT")
        t0 = time.monotonic()
        admin(lg, "WAIT_CLOSE")
        assert time.monotonic() - t0 < 5
        assert session_ended(c)
    finally:
        c.close()
