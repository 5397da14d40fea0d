"""Temporary tables in transaction pooling (pin_temp_tables). A temporary table lives in
its server's session, past the transaction that created it. Handed on with the server, it
broke test suites (psycopg2's, psycopg's, Go's, node-postgres's: DuplicateTable in the next
test's setUp), and one named like a permanent table hid that table from the next client,
who then read the other client's rows (psycopg2's DeadlockSerializationTests). lifeguard
keeps the creating client on its server while its temporary objects exist, and runs
DISCARD TEMP before that server serves anyone else."""

import uuid
from contextlib import closing

import harness
import psycopg
import psycopg2
import pytest

TXN = {"pool_mode": "transaction", "admin_users": "trustuser"}


def admin(lg, sql):
    with closing(lg.conn(db="pgbouncer")) as a, a.cursor() as cur:
        cur.execute(sql)


class Psycopg2Conn:
    """psycopg2: every statement a simple Query."""

    def __init__(self, lg, autocommit=True):
        self.conn = lg.conn(autocommit=autocommit)

    def run(self, sql):
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else None

    def commit(self):
        self.conn.commit()

    def rollback(self):
        self.conn.rollback()

    def close(self):
        self.conn.close()


class Psycopg3Conn(Psycopg2Conn):
    """psycopg 3: statements go as Parse/Bind/Execute (the unnamed statement)."""

    def __init__(self, lg, autocommit=True):
        self.conn = psycopg.connect(lg.dsn(), autocommit=autocommit, prepare_threshold=None)


DRIVERS = [Psycopg2Conn, Psycopg3Conn]


@pytest.fixture
def table(pg):
    """A permanent table in p0 (one row, 'permanent') that clients shadow with a temporary
    one of the same name."""
    name = "accounts_" + uuid.uuid4().hex[:8]
    pg.sql(f"CREATE TABLE public.{name} (who text)", db="p0")
    pg.sql(f"INSERT INTO public.{name} VALUES ('permanent')", db="p0")
    pg.sql(f"GRANT ALL ON public.{name} TO PUBLIC", db="p0")
    yield name
    pg.sql(f"DROP TABLE public.{name}", db="p0")


def my_temp_objects(c):
    """The temporary relations in the session of the server @c is on now."""
    return c.run("SELECT count(*) FROM pg_class WHERE relnamespace = pg_my_temp_schema()")[0][0]


@pytest.mark.lifeguard_only  # PgBouncer hands the server on with the table
@pytest.mark.parametrize("driver", DRIVERS)
def test_temp_table_keeps_its_server_and_never_reaches_others(make_lg, table, driver):
    lg = make_lg(main=dict(TXN, default_pool_size="2"))
    a = driver(lg, autocommit=False)
    others = [driver(lg) for _ in range(4)]
    try:
        a.run(f"CREATE TEMP TABLE {table} (who text)")  # shadows public.{table} for A only
        a.run(f"INSERT INTO {table} VALUES ('A''s temporary row')")
        a.commit()
        for rnd in range(3):
            for o in others:
                # Each its own transaction: given back at its end, so all share the
                # server A does not hold; none may see A's table.
                assert o.run(f"SELECT who FROM {table}") == [("permanent",)]
                assert my_temp_objects(o) == 0
            # A reads its own table in each of its transactions, on the same server.
            rows = a.run(f"SELECT who FROM {table}")
            assert rows[0] == ("A's temporary row",) and len(rows) == rnd + 1, rows
            a.run(f"INSERT INTO {table} VALUES ('round {rnd}')")
            a.commit()
            assert harness.sv_active(lg) == 1  # A keeps its server between transactions
        assert a.run(f"SELECT count(*) FROM {table}") == [(4,)]
        a.rollback()
        assert lg.sql(f"SELECT count(*) FROM public.{table}") == [(1,)]
    finally:
        for o in others:
            o.close()
        a.close()
    text = lg.log_text()
    assert text.count("keeps its server: temporary table created (pin_temp_tables)") == 1, text


