"""What pgjdbc (PostgreSQL's JDBC driver) does through transaction pooling, reproduced
with psycopg 3 where it takes the same protocol path. Found with
tests/compat/run-pgjdbc-suite.sh (tests/compat/pgjdbc/PoolerCheck.java)."""

import psycopg
import pytest

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
