"""TLS to clients: sslmode=require/prefer, plaintext refused when required, Unix-socket
clients exempt, large results and COPY over TLS, garbage handshakes contained."""

import io
import re
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


def test_show_clients_and_servers_name_the_tls_version_and_cipher(make_lg, pg, certs):
    """SHOW CLIENTS/SERVERS' tls column, as PgBouncer fills it: protocol/cipher of the
    connection, empty without TLS."""
    enable_server_ssl(pg, certs)
    lg = make_lg(main={**tls_main(certs, "prefer"), "server_tls_sslmode": "require",
                       "admin_users": "trustuser"})
    with closing(lg.conn(sslmode="require")) as c, c.cursor() as cur, \
            closing(lg.conn(sslmode="disable")) as plain, plain.cursor() as pcur:
        cur.execute("SELECT 1")
        pcur.execute("SELECT 1")
        with closing(lg.conn(db="pgbouncer", sslmode="disable")) as a, a.cursor() as ac:
            ac.execute("SHOW CLIENTS")
            cols = [d[0] for d in ac.description]
            rows = [dict(zip(cols, r)) for r in ac.fetchall() if r[cols.index("database")] == "p0"]
            tls = sorted(r["tls"] for r in rows)
            assert len(tls) == 2 and tls[0] == "" and tls[1].startswith("TLSv1."), tls
            assert "/" in tls[1], tls
            ac.execute("SHOW SERVERS")
            cols = [d[0] for d in ac.description]
            tls = [dict(zip(cols, r))["tls"] for r in ac.fetchall()]
            assert tls and all(t.startswith("TLSv1.") for t in tls), tls


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


# ---- protocols, ciphers, groups and lifeguard's own certificate (PgBouncer's settings) ----

def s_client(lg, *args):
    """openssl s_client through lifeguard's SSLRequest; (handshake succeeded, output)."""
    res = harness.run(["openssl", "s_client", "-starttls", "postgres", "-connect",
                       f"{lg.host}:{lg.port}", "-brief", *args], check=False, timeout=20)
    out = res.stdout + res.stderr
    return "CONNECTION ESTABLISHED" in out, out


