"""Cursors WITH HOLD in transaction pooling. Django's QuerySet.iterator() in autocommit
mode (its default; DISABLE_SERVER_SIDE_CURSORS off) is a psycopg2 named cursor with
withhold=True: DECLARE "_django_curs_..." NO SCROLL CURSOR WITH HOLD FOR ..., then one
FETCH FORWARD per chunk, each its own transaction, then CLOSE. The cursor lives in the
server's session: released between transactions, the client's next FETCH could land on
another server ("cursor ... does not exist"), and the cursor (a materialized result set)
stayed on the pooled server for the next client. lifeguard keeps such a client on its
server until it closes its cursors, and closes them if it leaves first."""

from contextlib import closing

import harness
import psycopg
import pytest

TXN = {"pool_mode": "transaction", "admin_users": "trustuser"}


def open_cursors(lg):
    """The cursors a new client of the pool sees (on whichever server it gets)."""
    return lg.sql("SELECT count(*) FROM pg_cursors")[0][0]


class Psycopg2Held:
    """psycopg2, as Django uses it: DECLARE/FETCH/CLOSE as simple queries."""

    def __init__(self, lg):
        self.conn = lg.conn()  # autocommit, as Django outside atomic()
        self.cur = self.conn.cursor("_django_curs_1_sync_1", withhold=True)
        self.cur.itersize = 2
        self.cur.execute("SELECT i FROM generate_series(1, 10) i")

    def fetch(self, n):
        return [r[0] for r in self.cur.fetchmany(n)]

    def close_cursor(self):
        self.cur.close()

    def close(self):
        self.conn.close()


class Psycopg3Held:
    """psycopg 3's ServerCursor: the DECLARE goes as Parse/Bind/Execute."""

    def __init__(self, lg):
        self.conn = psycopg.connect(lg.dsn(), autocommit=True, prepare_threshold=None)
        self.cur = self.conn.cursor(name="lg_held_3", withhold=True)
        self.cur.execute("SELECT i FROM generate_series(1, 10) i")

    def fetch(self, n):
        return [r[0] for r in self.cur.fetchmany(n)]

    def close_cursor(self):
        self.cur.close()

    def close(self):
        self.conn.close()


@pytest.mark.lifeguard_only  # PgBouncer hands the server on: the cursor leaks to others
@pytest.mark.parametrize("driver", [Psycopg2Held, Psycopg3Held])
def test_held_cursor_keeps_its_server_until_closed(make_lg, driver):
    lg = make_lg(main=dict(TXN, default_pool_size="2"))
    a = driver(lg)
    try:
        assert a.fetch(3) == [1, 2, 3]
        # Another client must not get A's server (and its cursor) while A reads on.
        assert open_cursors(lg) == 0
        assert harness.sv_active(lg) == 1
        assert a.fetch(3) == [4, 5, 6]  # each FETCH its own transaction, same server
        assert open_cursors(lg) == 0
        assert a.fetch(10) == [7, 8, 9, 10]
        a.close_cursor()
        # Closed: A gives its server back at the end of each transaction again.
        assert harness.sv_active(lg) == 0
        assert open_cursors(lg) == 0
    finally:
        a.close()


@pytest.mark.lifeguard_only
@pytest.mark.parametrize("in_transaction", [False, True])
def test_client_leaving_with_held_cursor_open_leaves_a_clean_server(make_lg, in_transaction):
    """Django closes the connection at the end of a request (CONN_MAX_AGE=0) whether or
    not the iterator was read to the end; the next client gets the same server back
    (pool_size=1) without the departed client's cursors."""
    lg = make_lg(main=dict(TXN, default_pool_size="1"))
    a = lg.conn()
    cur = a.cursor("lg_left_open", withhold=True)
    cur.itersize = 1
    cur.execute("SELECT i FROM generate_series(1, 100000) i")
    assert cur.fetchone() == (1,)
    with a.cursor() as plain:
        plain.execute("SELECT pg_backend_pid()")
        pid = plain.fetchone()[0]
        if in_transaction:
            a.autocommit = False
            plain.execute("SELECT 1")  # BEGIN, then left open
    a.close()
    with closing(lg.conn()) as b, b.cursor() as cur_b:
        cur_b.execute("SELECT pg_backend_pid(), (SELECT count(*) FROM pg_cursors)")
        assert cur_b.fetchone() == (pid, 0)  # same server, reused, no cursor left


@pytest.mark.lifeguard_only
def test_close_all_and_discard_all_unpin(make_lg):
    lg = make_lg(main=dict(TXN, default_pool_size="2"))
    with closing(lg.conn()) as a, a.cursor() as cur:
        cur.execute("DECLARE c1 CURSOR WITH HOLD FOR SELECT 1")
        cur.execute('DECLARE "C2" NO SCROLL CURSOR WITH HOLD FOR SELECT 2')
        assert harness.sv_active(lg) == 1
        cur.execute("CLOSE c1")
        assert harness.sv_active(lg) == 1  # "C2" is still open
        cur.execute("CLOSE ALL")
        assert harness.sv_active(lg) == 0
        cur.execute("DECLARE c4 CURSOR WITH HOLD FOR SELECT 4")
        assert harness.sv_active(lg) == 1
        cur.execute("DISCARD ALL")
        assert harness.sv_active(lg) == 0
        # A cursor without HOLD ends with its transaction: nothing to keep.
        a.autocommit = False
        cur.execute("DECLARE c5 CURSOR FOR SELECT 5")
        a.commit()
        assert harness.sv_active(lg) == 0
