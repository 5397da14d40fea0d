"""What pgjdbc (PostgreSQL's JDBC driver) does through transaction pooling, reproduced
with psycopg 3 where it takes the same protocol path. Found with
tests/compat/run-pgjdbc-suite.sh (tests/compat/pgjdbc/PoolerCheck.java)."""

import socket
import struct

import psycopg
import pytest

import harness

TXN = {"pool_mode": "transaction"}


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
@pytest.mark.parametrize("drop", ["DEALLOCATE ALL", "DISCARD ALL"])
def test_named_deallocate_all_forgets_every_clients_statements_on_that_server(lg, drop):
    """pgjdbc prepares plain Statements by name too (prepareThreshold=1, or past the
    threshold), so a Statement.execute("DEALLOCATE ALL") reaches the server as a named
    Parse/Bind/Execute. The server then holds none of its prepared statements, another
    client's included: lifeguard must prepare them there again. It only looked at unnamed
    Parses and simple Queries, so the other client's next Bind failed with 26000
    (prepared statement "lg_..." does not exist)."""
    with psycopg.connect(lg.dsn(), autocommit=True) as a, psycopg.connect(
        lg.dsn(), autocommit=True
    ) as b:
        for i in range(3):
            assert a.execute("SELECT %s::int * 3", (i,), prepare=True).fetchone() == (3 * i,)
        for i in range(3):
            assert b.execute("SELECT %s::int + 7", (i,), prepare=True).fetchone() == (i + 7,)
        b.execute(drop, prepare=True)  # a named statement, on the one server
        # (b's own statements are gone as directly: psycopg 3 does not notice, pgjdbc does)
        for i in range(3):
            assert a.execute("SELECT %s::int * 3", (i,), prepare=True).fetchone() == (3 * i,)
            assert b.execute("SELECT %s::int + 8", (i,), prepare=True).fetchone() == (i + 8,)


def _msg(kind, body):
    return kind + struct.pack("!I", len(body) + 4) + body


def _parse(name, sql):
    return _msg(b"P", name.encode() + b"\0" + sql.encode() + b"\0" + struct.pack("!H", 0))


def _bind_binary(name):
    """Bind of @name, no parameters, every result column in binary (pgjdbc's binary
    transfer), to the unnamed portal."""
    return _msg(b"B", b"\0" + name.encode() + b"\0" + struct.pack("!HHHH", 0, 0, 1, 1))


DESCRIBE_S = lambda name: _msg(b"D", b"S" + name.encode() + b"\0")  # noqa: E731
EXECUTE = _msg(b"E", b"\0" + struct.pack("!I", 0))
SYNC = _msg(b"S", b"")


def _roundtrip(sock, msgs):
    """Send @msgs (ending with Sync); the messages up to ReadyForQuery."""
    sock.sendall(b"".join(msgs))
    out = []
    while True:
        msg = harness.read_message(sock)
        assert msg is not None, f"connection closed after {out}"
        out.append(msg)
        if msg[0] == b"Z":
            return out


