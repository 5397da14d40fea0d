"""Client login: every auth_type the pooler offers, each paired with each
method the server asks for, from a userlist (plaintext, md5 or SCRAM secret)
or from auth_query; and the failures a client must see."""

from contextlib import closing

import psycopg2
import pytest

import harness
from harness import PASSWORDS


def md5_secret(user, password):
    import hashlib

    return "md5" + hashlib.md5((password + user).encode()).hexdigest()


def assert_login(lg, user, password, db="p0"):
    with closing(lg.conn(db=db, user=user, password=password)) as c, c.cursor() as cur:
        cur.execute("SELECT current_user, current_database(), 1 + 1")
        assert cur.fetchone() == (user, db, 2)


def login_error(lg, user, password, db="p0"):
    with pytest.raises(psycopg2.OperationalError) as exc:
        lg.conn(db=db, user=user, password=password).close()
    return exc.value


def sqlstate_of(err):
    """SQLSTATE of a failed psycopg2 login. libpq keeps only the message of a
    login error, so read the code from a raw connection instead when needed."""
    return getattr(err, "pgcode", None)


def raw_login_sqlstate(lg, user, db, password):
    """Log in over a raw socket with libpq-free auth handling and return the
    SQLSTATE of the ErrorResponse. Only cleartext/md5/SCRAM failure paths are
    driven: we send a wrong proof and read the error."""
    import base64
    import hashlib
    import hmac
    import os
    import struct

    s = lg.raw()
    try:
        s.sendall(harness.startup_packet({"user": user, "database": db}))
        while True:
            msg = harness.read_message(s)
            assert msg is not None, "closed without ErrorResponse"
            mtype, payload = msg
            if mtype == b"E":
                return harness.parse_error(payload).get("C")
            assert mtype == b"R", f"unexpected message {mtype!r}"
            (code,) = struct.unpack("!I", payload[:4])
            if code == 3:  # cleartext
                body = password.encode() + b"\0"
                s.sendall(b"p" + struct.pack("!I", len(body) + 4) + body)
            elif code == 5:  # md5
                salt = payload[4:8]
                inner = hashlib.md5((password + user).encode()).hexdigest()
                outer = "md5" + hashlib.md5(inner.encode() + salt).hexdigest()
                body = outer.encode() + b"\0"
                s.sendall(b"p" + struct.pack("!I", len(body) + 4) + body)
            elif code == 10:  # SASL: start SCRAM-SHA-256
                nonce = base64.b64encode(os.urandom(18)).decode()
                first_bare = f"n=,r={nonce}"
                first = ("n,," + first_bare).encode()
                body = b"SCRAM-SHA-256\0" + struct.pack("!I", len(first)) + first
                s.sendall(b"p" + struct.pack("!I", len(body) + 4) + body)
            elif code == 11:  # SASLContinue: answer with a proof from @password
                server_first = payload[4:].decode()
                attrs = dict(kv.split("=", 1) for kv in server_first.split(","))
                salt = base64.b64decode(attrs["s"])
                salted = hashlib.pbkdf2_hmac("sha256", password.encode(), salt, int(attrs["i"]))
                client_key = hmac.new(salted, b"Client Key", "sha256").digest()
                stored_key = hashlib.sha256(client_key).digest()
                final_bare = f"c=biws,r={attrs['r']}"
                auth_msg = f"n=,r={nonce},{server_first},{final_bare}".encode()
                sig = hmac.new(stored_key, auth_msg, "sha256").digest()
                proof = bytes(a ^ b for a, b in zip(client_key, sig))
                final = f"{final_bare},p={base64.b64encode(proof).decode()}".encode()
                s.sendall(b"p" + struct.pack("!I", len(final) + 4) + final)
            elif code in (0, 12):
                continue
            else:
                raise AssertionError(f"unexpected auth request {code}")
    finally:
        s.close()


# (pooler auth_type, user, what the userlist holds for that user)
LOGIN_MATRIX = [
    ("trust", "trustuser", "plaintext"),
    ("md5", "md5user", "plaintext"),
    ("md5", "md5user", "md5-secret"),
    ("md5", "scramuser", "plaintext"),
    ("md5", "trustuser", "plaintext"),
    ("scram-sha-256", "scramuser", "plaintext"),
    ("scram-sha-256", "scramuser", "scram-secret"),
    ("scram-sha-256", "md5user", "plaintext"),
    ("scram-sha-256", "trustuser", "plaintext"),
]


