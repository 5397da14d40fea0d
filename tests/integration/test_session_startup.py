"""Session mode (session_startup_parameters, on by default): a server is opened with the
startup parameters of the client it is opened for, so that RESET, RESET ALL and DISCARD
ALL return to the client's startup values (PostgreSQL's source "client"), as on a direct
connection. Clients only get servers opened with their own parameters; clients alike
share servers, clients differing only in application_name too, and a bad startup value
fails only the client that sent it."""

import threading
import time
from contextlib import closing

import psycopg
import psycopg2
import pytest

import harness
from harness import wait_until

pytestmark = pytest.mark.lifeguard_only  # PgBouncer SETs startup parameters, like before

PG_REGRESS_ENV = {"PGDATESTYLE": "Postgres, MDY", "PGTZ": "PST8PDT"}


def psql_lines(lg, env_extra, *sqls, **dsn):
    """psql -c ... -c ... with libpq's own environment (as pg_regress runs it)."""
    args = [harness.PG_BIN / "psql", "-X", "-At", "-d", lg.dsn(**dsn)]
    for q in sqls:
        args += ["-c", q]
    return harness.run(args, env=harness.clean_env(**env_extra)).stdout.splitlines()


def settings(cur):
    cur.execute("SELECT current_setting('DateStyle'), current_setting('TimeZone'),"
                " (SELECT source FROM pg_settings WHERE name = 'DateStyle'),"
                " (SELECT source FROM pg_settings WHERE name = 'TimeZone')")
    return cur.fetchone()


def backends(pg):
    return harness.backend_pids(pg, "p0", "trustuser")


def conn3(lg, **kw):
    """psycopg 3: unlike psycopg2, it does not SET DateStyle = ISO after connecting."""
    return psycopg.connect(lg.dsn(**kw), autocommit=True)


def test_reset_datestyle_and_timezone_return_to_startup_values(lg):
    """pg_regress's PGDATESTYLE and PGTZ: libpq sends them as startup parameters."""
    out = psql_lines(
        lg, PG_REGRESS_ENV,
        "SELECT current_setting('DateStyle'), current_setting('TimeZone'), source"
        " FROM pg_settings WHERE name = 'DateStyle'",
        "SET DateStyle = ISO", "SET TimeZone = 'UTC'",
        "RESET DateStyle", "RESET TimeZone",
        "SELECT current_setting('DateStyle'), current_setting('TimeZone'), source"
        " FROM pg_settings WHERE name = 'DateStyle'",
        "SELECT source FROM pg_settings WHERE name = 'TimeZone'",
    )
    first = "Postgres, MDY|PST8PDT|client"
    assert [x for x in out if "|" in x or x in ("client", "session")] == [first, first, "client"]


@pytest.mark.parametrize("reset", ["RESET ALL", "DISCARD ALL"])
def test_reset_all_and_discard_all_return_to_startup_values(lg, reset):
    with closing(conn3(lg, options="-c DateStyle=SQL,DMY -c TimeZone=Asia/Tokyo")) as c, \
            c.cursor() as cur:
        start = settings(cur)
        assert start == ("SQL, DMY", "Asia/Tokyo", "client", "client")
        cur.execute("SET DateStyle = ISO")
        cur.execute("SET TimeZone = 'UTC'")
        assert settings(cur)[:2] == ("ISO, DMY", "UTC")
        cur.execute(reset)
        assert settings(cur) == start
        assert c.info.parameter_status("DateStyle") == "SQL, DMY"
        assert c.info.parameter_status("TimeZone") == "Asia/Tokyo"


@pytest.mark.lg_config(main={"default_pool_size": "1"})
def test_same_parameters_reuse_one_backend_and_application_name_changes_nothing(lg, pg):
    """Clients of one app (same parameters, each its own application_name) share one
    server (pool_size=1: a server replaced for one would show as a new pid): no churn. Each still sees its own name, and RESET application_name gives the
    server default, never a previous client's name."""
    opts = "-c DateStyle=Postgres,MDY -c TimeZone=PST8PDT"
    pids = set()
    with closing(conn3(lg, options=opts)) as c, c.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pids.add(cur.fetchone()[0])
    for i in range(120):
        with closing(conn3(lg, options=opts, application_name=f"lg-app-{i}")) as c, \
                c.cursor() as cur:
            cur.execute("SELECT pg_backend_pid(), current_setting('application_name')")
            pid, name = cur.fetchone()
            pids.add(pid)
            assert name == f"lg-app-{i}"
            if i % 20 == 0:
                assert settings(cur) == ("Postgres, MDY", "PST8PDT", "client", "client")
                cur.execute("RESET application_name")
                cur.execute("SHOW application_name")
                assert cur.fetchone()[0] == ""
    assert len(pids) == 1, "one backend for all 121 clients"
    wait_until(lambda: backends(pg) == pids, 10)


