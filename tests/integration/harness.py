"""harness.py: processes and wire helpers for lifeguard's integration tests.

Starts a scratch PostgreSQL 15 (one per pytest worker) and the pooler under
test (lifeguard, or PgBouncer when LG_BINARY points at it, to validate the
tests themselves), and speaks just enough of the wire protocol to send
malformed input. Ports come from a file-locked allocator shared by the
workers; no fixed ports. Every wait has a deadline.
"""

import fcntl
import os
import random
import re
import shutil
import signal
import socket
import struct
import subprocess
import tempfile
import time
import urllib.error
import urllib.request
from contextlib import closing
from pathlib import Path

import psycopg2
import psycopg2.extensions

REPO = Path(__file__).resolve().parents[2]
PG_BIN = Path(os.environ.get("LG_PG_BIN", "/usr/lib/postgresql/15/bin"))
BUILD = os.environ.get("BUILD", "debug")
BINARY = os.environ.get("LG_BINARY") or str(REPO / "build" / BUILD / "lifeguard")
IS_PGBOUNCER = "pgbouncer" in os.path.basename(BINARY)
FLAVOR = "pgbouncer" if IS_PGBOUNCER else "lifeguard"
SANITIZED = BUILD == "asan" and not IS_PGBOUNCER
# Sanitized builds are several times slower; stretch every deadline alike.
SLOW = 3.0 if SANITIZED else 1.0

# run.sh sets LG_TEST_BASE to a scratch dir shared by all workers; it holds
# the port locks, short Unix socket dirs and the pid files of every process
# we start (so run.sh can clean up after a crashed worker).
TEST_BASE = Path(os.environ.get("LG_TEST_BASE") or tempfile.gettempdir())
LOCK_DIR = TEST_BASE / "lg-port-locks"
PID_DIR = TEST_BASE / "pids" if os.environ.get("LG_TEST_BASE") else None

PORT_LO, PORT_HI = 20000, 32000  # below Linux's ephemeral range (32768+)

SUPERUSER = "postgres"
PASSWORDS = {
    "postgres": "postgres-pw",
    "trustuser": "trust-pw",
    "md5user": "md5-pw",
    "scramuser": "scram-pw",
}
# Keys only lifeguard knows; left out of the ini when validating with PgBouncer.
LIFEGUARD_ONLY_KEYS = {"auth_plain_allowed", "pin_temp_tables", "pin_role_changes",
                       "server_connect_parallel"}

SANITIZER_RE = re.compile(
    r"ERROR: AddressSanitizer|ERROR: LeakSanitizer|UndefinedBehaviorSanitizer"
    r"|runtime error: |AddressSanitizer:DEADLYSIGNAL"
)


def wait_until(cond, timeout, interval=0.02, msg=None):
    """Poll cond() until it returns a truthy value (returned) or timeout
    seconds (scaled for sanitized builds) pass (AssertionError)."""
    deadline = time.monotonic() + timeout * SLOW
    while True:
        value = cond()
        if value:
            return value
        if time.monotonic() >= deadline:
            raise AssertionError(msg or f"condition not met within {timeout * SLOW:.1f}s")
        time.sleep(interval)


def short_dir(prefix):
    """A new directory with a short path, for Unix sockets (108-byte limit)."""
    TEST_BASE.mkdir(parents=True, exist_ok=True)
    return Path(tempfile.mkdtemp(prefix=prefix, dir=TEST_BASE))


def note_pid(pid, what):
    if PID_DIR is not None:
        PID_DIR.mkdir(parents=True, exist_ok=True)
        (PID_DIR / str(pid)).write_text(what + "\n")


def forget_pid(pid):
    if PID_DIR is not None:
        try:
            (PID_DIR / str(pid)).unlink()
        except FileNotFoundError:
            pass


def tail(text, max_chars=30000):
    if len(text) <= max_chars:
        return text
    return "...(truncated)...\n" + text[-max_chars:]


def port_is_free(port):
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        try:
            s.bind(("127.0.0.1", port))
        except OSError:
            return False
    return True


def port_accepts(port, host="127.0.0.1"):
    with closing(socket.socket(socket.AF_INET, socket.SOCK_STREAM)) as s:
        s.settimeout(0.5)
        try:
            s.connect((host, port))
        except OSError:
            return False
    return True


def unix_accepts(path):
    with closing(socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)) as s:
        s.settimeout(0.5)
        try:
            s.connect(str(path))
        except OSError:
            return False
    return True


