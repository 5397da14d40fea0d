"""The command line: --version, --help, and configs that must be refused with
file:line diagnostics."""

import os
import re
from contextlib import closing

import pytest

import harness

pytestmark = pytest.mark.lifeguard_only


def test_version_exits_0_and_names_lifeguard():
    res = harness.run_binary(["--version"])
    assert res.returncode == 0, res.stderr
    assert re.search(r"lifeguard\s+\S*\d", res.stdout + res.stderr), res.stdout


def test_help_exits_0_and_shows_usage():
    res = harness.run_binary(["--help"])
    assert res.returncode == 0, res.stderr
    assert "usage" in (res.stdout + res.stderr).lower()


def test_unknown_option_exits_nonzero():
    res = harness.run_binary(["--no-such-option"])
    assert res.returncode != 0


def test_missing_config_file_exits_nonzero(tmp_path):
    missing = tmp_path / "missing.ini"
    res = harness.run_binary([str(missing)])
    assert res.returncode != 0
    assert str(missing) in res.stderr


def test_bad_config_reports_every_error_with_file_and_line(tmp_path):
    ini = tmp_path / "bad.ini"
    ini.write_text(
        "[lifeguard]\n"                    # 1
        "listen_port = not-a-number\n"     # 2
        "no_such_key = 1\n"                # 3
        "pool_mode = sometimes\n"          # 4
        "[databases]\n"                    # 5
        "p0 = host=127.0.0.1 port=1\n"     # 6
    )
    res = harness.run_binary([str(ini)])
    assert res.returncode != 0
    for line in (2, 3, 4):
        assert re.search(rf"^{re.escape(str(ini))}:{line}: error: ", res.stderr, re.M), res.stderr


def test_non_ini_file_is_an_error_on_line_1(tmp_path):
    """A file that is not ini at all is an error on its first line."""
    ini = tmp_path / "garbage.ini"
    ini.write_text("this is not an ini file\n")
    res = harness.run_binary([str(ini)])
    assert res.returncode != 0
    assert re.search(rf"^{re.escape(str(ini))}:1: error: ", res.stderr, re.M), res.stderr


def test_pgbouncer_section_name_is_accepted(make_lg):
    """An existing pgbouncer.ini ([pgbouncer] section) starts lifeguard as is."""
    lg = make_lg(start=False)
    text = lg.ini_path.read_text().replace("[lifeguard]", "[pgbouncer]")
    lg.ini_path.write_text(text)
    lg.start()
    assert lg.sql("SELECT 1") == [(1,)]


def test_sigint_exits_0(make_lg):
    import signal

    lg = make_lg()
    lg.signal(signal.SIGINT)
    assert lg.proc.wait(timeout=15 * harness.SLOW) == 0


def _wait_gone(pid, timeout):
    import os
    import time

    end = time.monotonic() + timeout
    while time.monotonic() < end:
        try:
            os.kill(pid, 0)
        except ProcessLookupError:
            return True
        time.sleep(0.05)
    return False


def test_daemon_mode_exits_0_once_serving_and_stops_by_pidfile(make_lg):
    """PgBouncer's -d (its own test suite starts the pooler that way): the command returns
    0 once the pooler serves, the pidfile names the background process, SIGTERM stops it
    and removes the pidfile."""
    import os
    import signal

    lg = make_lg(start=False)
    pidfile = lg.workdir / "lg.pid"
    logfile = lg.workdir / "lg-daemon.log"
    lg.config["main"]["pidfile"] = str(pidfile)
    lg.config["main"]["logfile"] = str(logfile)
    lg.write_config()
    res = harness.run_binary(["-d", str(lg.ini_path)], timeout=20)
    assert res.returncode == 0, res.stderr
    pid = int(pidfile.read_text().split()[0])
    try:
        assert lg.sql("SELECT 1") == [(1,)]  # serving when -d returned
        assert "started" in logfile.read_text()
    finally:
        os.kill(pid, signal.SIGTERM)
    assert _wait_gone(pid, 15 * harness.SLOW)
    assert not pidfile.exists()


def test_daemon_mode_reports_a_failed_start_in_its_exit_status(make_lg):
    import socket

    lg = make_lg(start=False)
    lg.config["main"]["pidfile"] = str(lg.workdir / "lg.pid")
    lg.write_config()
    res = harness.run_binary(["-d", str(lg.ini_path)])
    assert res.returncode != 0 and "logfile" in res.stderr, res.stderr  # required, as PgBouncer
    lg.config["main"]["logfile"] = str(lg.workdir / "lg-daemon.log")
    lg.write_config()
    with socket.socket() as busy:  # the port is taken: the background child cannot listen
        busy.setsockopt(socket.SOL_SOCKET, socket.SO_REUSEADDR, 1)
        busy.bind((lg.host, lg.port))
        busy.listen()
        res = harness.run_binary(["-d", str(lg.ini_path)], timeout=20)
    assert res.returncode == 1, (res.returncode, res.stderr)
    assert "cannot listen" in res.stderr, res.stderr
    assert harness.run_binary(["-R", str(lg.ini_path)]).returncode != 0


def _uid_of(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("Uid:"):
                return [int(x) for x in line.split()[1:]]
    raise AssertionError("no Uid line")


@pytest.mark.skipif(os.geteuid() != 0, reason="needs root to start as root")
def test_user_setting_drops_root_once_listening(make_lg):
    """PgBouncer's `user`: started as root, lifeguard listens (a port below 1024 would
    need it), then becomes that Unix user for good (real, effective and saved uid), and
    serves as before. It was ignored with a warning: lifeguard stayed root."""
    import pwd

    pg_uid = pwd.getpwnam("postgres").pw_uid
    lg = make_lg(main={"user": "postgres"})
    assert _uid_of(lg.proc.pid) == [pg_uid] * 4
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    assert "not implemented by lifeguard" not in lg.log_text()


def test_user_setting_naming_no_unix_user_stops_the_start(make_lg):
    lg = make_lg(start=False, main={"user": "no_such_unix_user_lg"})
    res = harness.run_binary([str(lg.ini_path)], timeout=20)
    assert res.returncode != 0
    assert "user = no_such_unix_user_lg: no such Unix user" in res.stderr, res.stderr


@pytest.mark.skipif(os.geteuid() == 0, reason="as root the switch itself is tested")
def test_user_setting_as_another_user(make_lg):
    """Not started as root (the harness runs as postgres): naming the user we already are
    is fine, and any other user stops the start with the reason (only root can switch)."""
    import pwd

    me = pwd.getpwuid(os.geteuid()).pw_name
    lg = make_lg(main={"user": me})
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    lg2 = make_lg(start=False, main={"user": "root"})
    res = harness.run_binary([str(lg2.ini_path)], timeout=20)
    assert res.returncode != 0
    assert "which cannot become another user" in res.stderr, res.stderr
