"""TLS to clients: sslmode=require/prefer, plaintext refused when required, Unix-socket
clients exempt, large results and COPY over TLS, garbage handshakes contained."""

import io
import socket
import struct
from contextlib import closing

import psycopg2
import pytest

import harness


@pytest.fixture(scope="module")
def certs(tmp_path_factory):
    d = tmp_path_factory.mktemp("tls")
    harness.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                 str(d / "key.pem"), "-out", str(d / "cert.pem"), "-days", "2", "-subj",
                 "/CN=localhost"])
    return d


def tls_main(certs, mode):
    return {"client_tls_sslmode": mode, "client_tls_cert_file": str(certs / "cert.pem"),
            "client_tls_key_file": str(certs / "key.pem")}


pytestmark = pytest.mark.lifeguard_only


def test_require_serves_tls_and_refuses_plaintext(make_lg, certs):
    lg = make_lg(main=tls_main(certs, "require"))
    with closing(lg.conn(sslmode="require")) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    with pytest.raises(psycopg2.OperationalError) as ei:
        lg.conn(sslmode="disable")
    assert "SSL required" in str(ei.value)
    # Unix-socket clients are exempt, as in PostgreSQL
    with closing(lg.conn(host=str(lg.sockdir))) as c, c.cursor() as cur:
        cur.execute("SELECT 2")
        assert cur.fetchone() == (2,)


def test_large_result_and_copy_over_tls(make_lg, certs):
    lg = make_lg(main={**tls_main(certs, "prefer"), "pool_mode": "transaction"})
    with closing(lg.conn(sslmode="require", autocommit=False)) as c, c.cursor() as cur:
        cur.execute("SELECT repeat('y', 10 * 1024 * 1024)")
        assert len(cur.fetchone()[0]) == 10 * 1024 * 1024
        cur.execute("CREATE TEMP TABLE t (i int, s text)")
        data = "".join(f"{i}\t{'z' * 100}\n" for i in range(200_000))
        cur.copy_expert("COPY t FROM STDIN", io.StringIO(data))
        out = io.StringIO()
        cur.copy_expert("COPY t TO STDOUT", out)
        assert out.getvalue() == data
        c.commit()


def test_garbage_instead_of_a_client_hello_is_contained(make_lg, certs):
    lg = make_lg(main=tls_main(certs, "prefer"))
    with closing(socket.create_connection((lg.host, lg.port), timeout=5)) as s:
        s.sendall(struct.pack("!II", 8, 80877103))
        assert s.recv(1) == b"S"
        s.sendall(b"this is not a TLS ClientHello at all\r\n" * 10)
        s.settimeout(5)
        try:
            rest = s.recv(100)
        except ConnectionResetError:
            rest = b""
        assert b"FATAL" not in rest  # closed, possibly with a TLS alert
    with closing(lg.conn(sslmode="require")) as c, c.cursor() as cur:
        cur.execute("SELECT 3")
        assert cur.fetchone() == (3,)
    # plaintext bytes sent right behind the SSLRequest are refused
    with closing(socket.create_connection((lg.host, lg.port), timeout=5)) as s:
        s.sendall(struct.pack("!II", 8, 80877103) + b"early bytes")
        reply = s.recv(200)
        assert reply[:1] == b"E" and b"unencrypted data after SSL request" in reply


def enable_server_ssl(pg, certs):
    import os
    os.chmod(certs / "key.pem", 0o600)
    with closing(pg.conn()) as c, c.cursor() as cur:
        cur.execute("ALTER SYSTEM SET ssl_cert_file = %s", (str(certs / "cert.pem"),))
        cur.execute("ALTER SYSTEM SET ssl_key_file = %s", (str(certs / "key.pem"),))
        cur.execute("ALTER SYSTEM SET ssl = on")
        cur.execute("SELECT pg_reload_conf()")
    harness.wait_until(lambda: pg.sql("SHOW ssl")[0][0] == "on", 10)


