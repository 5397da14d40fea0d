"""Both I/O engines: io_uring (the default: sends and readiness batched into one system call
per loop turn, sends copied into a staging area and completed asynchronously) and epoll with
write() (io_uring = 0, or a kernel that refuses io_uring).

The same traffic must come out the same: pgbench in every query mode, a result set and a
COPY far larger than one staging area (64 KiB) or buffer, an error sent just before a close
(it must arrive, then EOF), and no socket left open after its connection is gone (an
io_uring poll holds a reference to its socket until it is cancelled: a close that only
closes the fd leaves the connection established).
"""

import hashlib
import io
import re
import socket
import time
from contextlib import ExitStack, closing

import pytest

import harness

pytestmark = pytest.mark.lifeguard_only

ENGINES = [
    pytest.param("1", id="io_uring"),
    pytest.param("0", id="epoll"),
]


def start(make_lg, engine, **main):
    return make_lg(main={"io_uring": engine, **main})


def engine_line(lg):
    text = lg.log_text()
    if "io_uring: sends and readiness batched" in text:
        return "io_uring"
    return "epoll"


def established_on(port):
    """Local TCP sockets on @port in state ESTABLISHED or CLOSE_WAIT (/proc/net/tcp)."""
    n = 0
    with open("/proc/net/tcp") as f:
        next(f)
        for line in f:
            fields = line.split()
            local, state = fields[1], fields[3]
            if int(local.split(":")[1], 16) == port and state in ("01", "08"):
                n += 1
    return n


@pytest.fixture(scope="module")
def bench_tables(pg):
    pg.pgbench(["-i", "-s", "1", "-q"], db="p1", user="trustuser")
    return "p1"


@pytest.mark.parametrize("engine", ENGINES)
def test_engine_is_logged_and_pgbench_runs_clean(make_lg, bench_tables, engine):
    lg = start(make_lg, engine, pool_mode="transaction", default_pool_size="4")
    assert engine_line(lg) == ("io_uring" if engine == "1" else "epoll"), lg.log_text()
    # 8 clients queue for 4 servers. tpcb-like (transactions of 7 statements) only in the
    # simple and extended modes: with -M prepared, pgbench prepares synchronously
    # (PQprepare) inside a thread that also drives clients holding servers in a
    # transaction, and deadlocks itself when the pool is smaller than its clients.
    for script, mode in (("select-only", "simple"), ("select-only", "extended"),
                         ("select-only", "prepared"), ("tpcb-like", "simple"),
                         ("tpcb-like", "extended")):
        args = ["-n", "-c", "8", "-j", "2", "-t", "200", "-M", mode, "-b", script]
        out = lg.pgbench(args, db=bench_tables, timeout=90).stdout
        processed = re.search(r"actually processed: (\d+)/(\d+)", out)
        assert processed and processed.group(1) == processed.group(2) == "1600", out
        assert re.search(r"number of failed transactions: 0\b", out), out


@pytest.mark.parametrize("engine", ENGINES)
def test_large_result_and_copy_in_arrive_intact(make_lg, engine):
    lg = start(make_lg, engine)
    rows = 200_000  # about 20 MB of text: hundreds of staging areas and buffers
    sql = f"SELECT i, md5(i::text) || repeat('x', 60) FROM generate_series(1, {rows}) i"
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute(sql)
        digest = hashlib.sha256()
        n = 0
        for i, text in cur:
            digest.update(f"{i}:{text}\n".encode())
            n += 1
        assert n == rows
        expect = hashlib.sha256()
        for i in range(1, rows + 1):
            expect.update(f"{i}:{hashlib.md5(str(i).encode()).hexdigest()}{'x' * 60}\n"
                          .encode())
        assert digest.hexdigest() == expect.hexdigest()

        cur.execute("CREATE TEMP TABLE t_in (i int, s text)")
        data = "".join(f"{i}\t{'y' * 90}\n" for i in range(100_000))  # ~9.5 MB
        cur.copy_expert("COPY t_in FROM STDIN", io.StringIO(data))
        cur.execute("SELECT count(*), sum(i), sum(length(s)) FROM t_in")
        assert cur.fetchone() == (100_000, sum(range(100_000)), 90 * 100_000)


@pytest.mark.parametrize("engine", ENGINES)
def test_error_before_close_arrives_then_eof_and_no_socket_lingers(make_lg, engine):
    lg = start(make_lg, engine, max_client_conn="2")
    port = int(lg.port)
    with ExitStack() as stack:
        held = []
        for _ in range(2):
            s = stack.enter_context(closing(lg.raw()))
            harness.login_trust(s)
            held.append(s)
        refused = []
        for _ in range(20):
            s = stack.enter_context(closing(lg.raw()))
            err = harness.read_until_error(s)
            assert err and err["C"] == "53300", err
            assert harness.wait_closed(s)
            refused.append(s)  # kept open on our side: only lifeguard's close ends them
        # Terminate: the pooler closes its side; we see EOF.
        held[0].sendall(harness.TERMINATE)
        assert harness.wait_closed(held[0])
        deadline = time.monotonic() + 5 * harness.SLOW
        # Lifeguard's side of the refused and terminated connections is gone: only the
        # one client still logged in is established on the listening port.
        while established_on(port) > 1 and time.monotonic() < deadline:
            time.sleep(0.05)
        assert established_on(port) == 1, open("/proc/net/tcp").read()
        held[1].sendall(harness.query_message("SELECT 1"))
        assert harness.read_message(held[1])[0] in (b"T", b"D")


@pytest.mark.parametrize("engine", ENGINES)
def test_many_short_connections_leave_nothing_open(make_lg, engine):
    lg = start(make_lg, engine, pool_mode="transaction", default_pool_size="2")
    port = int(lg.port)
    for _ in range(200):
        with closing(socket.create_connection((lg.host, port), timeout=5)) as s:
            s.settimeout(5 * harness.SLOW)
            harness.login_trust(s)
            s.sendall(harness.query_message("SELECT 1") + harness.TERMINATE)
            assert harness.wait_closed(s)
    deadline = time.monotonic() + 5 * harness.SLOW
    while established_on(port) and time.monotonic() < deadline:
        time.sleep(0.05)
    assert established_on(port) == 0
    fds = len(list(harness.Path(f"/proc/{lg.proc.pid}/fd").iterdir()))
    assert fds < 40, fds