@pytest.mark.parametrize(
    "auth_type,user,stored", LOGIN_MATRIX, ids=["-".join(x) for x in LOGIN_MATRIX]
)
def test_login_succeeds(make_lg, pg, auth_type, user, stored):
    """Client->pooler uses auth_type; pooler->server uses the method pg_hba
    picks for the user (trust/md5/scram). A SCRAM secret in the userlist means
    the pooler has no password and must pass the client's proof through."""
    if stored == "plaintext":
        secret = PASSWORDS[user]
    elif stored == "md5-secret":
        secret = md5_secret(user, PASSWORDS[user])
    else:
        secret = pg.secret(user)
        assert secret.startswith("SCRAM-SHA-256$")
    lg = make_lg(main={"auth_type": auth_type}, userlist={user: secret})
    password = None if auth_type == "trust" else PASSWORDS[user]
    assert_login(lg, user, password)
    # a second login reuses the pooled server connection
    assert_login(lg, user, password)


def test_login_with_plain_auth_when_allowed(make_lg):
    lg = make_lg(main={"auth_type": "plain", "auth_plain_allowed": "1"})
    assert_login(lg, "scramuser", PASSWORDS["scramuser"])


@pytest.mark.lifeguard_only
def test_plain_auth_refused_without_auth_plain_allowed(make_lg):
    lg = make_lg(start=False, main={"auth_type": "plain"})
    rc, log = lg.run_until_exit()
    assert rc != 0, log
    assert "plain" in log.lower(), log


@pytest.mark.parametrize("auth_type", ["md5", "scram-sha-256", "plain"])
def test_wrong_password_is_refused(make_lg, auth_type):
    lg = make_lg(main={"auth_type": auth_type, "auth_plain_allowed": "1"})
    err = login_error(lg, "scramuser", "not-the-password")
    assert "authentication failed" in str(err)
    # the pooler is fine afterwards
    assert_login(lg, "scramuser", PASSWORDS["scramuser"])


@pytest.mark.lifeguard_only  # PgBouncer 1.18 sends 08P01
@pytest.mark.parametrize("auth_type", ["md5", "scram-sha-256", "plain"])
def test_wrong_password_gets_28P01(make_lg, auth_type):
    lg = make_lg(main={"auth_type": auth_type, "auth_plain_allowed": "1"})
    assert raw_login_sqlstate(lg, "scramuser", "p0", "not-the-password") == "28P01"
    assert_login(lg, "scramuser", PASSWORDS["scramuser"])


@pytest.mark.lifeguard_only
@pytest.mark.parametrize("auth_type", ["md5", "scram-sha-256"])
def test_unknown_user_gets_28P01_like_a_wrong_password(make_lg, auth_type):
    """No user enumeration: an unknown user fails exactly like a bad password."""
    lg = make_lg(main={"auth_type": auth_type})
    err = login_error(lg, "nosuchuser", "whatever")
    assert "authentication failed" in str(err)
    assert raw_login_sqlstate(lg, "nosuchuser", "p0", "whatever") == "28P01"
    assert_login(lg, "scramuser", PASSWORDS["scramuser"])


@pytest.mark.lifeguard_only
def test_unknown_database_gets_3D000(lg):
    s = lg.raw()
    with closing(s):
        s.sendall(harness.startup_packet({"user": "trustuser", "database": "nosuchdb"}))
        err = harness.read_until_error(s)
    assert err is not None and err["C"] == "3D000", err
    assert_login(lg, "trustuser", None)


def test_unknown_database_is_refused(lg):
    err = login_error(lg, "trustuser", None, db="nosuchdb")
    assert "nosuchdb" in str(err)
    assert_login(lg, "trustuser", None)


@pytest.mark.lg_config(
    databases={"p0": None, "p1": None, "postgres": None, "*": "host=@PGHOST@ port=@PGPORT@"}
)
def test_wildcard_database_forwards_to_server(lg):
    """`* =` routes any database name to the server, which decides."""
    assert_login(lg, "trustuser", None, db="p1")
    assert_login(lg, "trustuser", None, db="p0")
    err = login_error(lg, "trustuser", None, db="nosuchdb")
    assert "nosuchdb" in str(err)


@pytest.mark.parametrize(
    "auth_type,user", [("scram-sha-256", "scramuser"), ("md5", "md5user")]
)
def test_auth_query_login(make_lg, auth_type, user):
    """auth_user looks the client's secret up with the default auth_query
    (pg_shadow); the client has no userlist entry."""
    lg = make_lg(
        main={"auth_type": auth_type, "auth_user": "postgres"},
        userlist={"postgres": PASSWORDS["postgres"]},
    )
    assert_login(lg, user, PASSWORDS[user])
    assert_login(lg, user, PASSWORDS[user], db="p1")
    err = login_error(lg, user, "not-the-password")
    assert "authentication failed" in str(err)


