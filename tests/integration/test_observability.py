"""The admin console, /health, /health/db and /metrics, as operators and their tools
use them."""

import json
import threading
import time
import socket
from contextlib import closing

import psycopg2
import pytest

import harness
from harness import free_port, metric
from harness import http_get as get


@pytest.fixture
def http_port():
    return free_port()


def test_console_show_pools_servers_clients_with_pgbouncer_columns(make_lg):
    lg = make_lg(main={"admin_users": "trustuser"})
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
    with closing(lg.conn(db="pgbouncer")) as a, a.cursor() as cur:
        cur.execute("SHOW POOLS")
        cols = [d[0] for d in cur.description]
        assert cols[:4] == ["database", "user", "cl_active", "cl_waiting"]
        assert ("p0", "trustuser") in [(r[0], r[1]) for r in cur.fetchall()]
        cur.execute("SHOW SERVERS")
        assert any(r[0] == "S" and r[2] == "p0" for r in cur.fetchall())
        cur.execute("SHOW CLIENTS")
        assert any(r[0] == "C" and r[2] == "pgbouncer" for r in cur.fetchall())
        cur.execute("SHOW VERSION")
        assert "lifeguard" in cur.fetchone()[0]
        with pytest.raises(psycopg2.Error) as ei:
            cur.execute("SHOW NONSENSE")
        assert ei.value.pgcode == "42601"


def test_console_refuses_users_outside_admin_and_stats_users(make_lg):
    lg = make_lg(main={"admin_users": "postgres"})
    with pytest.raises(psycopg2.OperationalError) as ei:
        lg.conn(db="lifeguard")
    assert "admin console" in str(ei.value)


def test_health_metrics_and_readiness(make_lg, http_port):
    lg = make_lg(main={"http_listen_port": str(http_port)})
    assert get(http_port, "/health")[0] == 200
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
    status, body = get(http_port, "/health/db")
    assert status == 200, body
    doc = json.loads(body)
    assert doc["status"] == "ok"
    assert doc["pools"][0]["database"] == "p0"
    status, body = get(http_port, "/metrics")
    assert status == 200
    assert "lifeguard_pool_size{" in body
    assert "# TYPE" in body
    assert get(http_port, "/nope")[0] == 404


def test_health_db_is_503_when_postgres_is_unreachable(make_lg, http_port):
    dead = free_port()
    lg = make_lg(main={"http_listen_port": str(http_port), "query_wait_timeout": "1"},
                 databases={"deaddb": f"host=127.0.0.1 port={dead} dbname=p0"})
    with pytest.raises(psycopg2.OperationalError):
        lg.conn(db="deaddb")
    status, body = get(http_port, "/health/db?pool=deaddb/trustuser")
    assert status == 503, body
    assert json.loads(body)["status"] == "fail"


def admin_conn(lg):
    c = lg.conn(db="pgbouncer")
    return c


def test_reload_and_sighup_apply_new_pool_size_without_dropping_clients(make_lg, pg):
    lg = make_lg(main={"admin_users": "trustuser", "default_pool_size": "1"})
    keep = lg.conn()
    with keep.cursor() as cur:
        cur.execute("SELECT 1")
    lg.config["main"]["default_pool_size"] = "3"
    lg.write_config()
    with closing(admin_conn(lg)) as a, a.cursor() as cur:
        cur.execute("RELOAD")
        cur.execute("SHOW CONFIG")
        conf = {r[0]: r[1] for r in cur.fetchall()}
        assert conf["default_pool_size"] == "3"
    # three clients at once now get servers (pool_size 3), the old client is still there
    conns = [lg.conn() for _ in range(2)]
    for c in conns:
        with c.cursor() as cur:
            cur.execute("SELECT 1")
        c.close()
    with keep.cursor() as cur:
        cur.execute("SELECT 2")
        assert cur.fetchone() == (2,)
    keep.close()
    lg.config["main"]["default_pool_size"] = "2"
    lg.write_config()
    import os
    import signal
    os.kill(lg.proc.pid, signal.SIGHUP)
    harness.wait_until(lambda: "configuration reloaded" in lg.log_text(), 5)