@pytest.mark.lg_config(main={"default_pool_size": "1"})
def test_other_parameters_in_a_full_pool_replace_the_idle_server(lg, pg):
    """pool_size=1: the idle server opened for client A's parameters is closed and one is
    opened with B's; A's next client gets a server with A's values again."""
    a_opts = "-c DateStyle=Postgres,MDY -c TimeZone=PST8PDT"
    b_opts = "-c DateStyle=SQL,DMY -c TimeZone=Asia/Tokyo"
    with closing(conn3(lg, options=a_opts)) as a, a.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid_a = cur.fetchone()[0]
        assert settings(cur) == ("Postgres, MDY", "PST8PDT", "client", "client")
    with closing(conn3(lg, options=b_opts)) as b, b.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid_b = cur.fetchone()[0]
        assert pid_b != pid_a
        assert settings(cur) == ("SQL, DMY", "Asia/Tokyo", "client", "client")
        cur.execute("SET DateStyle = ISO")
        cur.execute("RESET DateStyle")
        assert settings(cur)[0] == "SQL, DMY"
        wait_until(lambda: backends(pg) == {pid_b}, 10, msg="A's server closed")
    with closing(conn3(lg, options=a_opts)) as a, a.cursor() as cur:
        assert settings(cur) == ("Postgres, MDY", "PST8PDT", "client", "client")
        cur.execute("SELECT pg_backend_pid()")
        pid_a2 = cur.fetchone()[0]
        assert pid_a2 not in (pid_a, pid_b)
    wait_until(lambda: backends(pg) == {pid_a2}, 10)


@pytest.mark.lg_config(main={"default_pool_size": "1"})
def test_waiter_with_other_parameters_gets_a_new_server_when_one_is_released(lg, pg):
    """Nothing idle: B waits; when A leaves, A's server is closed, not handed to B."""
    a = lg.conn(options="-c TimeZone=PST8PDT")
    with a.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid_a = cur.fetchone()[0]
    got = []

    def b_client():
        with closing(lg.conn(options="-c TimeZone=Asia/Tokyo")) as b, b.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            got.append((cur.fetchone()[0], settings(cur)[1::2]))

    t = threading.Thread(target=b_client)
    t.start()
    time.sleep(0.3)  # B is waiting (pool_size=1, A holds the server)
    assert not got
    a.close()
    t.join(15)
    assert got and got[0][0] != pid_a
    assert got[0][1] == ("Asia/Tokyo", "client")
    wait_until(lambda: len(backends(pg)) == 1, 10)


def test_startup_only_parameter_reaches_the_server(lg):
    """A PGC_BACKEND setting can only come in the startup packet: set_config refuses it
    after connection start (55P02)."""
    with closing(lg.conn(options="-c ignore_system_indexes=on")) as c, c.cursor() as cur:
        cur.execute("SHOW ignore_system_indexes")
        assert cur.fetchone()[0] == "on"


@pytest.mark.lg_config(main={"default_pool_size": "1"})
def test_clients_without_parameters_get_servers_opened_without(lg, pg):
    """A client that sends no parameters of its own does not get a server opened with
    another client's (whose values would be its RESET values), and such clients share
    the server opened with none."""
    def pid_and_sources(c):
        with c.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            return cur.fetchone()[0], settings(cur)[2:]

    with closing(conn3(lg)) as c:
        pid0, sources = pid_and_sources(c)
        assert sources == ("configuration file", "configuration file")
    with closing(conn3(lg, options="-c TimeZone=Asia/Tokyo")) as c:
        pid1, sources = pid_and_sources(c)
        assert pid1 != pid0 and sources == ("configuration file", "client")
    with closing(conn3(lg)) as c:
        pid2, sources = pid_and_sources(c)
        assert pid2 != pid1 and sources == ("configuration file", "configuration file")
        with c.cursor() as cur:
            cur.execute("RESET TimeZone")
            cur.execute("SHOW TimeZone")
            assert cur.fetchone()[0] != "Asia/Tokyo"
    for _ in range(5):
        with closing(conn3(lg)) as c:
            assert pid_and_sources(c)[0] == pid2
    wait_until(lambda: backends(pg) == {pid2}, 10)


