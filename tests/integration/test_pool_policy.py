"""Pool policy: FIFO waiting with a pool_timeout deadline, idle and lifetime
recycling, min_pool_size, pre-ping, and the client-side deadlines."""

import re
import threading
import time
from contextlib import closing

import psycopg2
import psycopg2.errors
import pytest

import harness
from harness import wait_until


def backends(pg, db="p0", user="trustuser"):
    return pg.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = %s AND usename = %s",
                  (db, user))[0][0]


@pytest.mark.lg_config(main={"default_pool_size": "1", "query_wait_timeout": "1"})
def test_waiters_are_served_in_order_and_time_out_with_53300(lg):
    holder = lg.conn()
    try:
        t0 = time.monotonic()
        with pytest.raises(psycopg2.OperationalError) as ei:
            lg.conn()
        waited = time.monotonic() - t0
        assert "timeout" in str(ei.value) and "p0/trustuser" in str(ei.value)
        assert "pool_size=1" in str(ei.value)
        assert 0.9 <= waited < 3 * harness.SLOW
    finally:
        holder.close()


@pytest.mark.lg_config(main={"default_pool_size": "1", "query_wait_timeout": "10"})
def test_waiters_get_the_server_in_the_order_they_came(lg):
    # FIFO: three waiters queued in order get the single server in that order. (A
    # deadline long enough for the third to wait out the first two on a loaded machine.)
    order = []
    holder = lg.conn()
    lock = threading.Lock()

    def waiter(i):
        with closing(lg.conn()) as c, c.cursor() as cur:
            cur.execute("SELECT 1")
            with lock:
                order.append(i)

    threads = []
    try:
        for i in range(3):
            t = threading.Thread(target=waiter, args=(i,))
            t.start()
            threads.append(t)
            time.sleep(0.15)  # queue them one after the other
    finally:
        holder.close()
    for t in threads:
        t.join(10)
    assert order == [0, 1, 2]


def test_pool_timeout_per_waiter_with_one_timer_and_reload_shortens_it(make_lg):
    """The pool keeps one pool_timeout timer for its oldest waiter (not one per waiter):
    every waiter must still time out on its own deadline (oldest first), and a RELOAD
    that shortens the timeout applies to those already waiting."""
    lg = make_lg(main={"admin_users": "trustuser", "default_pool_size": "1",
                       "query_wait_timeout": "2"})
    holder = lg.conn()
    results = {}
    lock = threading.Lock()

    def waiter(i):
        t0 = time.monotonic()
        try:
            lg.conn().close()
            r = "served"
        except psycopg2.OperationalError as e:
            r = "53300" if "timeout" in str(e) else str(e)
        with lock:
            results[i] = (r, time.monotonic() - t0)

    threads = []
    for i in range(6):  # queued 0.25 s apart: deadlines 2.0 s after each
        t = threading.Thread(target=waiter, args=(i,))
        t.start()
        threads.append(t)
        time.sleep(0.25)
    for t in threads:
        t.join(10)
    assert [results[i][0] for i in range(6)] == ["53300"] * 6, results
    for i in range(6):
        assert 1.8 <= results[i][1] < 2.0 + 1.5 * harness.SLOW, results
    # A long timeout, then a reload to 1 s while a client waits: it times out after ~1 s.
    lg.config["main"]["query_wait_timeout"] = "30"
    lg.write_config()
    with closing(lg.conn(user="trustuser", db="pgbouncer")) as a, a.cursor() as cur:
        cur.execute("RELOAD")
    results.clear()
    t = threading.Thread(target=waiter, args=(0,))
    t.start()
    time.sleep(0.3)
    lg.config["main"]["query_wait_timeout"] = "1"
    lg.write_config()
    with closing(lg.conn(user="trustuser", db="pgbouncer")) as a, a.cursor() as cur:
        cur.execute("RELOAD")
    t.join(10)
    assert results[0][0] == "53300" and results[0][1] < 5, results
    holder.close()
    with closing(lg.conn()) as c, c.cursor() as cur:  # the pool still serves
        cur.execute("SELECT 1")


@pytest.mark.lg_config(main={"default_pool_size": "3", "server_idle_timeout": "1",
                             "min_pool_size": "1"})
