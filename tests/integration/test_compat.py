"""Compatibility with test suites nobody on the team wrote: each test here is the
smallest reproduction of a failure seen when PostgreSQL's regression suite or a
driver's own test suite ran through lifeguard (tests/compat/run-pg-regress.sh),
named after the upstream test that found it."""

import struct
import threading
from contextlib import closing

import psycopg
import pytest

import harness
from harness import wait_until


@pytest.mark.lifeguard_only  # PgBouncer hands out a made-up process id
def test_session_backend_pid_is_the_servers(lg):
    """psycopg2 tests/test_notify.py (test_notify_attributes and four more) compare a
    NOTIFY's sender pid with the sender's conn.info.backend_pid (libpq's
    PQbackendPID, from BackendKeyData). In session mode the client keeps its server
    for life, so lifeguard must report that server's process id."""
    with closing(lg.conn()) as listener, closing(lg.conn()) as sender:
        with listener.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            assert cur.fetchone()[0] == listener.info.backend_pid
            cur.execute("LISTEN lg_compat")
        with sender.cursor() as cur:
            cur.execute("NOTIFY lg_compat, 'hi'")

        def got():
            listener.poll()
            return listener.notifies

        notify = wait_until(got, 5)[0]
        assert (notify.pid, notify.channel, notify.payload) == (
            sender.info.backend_pid,
            "lg_compat",
            "hi",
        )


@pytest.mark.lifeguard_only
@pytest.mark.lg_config(main={"default_pool_size": "1"})
def test_session_departed_clients_key_cancels_nothing(lg, pg):
    """With the server's pid in BackendKeyData, the key is what tells clients apart:
    the next client on the same server (same pid) must not be cancelled with the key
    of the client that left it. (psycopg2 tests/test_cancel.py covers the cancel
    itself, as does test_cancel.py here.)"""
    with closing(lg.raw()) as a:
        a.sendall(harness.startup_packet({"user": "trustuser", "database": "p0"}))
        key = None
        while True:
            mtype, payload = harness.read_message(a)
            if mtype == b"K":
                key = payload
            if mtype == b"Z":
                break
        a.sendall(harness.TERMINATE)
    old_pid = struct.unpack("!I", key[:4])[0]

    with closing(lg.conn()) as b:
        assert b.info.backend_pid == old_pid, "pool_size=1: B gets A's server"
        result = []

        def sleep():
            with b.cursor() as cur:
                cur.execute("SELECT 'survived' FROM pg_sleep(1.5)")
                result.append(cur.fetchone()[0])

        t = threading.Thread(target=sleep)
        t.start()
        try:
            wait_until(
                lambda: pg.sql(
                    "SELECT 1 FROM pg_stat_activity WHERE pid = %s AND state = 'active' "
                    "AND query LIKE %s", (old_pid, "%pg_sleep(1.5)%")),
                10,
            )
            with closing(lg.raw()) as s:
                s.sendall(harness.request_packet(harness.CANCEL_REQUEST_CODE, key))
                assert harness.wait_closed(s)
        finally:
            t.join(15)
        assert result == ["survived"]


@pytest.mark.lifeguard_only  # PgBouncer SETs startup parameters: RESET gives the default
def test_reset_returns_to_startup_value(lg):
    """PostgreSQL src/test/regress (date.sql: SET datestyle ...; RESET datestyle) with
    pg_regress's PGDATESTYLE='Postgres, MDY'. A session-mode server is opened with the
    client's startup parameters, so they are its RESET values (test_session_startup.py)."""
    with closing(lg.conn(options="-c DateStyle=Postgres,MDY")) as c, c.cursor() as cur:
        cur.execute("SET DateStyle = ISO")
        cur.execute("RESET DateStyle")
        cur.execute("SHOW DateStyle")
        assert cur.fetchone()[0] == "Postgres, MDY"


SETTINGS = ("SELECT current_setting('client_encoding'), current_setting('TimeZone'),"
            " current_setting('DateStyle'), current_setting('application_name')")


