"""Extended-protocol edge cases found by running the Go drivers' suites (pgx, pgconn,
lib/pq) through lifeguard (tests/compat/run-go-suite.sh): clients that leave with
messages not yet synced, very long pipelines, and statement names reused."""

import threading
import time

import psycopg
import psycopg.pq
import pytest

import harness

TXN = {"pool_mode": "transaction"}


@pytest.mark.timeout(60)
def test_client_leaving_with_unsynced_parse_does_not_hand_its_server_on(pg, make_lg):
    """pgconn closes a connection that failed in the middle of a batch (its
    TestConnExecBatchHuge), so the server may still be working on Parse/Bind/Execute that
    no Sync has closed. Such a server is not between transactions: in transaction mode
    the next client got it, and with it A's result instead of its own. (Session mode
    already closed it: its DISCARD ALL fails inside the unfinished pipeline.)"""
    lg = make_lg(main={**TXN, "default_pool_size": "1"})
    pg.sql("DROP TABLE IF EXISTS ext_lockme", db="p0")
    pg.sql("CREATE TABLE ext_lockme (x int)", db="p0")
    pg.sql("GRANT ALL ON ext_lockme TO trustuser", db="p0")
    locker = pg.conn(db="p0", autocommit=False)
    release = None
    try:
        locker.cursor().execute("LOCK TABLE ext_lockme IN ACCESS EXCLUSIVE MODE")
        # Client A (libpq's pipeline mode): its Parse waits for the lock; it leaves
        # before sending the Sync.
        a = psycopg.pq.PGconn.connect(lg.dsn().encode())
        assert a.status == psycopg.pq.ConnStatus.OK, a.error_message
        a.enter_pipeline_mode()
        a.send_query_params(b"SELECT count(*) FROM ext_lockme", None)
        assert a.flush() == 0
        harness.wait_until(
            lambda: pg.sql("SELECT count(*) FROM pg_stat_activity WHERE wait_event_type = 'Lock'"
                           " AND datname = 'p0'")[0][0] == 1, 5, msg="A's Parse waiting")
        a.finish()
        release = threading.Timer(2.0, locker.commit)
        release.start()
        with psycopg.connect(lg.dsn(), autocommit=True) as b:
            t0 = time.monotonic()
            assert b.execute("SELECT 42").fetchone() == (42,)
            took = time.monotonic() - t0
            assert b.execute("SELECT 43").fetchone() == (43,)
            release.join()
            time.sleep(0.3)  # A's statement completes now on the server it had
            assert b.execute("SELECT 44").fetchone() == (44,)
        assert took < 1.5, f"client B waited {took:.2f}s for A's unfinished work"
    finally:
        if release:
            release.cancel()
            release.join()
        if not locker.closed:
            locker.commit()
            locker.close()
    assert "extended-protocol messages not yet synced" in lg.log_text()


@pytest.mark.timeout(60)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
def test_pipeline_of_thousands_of_unnamed_statements_before_one_sync(lg, pg):
    """pgconn's ExecBatch (TestConnExecBatchHuge: 100,000 queries) writes every
    Parse/Bind/Describe/Execute before its single Sync. lifeguard counts the answers a
    server owes; that count used one slot per Parse and closed the client past 4,096."""
    pg.sql("DROP TABLE IF EXISTS ext_gate", db="p0")
    pg.sql("CREATE TABLE ext_gate (x int)", db="p0")
    pg.sql("GRANT ALL ON ext_gate TO trustuser", db="p0")
    locker = pg.conn(db="p0", autocommit=False)
    # The first statement waits for the lock, so every later one is sent, and owed,
    # before the server answers any.
    locker.cursor().execute("LOCK TABLE ext_gate IN ACCESS EXCLUSIVE MODE")
    release = threading.Timer(1.0, locker.commit)
    n = 6000
    try:
        with psycopg.connect(lg.dsn(), autocommit=True, prepare_threshold=None) as c:
            release.start()
            with c.pipeline():
                first = c.execute("SELECT count(*) FROM ext_gate")
                curs = [c.execute("SELECT %s::int", (i,)) for i in range(n)]
            assert first.fetchone() == (0,)
            assert [cur.fetchone()[0] for cur in curs] == list(range(n))
            assert c.execute("SELECT 'after'").fetchone() == ("after",)
    finally:
        release.cancel()
        release.join()
        if not locker.closed:
            locker.commit()
            locker.close()


