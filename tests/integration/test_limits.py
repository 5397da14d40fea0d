"""Running out of file descriptors, and what a client past max_client_conn gets.

Descriptor exhaustion: the running pooler's RLIMIT_NOFILE is lowered (prlimit on its pid)
to a few descriptors above what it uses, then raw TCP connections are opened until accept(2)
fails with EMFILE. lifeguard must then pause its listeners (one log line per 1 s pause)
instead of spinning on a listener that stays readable, keep serving the clients it has,
leave new connections waiting in the backlog rather than refused, and accept them once
descriptors are free again.

max_client_conn: a client past the limit is refused at once while the connected ones keep
working, a slot that comes free is usable again, and the refused client reads
FATAL 53300 "no more connections allowed" before the close.
"""

import os
import resource
import socket
import threading
import time
from contextlib import ExitStack, closing

import psycopg2
import pytest

import harness

ACCEPT_FAILED = "accept failed: "  # main.c: "accept failed: %s; pausing accepts for 1s"


def fd_numbers(pid):
    return [int(n) for n in os.listdir(f"/proc/{pid}/fd")]


def cpu_seconds(pid):
    """utime + stime of @pid, in seconds (fields 14 and 15 of /proc/PID/stat)."""
    with open(f"/proc/{pid}/stat") as f:
        stat = f.read()
    fields = stat[stat.rindex(")") + 2:].split()  # fields[0] is field 3 (state)
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def restore_limit(pid, soft, hard):
    try:
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (soft, hard))
    except ProcessLookupError:
        pass  # the fixture reports an early exit


def select_one(conn, value=1):
    with conn.cursor() as cur:
        cur.execute("SELECT %s", (value,))
        assert cur.fetchone() == (value,)


def query_in_background(lg, value):
    """Connect and SELECT @value in a thread; the dict gets "done" (monotonic time of the
    answer) or "error" (for the main thread to report)."""
    result = {}

    def client():
        try:
            with closing(lg.conn(connect_timeout=int(30 * harness.SLOW))) as c:
                select_one(c, value)
            result["done"] = time.monotonic()
        except Exception as e:  # reported by the main thread
            result["error"] = repr(e)

    t = threading.Thread(target=client, daemon=True)
    t.start()
    return t, result


@pytest.mark.lifeguard_only  # the log line and the pause are lifeguard's
@pytest.mark.lg_config(main={"default_pool_size": "20", "max_client_conn": "500",
                             "client_login_timeout": "120"})
def test_descriptor_exhaustion_pauses_accepts_without_spinning(lg):
    pid = lg.proc.pid
    spare = 20  # descriptors left to lifeguard once the limit is lowered
    with ExitStack() as stack:
        # Clients connected before the exhaustion, each holding its server (session mode).
        keep = [stack.enter_context(closing(lg.conn())) for _ in range(3)]
        for i, c in enumerate(keep):
            select_one(c, i)

        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        stack.callback(restore_limit, pid, soft, hard)
        # EMFILE comes when the lowest free descriptor number reaches the soft limit.
        limit = max(fd_numbers(pid)) + 1 + spare
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (limit, hard))
        log_start = len(lg.log_text())

        # Twice as many connections as it has descriptors: the first `spare` are accepted
        # (and sit in the login phase), the rest wait in the listen backlog.
        extra = []
        for _ in range(2 * spare):
            s = socket.create_connection((lg.host, lg.port), timeout=5 * harness.SLOW)
            stack.callback(s.close)
            extra.append(s)
        harness.wait_until(lambda: ACCEPT_FAILED in lg.log_text()[log_start:], 10,
                           msg="lifeguard never logged the failed accept")
        t_exhausted = time.monotonic()
        assert "Too many open files" in lg.log_text()[log_start:]

        # A real client now waits in the backlog; it must not be refused.
        late, waiting = query_in_background(lg, 42)

        # (2) No busy loop: a listener that stays readable must not be polled in a tight loop.
        cpu0 = cpu_seconds(pid)
        time.sleep(3.0)
        cpu = cpu_seconds(pid) - cpu0
        print(f"lifeguard CPU during 3 s of descriptor exhaustion: {cpu:.3f} s")
        # A spinning accept loop burns most of a core (~1 s here even with a log line per
        # turn); the pause costs a few milliseconds.
        assert cpu < 0.5, f"lifeguard used {cpu:.2f} s of CPU in 3 s while out of descriptors"

        # (1) Alive, and the clients it already has keep working.
        assert lg.is_running()
        for i, c in enumerate(keep):
            select_one(c, 100 + i)
        assert not waiting, f"the waiting client finished while no descriptor was free: {waiting}"

        # (3) One error line per 1 s pause, not one per readiness event.
        elapsed = time.monotonic() - t_exhausted
        lines = [ln for ln in lg.log_text()[log_start:].splitlines() if ACCEPT_FAILED in ln]
        print(f"{len(lines)} 'accept failed' lines in {elapsed:.1f} s of exhaustion")
        assert 1 <= len(lines) <= elapsed + 3, lines[:10]
        assert all("pausing accepts for 1s" in ln for ln in lines), lines[:10]

        # (4) Free the descriptors: the waiting client gets in, and so do new ones.
        for s in extra:
            s.close()
        late.join(timeout=20 * harness.SLOW)
        assert "done" in waiting, f"the client waiting in the backlog never got in: {waiting}"
        for i in range(5):
            assert lg.sql("SELECT %s", (i,)) == [(i,)]
        for i, c in enumerate(keep):
            select_one(c, 200 + i)
        assert lg.is_running()