def test_tls_to_the_server_with_verify_ca(make_lg, pg, certs):
    enable_server_ssl(pg, certs)
    lg = make_lg(main={"server_tls_sslmode": "verify-ca",
                       "server_tls_ca_file": str(certs / "cert.pem")})
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT ssl FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert cur.fetchone() == (True,)
        cur.execute("SELECT repeat('q', 5000000)")
        assert len(cur.fetchone()[0]) == 5000000
    # verify-full checks the host name: the certificate says CN=localhost, we dial 127.0.0.1
    lg2 = make_lg(main={"server_tls_sslmode": "verify-full", "query_wait_timeout": "2",
                        "server_tls_ca_file": str(certs / "cert.pem")})
    with pytest.raises(psycopg2.OperationalError):
        lg2.conn()


def presented_cn(lg):
    res = harness.run(["openssl", "s_client", "-starttls", "postgres", "-connect",
                       f"{lg.host}:{lg.port}", "-brief"], check=False, timeout=20)
    return res.stdout + res.stderr


def test_reload_picks_up_renewed_certificates(make_lg, certs, tmp_path):
    lg = make_lg(main={**tls_main(certs, "prefer"), "admin_users": "trustuser"})
    assert "CN = localhost" in presented_cn(lg) or "CN=localhost" in presented_cn(lg)
    harness.run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout",
                 str(tmp_path / "k2.pem"), "-out", str(tmp_path / "c2.pem"), "-days", "2",
                 "-subj", "/CN=renewed.example"])
    lg.config["main"]["client_tls_cert_file"] = str(tmp_path / "c2.pem")
    lg.config["main"]["client_tls_key_file"] = str(tmp_path / "k2.pem")
    lg.write_config()
    with closing(lg.conn(db="pgbouncer")) as a, a.cursor() as cur:
        cur.execute("RELOAD")
    out = presented_cn(lg)
    assert "renewed.example" in out, out[-2000:]


@pytest.fixture(scope="module")
def client_ca(tmp_path_factory):
    """A CA, and client certificates for trustuser and for someone else."""
    d = tmp_path_factory.mktemp("ca")
    run = harness.run
    run(["openssl", "req", "-x509", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / "ca.key"),
         "-out", str(d / "ca.pem"), "-days", "2", "-subj", "/CN=test CA"])
    for who in ("trustuser", "mallory"):
        run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(d / f"{who}.key"),
             "-out", str(d / f"{who}.csr"), "-subj", f"/CN={who}"])
        run(["openssl", "x509", "-req", "-in", str(d / f"{who}.csr"), "-CA", str(d / "ca.pem"),
             "-CAkey", str(d / "ca.key"), "-CAcreateserial", "-out", str(d / f"{who}.pem"),
             "-days", "2"])
        (d / f"{who}.key").chmod(0o600)
    return d


def test_auth_type_cert_maps_the_certificate_cn_to_the_user(make_lg, certs, client_ca):
    lg = make_lg(main={**tls_main(certs, "verify-ca"), "auth_type": "cert",
                       "client_tls_ca_file": str(client_ca / "ca.pem")})
    good = dict(sslmode="require", sslcert=str(client_ca / "trustuser.pem"),
                sslkey=str(client_ca / "trustuser.key"))
    with closing(lg.conn(**good)) as c, c.cursor() as cur:
        cur.execute("SELECT current_user")
        assert cur.fetchone() == ("trustuser",)
    with pytest.raises(psycopg2.OperationalError) as ei:
        lg.conn(sslmode="require", sslcert=str(client_ca / "mallory.pem"),
                sslkey=str(client_ca / "mallory.key"))
    assert "certificate authentication failed" in str(ei.value)
    with pytest.raises(psycopg2.OperationalError):
        lg.conn(sslmode="require")  # no client certificate: the handshake fails


def test_clients_can_verify_lifeguard_with_verify_full(make_lg, certs):
    lg = make_lg(main=tls_main(certs, "require"))
    dsn = lg.dsn(host="localhost", sslmode="verify-full", sslrootcert=str(certs / "cert.pem"))
    with closing(psycopg2.connect(dsn)) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    env = harness.clean_env()
    out = harness.run([harness.PG_BIN / "psql", "-X", "-At", "-d", dsn, "-c", "SELECT 'psql'"],
                      env=env).stdout.strip()
    assert out == "psql"
    # the wrong name fails verification
    bad = lg.dsn(host="127.0.0.1", sslmode="verify-full", sslrootcert=str(certs / "cert.pem"))
    with pytest.raises(psycopg2.OperationalError):
        psycopg2.connect(bad)