def test_console_set_pause_resume_reconnect_kill(make_lg, pg):
    lg = make_lg(main={"admin_users": "trustuser", "default_pool_size": "1",
                       "query_wait_timeout": "5"})
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    with closing(admin_conn(lg)) as a, a.cursor() as cur:
        cur.execute("SET default_pool_size = 2")
        cur.execute("SHOW CONFIG")
        assert {r[0]: r[1] for r in cur.fetchall()}["default_pool_size"] == "2"
        with pytest.raises(psycopg2.Error):
            cur.execute("SET no_such_setting = 1")
        cur.execute("RECONNECT p0")
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] != pid, "RECONNECT replaced the idle server"
    with closing(admin_conn(lg)) as a, a.cursor() as cur:
        cur.execute("PAUSE p0")
        result = {}

        def blocked():
            t0 = time.monotonic()
            with closing(lg.conn()) as c, c.cursor() as cur2:
                cur2.execute("SELECT 1")
            result["waited"] = time.monotonic() - t0

        t = threading.Thread(target=blocked)
        t.start()
        time.sleep(1.0)
        assert "waited" not in result, "PAUSE holds new work"
        cur.execute("RESUME p0")
        t.join(10)
        assert result["waited"] >= 0.9
        victim = lg.conn()
        cur.execute("KILL p0")
        with pytest.raises(psycopg2.Error), victim.cursor() as vcur:
            vcur.execute("SELECT 1")
        victim.close()


def test_metrics_counters_follow_a_known_workload(make_lg, http_port):
    lg = make_lg(main={"http_listen_port": str(http_port), "pool_mode": "transaction"})
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
    before = get(http_port, "/metrics")[1]
    x0 = metric(before, "lifeguard_pool_transactions_total", database="p0", user="trustuser")
    with closing(lg.conn()) as c, c.cursor() as cur:
        for _ in range(25):
            cur.execute("SELECT 1")
    after = get(http_port, "/metrics")[1]
    x1 = metric(after, "lifeguard_pool_transactions_total", database="p0", user="trustuser")
    assert x1 - x0 >= 25
    # histogram buckets are cumulative and end at +Inf == _count
    buckets = [float(l.rsplit(" ", 1)[1]) for l in after.splitlines()
               if l.startswith("lifeguard_pool_wait_seconds_bucket{")
               and 'database="p0"' in l]
    assert buckets == sorted(buckets) and buckets
    count = metric(after, "lifeguard_pool_wait_seconds_count", database="p0",
                   user="trustuser")
    assert buckets[-1] == count


def test_malformed_and_hostile_http_requests_do_not_disturb_anything(make_lg, http_port):
    lg = make_lg(main={"http_listen_port": str(http_port)})
    # bad request line
    with closing(socket.create_connection(("127.0.0.1", http_port), timeout=5)) as s:
        s.sendall(b"NONSENSE\r\n\r\n")
        assert s.recv(100).startswith(b"HTTP/1.1 400")
    # a 1 MB header: refused or closed, never buffered whole
    with closing(socket.create_connection(("127.0.0.1", http_port), timeout=5)) as s:
        try:
            s.sendall(b"GET /health HTTP/1.1\r\nX-Big: " + b"a" * (1 << 20) + b"\r\n\r\n")
            reply = s.recv(100)
        except (ConnectionResetError, BrokenPipeError):
            reply = b""
        assert reply == b"" or reply.split(b" ")[1] in (b"400", b"413", b"431")
    # a slow sender holding a half request does not block others
    slow = socket.create_connection(("127.0.0.1", http_port), timeout=5)
    slow.sendall(b"GET /hea")
    try:
        assert get(http_port, "/health")[0] == 200
        with closing(lg.conn()) as c, c.cursor() as cur:
            cur.execute("SELECT 1")
    finally:
        slow.close()
    assert get(http_port, "/health")[0] == 200


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_query_time_counts_time_servers_spend_on_queries(make_lg, http_port, mode):
    # lifeguard_pool_query_time_seconds_total (SHOW STATS total_query_time) runs from a
    # request to its ReadyForQuery: a 0.3 s query adds about 0.3 s; the client's think
    # time between queries adds nothing.
    lg = make_lg(main={"http_listen_port": str(http_port), "pool_mode": mode})
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        q0 = metric(get(http_port, "/metrics")[1], "lifeguard_pool_query_time_seconds_total",
                    database="p0", user="trustuser")
        cur.execute("SELECT pg_sleep(0.3)")
        time.sleep(0.5)  # think time, outside any query
        cur.execute("SELECT 1")
        q1 = metric(get(http_port, "/metrics")[1], "lifeguard_pool_query_time_seconds_total",
                    database="p0", user="trustuser")
    assert 0.3 <= q1 - q0 < 0.75, f"query time grew by {q1 - q0:.3f} s"