def free_port():
    """A port the kernel hands out as free now (an ephemeral one, outside PortLock's
    range): for a listener the test starts itself, such as http_listen_port."""
    with closing(socket.socket()) as s:
        s.bind(("127.0.0.1", 0))
        return s.getsockname()[1]


def http_get(port, path):
    """GET http://127.0.0.1:PORT/PATH: (status, body), error statuses included."""
    try:
        with urllib.request.urlopen(f"http://127.0.0.1:{port}{path}", timeout=10) as r:
            return r.status, r.read().decode()
    except urllib.error.HTTPError as e:
        return e.code, e.read().decode()


def metric(text, name, **labels):
    """The value of NAME{LABELS} (labels in the order lifeguard writes them) in a
    /metrics body."""
    want = ",".join(f'{k}="{v}"' for k, v in labels.items())
    for line in text.splitlines():
        if line.startswith(name + "{" + want + "}") or (not labels and line.startswith(name + " ")):
            return float(line.rsplit(" ", 1)[1])
    raise AssertionError(f"{name}{{{want}}} not in /metrics")


class PortLock:
    """A TCP port that no other worker holds (flock on a per-port file) and
    that nothing listens on right now. Held until release()."""

    def __init__(self):
        LOCK_DIR.mkdir(parents=True, exist_ok=True)
        span = PORT_HI - PORT_LO
        start = random.randrange(span)
        for i in range(span):
            port = PORT_LO + (start + i) % span
            path = LOCK_DIR / f"port-{port}.lock"
            fd = os.open(path, os.O_CREAT | os.O_RDWR, 0o666)
            try:
                fcntl.flock(fd, fcntl.LOCK_EX | fcntl.LOCK_NB)
            except BlockingIOError:
                os.close(fd)
                continue
            if port_is_free(port):
                self.port = port
                self._fd = fd
                return
            os.close(fd)
        raise RuntimeError("no free port")

    def release(self):
        if self._fd is not None:
            os.close(self._fd)
            self._fd = None


def run(cmd, timeout=60, check=True, env=None, **kw):
    """subprocess.run with a deadline, text output, and the command echoed."""
    cmd = [str(c) for c in cmd]
    print("+ " + " ".join(cmd))
    res = subprocess.run(
        cmd,
        timeout=timeout * SLOW,
        env=env,
        stdin=subprocess.DEVNULL,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        text=True,
        **kw,
    )
    if check and res.returncode != 0:
        raise AssertionError(
            f"{cmd[0]} exited {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
        )
    return res


def clean_env(**extra):
    """Our environment without libpq variables that could redirect a client."""
    env = {k: v for k, v in os.environ.items() if not k.startswith("PG")}
    env.update({k: str(v) for k, v in extra.items()})
    return env


def make_dsn(**kw):
    return " ".join(f"{k}={quote_conninfo(v)}" for k, v in kw.items() if v is not None)


def quote_conninfo(value):
    value = str(value)
    if value and not re.search(r"[\s'\\]", value):
        return value
    return "'" + value.replace("\\", "\\\\").replace("'", "\\'") + "'"


