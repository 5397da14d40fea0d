"""Startup parameters reach the server as the client asked: PGOPTIONS (-c and --name),
list-valued settings, values that need quoting; unsupported switches are refused."""

from contextlib import closing

import psycopg2
import pytest

import harness


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_pgoptions_settings_apply_on_the_server(make_lg, mode):
    lg = make_lg(main={"pool_mode": mode, "default_pool_size": "1"})
    env = harness.clean_env(PGOPTIONS="-c work_mem=33MB --statement-timeout=5s "
                                      "-c search_path=public,pg_catalog")
    out = harness.run([harness.PG_BIN / "psql", "-X", "-At", "-d", lg.dsn(),
                       "-c", "SHOW work_mem", "-c", "SHOW statement_timeout",
                       "-c", "SHOW search_path"], env=env).stdout.split()
    assert out == ["33MB", "5s", "public,pg_catalog"]
    # the next client on the same server does not inherit them in session mode
    if mode == "session":
        assert lg.psql("SHOW work_mem").stdout.strip() != "33MB"


def test_application_name_with_quotes_and_backslashes_arrives_intact(lg):
    name = "it's a \\test"
    env = harness.clean_env(PGAPPNAME=name)
    out = harness.run([harness.PG_BIN / "psql", "-X", "-At", "-d", lg.dsn(),
                       "-c", "SHOW application_name"], env=env).stdout.strip()
    assert out == name


def test_unsupported_option_switch_is_refused_with_08p01(lg):
    env = harness.clean_env(PGOPTIONS="-d 5")
    res = harness.run([harness.PG_BIN / "psql", "-X", "-At", "-d", lg.dsn(), "-c", "SELECT 1"],
                      env=env, check=False)
    assert res.returncode != 0
    assert "only -c name=value" in res.stderr


@pytest.mark.lg_config(main={"max_packet_size": "2048"})
def test_message_over_max_packet_size_gets_08p01_and_nothing_else_notices(lg):
    with pytest.raises(Exception) as ei:
        with lg.conn() as c, c.cursor() as cur:
            cur.execute("SELECT '" + "x" * 5000 + "'")
    assert "max_packet_size" in str(ei.value) or "closed" in str(ei.value)
    assert "max_packet_size" in lg.log_text()
    assert lg.psql("SELECT 42").stdout.strip() == "42"


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_connect_query_runs_on_each_new_server_before_any_client(make_lg, pg, mode):
    """[databases] connect_query (PgBouncer's; its test_connect_query): run once on every
    new server connection before a client gets it. It was accepted and ignored. A failing
    connect_query closes that server (the pool backs off), never hands it out."""
    q = "host=@PGHOST@ port=@PGPORT@ dbname=p0 connect_query='set enable_seqscan=off; " \
        "set enable_nestloop=off'"
    lg = make_lg(main={"pool_mode": mode, "default_pool_size": "2", "query_wait_timeout": "3"},
                 databases={"cq": q,
                            "cqbad": "host=@PGHOST@ port=@PGPORT@ dbname=p0 "
                                     "connect_query='select nosuchcolumn'"})
    # Session mode's server_reset_query (DISCARD ALL) undoes connect_query's SETs for the
    # next client of that server, as in PgBouncer: only the first client is checked there.
    for _ in range(3 if mode == "transaction" else 1):
        with closing(lg.conn(db="cq")) as c, c.cursor() as cur:
            cur.execute("SHOW enable_seqscan")
            assert cur.fetchone() == ("off",)
            cur.execute("SHOW enable_nestloop")
            assert cur.fetchone() == ("off",)
    with pytest.raises(psycopg2.Error) as ei:
        with closing(lg.conn(db="cqbad", connect_timeout=10)) as c, c.cursor() as cur:
            cur.execute("SELECT 1")
    assert "connect_query failed" in lg.log_text()
    assert "nosuchcolumn" in lg.log_text()


DB_PARAMS = ("host=@PGHOST@ port=@PGPORT@ dbname=p0 timezone=Asia/Tokyo "
             "datestyle='ISO, DMY' client_encoding=LATIN1")
SHOW_THREE = ("SELECT current_setting('TimeZone'), current_setting('DateStyle'), "
              "current_setting('client_encoding')")


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_database_entry_sets_its_servers_startup_parameters(make_lg, mode):
    """[databases] timezone=, datestyle=, client_encoding= (PgBouncer's): the servers of
    that database log in with them, so a client that sends none sees them (in the
    ParameterStatus of its login too); a client that sends its own gets its own. They were
    accepted with a warning and ignored."""
    lg = make_lg(main={"pool_mode": mode}, databases={"tzdb": DB_PARAMS})
    with closing(lg.conn(db="tzdb")) as c, c.cursor() as cur:
        assert c.get_parameter_status("TimeZone") == "Asia/Tokyo"
        cur.execute(SHOW_THREE)
        assert cur.fetchone() == ("Asia/Tokyo", "ISO, DMY", "LATIN1")
    with closing(lg.conn(db="tzdb", options="-c TimeZone=UTC")) as c, c.cursor() as cur:
        cur.execute(SHOW_THREE)
        assert cur.fetchone() == ("UTC", "ISO, DMY", "LATIN1")
    with closing(lg.conn(db="p0")) as c, c.cursor() as cur:  # other databases: untouched
        cur.execute("SELECT current_setting('DateStyle')")
        assert cur.fetchone() == ("ISO, MDY",)
    assert "not implemented by lifeguard" not in lg.log_text()