def _hold_all_but(lg, pid_to_free):
    """Two connections, each in a transaction on one of the pool's two servers; the one
    on the server whose pid is @pid_to_free commits, so the next client gets that one."""
    holders = [lg.conn(autocommit=False), lg.conn(autocommit=False)]
    pids = []
    for h in holders:
        with h.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pids.append(cur.fetchone()[0])
    assert pid_to_free in pids, (pid_to_free, pids)
    keep = []
    for h, pid in zip(holders, pids):
        if pid == pid_to_free:
            h.commit()
            h.close()
        else:
            keep.append(h)
    return keep


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "2"})
def test_statement_prepared_again_after_its_table_changed_gets_0A000_not_other_types(lg, pg):
    """pgjdbc describes a named statement once and then sends only Bind/Execute, decoding
    binary results with the types it was told. PostgreSQL refuses to run a statement
    whose result type changed since its Parse (0A000 "cached plan must not change result
    type", which pgjdbc's autosave heals by preparing it again). lifeguard used to
    prepare the statement again on another server after ALTER TABLE and return rows of
    the new type: an int8 decoded as int4 (5000000000 read as 1). Same type: no error."""
    pg.sql("DROP TABLE IF EXISTS shape_t", db="p0")
    pg.sql("CREATE TABLE shape_t (a int4)", db="p0")
    pg.sql("INSERT INTO shape_t VALUES (1234567)", db="p0")
    pg.sql("GRANT ALL ON shape_t TO trustuser", db="p0")
    with socket.create_connection(("127.0.0.1", lg.port), timeout=10) as r:
        harness.login_trust(r)
        a = lg.conn(autocommit=False)  # one server held: r prepares on the other
        a.cursor().execute("SELECT 1")
        msgs = _roundtrip(r, [_parse("s1", "SELECT a, pg_backend_pid() FROM shape_t"),
                              _parse("s2", "SELECT a FROM shape_t"),
                              DESCRIBE_S("s2"), _bind_binary("s1"), EXECUTE, SYNC])
        rows = [p for t, p in msgs if t == b"D"]
        assert [t for t, _ in msgs if t == b"E"] == [], msgs
        first_pid = struct.unpack("!i", rows[0][2 + 4 + 4 + 4:])[0]
        a.commit()
        a.close()

        # on the other server, same result type: prepared again, no error
        keep = _hold_all_but(lg, next(iter(set(harness.backend_pids(pg, "p0", "trustuser"))
                                           - {first_pid})))
        msgs = _roundtrip(r, [_bind_binary("s1"), EXECUTE, SYNC])
        rows = [p for t, p in msgs if t == b"D"]
        assert rows and rows[0][2:10] == struct.pack("!ii", 4, 1234567), msgs
        second_pid = struct.unpack("!i", rows[0][14:])[0]
        assert second_pid != first_pid
        for h in keep:
            h.commit()
            h.close()

        pg.sql("ALTER TABLE shape_t ALTER COLUMN a TYPE int8", db="p0")
        pg.sql("UPDATE shape_t SET a = 5000000000", db="p0")
        # s2 lives on the first server only: make r prepare it again on the second
        keep = _hold_all_but(lg, second_pid)
        msgs = _roundtrip(r, [_bind_binary("s2"), EXECUTE, SYNC])
        errors = [harness.parse_error(p) for t, p in msgs if t == b"E"]
        rows = [p for t, p in msgs if t == b"D"]
        assert not rows, f"rows of another type: {rows}"
        assert len(errors) == 1 and errors[0]["C"] == "0A000", msgs
        assert errors[0]["M"] == "cached plan must not change result type"
        assert errors[0]["R"] == "RevalidateCachedQuery"  # what pgjdbc heals on
        assert msgs[-1] == (b"Z", b"I")
        # the client prepares it anew (pgjdbc does, under a new name) and goes on
        msgs = _roundtrip(r, [_parse("s3", "SELECT a FROM shape_t"), _bind_binary("s3"),
                              EXECUTE, SYNC])
        rows = [p for t, p in msgs if t == b"D"]
        assert rows and rows[0][2:14] == struct.pack("!iq", 8, 5000000000), msgs
        for h in keep:
            h.commit()
            h.close()


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
def test_unreported_startup_parameter_of_one_client_does_not_stay_for_the_next(lg):
    """pgjdbc's currentSchema=tenant_a sends search_path as a startup parameter, which
    PostgreSQL does not report; lifeguard applies such parameters with set_config() at
    each checkout in transaction mode. The next client on that server, which sent none,
    used to get them too: its tables were looked up in another schema (pgjdbc's
    runner: 'relation does not exist' after a currentSchema client, and CREATE TABLE
    going into that schema). It must get the server's own values, as on a fresh
    connection; the client that sent them keeps them."""
    with psycopg.connect(lg.dsn(), autocommit=True) as plain:
        default_path = plain.execute("SHOW search_path").fetchone()[0]
        default_mem = plain.execute("SHOW work_mem").fetchone()[0]
    with psycopg.connect(
        lg.dsn(), autocommit=True, options="-c search_path=tenant_a,public -c work_mem=7MB"
    ) as tenant, psycopg.connect(lg.dsn(), autocommit=True) as other:
        for _ in range(3):
            assert tenant.execute("SHOW search_path").fetchone()[0].replace(" ", "") == "tenant_a,public"
            assert other.execute("SHOW search_path").fetchone()[0] == default_path
            assert tenant.execute("SHOW work_mem").fetchone()[0] == "7MB"
            assert other.execute("SHOW work_mem").fetchone()[0] == default_mem
            with other.transaction():
                assert other.execute("SHOW search_path").fetchone()[0] == default_path


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "2"})
def test_a_named_statement_with_a_row_description_wider_than_the_buffer(lg):
    """lifeguard's hidden Describe of a named statement (the result-type check) needs its
    RowDescription whole; with 600 long column names it is ~30 kB, wider than the 16 KiB
    buffer, and the server connection used to be closed for it (pgx's
    TestConnQueryScanWithManyColumns failed in transaction mode)."""
    cols = ", ".join(f"{i} AS a_rather_long_column_name_{i:04d}" for i in range(600))
    query = f"SELECT {cols}"
    with psycopg.connect(lg.dsn(), autocommit=True) as a, \
            psycopg.connect(lg.dsn(), autocommit=True) as b:
        for _ in range(3):
            row = a.execute(query, prepare=True).fetchone()
            assert len(row) == 600 and row[599] == 599
            assert b.execute("SELECT 1").fetchone()[0] == 1
            with b.transaction():  # a's next run lands on the other server
                b.execute("SELECT 1")
                assert a.execute(query, prepare=True).fetchone()[0] == 0
    assert "row description" not in lg.log_text()


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
def test_an_unknown_startup_parameter_fails_its_client_only(lg):
    """lib/pq's TestRuntimeParameters logs in with a parameter PostgreSQL does not know
    (DOESNOTEXIST): its set_config() at checkout fails and that client gets PostgreSQL's
    42704. The name must not be remembered as set on the server: every later client on it
    got 'unrecognized configuration parameter' from the RESET meant to undo it (51 of
    lib/pq's tests failed in transaction mode after the unreported-parameter fix)."""
    with pytest.raises(psycopg.OperationalError) as ei:
        psycopg.connect(lg.dsn(), options="-c doesnotexist=1").close()
    assert "doesnotexist" in str(ei.value)
    for _ in range(3):
        with psycopg.connect(lg.dsn(), autocommit=True) as c:
            assert c.execute("SELECT 1").fetchone()[0] == 1
    with psycopg.connect(lg.dsn(), autocommit=True, options="-c work_mem=7MB") as c:
        assert c.execute("SHOW work_mem").fetchone()[0] == "7MB"


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "2"})
def test_statement_prepared_again_while_the_server_skips_to_sync_does_not_wait(lg, pg):
    """After an error the server ignores everything up to the client's Sync, Describe and
    Flush included. A Bind of a statement that must be prepared again there (with the
    Describe that checks its result type) must not wait for an answer that never comes:
    the client's Sync is behind that Bind."""
    pg.sql("DROP TABLE IF EXISTS skip_t", db="p0")
    pg.sql("CREATE TABLE skip_t (a int4)", db="p0")
    pg.sql("GRANT ALL ON skip_t TO trustuser", db="p0")
    with socket.create_connection(("127.0.0.1", lg.port), timeout=10) as r:
        harness.login_trust(r)
        a = lg.conn(autocommit=False)
        a.cursor().execute("SELECT 1")
        msgs = _roundtrip(r, [_parse("s1", "SELECT a, pg_backend_pid() FROM skip_t"),
                              _parse("s2", "SELECT 1, pg_backend_pid()"),
                              _bind_binary("s2"), EXECUTE, SYNC])
        first_pid = struct.unpack("!i", [p for t, p in msgs if t == b"D"][0][14:])[0]
        a.commit()
        a.close()
        others = set(harness.backend_pids(pg, "p0", "trustuser")) - {first_pid}
        keep = _hold_all_but(lg, next(iter(others)))
        # an error with nothing else in flight, then (before the Sync) a Bind of s1,
        # which this server does not have
        r.sendall(_bind_binary("nope") + _msg(b"H", b""))
        err = harness.read_message(r)
        assert err[0] == b"E" and harness.parse_error(err[1])["C"] == "26000", err
        msgs = _roundtrip(r, [_bind_binary("s1"), EXECUTE, SYNC])
        assert [t for t, _ in msgs] == [b"Z"], msgs
        msgs = _roundtrip(r, [_bind_binary("s1"), EXECUTE, SYNC])
        assert [t for t, _ in msgs] == [b"2", b"C", b"Z"], msgs  # skip_t is empty
        for h in keep:
            h.commit()
            h.close()