class Postgres:
    """A scratch PostgreSQL 15 cluster listening on 127.0.0.1:<locked port>."""

    def __init__(self, basedir):
        self.basedir = Path(basedir)
        self.datadir = self.basedir / "pgdata"
        self.logfile = self.basedir / "postgres.log"
        self.sockdir = short_dir("pg-")
        self._port_lock = PortLock()
        self.port = self._port_lock.port
        self.host = "127.0.0.1"
        self.started = False
        self.default_work_mem = None

    def init(self):
        pwfile = self.basedir / "pwfile"
        pwfile.write_text(PASSWORDS[SUPERUSER] + "\n")
        run(
            [
                PG_BIN / "initdb",
                "-D",
                self.datadir,
                "-U",
                SUPERUSER,
                "--pwfile",
                pwfile,
                "--auth=scram-sha-256",
                "-E",
                "UTF8",
                "--locale=C",
                "--no-sync",
            ],
            timeout=120,
        )
        pwfile.unlink()
        with open(self.datadir / "postgresql.conf", "a") as f:
            f.write(
                "\n# lifeguard integration tests\n"
                f"port = {self.port}\n"
                "listen_addresses = '127.0.0.1'\n"
                f"unix_socket_directories = '{self.sockdir}'\n"
                "max_connections = 300\n"
                "max_prepared_transactions = 10\n"
                "shared_buffers = 64MB\n"
                "fsync = off\n"
                "synchronous_commit = off\n"
                "full_page_writes = off\n"
                "password_encryption = 'scram-sha-256'\n"
                "log_connections = on\n"
                "log_disconnections = on\n"
                "log_line_prefix = '%m [%p] %q%u@%d '\n"
            )
        # Per-user methods: the pooler must speak each of them to the server.
        (self.datadir / "pg_hba.conf").write_text(
            "local all all scram-sha-256\n"
            "host all trustuser 127.0.0.1/32 trust\n"
            "host all md5user 127.0.0.1/32 md5\n"
            "host all scramuser 127.0.0.1/32 scram-sha-256\n"
            "host all all 127.0.0.1/32 scram-sha-256\n"
        )

    def start(self):
        run(
            [PG_BIN / "pg_ctl", "-D", self.datadir, "-l", self.logfile, "-w", "-t", "60", "start"],
            timeout=90,
        )
        self.started = True
        pid = int((self.datadir / "postmaster.pid").read_text().split("\n")[0])
        note_pid(pid, f"postgres {self.datadir}")
        self._pid = pid

    def stop(self):
        if not self.started:
            return
        res = run(
            [PG_BIN / "pg_ctl", "-D", self.datadir, "-m", "fast", "-w", "-t", "30", "stop"],
            timeout=60,
            check=False,
        )
        if res.returncode != 0:
            run(
                [PG_BIN / "pg_ctl", "-D", self.datadir, "-m", "immediate", "-w", "stop"],
                timeout=60,
                check=False,
            )
        self.started = False
        forget_pid(self._pid)
        self._port_lock.release()
        shutil.rmtree(self.sockdir, ignore_errors=True)

    def halt(self, mode="fast"):
        """Stop the server but keep its port and directories, for outage tests."""
        run([PG_BIN / "pg_ctl", "-D", self.datadir, "-m", mode, "-w", "-t", "30", "stop"],
            timeout=60)
        self.started = False
        forget_pid(self._pid)

    def resume(self):
        """Start the server again after halt(), on the same port."""
        self.start()

    def setup(self):
        """Roles and databases the tests rely on."""
        with closing(self.conn()) as c, c.cursor() as cur:
            cur.execute("CREATE ROLE trustuser LOGIN PASSWORD %s", (PASSWORDS["trustuser"],))
            cur.execute("SET password_encryption = 'md5'")
            cur.execute("CREATE ROLE md5user LOGIN PASSWORD %s", (PASSWORDS["md5user"],))
            cur.execute("SET password_encryption = 'scram-sha-256'")
            cur.execute("CREATE ROLE scramuser LOGIN PASSWORD %s", (PASSWORDS["scramuser"],))
            for db in ("p0", "p1"):
                cur.execute(f"CREATE DATABASE {db}")
            cur.execute("SHOW work_mem")
            self.default_work_mem = cur.fetchone()[0]
        for db in ("p0", "p1"):
            # PostgreSQL 15 no longer lets everyone create in schema public.
            self.sql("GRANT ALL ON SCHEMA public TO PUBLIC", db=db)

    def dsn(self, db="postgres", user=SUPERUSER, password=None, **kw):
        if password is None:
            password = PASSWORDS.get(user)
        kw.setdefault("connect_timeout", int(10 * SLOW))
        kw.setdefault("sslmode", "disable")
        return make_dsn(
            host=self.host, port=self.port, dbname=db, user=user, password=password, **kw
        )

    def conn(self, db="postgres", user=SUPERUSER, password=None, autocommit=True, **kw):
        """A direct psycopg2 connection (superuser by default)."""
        c = psycopg2.connect(self.dsn(db=db, user=user, password=password, **kw))
        c.autocommit = autocommit
        return c

    def sql(self, query, params=None, db="postgres", **kw):
        """Run one statement on a fresh direct connection; rows or None."""
        with closing(self.conn(db=db, **kw)) as c, c.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else None

    def secret(self, user):
        """The stored password hash of @user (md5... or SCRAM-SHA-256$...)."""
        return self.sql("SELECT rolpassword FROM pg_authid WHERE rolname = %s", (user,))[0][0]

    def log_size(self):
        try:
            return self.logfile.stat().st_size
        except FileNotFoundError:
            return 0

    def log_since(self, offset):
        try:
            with open(self.logfile, errors="replace") as f:
                f.seek(offset)
                return f.read()
        except FileNotFoundError:
            return ""

    def pgbench(self, args, db="p1", user="trustuser", timeout=120):
        env = clean_env(PGPASSWORD=PASSWORDS.get(user, ""))
        return run(
            [PG_BIN / "pgbench", "-h", self.host, "-p", self.port, "-U", user, *args, db],
            timeout=timeout,
            env=env,
        )