def test_pgbouncer_user_over_the_unix_socket_from_the_same_unix_user_is_admin(make_lg):
    """PgBouncer lets user "pgbouncer" into the console without a password when it comes
    over the Unix socket from the Unix user the pooler runs as (its own test suite and
    many operators' scripts rely on it), whatever auth_type and admin_users say; over TCP
    the user is authenticated as any other."""
    import os
    import pwd

    lg = make_lg(main={"auth_type": "md5", "admin_users": "nobody_else"})
    lg_uid = os.stat(f"/proc/{lg.proc.pid}").st_uid
    if os.geteuid() != lg_uid:
        pytest.skip(f"tests run as uid {os.geteuid()}, lifeguard as {lg_uid}")
    with closing(lg.conn(db="pgbouncer", user="pgbouncer", host=lg.sockdir)) as c, \
            c.cursor() as cur:
        cur.execute("SHOW VERSION")
        assert cur.fetchone()[0].startswith("lifeguard")
        cur.execute("RELOAD")  # an admin, not just a stats user
    with pytest.raises(psycopg2.OperationalError) as ei:
        lg.conn(db="pgbouncer", user="pgbouncer", password="x")  # TCP
    assert "pgbouncer" in str(ei.value)
    with pytest.raises(psycopg2.OperationalError):  # other users: the usual rules
        lg.conn(db="pgbouncer", user="trustuser", host=lg.sockdir, password="wrong")
    assert pwd.getpwuid(lg_uid)  # sanity: a real Unix user


def test_console_disable_enable_refuse_new_logins_and_show_databases_live(make_lg):
    """PgBouncer's DISABLE db / ENABLE db (its test_enable_disable): new logins to a
    disabled database are refused naming it, connected clients go on; SHOW DATABASES
    reports disabled, paused and current_connections (they were always 0)."""
    lg = make_lg(main={"admin_users": "trustuser", "pool_mode": "session"})
    keep = lg.conn()
    with keep.cursor() as cur:
        cur.execute("SELECT 1")

    def dbrow(cur):
        cur.execute("SHOW DATABASES")
        cols = [d[0] for d in cur.description]
        return next(dict(zip(cols, r)) for r in cur.fetchall() if r[0] == "p0")

    with closing(admin_conn(lg)) as a, a.cursor() as cur:
        cur.execute("DISABLE p0")
        row = dbrow(cur)
        assert row["disabled"] == 1 and row["current_connections"] == 1, row
        with pytest.raises(psycopg2.OperationalError) as ei:
            lg.conn()
        assert 'database "p0" is disabled' in str(ei.value)
        with keep.cursor() as kcur:  # already connected: unaffected
            kcur.execute("SELECT 2")
            assert kcur.fetchone() == (2,)
        with pytest.raises(psycopg2.Error):
            cur.execute("DISABLE nosuchdb")
        # a PgBouncer setting lifeguard ignores: accepted with a warning, as in the ini
        cur.execute("SET server_round_robin = 1")
        assert any("does not implement" in n for n in a.notices), a.notices
        cur.execute("PAUSE p0")
        assert dbrow(cur)["paused"] == 1
        cur.execute("RESUME p0")
        cur.execute("ENABLE p0")
        assert dbrow(cur)["disabled"] == 0
    keep.close()
    assert lg.sql("SELECT 3") == [(3,)]


@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_reload_moves_a_database_to_its_new_server_address(make_lg, pg, mode):
    """A failover done by editing [databases] and RELOAD (PgBouncer's test_database_change):
    new work goes to the new target at once, idle servers to the old one close, a client
    in the middle of a transaction finishes it on its server."""
    lg = make_lg(main={"admin_users": "trustuser", "pool_mode": mode})
    with closing(lg.conn(db="p1")) as c, c.cursor() as cur:
        cur.execute("SELECT current_database()")
        assert cur.fetchone() == ("p1",)
    busy = lg.conn(db="p1", autocommit=False)
    with busy.cursor() as cur:
        cur.execute("SELECT current_database()")
        assert cur.fetchone() == ("p1",)
    lg.config["databases"]["p1"] = f"host={pg.host} port={pg.port} dbname=p0"
    lg.write_config()
    with closing(admin_conn(lg)) as a, a.cursor() as cur:
        cur.execute("RELOAD")
    with closing(lg.conn(db="p1")) as c, c.cursor() as cur:
        cur.execute("SELECT current_database()")
        assert cur.fetchone() == ("p0",)
    with busy.cursor() as cur:  # its transaction goes on where it started
        cur.execute("SELECT current_database()")
        assert cur.fetchone() == ("p1",)
    busy.commit()
    busy.close()
    harness.wait_until(lambda: pg.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'p1'"
                                      " AND usename = 'trustuser'")[0][0] == 0,
                       10 * harness.SLOW, msg="servers to the old target close")