@pytest.mark.lifeguard_only
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("in_transaction", [False, True])
def test_client_leaving_with_temp_table_leaves_a_clean_server(make_lg, table, driver,
                                                             in_transaction):
    """The next client gets the same server (pool_size=1), without the temporary table."""
    lg = make_lg(main=dict(TXN, default_pool_size="1"))
    a = driver(lg)
    a.run(f"CREATE TEMPORARY TABLE {table} (who text)")
    a.run(f"INSERT INTO {table} VALUES ('left behind')")
    a.run("CREATE TEMP SEQUENCE lg_left_seq")
    a.run("CREATE TEMP VIEW lg_left_view AS SELECT 1 AS one")
    pid = a.run("SELECT pg_backend_pid()")[0][0]
    if in_transaction:
        a.run("BEGIN")
        a.run(f"INSERT INTO {table} VALUES ('in the open transaction')")
    a.close()
    b = driver(lg)
    try:
        assert b.run("SELECT pg_backend_pid()")[0][0] == pid  # same server, reused
        assert b.run(f"SELECT who FROM {table}") == [("permanent",)]
        assert my_temp_objects(b) == 0
        # A temporary table of the same name can be created again (psycopg2's setUp).
        b.run(f"CREATE TEMP TABLE {table} (who text) ON COMMIT DROP")
    finally:
        b.close()


@pytest.mark.lifeguard_only
def test_pg_temp_schema_table_pins_too(make_lg, table):
    lg = make_lg(main=dict(TXN, default_pool_size="1"))
    a = Psycopg2Conn(lg)
    a.run(f"/* a comment */ create table if not exists PG_TEMP.{table} (who text)")
    assert harness.sv_active(lg) == 1
    a.close()
    b = Psycopg2Conn(lg)
    try:
        assert b.run(f"SELECT who FROM {table}") == [("permanent",)]
        assert my_temp_objects(b) == 0
    finally:
        b.close()


@pytest.mark.lifeguard_only
@pytest.mark.parametrize("driver", DRIVERS)
def test_on_commit_drop_does_not_pin(make_lg, driver):
    lg = make_lg(main=dict(TXN, default_pool_size="2"))
    a = driver(lg, autocommit=False)
    try:
        a.run("CREATE TEMP TABLE lg_scratch (x int) ON COMMIT DROP")
        a.run("INSERT INTO lg_scratch VALUES (1)")
        a.commit()
        assert harness.sv_active(lg) == 0  # dropped with its transaction: nothing to keep
        a.run("CREATE TEMP TABLE lg_kept (x int) ON COMMIT DELETE ROWS")
        a.commit()
        assert harness.sv_active(lg) == 1  # the table outlives the transaction
    finally:
        a.close()
    assert "keeps its server: temporary table created" in lg.log_text()


@pytest.mark.lifeguard_only
def test_discard_unpins_only_outside_a_transaction(make_lg, table):
    lg = make_lg(main=dict(TXN, default_pool_size="2"))
    a = Psycopg2Conn(lg)
    try:
        a.run(f"CREATE TEMP TABLE {table} (who text)")
        assert harness.sv_active(lg) == 1
        # Inside a transaction block DISCARD TEMP can be rolled back: A stays pinned.
        a.run("BEGIN")
        a.run("DISCARD TEMP")
        a.run("ROLLBACK")
        assert harness.sv_active(lg) == 1
        assert a.run(f"SELECT count(*) FROM {table}") == [(0,)]  # still A's own table
        a.run("DISCARD TEMP")
        assert harness.sv_active(lg) == 0
        assert a.run(f"SELECT who FROM {table}") == [("permanent",)]
        a.run(f"CREATE TEMP TABLE {table} (who text)")
        assert harness.sv_active(lg) == 1
        a.run("DISCARD ALL")
        assert harness.sv_active(lg) == 0
    finally:
        a.close()
    # Logged once per client, not once per table.
    assert lg.log_text().count("keeps its server: temporary table created") == 1