@pytest.mark.lifeguard_only
def test_auth_query_unknown_user_gets_28P01(make_lg):
    lg = make_lg(
        main={"auth_type": "scram-sha-256", "auth_user": "postgres"},
        userlist={"postgres": PASSWORDS["postgres"]},
    )
    assert raw_login_sqlstate(lg, "nosuchuser", "p0", "whatever") == "28P01"
    assert_login(lg, "scramuser", PASSWORDS["scramuser"])


@pytest.mark.parametrize("forced", ["md5user", "scramuser"])
def test_forced_user_without_password_logs_in_with_its_auth_file_secret(make_lg, forced):
    """[databases] user= without password=: the server login uses that user's own
    auth_file entry (PgBouncer's test_password_server, p4y), never the connecting client's
    secret, which belongs to another role."""
    lg = make_lg(databases={"forced": f"host=@PGHOST@ port=@PGPORT@ dbname=p0 user={forced}"})
    for client in ("trustuser", "postgres"):
        with closing(lg.conn(db="forced", user=client,
                             password=harness.PASSWORDS[client])) as c, c.cursor() as cur:
            cur.execute("SELECT current_user")
            assert cur.fetchone() == (forced,)


@pytest.mark.lifeguard_only
@pytest.mark.parametrize("auth_type,user", [("scram-sha-256", "scramuser"), ("md5", "md5user")])
def test_unknown_database_is_told_only_after_authentication(make_lg, auth_type, user):
    """As PostgreSQL (and PgBouncer): a client without the password learns nothing about
    which databases exist (28P01 for a wrong password, as for a real database); with the
    right password it gets 3D000."""
    lg = make_lg(main={"auth_type": auth_type})
    assert raw_login_sqlstate(lg, user, "nosuchdb", "wrong") == "28P01"
    err = login_error(lg, user, PASSWORDS[user], db="nosuchdb")
    assert "no such database" in str(err) and "nosuchdb" in str(err)
    assert_login(lg, user, PASSWORDS[user])


ANY_DBS = {"forced": "host=@PGHOST@ port=@PGPORT@ dbname=p0 user=md5user",
           "*": "host=@PGHOST@ port=@PGPORT@"}


def test_auth_type_any_logs_everyone_in_as_the_forced_user(make_lg):
    """auth_type = any (PgBouncer's): no authentication, the user name is not looked up
    (nobody in auth_file needed), and the server login is the database's user= with that
    user's auth_file secret."""
    lg = make_lg(main={"auth_type": "any"}, databases=ANY_DBS)
    for user in ("nosuchuser", "trustuser", "md5user"):
        with closing(lg.conn(db="forced", user=user, password="ignored")) as c, \
                c.cursor() as cur:
            cur.execute("SELECT current_user, current_database()")
            assert cur.fetchone() == ("md5user", "p0")


def test_auth_type_any_refuses_a_database_without_user(make_lg):
    """A database with no user= would log in to PostgreSQL as whatever name the client
    gave, which nobody checked: refused as in PgBouncer ("bouncer config error"), and
    logged once with the reason."""
    lg = make_lg(main={"auth_type": "any"}, databases=ANY_DBS)
    err = login_error(lg, "postgres", None, db="p1")
    assert "bouncer config error" in str(err) and "user=" in str(err)
    assert lg.log_text().count("auth_type = any needs user=") == 1
    with closing(lg.conn(db="forced", user="x")) as c, c.cursor() as cur:
        cur.execute("SELECT 1")  # the rest is undisturbed


@pytest.mark.lg_config(main={"auth_type": "any", "admin_users": "adminuser",
                             "stats_users": "statsuser"})
def test_auth_type_any_console_goes_by_admin_users(lg):
    """The admin console under auth_type = any: admin_users and stats_users reach it
    without a password (PgBouncer's rule); anyone else is refused."""
    with closing(lg.conn(db="pgbouncer", user="adminuser")) as c, c.cursor() as cur:
        cur.execute("SHOW POOLS")
        cur.execute("RELOAD")
    with closing(lg.conn(db="pgbouncer", user="statsuser")) as c, c.cursor() as cur:
        cur.execute("SHOW STATS")
    login_error(lg, "nobody", None, db="pgbouncer")
