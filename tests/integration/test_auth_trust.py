"""auth_type = trust (and an hba trust rule) as PgBouncer has it: no password, but the user
must be in auth_file, or be found by auth_query when an auth_user applies. Anyone else is
refused at once ("trust" authentication failed), never handed to PostgreSQL: operators use
auth_file as the allowlist. The role used, trustuser, is one PostgreSQL itself trusts from
127.0.0.1, so a pooler that let it through would log it in."""

import re
from contextlib import closing

import psycopg2
import pytest

import harness
from harness import PASSWORDS

ONLY_POSTGRES = {"postgres": PASSWORDS["postgres"]}  # auth_file without trustuser
REFUSED = '"trust" authentication failed'


def refused(lg, user="trustuser", db="p0", **kw):
    with pytest.raises(psycopg2.OperationalError) as exc:
        lg.conn(db=db, user=user, **kw).close()
    return str(exc.value)


def current_user(lg, user, db="p0", **kw):
    with closing(lg.conn(db=db, user=user, **kw)) as c, c.cursor() as cur:
        cur.execute("SELECT current_user")
        return cur.fetchone()[0]


def closing_lines(lg, user):
    """Log lines of the refusal, quotes unescaped (logfmt escapes them)."""
    return [x.replace('\\"', '"') for x in lg.log_text().splitlines()
            if "closing because: " + REFUSED in x.replace('\\"', '"') and user in x]


def raw_error(lg, user, db="p0"):
    s = lg.raw()
    with closing(s):
        s.sendall(harness.startup_packet({"user": user, "database": db}))
        return harness.read_until_error(s)


def test_trust_refuses_a_user_missing_from_auth_file(make_lg):
    lg = make_lg(userlist=ONLY_POSTGRES)
    assert REFUSED in refused(lg)
    harness.wait_until(lambda: closing_lines(lg, "trustuser"), 5, msg="the refusal logged")
    assert current_user(lg, "postgres") == "postgres"  # the allowlisted user still gets in


@pytest.mark.lifeguard_only  # PgBouncer 1.18 sends 08P01 and logs its own prefix
def test_trust_refusal_is_28000_and_logged_once_with_the_client(make_lg):
    """FATAL 28000 as PostgreSQL's own auth failures; one warning line with the client's
    context, after PgBouncer's "no such user: NAME"; no server was opened for it."""
    lg = make_lg(userlist=ONLY_POSTGRES)
    err = raw_error(lg, "trustuser")
    assert err is not None, "closed without an ErrorResponse"
    assert (err["S"], err["C"]) == ("FATAL", "28000"), err
    assert err["M"] == REFUSED + ' for user "trustuser"', err
    # an unknown user is refused as such, before the database is looked at
    err = raw_error(lg, "nosuchuser", db="nosuchdb")
    assert err is not None and err["C"] == "28000" and REFUSED in err["M"], err
    log = lg.log_text()
    lines = [x for x in log.splitlines() if "closing because:" in x and "/trustuser@" in x]
    assert len(lines) == 1, lines
    assert "level=warning" in lines[0], lines
    assert re.search(r'C-\d+ p0/trustuser@127\.0\.0\.1:\d+ closing because: \\"trust\\" '
                     r'authentication failed for user \\"trustuser\\" \(28000\)', lines[0]), lines
    assert "no such user: trustuser" in log
    assert "new connection to server" not in log


def test_trust_lets_a_user_from_auth_file_in(lg):
    assert current_user(lg, "trustuser") == "trustuser"
    assert current_user(lg, "trustuser", db="p1") == "trustuser"


def test_trust_checks_the_client_not_the_forced_user(make_lg):
    """A database with user= logs in to PostgreSQL as that user, but the name the client
    gave is what must be in auth_file (PgBouncer's test_no_user_trust_forced_user)."""
    lg = make_lg(userlist={"postgres": PASSWORDS["postgres"], "md5user": PASSWORDS["md5user"]},
                 databases={"forced": "host=@PGHOST@ port=@PGPORT@ dbname=p0 user=md5user"})
    assert REFUSED in refused(lg, "trustuser", db="forced")
    assert REFUSED in refused(lg, "nosuchuser", db="forced")
    assert current_user(lg, "postgres", db="forced") == "md5user"


@pytest.mark.lifeguard_only  # as test_hba.py
def test_hba_trust_rule_refuses_a_user_missing_from_auth_file(make_lg, tmp_path):
    """auth_type = hba: a trust rule is the same allowlist as auth_type = trust."""
    hba = tmp_path / "hba.conf"
    hba.write_text("host all all 127.0.0.1/32 trust\n")
    lg = make_lg(userlist=ONLY_POSTGRES,
                 main={"auth_type": "hba", "auth_hba_file": str(hba)})
    err = raw_error(lg, "trustuser")
    assert err is not None and (err["C"], err["M"]) == (
        "28000", REFUSED + ' for user "trustuser"'), err
    assert current_user(lg, "postgres") == "postgres"
    assert len(closing_lines(lg, "trustuser")) == 1


@pytest.mark.parametrize("where", ["global", "database"])
def test_trust_with_auth_user_lets_in_whom_auth_query_finds(make_lg, where):
    """auth_user set: a user missing from auth_file is looked up with auth_query, also
    under trust; found, it logs in without a password; not found, it is refused."""
    if where == "global":
        lg = make_lg(userlist=ONLY_POSTGRES, main={"auth_user": "postgres"})
    else:
        lg = make_lg(userlist=ONLY_POSTGRES, databases={
            "p0": "host=@PGHOST@ port=@PGPORT@ dbname=p0 auth_user=postgres"})
    assert current_user(lg, "trustuser") == "trustuser"
    msg = refused(lg, "nosuchuser")
    if not harness.IS_PGBOUNCER:  # PgBouncer 1.18 says "no such user" (a TODO of its own)
        assert REFUSED in msg
        harness.wait_until(lambda: closing_lines(lg, "nosuchuser"), 5, msg="the refusal logged")
    assert current_user(lg, "trustuser") == "trustuser"


@pytest.mark.lifeguard_only
def test_trust_auth_query_miss_is_28000(make_lg):
    lg = make_lg(userlist=ONLY_POSTGRES, main={"auth_user": "postgres"})
    err = raw_error(lg, "nosuchuser")
    assert err is not None and (err["C"], err["M"]) == (
        "28000", REFUSED + ' for user "nosuchuser"'), err
    assert "no such user: nosuchuser (auth_query found none" in lg.log_text()


def test_trust_console_needs_auth_file_too(make_lg):
    """The admin console under trust: admin_users and stats_users must also be in
    auth_file (PgBouncer refuses them otherwise); user pgbouncer over the Unix socket from
    the pooler's own OS user needs no entry."""
    lg = make_lg(userlist=ONLY_POSTGRES,
                 main={"admin_users": "postgres,trustuser", "stats_users": "md5user"})
    assert REFUSED in refused(lg, "trustuser", db="pgbouncer")
    assert REFUSED in refused(lg, "md5user", db="pgbouncer")
    with closing(lg.conn(db="pgbouncer", user="postgres")) as c, c.cursor() as cur:
        cur.execute("SHOW POOLS")
    with closing(lg.conn(db="pgbouncer", user="pgbouncer", host=str(lg.sockdir))) as c, \
            c.cursor() as cur:
        cur.execute("SHOW POOLS")