def base_config(pg, port, sockdir, userlist_path):
    """The ini every test starts from; a test overrides keys (None deletes)."""
    return {
        "databases": {
            db: f"host={pg.host} port={pg.port} dbname={db}" for db in ("p0", "p1", "postgres")
        },
        "users": {},
        "main": {
            "listen_addr": "127.0.0.1",
            "listen_port": str(port),
            "unix_socket_dir": str(sockdir),
            "auth_type": "trust",
            "auth_file": str(userlist_path),
            "default_pool_size": "5",
            "max_client_conn": "500",
            "pool_mode": "session",
            "query_wait_timeout": "30",
            "ignore_startup_parameters": "extra_float_digits",
            "admin_users": SUPERUSER,
        },
    }


def quote_userlist(value):
    """PgBouncer's userlist.txt doubles a quote inside a quoted field."""
    return value.replace('"', '""')


class Pooler:
    """One lifeguard (or PgBouncer) process with its own ini, userlist and log.

    main/databases/users: dicts merged over base_config (a None value removes
    a key; @PGHOST@ and @PGPORT@ in a value name the test server).
    userlist: {user: secret}, replacing the default (every test user with
    its plaintext password).
    """

    def __init__(self, pg, workdir, main=None, databases=None, users=None, userlist=None):
        self.pg = pg
        self.workdir = Path(workdir)
        self.workdir.mkdir(parents=True, exist_ok=True)
        self._port_lock = PortLock()
        self.port = self._port_lock.port
        self.host = "127.0.0.1"
        self.sockdir = short_dir("lg-")
        self.ini_path = self.workdir / f"{FLAVOR}.ini"
        self.userlist_path = self.workdir / "userlist.txt"
        self.logfile = self.workdir / f"{FLAVOR}.log"
        self.config = base_config(pg, self.port, self.sockdir, self.userlist_path)
        for section, over in (("main", main), ("databases", databases), ("users", users)):
            for k, v in (over or {}).items():
                if v is None:
                    self.config[section].pop(k, None)
                else:
                    # a marker can't know the server's port: @PGHOST@/@PGPORT@
                    v = str(v).replace("@PGHOST@", pg.host).replace("@PGPORT@", str(pg.port))
                    self.config[section][k] = v
        self.userlist = dict(PASSWORDS) if userlist is None else dict(userlist)
        self.proc = None
        self.signalled = False
        self.finished = False
        self.write_config()

    # ---- configuration ----
    def write_config(self):
        main_name = "pgbouncer" if IS_PGBOUNCER else "lifeguard"
        lines = []
        for title, section in (
            ("databases", self.config["databases"]),
            ("users", self.config["users"]),
            (main_name, self.config["main"]),
        ):
            lines.append(f"[{title}]")
            for k, v in section.items():
                if IS_PGBOUNCER and k in LIFEGUARD_ONLY_KEYS:
                    continue
                lines.append(f"{k} = {v}")
            lines.append("")
        self.ini_path.write_text("\n".join(lines))
        self.userlist_path.write_text(
            "".join(f'"{quote_userlist(u)}" "{quote_userlist(s)}"\n'
                    for u, s in self.userlist.items())
        )

    # ---- process ----
    def _spawn(self):
        self.logfile.touch()
        self._log = open(self.logfile, "ab")
        self.proc = subprocess.Popen(
            [BINARY, str(self.ini_path)],
            cwd=self.workdir,
            stdin=subprocess.DEVNULL,
            stdout=self._log,
            stderr=subprocess.STDOUT,
        )
        note_pid(self.proc.pid, f"{FLAVOR} {self.ini_path}")

    def start(self, timeout=10):
        """Start the binary and wait until its TCP port accepts connections
        (and its Unix socket, when configured: it may open a moment later)."""
        self._spawn()
        sockdir = self.config["main"].get("unix_socket_dir")
        unix_path = Path(sockdir) / f".s.PGSQL.{self.port}" if sockdir else None

        def ready():
            if self.proc.poll() is not None:
                raise AssertionError(
                    f"{FLAVOR} exited with {self.proc.returncode} during startup\n"
                    + tail(self.log_text())
                )
            return port_accepts(self.port) and (unix_path is None or unix_accepts(unix_path))

        wait_until(ready, timeout, interval=0.02, msg=f"{FLAVOR} not listening on {self.port}")
        return self

    def run_until_exit(self, timeout=10):
        """Start the binary expecting it to refuse to run; (returncode, log)."""
        self._spawn()
        try:
            rc = self.proc.wait(timeout=timeout * SLOW)
        except subprocess.TimeoutExpired:
            self.proc.kill()
            self.proc.wait()
            self._finish()
            raise AssertionError(f"{FLAVOR} kept running; log:\n" + tail(self.log_text()))
        self._finish()
        return rc, self.log_text()

    def is_running(self):
        return self.proc is not None and self.proc.poll() is None

    def signal(self, sig):
        """Send @sig; after SIGTERM/SIGINT the process is expected to exit 0."""
        if sig in (signal.SIGTERM, signal.SIGINT):
            self.signalled = True
        self.proc.send_signal(sig)

    def _finish(self):
        self.finished = True
        if self.proc is not None:
            forget_pid(self.proc.pid)
            self._log.close()
        self._port_lock.release()
        shutil.rmtree(self.sockdir, ignore_errors=True)

    def stop(self, timeout=15):
        """SIGTERM, wait, and return a list of problems (crash, sanitizer
        report, no exit) for the fixture to fail the test with."""
        if self.finished:
            return self.sanitizer_problems()
        problems = []
        if self.proc is None:
            self._finish()
            return problems
        rc = self.proc.poll()
        if rc is not None:
            if not self.signalled:
                problems.append(f"{FLAVOR} exited on its own during the test (status {rc})")
        else:
            self.signalled = True
            self.proc.send_signal(signal.SIGTERM)
            try:
                rc = self.proc.wait(timeout=timeout * SLOW)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                rc = self.proc.wait()
                problems.append(f"{FLAVOR} did not exit within {timeout * SLOW:.0f}s of SIGTERM")
        if rc < 0 and rc != -signal.SIGTERM:
            problems.append(f"{FLAVOR} died from signal {signal.Signals(-rc).name}")
        elif rc > 0 and not IS_PGBOUNCER:
            problems.append(f"{FLAVOR} exited with status {rc} after SIGTERM (expected 0)")
        self._finish()
        problems += self.sanitizer_problems()
        if problems:
            problems.append(f"--- {FLAVOR} log ({self.logfile}) ---\n" + tail(self.log_text()))
        return problems

    def sanitizer_problems(self):
        text = self.log_text()
        if SANITIZER_RE.search(text):
            return [f"sanitizer report in {FLAVOR} log"]
        return []

    def log_text(self):
        try:
            return self.logfile.read_text(errors="replace")
        except FileNotFoundError:
            return ""

    # ---- clients ----
    def dsn(self, db="p0", user="trustuser", password=None, host=None, **kw):
        kw.setdefault("connect_timeout", int(10 * SLOW))
        kw.setdefault("sslmode", "disable")
        return make_dsn(
            host=host or self.host, port=self.port, dbname=db, user=user, password=password, **kw
        )

    def conn(self, db="p0", user="trustuser", password=None, autocommit=True, **kw):
        """A psycopg2 connection through the pooler (autocommit by default)."""
        c = psycopg2.connect(self.dsn(db=db, user=user, password=password, **kw))
        c.autocommit = autocommit
        return c

    def sql(self, query, params=None, **kw):
        with closing(self.conn(**kw)) as c, c.cursor() as cur:
            cur.execute(query, params)
            return cur.fetchall() if cur.description else None

    def psql(self, sql, db="p0", user="trustuser", password=None, args=(), check=True,
             timeout=30, **kw):
        """Run psql -Atc @sql through the pooler; CompletedProcess."""
        env = clean_env(PGPASSWORD=password) if password else clean_env()
        return run(
            [PG_BIN / "psql", "-X", "-At", *args, "-d",
             self.dsn(db=db, user=user, **kw), "-c", sql],
            timeout=timeout,
            check=check,
            env=env,
        )

    def pgbench(self, args, db="p1", user="trustuser", password=None, timeout=120, check=True):
        env = clean_env(PGPASSWORD=password) if password else clean_env()
        return run(
            [PG_BIN / "pgbench", "-h", self.host, "-p", self.port, "-U", user, *args, db],
            timeout=timeout,
            check=check,
            env=env,
        )

    def raw(self, timeout=5):
        """A plain TCP socket to the pooler, for hand-made protocol bytes."""
        s = socket.create_connection((self.host, self.port), timeout=timeout * SLOW)
        s.settimeout(timeout * SLOW)
        return s