def test_idle_servers_close_down_to_min_pool_size(lg, pg):
    conns = [lg.conn() for _ in range(3)]
    for c in conns:
        with c.cursor() as cur:
            cur.execute("SELECT 1")
    assert backends(pg) == 3
    for c in conns:
        c.close()
    wait_until(lambda: backends(pg) == 1, 10 * harness.SLOW,
               msg="idle servers above min_pool_size are closed after server_idle_timeout")
    time.sleep(2.5)
    assert backends(pg) == 1, "min_pool_size keeps one"


@pytest.mark.lg_config(main={"default_pool_size": "2", "min_pool_size": "2"})
def test_min_pool_size_opens_servers_ahead_of_demand(lg, pg):
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
    wait_until(lambda: backends(pg) == 2, 5 * harness.SLOW)


@pytest.mark.lg_config(main={"default_pool_size": "1", "server_lifetime": "1"})
def test_server_lifetime_recycles_without_client_errors(lg):
    pids = set()
    deadline = time.monotonic() + 10 * harness.SLOW
    while len(pids) < 2 and time.monotonic() < deadline:
        with closing(lg.conn()) as c, c.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pids.add(cur.fetchone()[0])
        time.sleep(0.3)
    assert len(pids) >= 2, "the server was replaced after server_lifetime"


def backend_pids(lg, db, seconds):
    """The backend pids a client of @db sees over @seconds, one short session at a time."""
    pids = set()
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        with closing(lg.conn(db=db)) as c, c.cursor() as cur:
            cur.execute("SELECT pg_backend_pid()")
            pids.add(cur.fetchone()[0])
        time.sleep(0.3)
    return pids


@pytest.mark.lg_config(main={"default_pool_size": "1", "server_lifetime": "3600"},
                       databases={"short": "host=@PGHOST@ port=@PGPORT@ dbname=p0 "
                                           "server_lifetime=1"})
def test_database_entry_overrides_server_lifetime(lg):
    """[databases] server_lifetime= (PgBouncer's; was ignored with a warning): that
    database's servers are recycled after it, the others keep the global lifetime."""
    assert len(backend_pids(lg, "short", 3 * harness.SLOW)) >= 2
    assert len(backend_pids(lg, "p0", 2)) == 1


@pytest.mark.lg_config(main={"default_pool_size": "1", "server_check_delay": "0.2"})
def test_backend_killed_while_idle_is_replaced_without_client_error(lg, pg):
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        pid = cur.fetchone()[0]
    pg.sql("SELECT pg_terminate_backend(%s)", (pid,))
    time.sleep(0.3)
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT pg_backend_pid()")
        assert cur.fetchone()[0] != pid


@pytest.mark.lg_config(main={"default_pool_size": "1", "idle_transaction_timeout": "1"})
def test_idle_in_transaction_client_is_cut_and_server_comes_back_clean(lg):
    a = lg.conn(autocommit=False)
    with a.cursor() as cur:
        cur.execute("CREATE TEMP TABLE t_idle (x int)")
    time.sleep(3 * harness.SLOW)
    with pytest.raises(psycopg2.Error), a.cursor() as cur:
        cur.execute("SELECT 1")
    a.close()
    with closing(lg.conn()) as b, b.cursor() as cur:
        cur.execute("SELECT to_regclass('pg_temp.t_idle'), now() = statement_timestamp()")
        assert cur.fetchone() == (None, True), "the open transaction was rolled back"
    assert "idle_transaction_timeout" in lg.log_text()


@pytest.mark.lg_config(main={"default_pool_size": "2", "query_timeout": "1"})
def test_query_timeout_cancels_with_57014(lg):
    with closing(lg.conn()) as c, c.cursor() as cur:
        t0 = time.monotonic()
        with pytest.raises(psycopg2.errors.QueryCanceled):
            cur.execute("SELECT pg_sleep(20)")
        assert time.monotonic() - t0 < 5 * harness.SLOW
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)


@pytest.mark.lg_config(main={"default_pool_size": "1", "query_timeout": "1",
                              "query_wait_timeout": "30"})
