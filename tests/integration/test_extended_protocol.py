"""Extended-protocol edge cases found by running the Go drivers' suites (pgx, pgconn,
lib/pq) through lifeguard (tests/compat/run-go-suite.sh): clients that leave with
messages not yet synced, very long pipelines, and statement names reused."""

import threading
import time
from contextlib import closing

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


def copy_in_extended(conn, rows, fail=None):
    """COPY FROM STDIN sent the way libpq sends any query with PQsendQueryParams:
    Parse/Bind/Describe/Execute/Sync, then the data, CopyDone (or CopyFail) and, because
    the COPY came through the extended protocol, a second Sync. PostgreSQL ignores the
    first Sync (it arrives in COPY mode), so both Syncs get one ReadyForQuery."""
    pq = psycopg.pq
    conn.send_query_params(b"COPY ext_copy FROM STDIN", None)
    r = conn.get_result()
    assert r.status == pq.ExecStatus.COPY_IN, r.error_message
    for row in rows:
        assert conn.put_copy_data(row) == 1
    assert conn.put_copy_end(fail) == 1
    r = conn.get_result()
    assert conn.get_result() is None
    return r


@pytest.mark.timeout(60)
@pytest.mark.parametrize("how", ["ok", "bad row", "CopyFail"])
def test_copy_through_extended_protocol_leaves_the_link_in_step(pg, make_lg, how):
    """Found probing past DBD::Pg's suite (tests/compat/run-dbdpg-suite.sh): after a COPY
    FROM STDIN sent with the extended protocol, lifeguard still waited for a
    ReadyForQuery for the Sync PostgreSQL ignores during COPY. In transaction mode the
    client then kept its server for good (the next client waited until pool_timeout),
    and the prepared-statement bookkeeping, one answer behind, swallowed the client's
    ParseComplete and re-prepared statements the server had ("lg_N already exists")."""
    pq = psycopg.pq
    lg = make_lg(main={**TXN, "default_pool_size": "1", "max_overflow": "0",
                       "pool_timeout": "3"})
    pg.sql("DROP TABLE IF EXISTS ext_copy", db="p0")
    pg.sql("CREATE TABLE ext_copy (x int)", db="p0")
    pg.sql("GRANT ALL ON ext_copy TO trustuser", db="p0")
    a = pq.PGconn.connect(lg.dsn().encode())
    try:
        assert a.status == pq.ConnStatus.OK, a.error_message
        rows = {"ok": [b"1\n2\n"], "bad row": [b"1\nnot a number\n"], "CopyFail": [b"3\n"]}
        r = copy_in_extended(a, rows[how], fail=b"client gave up" if how == "CopyFail" else None)
        if how == "ok":
            assert r.status == pq.ExecStatus.COMMAND_OK, r.error_message
        else:
            assert r.status == pq.ExecStatus.FATAL_ERROR
            assert r.error_field(pq.DiagnosticField.SQLSTATE) == (
                b"22P02" if how == "bad row" else b"57014"), r.error_message
        r = a.exec_(b"SELECT count(*) FROM ext_copy")
        assert r.get_value(0, 0) == (b"2" if how == "ok" else b"0"), r.error_message
        # Named statements: every answer reaches the client, in step.
        r = a.prepare(b"s1", b"SELECT 41")
        assert r.status == pq.ExecStatus.COMMAND_OK, r.error_message
        for _ in range(3):
            r = a.exec_prepared(b"s1", None)
            assert r.status == pq.ExecStatus.TUPLES_OK, r.error_message
            assert r.get_value(0, 0) == b"41"
        r = a.prepare(b"s2", b"SELECT 42")
        assert r.status == pq.ExecStatus.COMMAND_OK, r.error_message
        r = a.exec_prepared(b"s2", None)
        assert r.get_value(0, 0) == b"42", r.error_message
        # Between transactions: the only server goes to the next client at once.
        with psycopg.connect(lg.dsn(), autocommit=True) as b:
            t0 = time.monotonic()
            assert b.execute("SELECT 42").fetchone() == (42,)
            assert time.monotonic() - t0 < 1.5
    finally:
        a.finish()


@pytest.mark.timeout(60)
def test_session_server_is_reused_after_an_extended_protocol_copy(pg, make_lg):
    """The same miscount in session mode: the client looked busy to the end (a query in
    flight, so query_timeout could cancel a later query of its), and when it left its
    server was closed ("client left with a query in flight") instead of reset and
    reused."""
    pq = psycopg.pq
    lg = make_lg(main={"pool_mode": "session", "default_pool_size": "1", "max_overflow": "0"})
    pg.sql("DROP TABLE IF EXISTS ext_copy", db="p0")
    pg.sql("CREATE TABLE ext_copy (x int)", db="p0")
    pg.sql("GRANT ALL ON ext_copy TO trustuser", db="p0")
    a = pq.PGconn.connect(lg.dsn().encode())
    try:
        assert a.status == pq.ConnStatus.OK, a.error_message
        pid = a.exec_(b"SELECT pg_backend_pid()").get_value(0, 0)
        r = copy_in_extended(a, [b"7\n"])
        assert r.status == pq.ExecStatus.COMMAND_OK, r.error_message
    finally:
        a.finish()
    with psycopg.connect(lg.dsn(), autocommit=True) as b:
        assert b.execute("SELECT pg_backend_pid()").fetchone()[0] == int(pid)
    assert "client left with a query in flight" not in lg.log_text()


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_disable_pqexec_refuses_the_simple_query_protocol(make_lg, mode):
    """disable_pqexec = 1 (PgBouncer's; was ignored with a warning): a Query message closes
    its client with 08P01 "PQexec disallowed" before it reaches PostgreSQL; the extended
    protocol works; the admin console keeps its simple queries; other clients go on."""
    import psycopg
    import psycopg2

    lg = make_lg(main={"pool_mode": mode, "disable_pqexec": "1"})
    with psycopg.connect(lg.dsn(), autocommit=True) as c:
        assert c.execute("SELECT %s::int + 1", [41]).fetchone() == (42,)
        bad = psycopg.pq.PGconn.connect(lg.dsn().encode())  # libpq's PQexec, as psql does
        res = bad.exec_(b"SELECT 1; DROP TABLE IF EXISTS nothing_here")
        assert res.status == psycopg.pq.ExecStatus.FATAL_ERROR
        assert b"PQexec disallowed" in bad.error_message  # (psql shows it too)
        bad.finish()
        with lg.raw() as sock:  # the ErrorResponse itself: FATAL, 08P01, then EOF
            harness.login_trust(sock)
            sock.sendall(harness.query_message("SELECT 1"))
            err = harness.read_until_error(sock)
            assert err["S"] == "FATAL" and err["C"] == "08P01", err
            harness.wait_closed(sock)
        bad2 = psycopg2.connect(lg.dsn())  # psycopg2 runs simple queries only: refused
        with pytest.raises(psycopg2.OperationalError):
            with bad2.cursor() as cur:
                cur.execute("SELECT 1")
        bad2.close()
        assert c.execute("SELECT %s::text", ["still here"]).fetchone() == ("still here",)
    with closing(lg.conn(db="pgbouncer", user="postgres")) as a, a.cursor() as cur:
        cur.execute("SHOW POOLS")
    assert lg.log_text().count("PQexec disallowed") == 3  # once per refused client