def raw_login_error(lg, options):
    with closing(lg.raw(timeout=10)) as s:
        s.sendall(harness.startup_packet(
            {"user": "trustuser", "database": "p0", "options": options}))
        return harness.read_until_error(s)


@pytest.mark.lg_config(main={"default_pool_size": "1", "admin_users": "trustuser"})
def test_bad_startup_value_fails_only_its_client_and_causes_no_backoff(lg, pg):
    """The client gets PostgreSQL's own error for its value; a client waiting meanwhile
    with other parameters is not failed with it, and the next client is served at once
    (the pool is not backed off as if PostgreSQL were down)."""
    err = raw_login_error(lg, "-c DateStyle=bogus")
    assert (err["S"], err["C"]) == ("FATAL", "22023"), err
    assert "DateStyle" in err["M"]
    # a PGC_BACKEND parameter: what a direct connection says (set_config would say 55P02)
    err = raw_login_error(lg, "-c ignore_system_indexes=bogus")
    assert (err["C"], err["M"]) == ("22023", 'parameter "ignore_system_indexes" requires a'
                                             ' Boolean value'), err

    # A holds the only server; the bad client X queues, then B with other parameters.
    a = lg.conn()
    x = lg.raw(timeout=15)
    x.sendall(harness.startup_packet(
        {"user": "trustuser", "database": "p0", "options": "-c TimeZone=bogus/zone"}))

    def waiting():
        with closing(lg.conn(db="pgbouncer")) as adm, adm.cursor() as cur:
            cur.execute("SHOW POOLS")
            cols = [d[0] for d in cur.description]
            rows = [dict(zip(cols, r)) for r in cur.fetchall()]
            return sum(r["cl_waiting"] for r in rows if r["database"] == "p0")

    wait_until(lambda: waiting() == 1, 10)
    got = []

    def b_client():
        try:
            with closing(lg.conn(options="-c TimeZone=Asia/Tokyo")) as b, b.cursor() as cur:
                cur.execute("SHOW TimeZone")
                got.append(cur.fetchone()[0])
        except psycopg2.Error as e:
            got.append(e)

    t = threading.Thread(target=b_client)
    t.start()
    wait_until(lambda: waiting() == 2, 10)
    a.close()
    with closing(x):
        err = harness.read_until_error(x)
    assert err["C"] == "22023" and "TimeZone" in err["M"], err
    t.join(15)
    assert got == ["Asia/Tokyo"]
    started = time.monotonic()
    assert lg.sql("SELECT 1") == [(1,)]
    assert time.monotonic() - started < 2
    log = lg.log_text()
    assert "retrying in" not in log, "a client's bad value must not back the pool off"
    assert "bogus/zone" in log  # logged, with the client


@pytest.mark.lg_config(main={"default_pool_size": "1", "session_startup_parameters": "0"})
def test_switched_off_any_server_serves_any_client_with_set_config(lg):
    """session_startup_parameters = 0: the old way (one server for clients with different
    parameters, which are applied with set_config: source "session")."""
    with closing(conn3(lg, options="-c TimeZone=PST8PDT")) as a, a.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
        assert settings(cur)[1::2] == ("PST8PDT", "session")
    with closing(conn3(lg, options="-c TimeZone=Asia/Tokyo")) as b, b.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] == pid
        assert settings(cur)[1::2] == ("Asia/Tokyo", "session")


@pytest.mark.lg_config(main={"max_db_connections": "1", "query_wait_timeout": "5"})
def test_at_max_db_connections_an_idle_server_of_the_pool_makes_room(lg, pg):
    """pool_size 5 but max_db_connections 1: the pool's own idle server, opened with other
    parameters, is closed for the waiting client instead of leaving it to time out."""
    with closing(conn3(lg, options="-c TimeZone=PST8PDT")) as a, a.cursor() as cur:
        assert settings(cur)[1::2] == ("PST8PDT", "client")
    with closing(conn3(lg, options="-c TimeZone=Asia/Tokyo")) as b, b.cursor() as cur:
        assert settings(cur)[1::2] == ("Asia/Tokyo", "client")
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    wait_until(lambda: backends(pg) == {pid}, 10)