def test_query_timeout_bounds_the_wait_for_a_server_too(lg):
    """PgBouncer applies query_timeout from the query's arrival, waiting for a server
    included (its test suite relies on it): a client that waits longer than query_timeout
    gets 57014 naming query_timeout, not the 30 s pool_timeout."""
    holder = lg.conn(autocommit=False)
    try:
        with holder.cursor() as cur:
            cur.execute("SELECT 1")  # holds the only server (transaction open)
        t0 = time.monotonic()
        with pytest.raises(psycopg2.Error) as ei:
            with closing(lg.conn()) as c, c.cursor() as cur:
                cur.execute("SELECT 2")
        waited = time.monotonic() - t0
        assert "query_timeout" in str(ei.value), ei.value
        assert getattr(ei.value, "pgcode", None) in (None, "57014")
        assert 0.9 <= waited < 5 * harness.SLOW
    finally:
        holder.rollback()
        holder.close()
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 3")
        assert cur.fetchone() == (3,)


@pytest.mark.lg_config(main={"pool_mode": "transaction", "client_idle_timeout": "1"})
def test_client_idle_timeout_closes_idle_clients(lg):
    c = lg.conn()
    with c.cursor() as cur:
        cur.execute("SELECT 1")
    time.sleep(3 * harness.SLOW)
    with pytest.raises(psycopg2.Error), c.cursor() as cur:
        cur.execute("SELECT 1")
    c.close()
    assert "client_idle_timeout" in lg.log_text()


@pytest.mark.lg_config(main={"default_pool_size": "5", "max_db_connections": "2",
                             "query_wait_timeout": "10"})
def test_max_db_connections_caps_servers_across_users(lg, pg):
    a = lg.conn()
    b = lg.conn()
    for c in (a, b):
        with c.cursor() as cur:
            cur.execute("SELECT 1")
    result = {}

    def other_user():
        t0 = time.monotonic()
        with closing(lg.conn(user="md5user", password=harness.PASSWORDS["md5user"])) as c, \
                c.cursor() as cur:
            cur.execute("SELECT current_user")
            result["user"] = cur.fetchone()[0]
        result["waited"] = time.monotonic() - t0

    t = threading.Thread(target=other_user)
    t.start()
    time.sleep(1.0)
    assert "user" not in result, "the database is at max_db_connections"
    total = pg.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'p0'"
                   " AND usename IN ('trustuser', 'md5user')")[0][0]
    assert total == 2
    a.close()  # its server goes idle and is closed to make room for the other user's pool
    t.join(15)
    assert result.get("user") == "md5user"
    assert result["waited"] >= 0.9
    b.close()


@pytest.mark.lg_config(main={"default_pool_size": "1", "max_overflow": "1",
                             "overflow_idle_timeout": "1", "query_wait_timeout": "10"})
def test_overflow_opens_under_pressure_and_closes_when_idle(lg, pg):
    a = lg.conn()
    with a.cursor() as cur:
        cur.execute("SELECT 1")
    # the single pool_size server is busy and a client waits: overflow opens one more
    with closing(lg.conn()) as b, b.cursor() as cur:
        cur.execute("SELECT 1")
        assert backends(pg) == 2
    a.close()
    wait_until(lambda: backends(pg) == 1, 10 * harness.SLOW,
               msg="the overflow server closes after overflow_idle_timeout")


@pytest.mark.timeout(90)
@pytest.mark.lg_config(main={"pool_mode": "transaction", "default_pool_size": "3",
                             "query_wait_timeout": "30", "server_login_retry": "0.2",
                             "server_login_retry_max": "1"})