@pytest.mark.timeout(60)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "2"})
def test_preparing_a_name_again_fails_and_keeps_the_first_statement(lg):
    """pgx's TestPrepareIdempotency: PostgreSQL refuses a second Parse of a name
    (42P05) and keeps the first statement; lifeguard used to replace it silently."""
    pq = psycopg.pq
    holders = [psycopg.connect(lg.dsn(), autocommit=True) for _ in range(2)]
    try:
        c = pq.PGconn.connect(lg.dsn().encode())
        assert c.status == pq.ConnStatus.OK, c.error_message
        try:
            r = c.prepare(b"s1", b"SELECT 'first'::text")
            assert r.status == pq.ExecStatus.COMMAND_OK, r.error_message
            # Another client holds a server in a transaction meanwhile, so the second
            # Parse may land on a server that has never seen s1.
            holders[0].execute("BEGIN")
            holders[0].execute("SELECT 1")
            r = c.prepare(b"s1", b"SELECT 'second'::text")
            assert r.status == pq.ExecStatus.FATAL_ERROR
            assert r.error_field(pq.DiagnosticField.SQLSTATE) == b"42P05", r.error_message
            holders[0].execute("COMMIT")
            for _ in range(3):
                r = c.exec_prepared(b"s1", None)
                assert r.status == pq.ExecStatus.TUPLES_OK, r.error_message
                assert r.get_value(0, 0) == b"first"
        finally:
            c.finish()
    finally:
        for h in holders:
            h.close()


@pytest.mark.timeout(60)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
def test_unnamed_statement_outlives_its_sync_as_directly(lg):
    """lib/pq runs a query with arguments as Parse(unnamed)+Describe+Sync, then
    Bind+Execute+Sync. Between the two Syncs a transaction-mode client may lose its server
    to another client, whose own unnamed Parse replaces the statement there: the Bind
    then ran the other client's statement (or failed with 26000 on another server)."""
    pq = psycopg.pq
    c = pq.PGconn.connect(lg.dsn().encode())
    other = pq.PGconn.connect(lg.dsn().encode())
    try:
        for conn in (c, other):
            assert conn.status == pq.ConnStatus.OK, conn.error_message
        r = c.prepare(b"", b"SELECT $1::int + 1")
        assert r.status == pq.ExecStatus.COMMAND_OK, r.error_message
        # The only server now runs another client's unnamed statement.
        r = other.prepare(b"", b"SELECT $1::int * 1000")
        assert r.status == pq.ExecStatus.COMMAND_OK, r.error_message
        r = other.exec_prepared(b"", [b"7"])
        assert r.get_value(0, 0) == b"7000", r.error_message
        for v in (41, 99):
            r = c.exec_prepared(b"", [str(v).encode()])
            assert r.status == pq.ExecStatus.TUPLES_OK, r.error_message
            assert r.get_value(0, 0) == str(v + 1).encode()
        r = c.describe_prepared(b"")
        assert r.status == pq.ExecStatus.COMMAND_OK, r.error_message
        assert r.nparams == 1
        r = other.exec_prepared(b"", [b"8"])
        assert r.get_value(0, 0) == b"8000", r.error_message
        # A simple Query destroys the unnamed statement, directly as well.
        assert c.exec_(b"SELECT 1").status == pq.ExecStatus.TUPLES_OK
        r = c.exec_prepared(b"", [b"1"])
        assert r.status == pq.ExecStatus.FATAL_ERROR
        assert r.error_field(pq.DiagnosticField.SQLSTATE) == b"26000", r.error_message
    finally:
        c.finish()
        other.finish()