def test_client_tls_protocols_tlsv13_refuses_tls12(make_lg, certs):
    lg = make_lg(main={**tls_main(certs, "require"), "client_tls_protocols": "tlsv1.3"})
    ok, out = s_client(lg, "-tls1_2")
    assert not ok, out
    ok, out = s_client(lg, "-tls1_3")
    assert ok and "Protocol version: TLSv1.3" in out, out
    # libpq too: capped at TLS 1.2 it is refused, otherwise it gets 1.3
    with pytest.raises(psycopg2.OperationalError):
        lg.conn(sslmode="require", ssl_max_protocol_version="TLSv1.2")
    with closing(lg.conn(sslmode="require")) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    # "legacy" (with OpenSSL 3's security level lowered, as TLS 1.1 needs) serves TLS 1.1;
    # the same ciphers under the default, "secure", still refuse it
    weak = {"client_tls_ciphers": "DEFAULT:@SECLEVEL=0"}
    lg2 = make_lg(main={**tls_main(certs, "require"), **weak, "client_tls_protocols": "legacy"})
    ok, out = s_client(lg2, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
    assert ok and "Protocol version: TLSv1.1" in out, out
    lg3 = make_lg(main={**tls_main(certs, "require"), **weak})
    ok, out = s_client(lg3, "-tls1_1", "-cipher", "DEFAULT:@SECLEVEL=0")
    assert not ok, out
    ok, out = s_client(lg3, "-tls1_2")
    assert ok and "Protocol version: TLSv1.2" in out, out


def test_client_tls_ciphers_pick_the_tls12_cipher(make_lg, certs):
    lg = make_lg(main={**tls_main(certs, "require"), "client_tls_protocols": "tlsv1.2",
                       "client_tls_ciphers": "ECDHE-RSA-AES128-GCM-SHA256"})
    ok, out = s_client(lg)
    assert ok and "Ciphersuite: ECDHE-RSA-AES128-GCM-SHA256" in out, out
    ok, out = s_client(lg, "-cipher", "ECDHE-RSA-AES256-GCM-SHA384")
    assert not ok, out
    with closing(lg.conn(sslmode="require")) as c, c.cursor() as cur:
        cur.execute("SELECT 2")
        assert cur.fetchone() == (2,)


def test_client_tls13_ciphers_and_ecdhcurve(make_lg, certs):
    lg = make_lg(main={**tls_main(certs, "require"),
                       "client_tls13_ciphers": "TLS_AES_128_GCM_SHA256",
                       "client_tls_ecdhcurve": "secp384r1"})
    ok, out = s_client(lg, "-tls1_3")
    assert ok and "Ciphersuite: TLS_AES_128_GCM_SHA256" in out, out
    assert "secp384r1" in out, out
    ok, out = s_client(lg, "-tls1_3", "-ciphersuites", "TLS_AES_256_GCM_SHA384")
    assert not ok, out
    ok, out = s_client(lg, "-groups", "X25519")
    assert not ok, out


@pytest.mark.parametrize("dhe", ["auto", "none"])
def test_client_tls_dheparams_offers_or_refuses_dhe_suites(make_lg, certs, dhe):
    """PgBouncer's client_tls_dheparams: auto (the default) lets a TLS 1.2 client that
    offers only DHE suites in, with a 2048-bit or larger group; none refuses it, while
    ECDHE still works."""
    lg = make_lg(main={**tls_main(certs, "require"), "client_tls_protocols": "tlsv1.2",
                       "client_tls_dheparams": dhe})
    ok, out = s_client(lg, "-cipher", "DHE-RSA-AES128-GCM-SHA256")
    if dhe == "auto":
        assert ok and "Ciphersuite: DHE-RSA-AES128-GCM-SHA256" in out, out
        m = re.search(r"Server Temp Key: DH, (\d+) bits", out)
        assert m and int(m.group(1)) >= 2048, out
    else:
        assert not ok, out
    ok, out = s_client(lg, "-cipher", "ECDHE-RSA-AES128-GCM-SHA256")
    assert ok, out
    with closing(lg.conn(sslmode="require")) as c, c.cursor() as cur:
        cur.execute("SELECT 1")


@pytest.mark.parametrize("key,value", [
    ("client_tls_protocols", "tlsv1.2,tlsv1.4"),
    ("client_tls_ciphers", "NO-SUCH-CIPHER"),
    ("client_tls13_ciphers", "TLS_AES_128_GCM_SHA256:TLS_NOPE"),
    ("client_tls_ecdhcurve", "nocurve"),
    ("client_tls_dheparams", "ffdhe9000"),
    ("client_tls_dheparams", "legacy"),  # 1024-bit: refused at OpenSSL's security level 2
    ("server_tls_protocols", "sslv3"),
    ("server_tls_ciphers", "NO-SUCH-CIPHER"),  # checked though server TLS is off
])
def test_a_bad_value_stops_startup_naming_the_key(make_lg, certs, key, value):
    lg = make_lg(start=False, main={**tls_main(certs, "prefer"), key: value})
    rc, log = lg.run_until_exit()
    assert rc != 0
    assert f"{key} = {value}" in log, log


def test_reload_applies_protocols_and_keeps_them_on_a_bad_value(make_lg, certs):
    lg = make_lg(main={**tls_main(certs, "prefer"), "client_tls_protocols": "tlsv1.3"})
    assert not s_client(lg, "-tls1_2")[0]

    def reload():
        lg.write_config()
        with closing(lg.conn(db="pgbouncer", user=harness.SUPERUSER)) as a, a.cursor() as cur:
            cur.execute("RELOAD")

    lg.config["main"]["client_tls_protocols"] = "tlsv1.2"
    lg.config["main"]["client_tls_ciphers"] = "NO-SUCH-CIPHER"
    with pytest.raises(psycopg2.Error) as ei:
        reload()
    assert "RELOAD failed" in str(ei.value)
    assert "client_tls_ciphers = NO-SUCH-CIPHER" in lg.log_text()
    assert not s_client(lg, "-tls1_2")[0]  # the old settings stay
    assert s_client(lg, "-tls1_3")[0]

    lg.config["main"]["client_tls_ciphers"] = "ECDHE-RSA-AES256-GCM-SHA384"
    reload()
    ok, out = s_client(lg, "-tls1_2")
    assert ok and "Ciphersuite: ECDHE-RSA-AES256-GCM-SHA384" in out, out
    assert not s_client(lg, "-tls1_3")[0]

    # console SET rebuilds the context too, and refuses what OpenSSL refuses
    with closing(lg.conn(db="pgbouncer", user=harness.SUPERUSER)) as a, a.cursor() as cur:
        with pytest.raises(psycopg2.Error) as ei:
            cur.execute("SET client_tls_ciphers = 'NO-SUCH-CIPHER'")
        assert "client_tls_ciphers" in str(ei.value)
        cur.execute("SET client_tls_protocols = 'tlsv1.3'")
    assert not s_client(lg, "-tls1_2")[0]
    assert s_client(lg, "-tls1_3")[0]


def pg_set(pg, **settings):
    """ALTER SYSTEM SET (None resets) and reload."""
    with closing(pg.conn()) as c, c.cursor() as cur:
        for k, v in settings.items():
            if v is None:
                cur.execute(f"ALTER SYSTEM RESET {k}")
            else:
                cur.execute(f"ALTER SYSTEM SET {k} = %s", (v,))
        cur.execute("SELECT pg_reload_conf()")


def test_server_tls_protocols_and_ciphers_towards_postgres(make_lg, pg, certs):
    enable_server_ssl(pg, certs)
    pg_set(pg, ssl_max_protocol_version="TLSv1.2")
    try:
        harness.wait_until(lambda: pg.sql("SHOW ssl_max_protocol_version")[0][0] == "TLSv1.2", 10)
        # PostgreSQL stops at 1.2, lifeguard insists on 1.3: no server connection
        lg = make_lg(main={"server_tls_sslmode": "require", "server_tls_protocols": "tlsv1.3",
                           "query_wait_timeout": "2"})
        with pytest.raises(psycopg2.OperationalError):
            lg.conn()
        lg2 = make_lg(main={"server_tls_sslmode": "require", "server_tls_protocols": "tlsv1.2",
                            "server_tls_ciphers": "ECDHE-RSA-AES128-GCM-SHA256"})
        with closing(lg2.conn()) as c, c.cursor() as cur:
            cur.execute("SELECT version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
            assert cur.fetchone() == ("TLSv1.2", "ECDHE-RSA-AES128-GCM-SHA256")
    finally:
        pg_set(pg, ssl_max_protocol_version=None)
    harness.wait_until(lambda: pg.sql("SHOW ssl_max_protocol_version")[0][0] == "", 10)
    lg3 = make_lg(main={"server_tls_sslmode": "require",
                        "server_tls13_ciphers": "TLS_CHACHA20_POLY1305_SHA256"})
    with closing(lg3.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT version, cipher FROM pg_stat_ssl WHERE pid = pg_backend_pid()")
        assert cur.fetchone() == ("TLSv1.3", "TLS_CHACHA20_POLY1305_SHA256")


def test_server_tls_cert_file_logs_in_with_cert_auth(make_lg, pg, certs, client_ca, tmp_path):
    """PostgreSQL authenticates lifeguard by the certificate it presents (hba method cert)."""
    run = harness.run
    run(["openssl", "req", "-newkey", "rsa:2048", "-nodes", "-keyout", str(tmp_path / "lg.key"),
         "-out", str(tmp_path / "lg.csr"), "-subj", "/CN=lgcertuser"])
    run(["openssl", "x509", "-req", "-in", str(tmp_path / "lg.csr"), "-CA",
         str(client_ca / "ca.pem"), "-CAkey", str(client_ca / "ca.key"), "-CAcreateserial",
         "-out", str(tmp_path / "lg.pem"), "-days", "2"])
    enable_server_ssl(pg, certs)
    hba = pg.datadir / "pg_hba.conf"
    old_hba = hba.read_text()
    pg.sql("CREATE ROLE lgcertuser LOGIN")
    try:
        hba.write_text("hostssl all lgcertuser 127.0.0.1/32 cert\n"
                       "host all lgcertuser 127.0.0.1/32 reject\n" + old_hba)
        pg_set(pg, ssl_ca_file=str(client_ca / "ca.pem"))
        harness.wait_until(lambda: pg.sql("SHOW ssl_ca_file")[0][0] == str(client_ca / "ca.pem"),
                           10)
        # trust lets in only users from auth_file: lgcertuser with no password
        userlist = dict(harness.PASSWORDS, lgcertuser="")
        lg = make_lg(main={"server_tls_sslmode": "require",
                           "server_tls_cert_file": str(tmp_path / "lg.pem"),
                           "server_tls_key_file": str(tmp_path / "lg.key")}, userlist=userlist)
        with closing(lg.conn(user="lgcertuser")) as c, c.cursor() as cur:
            cur.execute("SELECT current_user, client_dn FROM pg_stat_ssl "
                        "WHERE pid = pg_backend_pid()")
            assert cur.fetchone() == ("lgcertuser", "/CN=lgcertuser")
        # without a certificate PostgreSQL refuses the login
        lg2 = make_lg(main={"server_tls_sslmode": "require", "query_wait_timeout": "2"},
                      userlist=userlist)
        with pytest.raises(psycopg2.OperationalError) as ei:
            lg2.conn(user="lgcertuser")
        assert "trust" not in str(ei.value)
        # a certificate without its key is a configuration error
        lg3 = make_lg(start=False, main={"server_tls_sslmode": "require",
                                         "server_tls_cert_file": str(tmp_path / "lg.pem")})
        rc, log = lg3.run_until_exit()
        assert rc != 0 and "server_tls_cert_file and server_tls_key_file" in log, log
    finally:
        hba.write_text(old_hba)
        pg_set(pg, ssl_ca_file=None)
        pg.sql("DROP ROLE lgcertuser")