@pytest.mark.parametrize("mode", ["transaction", "statement"])
def test_new_client_gets_fresh_parameters_not_another_clients_set(make_lg, mode):
    """psycopg 3 tests/test_connection_info.py::test_normalize_encoding runs
    set_config('client_encoding', 'eucjp') on its connection; in transaction mode every
    connection opened after it (test_copy.py's, for one) logged in with client_encoding
    EUC_JP and failed to encode its data. The welcome gave a new client the reported
    parameters its first server had at that moment, which another client had SET, instead
    of the ones a fresh connection gets; TimeZone, DateStyle and application_name too."""
    lg = make_lg(main={"pool_mode": mode, "default_pool_size": "1"})
    with closing(psycopg.connect(lg.dsn(), autocommit=True)) as a:
        fresh = a.execute(SETTINGS).fetchone()
        assert fresh[0] != "EUC_JP" and fresh[1] != "Asia/Tokyo"
        a.execute("SELECT set_config('client_encoding', 'eucjp', false),"
                  " set_config('TimeZone', 'Asia/Tokyo', false)")
        a.execute("SET DateStyle = 'SQL, DMY'")
        a.execute("SET application_name = 'client_a'")
        mine = ("EUC_JP", "Asia/Tokyo", "SQL, DMY", "client_a")
        assert a.execute(SETTINGS).fetchone() == mine
        for _ in range(2):  # one server: b lands where a's settings are
            with closing(psycopg.connect(lg.dsn(), autocommit=True)) as b:
                assert b.info.parameter_status("client_encoding") == fresh[0]
                assert b.info.parameter_status("TimeZone") == fresh[1]
                assert b.info.parameter_status("DateStyle") == fresh[2]
                assert b.execute(SETTINGS).fetchone() == fresh
                assert b.execute("SELECT %s::text", ["\u20ac"]).fetchone() == ("\u20ac",)
            assert a.execute(SETTINGS).fetchone() == mine
        # A client's own startup values still win over the fresh ones.
        dsn = lg.dsn(application_name="client_c", options="-c TimeZone=America/Lima")
        with closing(psycopg.connect(dsn, autocommit=True)) as c:
            assert c.info.parameter_status("TimeZone") == "America/Lima"
            assert c.execute(SETTINGS).fetchone() == (fresh[0], "America/Lima", fresh[2],
                                                      "client_c")


@pytest.mark.lg_config(main={"pool_mode": "transaction", "default_pool_size": "1"})
def test_extended_deallocate_all_of_one_client_spares_the_others_statements(lg):
    """psycopg 3.1 sends "DEALLOCATE ALL" with the extended protocol (an unnamed Parse)
    at every rollback() of a connection that has prepared statements. Lifeguard only
    followed it in a simple Query, so the server dropped the lg_* statements of every
    client while lifeguard still counted them as there: the next client to use one got
    'prepared statement "lg_1" does not exist' (psycopg tests/test_prepared.py in
    transaction mode)."""
    from psycopg import pq

    with closing(psycopg.connect(lg.dsn(), autocommit=True)) as b:
        assert b.execute("SELECT %s::int + 1", [1], prepare=True).fetchone() == (2,)
        with closing(psycopg.connect(lg.dsn(), autocommit=True)) as a:
            assert a.execute("SELECT %s::int + 2", [1], prepare=True).fetchone() == (3,)
            res = a.pgconn.exec_params(b"DEALLOCATE ALL", [])
            assert res.status == pq.ExecStatus.COMMAND_OK, res.error_message
            # (behind psycopg's back, as directly: a new query, a new name)
            assert a.execute("SELECT %s::int + 3", [2], prepare=True).fetchone() == (5,)
        for i in range(3):
            assert b.execute("SELECT %s::int + 1", [i], prepare=True).fetchone() == (i + 1,)


