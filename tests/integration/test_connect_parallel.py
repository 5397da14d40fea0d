"""server_connect_parallel: how many servers a pool may be connecting and logging in
at once. 1 (PgBouncer's way) grows a pool one server at a time while clients wait, so a
burst of clients does not become a burst of backend forks and logins; the default (0)
opens one per waiting client."""

import socket
import threading
import time
from contextlib import closing

import pytest

import harness
from harness import wait_until


class BlackHole:
    """A 'server' that accepts TCP connections and never answers: every login to it
    stays in progress, so the count of accepted connections is the count of servers
    the pool tried to open at once."""

    def __init__(self):
        self.sock = socket.socket()
        self.sock.bind(("127.0.0.1", 0))
        self.sock.listen(64)
        self.port = self.sock.getsockname()[1]
        self.accepted = []
        self.closed = False
        self.thread = threading.Thread(target=self._run, daemon=True)
        self.thread.start()

    def _run(self):
        while not self.closed:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            self.accepted.append(conn)

    def close(self):
        self.closed = True
        self.sock.close()
        for c in self.accepted:
            c.close()


def is_closed(conn):
    """Has the other end (lifeguard) closed @conn? Reads away what it sent first."""
    conn.setblocking(False)
    try:
        while conn.recv(4096):
            pass
        return True  # EOF
    except BlockingIOError:
        return False  # nothing more to read, and not closed
    except ConnectionResetError:
        return True


def waiting_clients(lg, n, db):
    """@n raw clients logging in (trust) to @db: a login needs a server (its parameters
    come from one), so they all wait for a server."""
    socks = []
    for _ in range(n):
        s = socket.create_connection(("127.0.0.1", lg.port), timeout=10)
        s.sendall(harness.startup_packet({"user": "trustuser", "database": db}))
        socks.append(s)
    return socks


@pytest.fixture
def hole():
    h = BlackHole()
    yield h
    h.close()


def lg_with_hole(make_lg, hole, parallel=None):
    main = {"pool_mode": "transaction", "default_pool_size": "8", "query_wait_timeout": "20",
            "server_connect_timeout": "20"}
    if parallel is not None:
        main["server_connect_parallel"] = str(parallel)
    return make_lg(main=main, databases={"hole": f"host=127.0.0.1 port={hole.port} dbname=p0"})


@pytest.mark.parametrize("parallel,logins", [
    (None, 5),  # the default: one per waiting client
    pytest.param(1, 1, marks=pytest.mark.lifeguard_only),  # PgBouncer's way
    pytest.param(3, 3, marks=pytest.mark.lifeguard_only),
])
def test_logins_in_progress_for_five_waiting_clients(make_lg, hole, parallel, logins):
    lg = lg_with_hole(make_lg, hole, parallel=parallel)
    socks = waiting_clients(lg, 5, "hole")
    try:
        wait_until(lambda: len(hole.accepted) >= logins, 5 * harness.SLOW,
                   msg=f"{logins} login(s) in progress")
        time.sleep(0.5 * harness.SLOW)  # time enough for more, were more allowed
        assert len(hole.accepted) == logins
    finally:
        for s in socks:
            s.close()


@pytest.mark.lifeguard_only
def test_a_failed_login_lets_the_next_one_start(make_lg, hole):
    # The one login in progress times out (server_connect_timeout): the pool backs off
    # and tries again with another single connection, and the waiters still wait.
    lg = make_lg(main={"pool_mode": "transaction", "default_pool_size": "8",
                       "server_connect_parallel": "1",
                       "query_wait_timeout": "20", "server_connect_timeout": "1",
                       "server_login_retry": "0.1", "server_login_retry_max": "0.2"},
                 databases={"hole": f"host=127.0.0.1 port={hole.port} dbname=p0"})
    socks = waiting_clients(lg, 3, "hole")
    try:
        wait_until(lambda: len(hole.accepted) >= 2, 10 * harness.SLOW,
                   msg="a second attempt after the first login timed out")
        # never two at once: by the time the second came, lifeguard had closed the first
        assert is_closed(hole.accepted[0]), "the timed-out login's connection is closed"
        time.sleep(0.3 * harness.SLOW)
        assert sum(not is_closed(c) for c in hole.accepted) <= 1
    finally:
        for s in socks:
            s.close()


@pytest.mark.lg_config(main={"pool_mode": "transaction", "default_pool_size": "6",
                             "query_wait_timeout": "30"})