def test_kill_9_of_a_busy_backend_errors_only_its_client(lg, pg):
    import os
    import signal
    busy = lg.conn()
    idle = [lg.conn() for _ in range(3)]
    for c in idle:
        with c.cursor() as cur:
            cur.execute("SELECT 1")
    box = {}

    def run_busy():
        try:
            with busy.cursor() as cur:
                cur.execute("SELECT pg_sleep(20)")
        except psycopg2.Error as e:
            box["err"] = e

    t = threading.Thread(target=run_busy)
    t.start()
    wait_until(lambda: pg.sql("SELECT count(*) FROM pg_stat_activity WHERE query LIKE"
                              " 'SELECT pg_sleep(20)%%' AND state = 'active'")[0][0] == 1, 10)
    pid = pg.sql("SELECT pid FROM pg_stat_activity WHERE query LIKE 'SELECT pg_sleep(20)%%'"
                 " AND state = 'active'")[0][0]
    os.kill(pid, signal.SIGKILL)  # PostgreSQL restarts every backend after this
    t.join(30)
    assert "err" in box, "the client inside the killed query gets an error"

    def pg_back():
        try:
            return pg.sql("SELECT 1")[0][0] == 1
        except Exception:  # noqa: BLE001 - still in crash recovery
            return False

    # PostgreSQL ends every backend during its crash recovery; a query sent in that
    # window is in flight on a dying server like any other. Idle clients ask after it.
    harness.wait_until(pg_back, 30)
    time.sleep(0.5)
    # clients that were idle (no transaction open) see nothing: lifeguard waits for
    # PostgreSQL's recovery and gives them new servers
    for c in idle:
        with c.cursor() as cur:
            cur.execute("SELECT 7")
            assert cur.fetchone() == (7,)
        c.close()
    busy.close()


@pytest.mark.lg_config(main={"pool_mode": "transaction", "default_pool_size": "2",
                             "query_wait_timeout": "5", "auth_type": "scram-sha-256"})
def test_password_logins_release_the_welcome_server_to_the_next_login(lg, tmp_path):
    # In transaction mode a login borrows a server for its welcome and gives it back at
    # once, even when the server is handed over inside the password message's handling
    # (an idle server already synced with the client's parameters). pgbench connects all
    # its clients before the first query: with 8 clients on 2 servers, a welcome server
    # that stayed pinned left the last logins waiting until query_wait_timeout.
    script = tmp_path / "select1.sql"
    script.write_text("SELECT 1;\n")
    res = lg.pgbench(["-n", "-f", str(script), "-c", "8", "-j", "2", "-t", "20"], db="p0",
                     user="scramuser", password=harness.PASSWORDS["scramuser"], timeout=60,
                     check=False)
    assert res.returncode == 0, res.stderr
    assert re.search(r"actually processed: 160/160", res.stdout), res.stdout


@pytest.mark.lg_config(main={"pool_mode": "transaction", "default_pool_size": "2",
                             "reserve_pool_size": "2", "reserve_pool_timeout": "1.5",
                             "query_wait_timeout": "30"})
def test_reserve_pool_timeout_delays_the_overflow_as_in_pgbouncer(lg, pg):
    """PgBouncer's reserve_pool_size/reserve_pool_timeout (lifeguard's max_overflow and
    overflow_delay): with all pool_size servers busy, reserve servers open only for a client
    that has waited reserve_pool_timeout (PgBouncer 1.18's test_reserve_pool_size). It was an
    alias of overflow_idle_timeout, so reserve servers opened at once."""
    threads = []
    for _ in range(4):
        t = threading.Thread(target=lambda: lg.sql("SELECT pg_sleep(4)"))
        t.start()
        threads.append(t)
    try:
        time.sleep(0.8)
        assert backends(pg) == 2, "pool_size servers only, before reserve_pool_timeout"
        wait_until(lambda: backends(pg) == 4, 3 * harness.SLOW,
                   msg="reserve servers for clients that waited reserve_pool_timeout")
    finally:
        for t in threads:
            t.join(20)
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 1")


@pytest.mark.lg_config(main={"min_pool_size": "5", "default_pool_size": "5",
                             "max_user_connections": "2"})
def test_min_pool_size_stays_under_max_user_connections_without_evicting(lg, pg):
    """PgBouncer's test_min_pool_size_with_lower_max_user_connections: the pool fills
    toward min_pool_size only up to the cap, and never by evicting another pool's server
    (min_pool_size opened 5 servers past max_user_connections = 2)."""
    with closing(lg.conn(db="p1")) as other, other.cursor() as cur:  # a sibling pool's server
        cur.execute("SELECT 1")
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT pg_sleep(2.5)")  # the janitor runs every second meanwhile
    assert backends(pg, "p0") + backends(pg, "p1") <= 2
    assert "evicted" not in lg.log_text()
