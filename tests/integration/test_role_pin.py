"""A changed role in transaction pooling (pin_role_changes). SET ROLE and SET SESSION
AUTHORIZATION (not SET LOCAL) last for the server's session, past the transaction: handed
on with the server, the next client ran with the first one's role, a privilege leak
(PgBouncer's behaviour). lifeguard keeps the client on its server while its role is
changed, and runs SET SESSION AUTHORIZATION DEFAULT; RESET ROLE before that server serves
anyone else."""

import uuid

import harness
import psycopg
import psycopg2
import pytest

TXN = {"pool_mode": "transaction", "admin_users": "trustuser"}
PIN_LOG = "SET ROLE pins the client to its server until it leaves (pin_role_changes)"


class Psycopg2Conn:
    """psycopg2: every statement a simple Query."""

    def __init__(self, lg, autocommit=True, user="trustuser"):
        self.conn = lg.conn(autocommit=autocommit, user=user)

    def run(self, sql):
        with self.conn.cursor() as cur:
            cur.execute(sql)
            return cur.fetchall() if cur.description else None

    def who(self):
        """(current_user, session_user) of the server the client is on now."""
        return self.run("SELECT current_user::text, session_user::text")[0]

    def commit(self):
        self.conn.commit()

    def rollback(self):
        self.conn.rollback()

    def close(self):
        self.conn.close()


class Psycopg3Conn(Psycopg2Conn):
    """psycopg 3: statements go as Parse/Bind/Execute (the unnamed statement)."""

    def __init__(self, lg, autocommit=True, user="trustuser"):
        self.conn = psycopg.connect(lg.dsn(user=user), autocommit=autocommit,
                                    prepare_threshold=None)


DRIVERS = [Psycopg2Conn, Psycopg3Conn]


@pytest.fixture
def role(pg):
    """A role trustuser may SET ROLE to."""
    name = "lg_role_" + uuid.uuid4().hex[:8]
    pg.sql(f"CREATE ROLE {name} NOLOGIN")
    pg.sql(f"GRANT {name} TO trustuser")
    yield name
    pg.sql(f"DROP ROLE {name}")


def lazy_pool(**extra):
    """Servers open only on demand, so a released server is the one the next client gets."""
    return dict(TXN, default_pool_size="2", min_pool_size="0", **extra)


@pytest.mark.lifeguard_only  # PgBouncer hands the server on with the role
@pytest.mark.parametrize("driver", DRIVERS)
def test_set_role_keeps_its_server_and_never_reaches_the_next_client(make_lg, role, driver):
    lg = make_lg(main=lazy_pool())
    a = driver(lg)
    b = None
    try:
        a.run(f"SET ROLE {role}")  # autocommit: in effect at once
        assert a.who() == (role, "trustuser")
        # B gets a server of its own (without the pin: the one A gave back), its own role.
        b = driver(lg)
        for _ in range(3):
            assert b.who() == ("trustuser", "trustuser")
            assert a.who() == (role, "trustuser")  # each its own transaction
        assert harness.sv_active(lg) == 1  # A keeps its server between transactions
    finally:
        if b:
            b.close()
        a.close()
    assert lg.log_text().count(PIN_LOG) == 1


@pytest.mark.lifeguard_only
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("how", ["SET SESSION AUTHORIZATION trustuser",
                                 "SELECT set_config('session_authorization', 'trustuser', false)"])
def test_session_authorization_keeps_its_server(make_lg, driver, how):
    """The harness's superuser (postgres) becomes trustuser. The set_config() form is
    not in the text lifeguard looks at: the server's ParameterStatus for
    session_authorization is what pins the client."""
    lg = make_lg(main=lazy_pool())
    a = driver(lg, user="postgres")
    b = None
    try:
        a.run(how)
        assert a.who() == ("trustuser", "trustuser")
        b = driver(lg, user="postgres")
        assert b.who() == ("postgres", "postgres")
        assert b.run("SHOW is_superuser") == [("on",)]
        assert a.who() == ("trustuser", "trustuser")
        assert harness.sv_active(lg, user="postgres") == 1
    finally:
        if b:
            b.close()
        a.close()
    text = lg.log_text()
    assert "pins the client to its server until it leaves (pin_role_changes)" in text, text