@pytest.mark.lg_config(main={"pool_mode": "transaction", "default_pool_size": "1"})
def test_deallocate_by_name_reaches_the_statement_the_client_named(lg):
    """psycopg 3.1 evicts statements from its cache (prepared_max) with
    "DEALLOCATE _pg3_N", extended protocol. On the server the statement is lifeguard's
    lg_<id>, so PostgreSQL answered 'prepared statement "_pg3_0" does not exist' and the
    client's query failed (psycopg tests/test_prepared.py::test_evict_lru_deallocate).
    Lifeguard now rewrites a lone DEALLOCATE of one of the client's statements to its own
    name, in a Parse or a simple Query, and forgets the statement."""
    from psycopg import pq

    with closing(psycopg.connect(lg.dsn(), autocommit=True, prepare_threshold=0)) as c:
        c.prepared_max = 2
        for i in range(6):
            assert c.execute(f"SELECT {i}").fetchone() == (i,)
        assert c.execute("SELECT 'a'").fetchone() == ("a",)
        pgc = c.pgconn
        for query, name in [(b"DEALLOCATE  Stmt_1 ;", b"stmt_1"),
                            (b'deallocate prepare "Stmt 2"', b"Stmt 2")]:
            assert pgc.prepare(name, b"SELECT 42").status == pq.ExecStatus.COMMAND_OK
            # the other connection's work moves nothing here: one server
            assert pgc.exec_prepared(name, []).get_value(0, 0) == b"42"
            res = pgc.exec_params(query, []) if b"Stmt_1" in query else pgc.exec_(query)
            assert res.status == pq.ExecStatus.COMMAND_OK, res.error_message
            assert res.command_status == b"DEALLOCATE"
            res = pgc.exec_prepared(name, [])
            assert res.status == pq.ExecStatus.FATAL_ERROR
            assert res.error_field(pq.DiagnosticField.SQLSTATE) == b"26000"
            assert name.decode() in res.error_message.decode()
        # a statement the client never prepared: PostgreSQL's own answer
        res = pgc.exec_params(b"DEALLOCATE nosuch", [])
        assert res.error_field(pq.DiagnosticField.SQLSTATE) == b"26000"


@pytest.mark.lg_config(main={"pool_mode": "transaction", "default_pool_size": "2"})
def test_deallocate_by_name_on_a_server_that_lacks_the_statement(lg):
    """The same DEALLOCATE when the client's next transaction lands on the other server,
    which never saw its statement: lifeguard prepares it there first (its ParseComplete
    hidden), so the client still gets DEALLOCATE, as directly."""
    from psycopg import pq

    crossed = 0
    for _ in range(5):
        with closing(psycopg.connect(lg.dsn(), autocommit=True)) as c, \
                closing(psycopg.connect(lg.dsn())) as holder:
            pgc = c.pgconn
            assert pgc.prepare(b"x", b"SELECT 7").status == pq.ExecStatus.COMMAND_OK
            here = int(pgc.exec_(b"SELECT pg_backend_pid()").get_value(0, 0))
            # holder keeps a server in an open transaction: c must use the other one
            held = holder.execute("SELECT pg_backend_pid()").fetchone()[0]
            crossed += held == here
            runs = [pgc.exec_, lambda q: pgc.exec_params(q, [])]
            for i, (query, run) in enumerate((b"DEALLOCATE x", r) for r in runs):
                if i:  # again after the DEALLOCATE (while x exists, 42P05 as directly)
                    assert pgc.prepare(b"x", b"SELECT 7").status == pq.ExecStatus.COMMAND_OK
                res = run(query)
                assert res.status == pq.ExecStatus.COMMAND_OK, res.error_message
                assert res.command_status == b"DEALLOCATE"
                assert pgc.exec_(b"SELECT 8").get_value(0, 0) == b"8"
                res = pgc.exec_prepared(b"x", [])
                assert res.error_field(pq.DiagnosticField.SQLSTATE) == b"26000"
            holder.rollback()
    assert crossed, "never landed on the server without the statement"
