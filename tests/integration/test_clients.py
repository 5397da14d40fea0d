"""Real client libraries through the pooler: psycopg2 and psycopg 3, with
parameters, prepared statements, a large result and COPY in both directions."""

import io
from contextlib import closing

import psycopg
import psycopg2
import pytest

TEN_MB = 10 * 1024 * 1024


def test_psycopg2_queries_with_parameters(lg):
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT %s::int + %s::int, %s::text, %s", (40, 2, "ok", None))
        assert cur.fetchone() == (42, "ok", None)
        cur.execute("SELECT x, x * x FROM generate_series(1, %s) AS x", (100,))
        rows = cur.fetchall()
        assert len(rows) == 100 and rows[-1] == (100, 10000)
        cur.execute("SELECT %(a)s || %(b)s", {"a": "life", "b": "guard"})
        assert cur.fetchone()[0] == "lifeguard"


def test_psycopg2_transaction_commit_and_rollback(lg):
    with closing(lg.conn(autocommit=False)) as c:
        with c.cursor() as cur:
            cur.execute("CREATE TEMP TABLE t (x int) ON COMMIT PRESERVE ROWS")
            cur.execute("INSERT INTO t VALUES (1)")
        c.commit()
        with c.cursor() as cur:
            cur.execute("INSERT INTO t VALUES (2)")
        c.rollback()
        with c.cursor() as cur:
            cur.execute("SELECT array_agg(x) FROM t")
            assert cur.fetchone()[0] == [1]


def test_psycopg2_error_then_connection_still_usable(lg):
    with closing(lg.conn()) as c, c.cursor() as cur:
        with pytest.raises(psycopg2.errors.DivisionByZero):
            cur.execute("SELECT 1 / 0")
        with pytest.raises(psycopg2.errors.UndefinedTable):
            cur.execute("SELECT * FROM no_such_table")
        cur.execute("SELECT 'still here'")
        assert cur.fetchone()[0] == "still here"


def test_psycopg2_10mb_value_and_many_rows(lg):
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT repeat('x', %s)", (TEN_MB,))
        value = cur.fetchone()[0]
        assert len(value) == TEN_MB and value[:3] == "xxx" and value[-3:] == "xxx"
        cur.execute("SELECT g, repeat('y', 100) FROM generate_series(1, 100000) g")
        rows = cur.fetchall()
        assert len(rows) == 100000 and rows[-1] == (100000, "y" * 100)


def test_psycopg2_copy_in_and_out(lg):
    n = 50000
    data = "".join(f"{i}\trow-{i}\n" for i in range(n))
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("CREATE TEMP TABLE c (id int, name text)")
        cur.copy_expert("COPY c FROM STDIN", io.StringIO(data))
        cur.execute("SELECT count(*), sum(id) FROM c")
        assert cur.fetchone() == (n, n * (n - 1) // 2)
        out = io.StringIO()
        cur.copy_expert("COPY (SELECT * FROM c ORDER BY id) TO STDOUT", out)
        assert out.getvalue() == data
        # a failing COPY leaves the connection usable
        with pytest.raises(psycopg2.Error):
            cur.copy_expert("COPY c FROM STDIN", io.StringIO("not-a-number\tx\n"))
        cur.execute("SELECT count(*) FROM c")
        assert cur.fetchone()[0] == n


def psycopg3_conn(lg, **kw):
    return psycopg.connect(lg.dsn(**kw), autocommit=True)


def test_psycopg3_queries_with_parameters_text_and_binary(lg):
    with psycopg3_conn(lg) as c, c.cursor() as cur:
        cur.execute("SELECT %s::int + %s::int, %s::text", (40, 2, "ok"))
        assert cur.fetchone() == (42, "ok")
        cur.execute("SELECT %s::bytea, %s::float8", (b"\x00\x01\xff", 1.5), binary=True)
        assert cur.fetchone() == (b"\x00\x01\xff", 1.5)
        cur.execute("SELECT x FROM generate_series(1, %s) AS x", (1000,))
        assert [r[0] for r in cur.fetchall()] == list(range(1, 1001))


def test_psycopg3_server_side_prepared_statements(lg):
    """psycopg 3 prepares a query after a few executions (extended protocol,
    named statements); session pooling keeps them on the client's server."""
    with psycopg3_conn(lg) as c, c.cursor() as cur:
        for i in range(20):
            cur.execute("SELECT %s::int + 1", (i,), prepare=i >= 2)
            assert cur.fetchone()[0] == i + 1
        cur.execute("SELECT count(*) FROM pg_prepared_statements")
        assert cur.fetchone()[0] >= 1


def test_psycopg3_pipeline(lg):
    with psycopg3_conn(lg) as c:
        with c.pipeline():
            curs = [c.execute("SELECT %s::int", (i,)) for i in range(50)]
        assert [cur.fetchone()[0] for cur in curs] == list(range(50))


def test_psycopg3_10mb_value(lg):
    with psycopg3_conn(lg) as c, c.cursor() as cur:
        cur.execute("SELECT repeat('z', %s)", (TEN_MB,))
        value = cur.fetchone()[0]
        assert len(value) == TEN_MB and set(value) == {"z"}


def test_psycopg3_copy_in_and_out(lg):
    n = 50000
    with psycopg3_conn(lg) as c, c.cursor() as cur:
        cur.execute("CREATE TEMP TABLE c (id int, payload text)")
        with cur.copy("COPY c (id, payload) FROM STDIN") as copy:
            for i in range(n):
                copy.write_row((i, f"p{i}"))
        cur.execute("SELECT count(*), max(id) FROM c")
        assert cur.fetchone() == (n, n - 1)
        out = bytearray()
        with cur.copy("COPY (SELECT id, payload FROM c ORDER BY id) TO STDOUT") as copy:
            for chunk in copy:
                out += chunk
        lines = bytes(out).decode().splitlines()
        assert len(lines) == n and lines[0] == "0\tp0" and lines[-1] == f"{n - 1}\tp{n - 1}"


def test_psycopg3_notifications_within_session(lg):
    got = []
    with psycopg3_conn(lg) as c:
        c.add_notify_handler(lambda n: got.append(n.payload))
        c.execute("LISTEN lg_test")
        c.execute("NOTIFY lg_test, 'hello'")
        c.execute("SELECT 1")
        assert got == ["hello"]