@pytest.mark.lifeguard_only
@pytest.mark.parametrize("driver", DRIVERS)
def test_role_set_in_a_rolled_back_transaction_does_not_pin(make_lg, role, driver):
    """SET ROLE inside a transaction block lasts only if the block commits: a rollback (the
    driver's, or a failed block's COMMIT) gives the server back at once, which the next
    client (pool_size=1) needs. A committed one pins: the next client then waits
    (query_wait_timeout) rather than get A's role."""
    lg = make_lg(main=dict(TXN, default_pool_size="1", query_wait_timeout="1"))
    a = driver(lg, autocommit=False)
    b = driver(lg)
    try:
        a.run(f"SET ROLE {role}")
        a.rollback()
        assert harness.sv_active(lg) == 0
        assert b.who() == ("trustuser", "trustuser")
        a.run(f"SET SESSION ROLE {role}")
        with pytest.raises((psycopg2.Error, psycopg.Error)):
            a.run("SELECT 1/0")
        a.commit()  # COMMIT of a failed block rolls back
        assert harness.sv_active(lg) == 0
        a.run(f"SET LOCAL ROLE {role}")  # gone with its transaction
        a.commit()
        assert harness.sv_active(lg) == 0
        assert b.who() == ("trustuser", "trustuser")
        a.run(f"SET ROLE {role}")
        a.commit()
        assert harness.sv_active(lg) == 1
        with pytest.raises((psycopg2.Error, psycopg.Error)):
            b.run("SELECT current_user")  # the only server is A's now: 53300, closed
        assert "timeout: no server within 1s" in lg.log_text()
        assert a.who() == (role, "trustuser")
        a.rollback()
    finally:
        a.close()
        b.close()


@pytest.mark.lifeguard_only
@pytest.mark.parametrize("driver", DRIVERS)
@pytest.mark.parametrize("in_transaction", [False, True])
def test_client_leaving_with_a_role_leaves_a_clean_server(make_lg, role, driver,
                                                          in_transaction):
    """The next client gets the same server (pool_size=1), with its own role."""
    lg = make_lg(main=dict(TXN, default_pool_size="1"))
    a = driver(lg)
    a.run(f"SET ROLE {role}")
    pid = a.run("SELECT pg_backend_pid()")[0][0]
    if in_transaction:
        a.run("BEGIN")
        a.run("SELECT 1")
    a.close()
    b = driver(lg)
    try:
        assert b.run("SELECT pg_backend_pid()")[0][0] == pid  # same server, reset
        assert b.who() == ("trustuser", "trustuser")
        assert b.run("SHOW role") == [("none",)]
    finally:
        b.close()


@pytest.mark.lifeguard_only
def test_client_leaving_with_a_role_and_a_temp_table_leaves_a_clean_server(make_lg, role):
    """Both resets run, the role's first: DISCARD TEMP then runs as the login user."""
    lg = make_lg(main=dict(TXN, default_pool_size="1"))
    a = Psycopg2Conn(lg)
    a.run(f"SET ROLE {role}")
    a.run("CREATE TEMP TABLE lg_role_left (x int)")
    a.run("DECLARE lg_role_cur CURSOR WITH HOLD FOR SELECT 1")
    a.close()
    b = Psycopg2Conn(lg)
    try:
        assert b.who() == ("trustuser", "trustuser")
        assert b.run("SELECT to_regclass('pg_temp.lg_role_left')") == [(None,)]
        assert b.run("SELECT count(*) FROM pg_cursors") == [(0,)]
    finally:
        b.close()