@pytest.mark.lifeguard_only  # PgBouncer's own words, as lifeguard now writes them
@pytest.mark.lg_config(
    main={"auth_type": "scram-sha-256"},
    databases={"p0": None, "p1": None, "postgres": None, "*": "host=@PGHOST@ port=@PGPORT@"},
)
def test_log_lines_use_pgbouncers_words(lg):
    """Log-based alerts written for PgBouncer, and PgBouncer's own test suite, grep its
    phrases: "closing because: <reason>", "no such user: NAME", "new connection to
    server", "registered new auto-database". lifeguard uses them for the same events."""
    with pytest.raises(psycopg2.OperationalError):
        lg.conn(user="scramuser", password="wrong")
    with pytest.raises(psycopg2.OperationalError):
        lg.conn(user="nosuchuser1", password="whatever")
    pw = harness.PASSWORDS["scramuser"]
    with closing(lg.conn(db="p1", user="scramuser", password=pw)) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
    log = lg.log_text()
    assert ('closing because: SASL authentication failed: password authentication failed for '
            'user \\"scramuser\\"') in log
    assert "no such user: nosuchuser1" in log
    assert ('closing because: SASL authentication failed: password authentication failed for '
            'user \\"nosuchuser1\\"') in log
    # each failed login once, as a warning (it was also logged a second time)
    failed = [x for x in log.splitlines() if 'for user \\"scramuser\\"' in x]
    assert len(failed) == 1 and "level=warning" in failed[0], failed
    assert log.count("new connection to server") == 1
    assert log.count("registered new auto-database: db=p1") == 1


@pytest.mark.lifeguard_only  # the values are lifeguard's own; the columns are PgBouncer 1.18's
def test_show_sockets_active_sockets_fds_and_mem(make_lg):
    """PgBouncer's low-level views (its test_show runs each): SOCKETS and ACTIVE_SOCKETS
    are SHOW CLIENTS/SERVERS plus buffer positions, FDS lists every socket (admin only:
    cancel keys; never a secret), MEM the objects in use."""
    lg = make_lg(main={"admin_users": "trustuser", "stats_users": "md5user"})
    keep = lg.conn()
    with keep.cursor() as k:
        k.execute("SELECT 1")
    with closing(admin_conn(lg)) as a, a.cursor() as cur:
        cur.execute("SHOW SOCKETS")
        cols = [d[0] for d in cur.description]
        assert cols[-7:] == ["recv_pos", "pkt_pos", "pkt_remain", "send_pos", "send_remain",
                             "pkt_avail", "send_avail"]
        rows = [dict(zip(cols, r)) for r in cur.fetchall()]
        states = {(r["type"], r["state"]) for r in rows}
        assert ("C", "cl_active") in states and ("S", "sv_active") in states, states
        cur.execute("SHOW ACTIVE_SOCKETS")
        assert [d[0] for d in cur.description] == cols
        cur.execute("SHOW FDS")
        cols = [d[0] for d in cur.description]
        assert cols[:4] == ["fd", "task", "user", "database"] and "scram_server_key" in cols
        fds = [dict(zip(cols, r)) for r in cur.fetchall()]
        server = next(r for r in fds if r["task"] == "server")
        client = next(r for r in fds if r["task"] == "client" and r["link"] == server["fd"])
        assert server["link"] == client["fd"] and server["fd"] > 2
        assert all(r["password"] is None for r in fds)
        cur.execute("SHOW MEM")
        mem = {r[0]: r for r in cur.fetchall()}
        assert mem["client"][2] >= 2 and mem["server"][2] >= 1 and mem["pool"][2] >= 1
        assert mem["client"][4] == mem["client"][1] * (mem["client"][2] + mem["client"][3])
    keep.close()
    pw = harness.PASSWORDS["md5user"]
    with closing(lg.conn(db="pgbouncer", user="md5user", password=pw)) as s, s.cursor() as cur:
        cur.execute("SHOW MEM")  # stats_users may look
        with pytest.raises(psycopg2.Error) as e:
            cur.execute("SHOW FDS")
        assert e.value.pgcode == "42501"
