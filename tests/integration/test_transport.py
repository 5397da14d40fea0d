"""How clients reach the pooler: TCP and its Unix socket; SSL and GSS
encryption requests are declined ('N') and the login goes on in plaintext."""

import struct
from contextlib import closing

import psycopg2
import pytest

import harness


def test_unix_socket_with_psql(lg):
    res = lg.psql("SELECT current_database(), 40 + 2", host=str(lg.sockdir), sslmode=None)
    assert res.stdout.strip() == "p0|42"


def test_unix_socket_with_psql_host_and_port_flags(lg):
    env = harness.clean_env()
    res = harness.run(
        [harness.PG_BIN / "psql", "-X", "-At", "-h", lg.sockdir, "-p", lg.port,
         "-U", "trustuser", "-d", "p1", "-c", "SELECT current_user"],
        env=env,
        timeout=30,
    )
    assert res.stdout.strip() == "trustuser"


def test_unix_socket_with_psycopg2(lg):
    with closing(lg.conn(host=str(lg.sockdir), sslmode=None)) as c, c.cursor() as cur:
        cur.execute("SELECT 'unix'")
        assert cur.fetchone()[0] == "unix"


@pytest.mark.parametrize("code", [harness.SSL_REQUEST_CODE, harness.GSSENC_REQUEST_CODE],
                         ids=["ssl", "gssenc"])
def test_encryption_request_answered_N_then_login_proceeds(lg, code):
    with closing(lg.raw()) as s:
        s.sendall(harness.request_packet(code))
        assert harness.recv_exact(s, 1) == b"N"
        harness.login_trust(s)
        rows = harness.simple_query(s, "SELECT 'after N'")
        assert len(rows) == 1 and rows[0].endswith(b"after N")
        s.sendall(harness.TERMINATE)


def test_ssl_then_gssenc_requests_both_declined(lg):
    with closing(lg.raw()) as s:
        s.sendall(harness.request_packet(harness.GSSENC_REQUEST_CODE))
        assert harness.recv_exact(s, 1) == b"N"
        s.sendall(harness.request_packet(harness.SSL_REQUEST_CODE))
        assert harness.recv_exact(s, 1) == b"N"
        harness.login_trust(s)
        s.sendall(harness.TERMINATE)


def test_psql_sslmode_prefer_connects_without_tls(lg):
    res = lg.psql("SELECT 1", sslmode="prefer")
    assert res.stdout.strip() == "1"


def test_psql_sslmode_require_fails(lg):
    res = lg.psql("SELECT 1", sslmode="require", check=False)
    assert res.returncode != 0
    assert "SSL" in res.stderr, res.stderr
    # and the pooler still serves plaintext clients
    assert lg.psql("SELECT 2").stdout.strip() == "2"


def test_psycopg2_sslmode_require_fails(lg):
    with pytest.raises(psycopg2.OperationalError, match="SSL"):
        lg.conn(sslmode="require").close()


def test_psycopg2_gssencmode_prefer_connects(lg):
    with closing(lg.conn(gssencmode="prefer", sslmode="prefer")) as c, c.cursor() as cur:
        cur.execute("SELECT 3")
        assert cur.fetchone()[0] == 3


def test_startup_parameters_reach_the_server(lg):
    with closing(lg.conn(application_name="lg-app")) as c:
        with c.cursor() as cur:
            cur.execute("SELECT current_setting('application_name')")
            assert cur.fetchone()[0] == "lg-app"
        assert c.get_parameter_status("server_version").startswith("15")
        assert c.get_parameter_status("client_encoding") == "UTF8"


def test_backend_key_data_is_sent(lg):
    with closing(lg.raw()) as s:
        s.sendall(harness.startup_packet({"user": "trustuser", "database": "p0"}))
        types = []
        while True:
            mtype, payload = harness.read_message(s)
            types.append(mtype)
            if mtype == b"K":
                assert len(payload) == 8
                struct.unpack("!ii", payload)
            if mtype == b"Z":
                break
        assert types[0] == b"R" and b"K" in types and b"S" in types
        s.sendall(harness.TERMINATE)


def test_host_list_spreads_connections_and_survives_a_dead_entry(make_lg, pg):
    """host=a,b (PgBouncer 1.17's host lists): new server connections take the entries in
    turn; a dead entry costs one failed attempt, then the next one serves. It used to be
    passed whole to the resolver and never connected."""
    lg = make_lg(main={"pool_mode": "session", "default_pool_size": "4",
                       "server_login_retry": "0.1", "query_wait_timeout": "20"},
                 databases={"hl": f"host={pg.host},{pg.host} port={pg.port} dbname=p0",
                            "hldead": f"host=127.0.0.2,{pg.host} port={pg.port} dbname=p0"})
    conns = [lg.conn(db="hl") for _ in range(3)]
    try:
        for c in conns:
            with c.cursor() as cur:
                cur.execute("SELECT 1")
    finally:
        for c in conns:
            c.close()
    log = lg.log_text()
    assert "could not connect" not in log and "connect failed" not in log, log[-2000:]
    with closing(lg.conn(db="hldead")) as c, c.cursor() as cur:
        cur.execute("SELECT current_database()")
        assert cur.fetchone() == ("p0",)