@pytest.mark.lifeguard_only
def test_statement_mode_role_pins_too(make_lg, role):
    lg = make_lg(main=dict(TXN, pool_mode="statement", default_pool_size="1"))
    a = Psycopg2Conn(lg)
    a.run(f"SET ROLE {role}")
    for _ in range(3):
        assert a.who() == (role, "trustuser")
    assert harness.sv_active(lg) == 1
    a.close()
    b = Psycopg2Conn(lg)
    try:
        assert b.who() == ("trustuser", "trustuser")
    finally:
        b.close()


@pytest.mark.lifeguard_only
def test_psql_session_authorization_then_leaving_resets_the_server(make_lg):
    lg = make_lg(main=dict(TXN, default_pool_size="1"))
    lg.psql("SET SESSION AUTHORIZATION trustuser; SELECT 1", user="postgres")
    out = lg.psql("SELECT current_user || ' ' || session_user", user="postgres")
    assert out.stdout.strip() == "postgres postgres"


@pytest.mark.lifeguard_only
def test_reset_role_unpins_only_outside_a_transaction(make_lg, role):
    lg = make_lg(main=dict(TXN, default_pool_size="1"))
    a = Psycopg2Conn(lg)
    try:
        a.run(f"SET ROLE {role}")
        assert harness.sv_active(lg) == 1
        # Inside a transaction block RESET ROLE can be rolled back: A stays pinned.
        a.run("BEGIN")
        a.run("RESET ROLE")
        a.run("ROLLBACK")
        assert harness.sv_active(lg) == 1
        assert a.who() == (role, "trustuser")
        a.run("RESET ROLE; SELECT 1")  # not alone in its query: not trusted
        assert harness.sv_active(lg) == 1
        a.run("RESET ROLE")
        assert harness.sv_active(lg) == 0
        a.run(f"SET ROLE {role}")
        assert harness.sv_active(lg) == 1
        a.run("DISCARD ALL")
        assert harness.sv_active(lg) == 0
        assert a.who() == ("trustuser", "trustuser")
        # Each pin reason ends on its own: the server goes back when none is left.
        a.run(f"SET ROLE {role}")
        a.run("CREATE TEMP TABLE lg_role_tmp (x int)")
        a.run("RESET ROLE")
        assert harness.sv_active(lg) == 1
        a.run(f"SET ROLE {role}")
        a.run("DISCARD TEMP")
        assert harness.sv_active(lg) == 1
        a.run("SET ROLE NONE")
        assert harness.sv_active(lg) == 0
    finally:
        a.close()
    s = Psycopg2Conn(lg, user="postgres")
    try:
        s.run("SET SESSION AUTHORIZATION trustuser")
        s.run(f"SET ROLE {role}")
        s.run("RESET ROLE")  # the session user is still trustuser: kept
        assert harness.sv_active(lg, user="postgres") == 1
        s.run("SET SESSION AUTHORIZATION DEFAULT")
        assert harness.sv_active(lg, user="postgres") == 0
        assert s.who() == ("postgres", "postgres")
    finally:
        s.close()
    # Logged once per client, not once per SET ROLE.
    assert lg.log_text().count(PIN_LOG) == 1


@pytest.mark.parametrize("driver", DRIVERS)
def test_pin_role_changes_off_leaks_the_role_to_the_next_client(make_lg, role, driver):
    """pin_role_changes = 0: PgBouncer's behaviour, documented in docs/pooling-modes.md: the
    next client on that server runs with the role A set."""
    lg = make_lg(main=dict(TXN, default_pool_size="1", pin_role_changes="0"))
    a = driver(lg)
    a.run(f"SET ROLE {role}")
    assert harness.sv_active(lg) == 0
    a.close()
    b = driver(lg)
    try:
        assert b.who() == (role, "trustuser")
        b.run("RESET ROLE")
    finally:
        b.close()