def past_max_client_conn(lg, n):
    """Hold @n logged-in clients (the limit) and return them."""
    held = [lg.conn() for _ in range(n)]
    for c in held:
        select_one(c)
    return held


@pytest.mark.lg_config(main={"max_client_conn": "3"})
def test_client_past_max_client_conn_is_refused_and_others_keep_working(lg):
    with ExitStack() as stack:
        held = [stack.enter_context(closing(c)) for c in past_max_client_conn(lg, 3)]
        # Refused right away (no hang until a timeout), before its startup packet.
        with closing(lg.raw()) as s:
            assert harness.wait_closed(s)
        with pytest.raises(psycopg2.OperationalError):
            lg.conn()
        # The connected clients are unaffected, and a freed slot is usable again.
        for c in held:
            select_one(c, 7)
        held.pop().close()
        harness.wait_until(lambda: lg.psql("SELECT 2", check=False).returncode == 0, 10,
                           msg="no slot came free after a client left")


# The refusal is an ErrorResponse, written before the socket's first EPOLLOUT edge
# (client_accept treats an accepted socket as writable).
@pytest.mark.lifeguard_only
@pytest.mark.lg_config(main={"max_client_conn": "3"})
def test_client_past_max_client_conn_gets_an_error(lg):
    # PgBouncer says "no more connections allowed (max_client_conn)" with 08P01;
    # lifeguard uses PostgreSQL's own code for "too many clients", 53300.
    want = "08P01" if harness.IS_PGBOUNCER else "53300"
    with ExitStack() as stack:
        for c in past_max_client_conn(lg, 3):
            stack.enter_context(closing(c))
        # The error comes at once, before the client has sent its startup packet.
        with closing(lg.raw()) as s:
            err = harness.read_until_error(s)
            assert err is not None, "closed without an ErrorResponse"
            assert err["S"] == "FATAL" and err["C"] == want, err
            assert err["M"].startswith("no more connections allowed"), err
            assert "max_client_conn" in err["M"], err
        # What a libpq client shows its user.
        with pytest.raises(psycopg2.OperationalError) as e:
            lg.conn()
        assert "no more connections allowed" in str(e.value)


@pytest.mark.lifeguard_only  # the log lines are lifeguard's
@pytest.mark.lg_config(main={"default_pool_size": "5", "pool_mode": "transaction",
                             "server_login_retry": "1", "query_wait_timeout": "30"})
def test_server_connect_out_of_descriptors_retries_without_backoff(lg):
    # Out of descriptors when opening a server connection is lifeguard's own shortage,
    # not PostgreSQL failing: the pool retries at a steady pace instead of backing off
    # 1, 2, 4, 8, 16 s, so a client waiting through it gets in soon after descriptors free up.
    pid = lg.proc.pid
    # The harness's start-up probes must be gone first: a probe still open when the limit
    # drops takes the one spare descriptor, and frees it before our client's server opens
    # (seen in CI: no EMFILE at all, so nothing to test).
    harness.wait_until(lambda: lg.log_text().count(" connection from ") ==
                       lg.log_text().count(" closing because: "), 5, msg="start-up probes still open")
    last = None
    for _ in range(50):  # and the descriptor table settled (the closes happen a turn later)
        time.sleep(0.1)
        now = sorted(fd_numbers(pid))
        if now == last:
            break
        last = now
    with ExitStack() as stack:
        soft, hard = resource.prlimit(pid, resource.RLIMIT_NOFILE)
        stack.callback(restore_limit, pid, soft, hard)
        log_start = len(lg.log_text())
        # One descriptor left: enough to accept the client, none for its server.
        resource.prlimit(pid, resource.RLIMIT_NOFILE, (max(fd_numbers(pid)) + 2, hard))
        t, result = query_in_background(lg, 7)
        harness.wait_until(lambda: "cannot open a server connection" in lg.log_text()[log_start:],
                           10, msg="the failed server connect was not logged")
        time.sleep(3.0)  # long enough for a backoff to have grown to 2 s and beyond
        restored = time.monotonic()
        restore_limit(pid, soft, hard)
        t.join(30 * harness.SLOW)
        assert "error" not in result, result.get("error")
        assert "done" in result, "the client never got its answer"
        took = result["done"] - restored
        print(f"client answered {took:.2f} s after descriptors came back")
        assert took < 2.0 * harness.SLOW, f"{took:.2f} s: the pool backed off"
        log = lg.log_text()[log_start:]
        assert log.count("cannot open a server connection") == 1, "logged more than once"
        assert "retrying in about" not in log  # connect_failed()'s backoff line
