"""PgBouncer's socket settings, read back from the sockets themselves: keepalive tuning
(tcp_keepidle, tcp_keepintvl, tcp_keepcnt) and tcp_user_timeout on client and server
connections, tcp_socket_buffer, tcp_defer_accept on the listeners, so_reuseport (two
processes on one port, the rolling restart) and unix_socket_group.

What `ss` shows (the keepalive timer, skmem's rb/tb buffer sizes, SYN-RECV for a
deferred accept) is read with `ss`; what it does not show (TCP_KEEPINTVL, TCP_KEEPCNT,
TCP_USER_TIMEOUT) is read with getsockopt() on a duplicate of lifeguard's own socket,
taken with pidfd_getfd(2) (Linux 5.6+; the tests run as the user lifeguard runs as).
"""

import ctypes
import grp
import os
import re
import signal
import socket
import subprocess
import urllib.request
from contextlib import closing

import pytest

import harness

pytestmark = pytest.mark.lifeguard_only

SYS_PIDFD_GETFD = 438  # x86_64 and aarch64 alike
_libc = ctypes.CDLL(None, use_errno=True)


def _hexaddr(text):
    """'0100007F:1538' (/proc/net/tcp) -> port; the address itself is not needed."""
    return int(text.split(":")[1], 16)


def tcp_sockets(pid):
    """Lifeguard's TCP sockets: [(fd, local_port, remote_port, state)], from /proc."""
    by_inode = {}
    for name in ("tcp", "tcp6"):
        with open(f"/proc/{pid}/net/{name}") as f:
            next(f)
            for line in f:
                col = line.split()
                by_inode[col[9]] = (_hexaddr(col[1]), _hexaddr(col[2]), int(col[3], 16))
    out = []
    for fd in os.listdir(f"/proc/{pid}/fd"):
        try:
            link = os.readlink(f"/proc/{pid}/fd/{fd}")
        except OSError:
            continue
        m = re.fullmatch(r"socket:\[(\d+)\]", link)
        if m and m.group(1) in by_inode:
            out.append((int(fd), *by_inode[m.group(1)]))
    return out


ESTABLISHED, LISTEN = 0x01, 0x0A


def lg_fd(pid, remote_port):
    """The fd of lifeguard's established socket whose peer is port @remote_port."""
    def find():
        for fd, _lport, rport, state in tcp_sockets(pid):
            if rport == remote_port and state == ESTABLISHED:
                return fd
        return None
    return harness.wait_until(find, 5, msg=f"no socket to port {remote_port} in pid {pid}")


def getsockopt_of(pid, fd, level, option):
    """getsockopt() on lifeguard's socket @fd, through a duplicate (pidfd_getfd)."""
    pidfd = os.pidfd_open(pid)
    try:
        dup = _libc.syscall(SYS_PIDFD_GETFD, pidfd, fd, 0)
        if dup < 0:
            e = ctypes.get_errno()
            raise OSError(e, f"pidfd_getfd: {os.strerror(e)}")
    finally:
        os.close(pidfd)
    with closing(socket.socket(fileno=dup)) as s:
        return s.getsockopt(level, option)


def ss(*args):
    return subprocess.run(["ss", "-tn", *args], capture_output=True, text=True, timeout=10,
                          check=True).stdout


def ss_conn(local_port, remote_port, extra=("-o", "-m")):
    """ss's line(s) for the established connection local_port -> remote_port."""
    out = ss(*extra, "state", "established",
             f"( sport = :{local_port} and dport = :{remote_port} )")
    lines = out.splitlines()[1:]
    assert lines, f"ss shows no connection {local_port}->{remote_port}:\n{out}"
    return " ".join(lines)


def keepalive_timer_s(line):
    """Seconds left on the keepalive timer in ss -o's 'timer:(keepalive,1min16sec,0)'."""
    m = re.search(r"timer:\(keepalive,([^,]+),", line)
    assert m, f"no keepalive timer in: {line}"
    total = 0.0
    for num, unit in re.findall(r"([\d.]+)(min|sec|ms)", m.group(1)):
        total += float(num) * {"min": 60, "sec": 1, "ms": 0.001}[unit]
    return total


def keepalive_timer(local_port, remote_port):
    """Seconds left on the connection's keepalive timer; while the last bytes sent wait
    for their (delayed) ACK, ss shows the retransmission timer instead: wait for it."""
    def timer():
        line = ss_conn(local_port, remote_port)
        return line if "timer:(keepalive," in line else None
    return keepalive_timer_s(harness.wait_until(timer, 5, interval=0.05))