def test_a_burst_of_long_transactions_still_gets_every_server(lg, pg):
    # Six clients each hold a transaction open: the pool grows one login at a time,
    # but grows to all six, and every client is served.
    conns = [lg.conn(autocommit=False) for _ in range(6)]
    started = threading.Barrier(6)
    errors = []

    def hold(c):
        try:
            with c.cursor() as cur:
                cur.execute("SELECT pg_backend_pid()")
                started.wait(30)
        except Exception as e:  # noqa: BLE001 - reported below
            errors.append(e)

    threads = [threading.Thread(target=hold, args=(c,)) for c in conns]
    for t in threads:
        t.start()
    for t in threads:
        t.join(60)
    assert not errors
    n = pg.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = 'p0' "
               "AND usename = 'trustuser'")[0][0]
    assert n == 6
    for c in conns:
        c.rollback()
        c.close()


@pytest.mark.lifeguard_only
@pytest.mark.lg_config(main={"pool_mode": "transaction", "default_pool_size": "8"})
def test_reload_changes_the_limit(lg, hole):
    lg.config["databases"]["hole"] = f"host=127.0.0.1 port={hole.port} dbname=p0"
    lg.config["main"]["server_connect_parallel"] = "2"
    lg.config["main"]["server_connect_timeout"] = "20"
    lg.write_config()
    with closing(lg.conn(db="pgbouncer", user=harness.SUPERUSER)) as a, a.cursor() as cur:
        cur.execute("RELOAD")
    socks = waiting_clients(lg, 4, "hole")
    try:
        wait_until(lambda: len(hole.accepted) >= 2, 5 * harness.SLOW, msg="two logins")
        time.sleep(0.5 * harness.SLOW)
        assert len(hole.accepted) == 2
    finally:
        for s in socks:
            s.close()
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)


@pytest.mark.lifeguard_only
@pytest.mark.lg_config(main={"pool_mode": "transaction", "default_pool_size": "2",
                             "max_overflow": "3", "overflow_delay": "2",
                             "server_connect_parallel": "1", "query_wait_timeout": "30"})
def test_a_client_that_waited_to_log_in_keeps_its_wait_for_its_first_query(lg):
    # Both servers busy; C, D and E log in and wait (a welcome needs a server). After
    # overflow_delay the overflow servers open, one login at a time; the first one up
    # welcomes all three (a welcome is quicker than a login), and their first queries
    # queue. They keep the wait that began with their logins, so the overflow servers
    # go on opening for them, instead of waiting for another overflow_delay (PgBouncer's
    # suite, test_reserve_pool_size, caught this intermittently).
    holders = [lg.conn() for _ in range(2)]
    busy = [threading.Thread(target=lambda c=c: c.cursor().execute("SELECT pg_sleep(8)"))
            for c in holders]
    for t in busy:
        t.start()
    time.sleep(0.5)  # both servers taken
    done = {}
    t0 = time.monotonic()

    def client(name):
        with closing(lg.conn()) as c, c.cursor() as cur:
            cur.execute("SELECT pg_sleep(1.5)")
            done[name] = time.monotonic() - t0

    waiters = [threading.Thread(target=client, args=(n,)) for n in ("C", "D", "E")]
    for t in waiters:
        t.start()
    for t in waiters + busy:
        t.join(30)
    assert set(done) == {"C", "D", "E"}, done
    # All three served by overflow servers right after overflow_delay (2 s): none of
    # them waits for another client's query (1.5 s) or another overflow_delay.
    assert max(done.values()) - min(done.values()) < 1.0, done
    for c in holders:
        c.close()


def _wait_sum(port):
    return harness.metric(harness.http_get(port, "/metrics")[1],
                          "lifeguard_pool_wait_seconds_sum", database="p0", user="trustuser")


@pytest.mark.lifeguard_only
def test_a_carried_login_wait_is_counted_once_in_the_wait_metrics(make_lg):
    # The only server is busy; B logs in and waits for it (its welcome needs a server),
    # then its first query gets the server at once. B waited once, for its welcome: the
    # wait histogram and total_wait_time count that once, not again with the first query
    # (which carries the welcome's wait only for overflow_delay and query_wait_timeout).
    # server_affinity off: else B's server is parked for it after the welcome and its
    # first query resumes it without a checkout (as when nobody else waits); with it off
    # the first query checks out, as when other clients wait.
    http_port = harness.free_port()
    lg = make_lg(main={"pool_mode": "transaction", "default_pool_size": "1",
                       "server_affinity": "0", "http_listen_port": str(http_port)})
    holder = lg.conn()
    busy = threading.Thread(target=lambda: holder.cursor().execute("SELECT pg_sleep(1.5)"))
    before = _wait_sum(http_port)
    busy.start()
    time.sleep(0.3)
    t0 = time.monotonic()
    with closing(lg.conn()) as b, b.cursor() as cur:
        login_wait = time.monotonic() - t0
        cur.execute("SELECT 1")
    busy.join(10)
    holder.close()
    waited = _wait_sum(http_port) - before
    assert login_wait > 0.8, login_wait
    # Once: about login_wait (the holder's own checkout did not wait); twice would be
    # about 2 x login_wait.
    assert abs(waited - login_wait) < 0.4, (waited, login_wait)