def run_binary(args, timeout=10):
    """Run the pooler binary with @args; CompletedProcess (stdout, stderr)."""
    return run([BINARY, *args], timeout=timeout, check=False, env=clean_env())


# ---- wire protocol ----
PROTOCOL_3_0 = 196608
CANCEL_REQUEST_CODE = 80877102
SSL_REQUEST_CODE = 80877103
GSSENC_REQUEST_CODE = 80877104


def startup_packet(params, version=PROTOCOL_3_0):
    body = struct.pack("!I", version)
    for k, v in params.items():
        body += k.encode() + b"\0" + v.encode() + b"\0"
    body += b"\0"
    return struct.pack("!I", len(body) + 4) + body


def request_packet(code, payload=b""):
    return struct.pack("!II", 8 + len(payload), code) + payload


def query_message(sql):
    body = sql.encode() + b"\0"
    return b"Q" + struct.pack("!I", len(body) + 4) + body


TERMINATE = b"X\0\0\0\4"


def recv_exact(sock, n):
    """n bytes, or fewer if the peer closed first."""
    data = b""
    while len(data) < n:
        try:
            chunk = sock.recv(n - len(data))
        except ConnectionResetError:
            break
        if not chunk:
            break
        data += chunk
    return data


def read_message(sock):
    """(type, payload) of the next backend message, or None at EOF.
    socket.timeout propagates."""
    header = recv_exact(sock, 5)
    if len(header) < 5:
        return None
    mtype = header[:1]
    (length,) = struct.unpack("!I", header[1:])
    assert 4 <= length <= 100_000_000, f"bad length {length} for message {mtype!r}"
    payload = recv_exact(sock, length - 4)
    if len(payload) < length - 4:
        return None
    return mtype, payload


