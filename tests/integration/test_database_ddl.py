"""Statements PostgreSQL runs only when nobody else is connected to a database (DROP
DATABASE, ALTER DATABASE ... RENAME TO, CREATE DATABASE ... TEMPLATE): a pooler's idle
server connections to it are sessions too, and PostgreSQL gives up after 5 s with 55006
"database ... is being accessed by other users". A test runner's teardown (Django's
DROP DATABASE test_app, CREATE DATABASE test_app_1 TEMPLATE test_app for parallel
runs) hits this through any pooler that keeps them; lifeguard closes them first."""

from contextlib import closing

import psycopg
import pytest

from harness import SUPERUSER, wait_until

WILDCARD = {"*": "host=@PGHOST@ port=@PGPORT@"}


def backends_on(pg, db):
    return pg.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = %s", (db,))[0][0]


def leave_idle_server(lg, pg, db):
    """A client uses @db through lifeguard and leaves: its server stays in the pool."""
    with closing(lg.conn(db=db)) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
    wait_until(lambda: backends_on(pg, db) == 1, 10)


@pytest.fixture
def scratch_dbs(pg):
    made = []

    def make(*names):
        for name in names:
            pg.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            pg.sql(f'CREATE DATABASE "{name}" OWNER trustuser')
            made.append(name)

    yield make
    for name in made:
        pg.sql(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')


@pytest.mark.lifeguard_only  # PgBouncer keeps its idle connections: the DROP fails
@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_drop_database_closes_idle_pooled_servers_first(make_lg, pg, scratch_dbs, mode):
    scratch_dbs("lg_ddl_drop")
    # min_pool_size would open a new server at once: it waits while the DROP runs.
    lg = make_lg(databases=WILDCARD, main={"pool_mode": mode, "min_pool_size": "1"})
    leave_idle_server(lg, pg, "lg_ddl_drop")
    with closing(lg.conn(db="p0")) as c, c.cursor() as cur:
        cur.execute("DROP DATABASE lg_ddl_drop")  # 55006 after 5 s without the fix
    assert pg.sql("SELECT 1 FROM pg_database WHERE datname = 'lg_ddl_drop'") == []
    line = [x for x in lg.log_text().splitlines() if "closed 1 idle server connection(s)" in x]
    assert len(line) == 1 and "DROP DATABASE" in line[0] and "lg_ddl_drop" in line[0]


@pytest.mark.lifeguard_only
def test_template_and_rename_through_the_extended_protocol(make_lg, pg, scratch_dbs):
    """psycopg 3 sends every query as Parse/Bind/Execute: the Parse is looked at too.
    Quoted names keep their case; the unquoted ones are folded as PostgreSQL does."""
    scratch_dbs("Lg_Ddl_Src", "lg_ddl_copy", "lg_ddl_old", "lg_ddl_new")
    pg.sql("DROP DATABASE lg_ddl_copy")
    pg.sql("DROP DATABASE lg_ddl_new")
    lg = make_lg(databases=WILDCARD, main={"pool_mode": "transaction"})
    leave_idle_server(lg, pg, "Lg_Ddl_Src")
    leave_idle_server(lg, pg, "lg_ddl_old")
    with psycopg.connect(lg.dsn(db="p0", user=SUPERUSER), autocommit=True) as c:
        c.execute('/* clone */ CREATE DATABASE lg_ddl_copy WITH TEMPLATE = "Lg_Ddl_Src"')
        c.execute("ALTER DATABASE LG_DDL_OLD RENAME TO lg_ddl_new")
    names = {r[0] for r in pg.sql("SELECT datname FROM pg_database WHERE datname LIKE '%dl%'")}
    assert {"Lg_Ddl_Src", "lg_ddl_copy", "lg_ddl_new"} <= names
    assert "lg_ddl_old" not in names
    # The database in use stays usable: a new server is opened for the next client.
    with closing(lg.conn(db="Lg_Ddl_Src")) as c, c.cursor() as cur:
        cur.execute("SELECT current_database()")
        assert cur.fetchone()[0] == "Lg_Ddl_Src"


@pytest.mark.lifeguard_only
def test_servers_in_use_and_other_databases_are_left_alone(make_lg, pg, scratch_dbs):
    """Only idle servers of that database close: a client inside a transaction there
    keeps its server (PostgreSQL then refuses the DROP, as it would directly), and
    other databases keep theirs."""
    scratch_dbs("lg_ddl_busy")
    lg = make_lg(databases=WILDCARD, main={"pool_mode": "transaction"})
    leave_idle_server(lg, pg, "p1")
    with closing(lg.conn(db="lg_ddl_busy")) as busy, busy.cursor() as bcur:
        bcur.execute("BEGIN")
        bcur.execute("SELECT 1")
        with closing(lg.conn(db="p0")) as c, c.cursor() as cur:
            with pytest.raises(Exception) as e:
                cur.execute("DROP DATABASE lg_ddl_busy")
            assert e.value.pgcode == "55006"
        bcur.execute("SELECT 2")  # its server survived
        assert bcur.fetchone()[0] == 2
        bcur.execute("COMMIT")
    assert backends_on(pg, "p1") == 1