def logged_in_client(lg):
    """A raw TCP client that logged in and ran a query (so it holds a server, session
    mode). Returns (socket, its local port)."""
    s = lg.raw()
    harness.login_trust(s)
    assert harness.simple_query(s, "SELECT 1")
    return s, s.getsockname()[1]


def check_tcp_options(pid, fd, idle, intvl, cnt, user_timeout_ms):
    T = socket.IPPROTO_TCP
    assert getsockopt_of(pid, fd, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 1
    got = (getsockopt_of(pid, fd, T, socket.TCP_KEEPIDLE),
           getsockopt_of(pid, fd, T, socket.TCP_KEEPINTVL),
           getsockopt_of(pid, fd, T, socket.TCP_KEEPCNT),
           getsockopt_of(pid, fd, T, socket.TCP_USER_TIMEOUT))
    assert got == (idle, intvl, cnt, user_timeout_ms)


@pytest.mark.lg_config(main={"tcp_keepidle": "45", "tcp_keepintvl": "7", "tcp_keepcnt": "3",
                             "tcp_user_timeout": "9000"})
def test_keepalive_tuning_and_user_timeout_on_client_and_server_sockets(lg, pg):
    pid = lg.proc.pid
    s, cport = logged_in_client(lg)
    with closing(s):
        client_fd = lg_fd(pid, cport)
        server_fd = lg_fd(pid, pg.port)
        for fd in (client_fd, server_fd):
            check_tcp_options(pid, fd, 45, 7, 3, 9000)
        # ss: the keepalive timer runs with tcp_keepidle (system default: 7200 s)
        lport = next(lp for f, lp, _r, _st in tcp_sockets(pid) if f == server_fd)
        for local, remote in ((lg.port, cport), (lport, pg.port)):
            assert 0 < keepalive_timer(local, remote) <= 45

        # RELOAD: new connections get the new values, 0 = the system's default again
        lg.config["main"].update(tcp_keepidle="50", tcp_user_timeout="0")
        lg.write_config()
        lg.signal(signal.SIGHUP)
        harness.wait_until(lambda: lg.log_text().count("configuration reloaded") >= 1, 10)
        s2, cport2 = logged_in_client(lg)
        with closing(s2):
            check_tcp_options(pid, lg_fd(pid, cport2), 50, 7, 3, 0)
        check_tcp_options(pid, client_fd, 45, 7, 3, 9000)  # set when it was accepted


@pytest.mark.lg_config(main={"tcp_keepalive": "0", "tcp_keepidle": "45"})
def test_keepalive_off_leaves_keepalive_off(lg, pg):
    s, cport = logged_in_client(lg)
    with closing(s):
        fd = lg_fd(lg.proc.pid, cport)
        assert getsockopt_of(lg.proc.pid, fd, socket.SOL_SOCKET, socket.SO_KEEPALIVE) == 0
        assert "keepalive" not in ss_conn(lg.port, cport)


@pytest.mark.lg_config(main={"tcp_socket_buffer": "50000"})
def test_tcp_socket_buffer_sizes_client_and_server_sockets(lg, pg):
    pid = lg.proc.pid
    s, cport = logged_in_client(lg)
    with closing(s):
        server_fd = lg_fd(pid, pg.port)
        lport = next(lp for f, lp, _r, _st in tcp_sockets(pid) if f == server_fd)
        for local, remote in ((lg.port, cport), (lport, pg.port)):
            line = ss_conn(local, remote)
            # Linux doubles the size asked for (bookkeeping overhead) and then keeps it
            assert "rb100000," in line and "tb100000," in line, line


def test_tcp_socket_buffer_default_leaves_autotuning(lg, pg):
    s, cport = logged_in_client(lg)
    with closing(s):
        line = ss_conn(lg.port, cport)
        assert "rb100000," not in line and "tb100000," not in line, line


def syn_recv_from(port, local_port):
    out = ss("state", "syn-recv", f"( sport = :{port} and dport = :{local_port} )")
    return len(out.splitlines()) > 1


def silent_client_is_deferred(lg):
    """Connect without sending: with TCP_DEFER_ACCEPT the kernel keeps the connection
    in SYN-RECV (not handed to lifeguard) until data or ~1 s pass."""
    with closing(socket.create_connection((lg.host, lg.port), timeout=5)) as s:
        deferred = syn_recv_from(lg.port, s.getsockname()[1])
        # sending the startup packet hands it over at once
        harness.login_trust(s)
        return deferred


def test_tcp_defer_accept_is_on_by_default_as_in_pgbouncer(lg):
    assert silent_client_is_deferred(lg)


@pytest.mark.lg_config(main={"tcp_defer_accept": "0"})
def test_tcp_defer_accept_off_and_turned_on_by_reload(lg):
    assert not silent_client_is_deferred(lg)
    lg.config["main"]["tcp_defer_accept"] = "45"  # old ini files give seconds: means "on"
    lg.write_config()
    lg.signal(signal.SIGHUP)
    harness.wait_until(lambda: "configuration reloaded" in lg.log_text(), 10)
    assert silent_client_is_deferred(lg)


def _count_clients(pid, port):
    return sum(1 for _f, lport, _r, st in tcp_sockets(pid) if lport == port and st == ESTABLISHED)


def test_so_reuseport_two_processes_share_the_port_and_both_serve(make_lg):
    http = harness.PortLock()  # the HTTP listener is shared too
    try:
        main = {"so_reuseport": "1", "http_listen_port": str(http.port),
                "default_pool_size": "20"}
        a = make_lg(main=main)
        b = make_lg(start=False, main={**main, "listen_port": str(a.port)})
        b.port = a.port
        b.start()  # its own Unix socket answering means it is up
        assert "(so_reuseport)" in b.log_text()
        for p in (a, b):
            listening = [lp for _f, lp, _r, st in tcp_sockets(p.proc.pid) if st == LISTEN]
            assert a.port in listening and http.port in listening

        conns = [a.conn() for _ in range(16)]
        try:
            for c in conns:
                with c.cursor() as cur:
                    cur.execute("SELECT 1")
                    assert cur.fetchone() == (1,)
            na, nb = _count_clients(a.proc.pid, a.port), _count_clients(b.proc.pid, a.port)
            assert na + nb == 16 and na > 0 and nb > 0, (na, nb)
        finally:
            for c in conns:
                c.close()
        with urllib.request.urlopen(f"http://127.0.0.1:{http.port}/health", timeout=5) as r:
            assert r.status == 200

        # rolling restart: the old process goes, the port keeps serving
        assert a.stop() == []
        for _ in range(4):
            with closing(b.conn()) as c, c.cursor() as cur:
                cur.execute("SELECT 2")
                assert cur.fetchone() == (2,)
    finally:
        http.release()


@pytest.mark.parametrize("first", ["0", "1"])
def test_second_process_on_the_port_without_so_reuseport_refuses_to_start(make_lg, first):
    a = make_lg(main={"so_reuseport": first})
    b = make_lg(start=False, main={"listen_port": str(a.port)})
    rc, log = b.run_until_exit()
    assert rc != 0
    assert f"cannot listen on 127.0.0.1:{a.port}: Address already in use" in log, log
    assert "so_reuseport" in log, log
    with closing(a.conn()) as c, c.cursor() as cur:  # the first one is untouched
        cur.execute("SELECT 1")


def _other_group():
    primary = os.getegid()
    for gid in os.getgroups():
        if gid != primary:
            return grp.getgrgid(gid)
    return None


def test_unix_socket_group_and_mode(make_lg):
    g = _other_group()
    if g is None:
        pytest.skip("the test user belongs to no group besides its primary one")
    lg = make_lg(main={"unix_socket_group": g.gr_name, "unix_socket_mode": "0770"})
    st = os.stat(os.path.join(lg.sockdir, f".s.PGSQL.{lg.port}"))
    assert st.st_gid == g.gr_gid
    assert st.st_mode & 0o777 == 0o770
    res = lg.psql("SELECT 'via group socket'", host=str(lg.sockdir), sslmode=None)
    assert res.stdout.strip() == "via group socket"
    # a number works too
    lg2 = make_lg(main={"unix_socket_group": str(g.gr_gid)})
    assert os.stat(os.path.join(lg2.sockdir, f".s.PGSQL.{lg2.port}")).st_gid == g.gr_gid


@pytest.mark.parametrize("group, why", [
    ("no-such-group-lg", "unix_socket_group no-such-group-lg: no such group"),
    ("root", "unix_socket_group root: cannot give the Unix socket to it: Operation not permitted"),
])
def test_unix_socket_group_refused_stops_the_start(make_lg, group, why):
    if group == "root" and (os.geteuid() == 0 or 0 in os.getgroups()):
        pytest.skip("the test user may give files to group root")
    p = make_lg(start=False, main={"unix_socket_group": group})
    rc, log = p.run_until_exit()
    assert rc != 0
    assert why in log, log