def parse_error(payload):
    """ErrorResponse/NoticeResponse fields: {'S': 'FATAL', 'C': '08P01', ...}."""
    fields = {}
    for part in payload.split(b"\0"):
        if part:
            fields[chr(part[0])] = part[1:].decode(errors="replace")
    return fields


def read_until_error(sock):
    """Read messages until an ErrorResponse (its fields) or EOF (None)."""
    while True:
        msg = read_message(sock)
        if msg is None:
            return None
        if msg[0] == b"E":
            return parse_error(msg[1])


def wait_closed(sock):
    """True when the peer closes the connection before sock's timeout."""
    try:
        while True:
            data = sock.recv(4096)
            if not data:
                return True
    except ConnectionResetError:
        return True
    except socket.timeout:
        return False


def login_trust(sock, user="trustuser", db="p0"):
    """Send a startup packet and read up to ReadyForQuery (trust auth only).
    Returns the list of message types seen."""
    sock.sendall(startup_packet({"user": user, "database": db}))
    seen = []
    while True:
        msg = read_message(sock)
        assert msg is not None, f"connection closed during login after {seen}"
        mtype, payload = msg
        seen.append(mtype)
        if mtype == b"E":
            raise AssertionError(f"login failed: {parse_error(payload)}")
        if mtype == b"R":
            (code,) = struct.unpack("!I", payload[:4])
            assert code == 0, f"expected AuthenticationOk (trust), got auth request {code}"
        if mtype == b"Z":
            return seen


def simple_query(sock, sql):
    """Run @sql over a raw logged-in socket; list of DataRow payloads."""
    sock.sendall(query_message(sql))
    rows = []
    while True:
        msg = read_message(sock)
        assert msg is not None, "connection closed during query"
        mtype, payload = msg
        if mtype == b"E":
            raise AssertionError(f"query failed: {parse_error(payload)}")
        if mtype == b"D":
            rows.append(payload)
        if mtype == b"Z":
            return rows


def backend_pids(pg, db, user):
    rows = pg.sql(
        "SELECT pid FROM pg_stat_activity WHERE datname = %s AND usename = %s", (db, user)
    )
    return {r[0] for r in rows}


def sv_active(lg, db="p0", user="trustuser"):
    """SHOW POOLS' sv_active for @db/@user (servers linked to a client or pinned by one)."""
    with closing(lg.conn(db="pgbouncer")) as a, a.cursor() as cur:
        cur.execute("SHOW POOLS")
        cols = [d[0] for d in cur.description]
        for row in cur.fetchall():
            if row[0] == db and row[1] == user:
                return row[cols.index("sv_active")]
    return 0
