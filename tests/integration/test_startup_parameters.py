"""Startup parameters reach the server as the client asked: PGOPTIONS (-c and --name),
list-valued settings, values that need quoting; unsupported switches are refused."""

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