@pytest.mark.parametrize("driver", DRIVERS)
def test_pin_temp_tables_off_leaves_the_table_on_the_server(make_lg, table, driver):
    """pin_temp_tables = 0: PgBouncer's behaviour, the table stays on the server for its
    next client. Reloading it to 1 pins the next client that creates one."""
    lg = make_lg(main=dict(TXN, default_pool_size="1", pin_temp_tables="0"))
    a = driver(lg)
    a.run(f"CREATE TEMP TABLE {table} (who text)")
    a.run(f"INSERT INTO {table} VALUES ('left behind')")
    assert harness.sv_active(lg) == 0
    a.close()
    b = driver(lg)
    try:
        assert b.run(f"SELECT who FROM {table}") == [("left behind",)]
        b.run("DISCARD TEMP")
    finally:
        b.close()
    if harness.IS_PGBOUNCER:
        return
    lg.config["main"]["pin_temp_tables"] = "1"
    lg.write_config()
    admin(lg, "RELOAD")
    c = driver(lg)
    try:
        c.run(f"CREATE TEMP TABLE {table} (who text)")
        assert harness.sv_active(lg) == 1
    finally:
        c.close()


@pytest.mark.lifeguard_only
@pytest.mark.parametrize("driver", DRIVERS)
def test_temp_table_of_a_rolled_back_transaction_does_not_pin(make_lg, table, driver):
    """Created inside a transaction block, the table lasts only if the block commits: a
    rollback (the driver's, or a failed block's COMMIT) gives the server back at once,
    which the next client (pool_size=1) needs."""
    lg = make_lg(main=dict(TXN, default_pool_size="1"))
    a = driver(lg, autocommit=False)
    b = driver(lg)
    try:
        a.run(f"CREATE TEMP TABLE {table} (who text)")
        a.rollback()
        assert harness.sv_active(lg) == 0
        assert b.run(f"SELECT who FROM {table}") == [("permanent",)]
        # A failed block ends in a rollback whatever ends it.
        a.run(f"CREATE TEMP TABLE {table} (who text)")
        with pytest.raises(Exception):
            a.run("SELECT 1/0")
        a.commit()  # psycopg: COMMIT of a failed block rolls back
        assert harness.sv_active(lg) == 0
        # A savepoint rolled back to leaves the table if it came before it.
        a.run(f"CREATE TEMP TABLE {table} (who text)")
        a.run("SAVEPOINT s")
        a.run("ROLLBACK TO SAVEPOINT s")
        a.commit()
        assert harness.sv_active(lg) == 1
        assert a.run(f"SELECT count(*) FROM {table}") == [(0,)]
        a.rollback()
    finally:
        a.close()
        b.close()
    c = driver(lg)
    try:
        assert c.run(f"SELECT who FROM {table}") == [("permanent",)]
    finally:
        c.close()


@pytest.mark.lifeguard_only
def test_statement_mode_pins_too(make_lg, table):
    """Statement mode releases the server after every statement: a temporary table's
    client keeps it all the same. When lifeguard refuses its transaction block (0A000) and
    closes it, its server reaches no one with the table (cleaned with DISCARD TEMP, or
    closed when the refusal left output unsent)."""
    lg = make_lg(main={"pool_mode": "statement", "admin_users": "trustuser",
                       "default_pool_size": "2"})
    a = Psycopg2Conn(lg)
    a.run(f"CREATE TEMP TABLE {table} (who text)")
    a.run(f"INSERT INTO {table} VALUES ('A''s temporary row')")
    b = Psycopg2Conn(lg)
    try:
        for _ in range(3):
            assert b.run(f"SELECT who FROM {table}") == [("permanent",)]
            assert a.run(f"SELECT who FROM {table}") == [("A's temporary row",)]
    finally:
        b.close()
    with pytest.raises(psycopg2.OperationalError):  # psycopg2 keeps libpq's last line only
        a.run("BEGIN")
    a.close()
    assert "transaction blocks are not allowed in statement pooling mode" in lg.log_text()
    for _ in range(2):  # whichever server each gets
        c = Psycopg2Conn(lg)
        try:
            assert c.run(f"SELECT who FROM {table}") == [("permanent",)]
            assert my_temp_objects(c) == 0
        finally:
            c.close()
