"""auth_type = hba: pg_hba.conf rules decide per connection (first match), with reject,
trust, md5/scram-sha-256 and peer on the Unix socket."""

import getpass
from contextlib import closing

import psycopg2
import pytest

import harness

pytestmark = pytest.mark.lifeguard_only


def hba_lg(make_lg, tmp_path, rules):
    f = tmp_path / "hba.conf"
    f.write_text(rules)
    return make_lg(main={"auth_type": "hba", "auth_hba_file": str(f)})


def test_first_matching_rule_decides(make_lg, tmp_path):
    me = getpass.getuser()  # the tests run as the postgres OS user
    lg = hba_lg(make_lg, tmp_path, f"""
# TYPE  DATABASE USER       ADDRESS       METHOD
host    p1       all        127.0.0.1/32  reject
host    all      trustuser  127.0.0.1/32  trust
host    all      md5user    0.0.0.0/0     md5
local   all      {me}       peer
local   all      all        reject
""")
    with closing(lg.conn()) as c, c.cursor() as cur:  # trustuser over TCP: trust
        cur.execute("SELECT 1")
    with pytest.raises(psycopg2.OperationalError) as ei:
        lg.conn(db="p1")
    assert "pg_hba.conf rejects connection" in str(ei.value)
    with pytest.raises(psycopg2.OperationalError):
        lg.conn(user="md5user", password="wrong")
    with closing(lg.conn(user="md5user", password=harness.PASSWORDS["md5user"])) as c:
        pass
    with pytest.raises(psycopg2.OperationalError) as ei:
        lg.conn(user="scramuser", password=harness.PASSWORDS["scramuser"])
    assert "no pg_hba.conf entry" in str(ei.value)
    # Unix socket: peer checks the OS user behind the socket
    with pytest.raises(psycopg2.OperationalError) as ei:
        lg.conn(host=str(lg.sockdir))  # trustuser != OS user, falls to "reject"
    assert "rejects" in str(ei.value) or "peer" in str(ei.value)
    with closing(lg.conn(host=str(lg.sockdir), user=me, db="postgres")) as c, c.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone()[0] == me, "peer: the OS user matches"


def test_bad_hba_file_stops_startup_with_file_and_line(tmp_path):
    f = tmp_path / "hba.conf"
    f.write_text("host all all 10.0.0.1/33 trust\nbogus all all md5\n")
    ini = tmp_path / "lg.ini"
    ini.write_text(f"[databases]\n* = host=127.0.0.1\n[lifeguard]\nauth_type = hba\n"
                   f"auth_hba_file = {f}\nlisten_addr = 127.0.0.1\nunix_socket_dir =\n")
    res = harness.run_binary(["--check", str(ini)])
    # --check validates the ini only; starting it must fail on the rules
    res = harness.run_binary([str(ini)], timeout=10)
    assert res.returncode != 0
    assert f"{f}:1: error: invalid CIDR mask" in res.stderr
    assert f"{f}:2: error: unknown connection type" in res.stderr
