"""Transaction and statement pooling with real drivers: prepared statements across
servers, pipelines, per-client parameters, cancel, COPY, and the statement-mode
refusal of transaction blocks."""

import io
import random
import struct
import threading
import time
from contextlib import closing

import psycopg
import psycopg2
import psycopg2.errors
import pytest

import harness

TXN = {"pool_mode": "transaction"}


@pytest.fixture
def bench_db(pg):
    """Fresh pgbench tables in p1, initialised directly on the server."""
    pg.pgbench(["-i", "-s", "1", "-q"], db="p1", user="trustuser")
    return "p1"


@pytest.mark.timeout(120)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "5"})
def test_pgbench_prepared_100_clients_over_5_servers_keeps_every_row(lg, pg, bench_db):
    before = pg.sql("SELECT count(*) FROM pgbench_history", db=bench_db)[0][0]
    # One pgbench thread per client: pgbench 15 prepares each command synchronously on
    # first use, inside the transaction, so a thread shared by two clients can block on
    # one client's prepare while the other holds a server in its transaction (it would
    # deadlock against any transaction pooler; PostgreSQL 16's pgbench prepares up front).
    res = lg.pgbench(["-n", "-M", "prepared", "-c", "100", "-j", "100", "-t", "20"],
                     db=bench_db, timeout=110)
    assert "number of failed transactions: 0" in res.stdout, res.stdout + res.stderr
    assert "processed: 2000/2000" in res.stdout, res.stdout
    after = pg.sql("SELECT count(*) FROM pgbench_history", db=bench_db)[0][0]
    assert after - before == 2000
    sums = pg.sql("SELECT (SELECT sum(abalance) FROM pgbench_accounts),"
                  " (SELECT sum(bbalance) FROM pgbench_branches),"
                  " (SELECT sum(tbalance) FROM pgbench_tellers)", db=bench_db)[0]
    assert sums[0] == sums[1] == sums[2], sums
    backends = pg.sql("SELECT count(*) FROM pg_stat_activity WHERE datname = %s"
                      " AND usename = 'trustuser'", (bench_db,))[0][0]
    assert backends <= 5


@pytest.mark.timeout(120)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "5"})
@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
def test_pgbench_select_only_through_transaction_pooling(lg, bench_db, mode):
    res = lg.pgbench(["-n", "-S", "-M", mode, "-c", "20", "-j", "2", "-T", "3"],
                     db=bench_db, timeout=60)
    assert "number of failed transactions: 0" in res.stdout, res.stdout + res.stderr


@pytest.mark.timeout(120)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "5"})
def test_psycopg3_prepared_and_pipelined_queries_never_cross_clients(lg):
    errors = []

    def work(i):
        try:
            with psycopg.connect(lg.dsn(), prepare_threshold=0, autocommit=True) as c:
                for k in range(60):
                    v = random.randint(0, 10**6)
                    row = c.execute("SELECT %s::int + %s::int, %s::text", (v, i, f"c{i}")).fetchone()
                    if row != (v + i, f"c{i}"):
                        errors.append((i, k, row))
                with c.pipeline():
                    curs = [c.execute("SELECT %s::int, %s::text", (j, f"p{i}")) for j in range(20)]
                for j, cur in enumerate(curs):
                    row = cur.fetchone()
                    if row != (j, f"p{i}"):
                        errors.append((i, "pipeline", j, row))
                with c.transaction():
                    c.execute("CREATE TEMP TABLE t_%s (x int) ON COMMIT DROP" % i)
                    c.execute("INSERT INTO t_%s SELECT generate_series(1, %%s)" % i, (i + 1,))
                    n = c.execute("SELECT count(*) FROM t_%s" % i).fetchone()[0]
                    if n != i + 1:
                        errors.append((i, "txn", n))
        except Exception as e:  # noqa: BLE001 - every failure is a finding
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(50)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(100)
    assert not errors, errors[:5]


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "2"})
def test_named_statements_survive_deallocate_and_discard(lg):
    with psycopg.connect(lg.dsn(), autocommit=True) as c:
        c.execute("SELECT 1")
        # psycopg 3 prepares by name after prepare_threshold uses
        for _ in range(3):
            assert c.execute("SELECT %s::int * 3", (5,), prepare=True).fetchone() == (15,)
        c.execute("DEALLOCATE ALL")
        assert c.execute("SELECT %s::int * 4", (5,), prepare=True).fetchone() == (20,)
        c.execute("DISCARD ALL")
        assert c.execute("SELECT %s::int * 6", (5,), prepare=True).fetchone() == (30,)


@pytest.mark.parametrize("first", ["bind", "parse", "evict"])
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "2", "max_prepared_statements": "1"})
def test_pipeline_longer_than_the_buffer_of_a_statement_prepared_on_another_server(lg, first):
    """The client prepares a statement on one server, then pipelines thousands of Binds of
    it (asyncpg's executemany writes all its Bind/Execute pairs at once) while both servers
    are busy; the server it then gets needs the Parse ahead of the first Bind while the
    client's buffer is full of the rest ("bind"), and the Close of the statement that
    makes room for it in the server's cache ("evict"). Or the pipeline starts with the
    named Parse of a new statement, which lifeguard renames ("parse"). lifeguard used to close
    the client with 54000 "prepared statement too large" (seen with SQLAlchemy on
    asyncpg)."""
    holder_a = lg.conn(autocommit=False)
    holder_b = lg.conn(autocommit=False)
    try:
        with holder_a.cursor() as ha, holder_b.cursor() as hb, psycopg.connect(
            lg.dsn(), autocommit=True
        ) as c:
            if first == "evict":  # server 1 gets another statement of c's
                assert c.execute("SELECT %s::text", ("x",), prepare=True).fetchone() == ("x",)
            ha.execute("SELECT pg_backend_pid()")  # server 1, held
            q = "SELECT %s::int + 1"
            assert c.execute(q, (1,), prepare=True).fetchone() == (2,)  # on server 2
            if first == "parse":
                q = "SELECT %s::int + 1 AS fresh"
            hb.execute("SELECT pg_backend_pid()")  # server 2, held: c must wait
            result = {}

            def pipeline():
                try:
                    with c.pipeline():
                        curs = [c.execute(q, (i,), prepare=True) for i in range(3000)]
                    result["rows"] = [cur.fetchone()[0] for cur in curs]
                except Exception as e:  # noqa: BLE001 - reported below
                    result["error"] = e

            t = threading.Thread(target=pipeline)
            t.start()
            time.sleep(0.5)  # c's pipeline fills lifeguard's buffer while it waits
            holder_a.rollback()  # server 1, without the statement, goes to c
            t.join(30)
            assert "error" not in result, result.get("error")
            assert result["rows"] == list(range(1, 3001))
            assert c.execute(q, (41,), prepare=True).fetchone() == (42,)
            if first == "evict":
                assert c.execute("SELECT %s::text", ("y",), prepare=True).fetchone() == ("y",)
    finally:
        holder_a.close()
        holder_b.close()


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
def test_each_client_keeps_its_own_timezone_and_application_name_on_a_shared_server(lg):
    a = lg.conn()
    b = lg.conn()
    try:
        with a.cursor() as ca, b.cursor() as cb:
            ca.execute("SET TimeZone = 'Asia/Tokyo'")
            ca.execute("SET application_name = 'client_a'")
            cb.execute("SET TimeZone = 'America/Lima'")
            cb.execute("SET application_name = 'client_b'")
            for _ in range(5):
                ca.execute("SELECT current_setting('TimeZone'), current_setting('application_name'),"
                           " pg_backend_pid()")
                tz_a, app_a, pid_a = ca.fetchone()
                cb.execute("SELECT current_setting('TimeZone'), current_setting('application_name'),"
                           " pg_backend_pid()")
                tz_b, app_b, pid_b = cb.fetchone()
                assert pid_a == pid_b, "pool_size=1: both run on one server"
                assert (tz_a, app_a) == ("Asia/Tokyo", "client_a")
                assert (tz_b, app_b) == ("America/Lima", "client_b")
    finally:
        a.close()
        b.close()


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "3"})
def test_cancel_reaches_the_right_server_and_others_carry_on(lg):
    victim = lg.conn()
    bystander = lg.conn()
    try:
        timer = threading.Timer(0.5, victim.cancel)
        t0 = time.monotonic()
        timer.start()
        with victim.cursor() as cur, pytest.raises(psycopg2.errors.QueryCanceled):
            cur.execute("SELECT pg_sleep(30)")
        assert time.monotonic() - t0 < 1.5 * harness.SLOW
        with bystander.cursor() as cur:
            cur.execute("SELECT 42")
            assert cur.fetchone() == (42,)
        with victim.cursor() as cur:
            cur.execute("SELECT 7")
            assert cur.fetchone() == (7,)
    finally:
        victim.close()
        bystander.close()


@pytest.mark.timeout(180)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
def test_copy_100mb_in_and_out_with_one_server_while_others_query(lg):
    rows = 420_000
    line = "x" * 250
    data = "".join(f"{i}\t{line}\n" for i in range(rows)).encode()
    assert len(data) > 100 * 1024 * 1024
    stop = threading.Event()
    other_errors = []

    def others():
        while not stop.is_set():
            try:
                with closing(lg.conn()) as c, c.cursor() as cur:
                    cur.execute("SELECT 1")
                    assert cur.fetchone() == (1,)
            except Exception as e:  # noqa: BLE001
                other_errors.append(repr(e))
            time.sleep(0.05)

    t = threading.Thread(target=others)
    t.start()
    try:
        with closing(lg.conn(autocommit=False)) as c, c.cursor() as cur:
            cur.execute("CREATE TEMP TABLE big (i int, s text)")
            cur.copy_expert("COPY big FROM STDIN", io.BytesIO(data))
            cur.execute("SELECT count(*), sum(length(s)) FROM big")
            assert cur.fetchone() == (rows, rows * len(line))
            out = io.BytesIO()
            cur.copy_expert("COPY big TO STDOUT", out)
            assert out.getvalue() == data
            c.commit()
    finally:
        stop.set()
        t.join(30)
    assert not other_errors, other_errors[:3]


@pytest.mark.lg_config(main={"pool_mode": "statement", "default_pool_size": "2"})
def test_statement_mode_refuses_transaction_blocks(lg):
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 1")
        assert cur.fetchone() == (1,)
    # psycopg 3 shows the whole error text (psycopg2 keeps only libpq's last line).
    with pytest.raises(psycopg.OperationalError) as ei:
        with psycopg.connect(lg.dsn(), autocommit=False) as c:
            c.execute("SELECT 1")
            c.execute("SELECT 2")
    assert "transaction blocks are not allowed in statement pooling mode" in str(ei.value)
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 3")
        assert cur.fetchone() == (3,)


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "2"})
def test_listen_in_transaction_mode_is_logged_with_the_client(lg):
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("LISTEN some_channel")
    harness.wait_until(lambda: "LISTEN in transaction pooling mode" in lg.log_text(), 5)


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "2"})
def test_two_phase_commit_in_transaction_mode_is_not_taken_for_sql_prepare(lg, pg):
    """PREPARE TRANSACTION (psycopg2's tpc_prepare, SQLAlchemy's begin_twophase) ends the
    transaction and leaves it to the cluster: COMMIT PREPARED from any server finishes it.
    lifeguard used to log it as a SQL-level PREPARE that "does not outlive the
    transaction" at every two-phase commit."""
    with closing(pg.conn(db="p0")) as d, d.cursor() as cur:
        cur.execute("DROP TABLE IF EXISTS lg_tpc; CREATE TABLE lg_tpc (x int)")
        cur.execute("GRANT ALL ON lg_tpc TO trustuser")
    a = lg.conn(autocommit=False)
    b = lg.conn(autocommit=False)
    try:
        xid = a.xid(1, "lg-tpc-gid", "lg-branch")
        a.tpc_begin(xid)
        with a.cursor() as cur:
            cur.execute("INSERT INTO lg_tpc VALUES (42)")
        a.tpc_prepare()
        a.close()
        assert [x.gtrid for x in b.tpc_recover()] == ["lg-tpc-gid"]
        b.rollback()
        b.tpc_commit(xid)
        with b.cursor() as cur:
            cur.execute("SELECT x FROM lg_tpc")
            assert cur.fetchall() == [(42,)]
        b.rollback()
        # A real SQL-level PREPARE is still named, once: its warning marks the end of
        # everything the client sent before it.
        b.autocommit = True
        with b.cursor() as cur:
            cur.execute("PREPARE lg_plain AS SELECT 1")
    finally:
        a.close()
        b.close()
    harness.wait_until(lambda: "PREPARE in transaction pooling mode" in lg.log_text(), 5)
    assert lg.log_text().count("PREPARE in transaction pooling mode") == 1, lg.log_text()


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
def test_transaction_state_does_not_cross_to_the_next_transaction(lg):
    a = lg.conn(autocommit=False)
    b = lg.conn()
    try:
        with a.cursor() as ca:
            ca.execute("CREATE TEMP TABLE mine (x int)")
            ca.execute("INSERT INTO mine VALUES (1)")
            a.rollback()
        with b.cursor() as cb:
            cb.execute("SELECT to_regclass('pg_temp.mine')")
            assert cb.fetchone() == (None,)
    finally:
        a.close()
        b.close()


@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1",
                             "track_extra_parameters": "session_authorization"})
def test_track_extra_parameters_follow_the_client(lg):
    """session_authorization is reported but not tracked unless named here (lifeguard
    then applies it with set_config, which only a superuser login may do)."""
    a = lg.conn(user=harness.SUPERUSER)
    b = lg.conn(user=harness.SUPERUSER)
    try:
        with a.cursor() as ca, b.cursor() as cb:
            ca.execute("SET SESSION AUTHORIZATION trustuser")
            for _ in range(3):
                cb.execute("SELECT session_user")
                assert cb.fetchone() == (harness.SUPERUSER,)
                ca.execute("SELECT session_user")
                assert ca.fetchone() == ("trustuser",)
    finally:
        a.close()
        b.close()


@pytest.mark.lifeguard_only
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
def test_read_only_session_of_psycopg2_stays_with_its_client(lg):
    """psycopg2's set_session(readonly=True) in autocommit mode is SET
    default_transaction_read_only (reported by PostgreSQL 14+). It follows its
    client and never reaches another one on the same server, not even one that logs
    in after it left (psycopg2's own suite: CREATE TABLE in a read-only transaction)."""
    a = lg.conn()
    b = lg.conn()
    try:
        a.set_session(readonly=True)
        with a.cursor() as ca, b.cursor() as cb:
            for _ in range(3):
                ca.execute("SHOW default_transaction_read_only")
                assert ca.fetchone() == ("on",)
                cb.execute("SHOW default_transaction_read_only")
                assert cb.fetchone() == ("off",)
                cb.execute("CREATE TEMP TABLE t (x int) ON COMMIT DROP")
    finally:
        b.close()
        a.close()
    c = lg.conn()
    try:
        assert c.info.parameter_status("default_transaction_read_only") == "off"
        with c.cursor() as cc:
            cc.execute("SHOW default_transaction_read_only")
            assert cc.fetchone() == ("off",)
            cc.execute("CREATE TEMP TABLE t (x int) ON COMMIT DROP")
    finally:
        c.close()


@pytest.mark.lifeguard_only
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1", "query_wait_timeout": "3"})
def test_a_lone_flush_between_transactions_does_not_pin_the_server(lg):
    """A Flush (or COPY data) that arrives while the client holds no server gets one (it
    must be forwarded) but asks for no answer: the server goes straight back, so another
    client is served. (A request that asks for a server keeps it until its answer.)"""
    with closing(lg.raw()) as a:
        harness.login_trust(a)
        a.sendall(b"H\0\0\0\4")  # Flush alone, while idle
        time.sleep(0.3)
        with closing(lg.conn()) as b, b.cursor() as cur:  # pool_size 1: needs that server
            cur.execute("SELECT 1")
            assert cur.fetchone()[0] == 1
        assert harness.simple_query(a, "SELECT 2")  # and A still works


@pytest.mark.parametrize("mode", ["transaction", "session"])
def test_client_gone_halfway_through_copy_data_does_not_pass_its_tail_to_the_next_client(
    make_lg, pg, mode
):
    """ruby-pg's own suite: a COPY FROM STDIN fails on the server (here bad input; there a
    cancel) while the client is still writing CopyData; in transaction mode the server's
    ReadyForQuery 'I' releases it and the client's next CopyData takes a server again. The
    client then goes away halfway through that message. The server has read half a message:
    it must be closed, or the next client's Query is swallowed as the rest of that CopyData
    (ruby-pg: 'invalid frontend message type 120', the tail of a row of x's; in session mode
    server_reset_query is swallowed and the server never comes back)."""
    lg = make_lg(main={"pool_mode": mode, "default_pool_size": "1"})
    table = f"copy_tail_{random.randrange(1 << 30)}"
    pg.sql(f"CREATE TABLE {table} (n int)", db="p0")
    pg.sql(f"GRANT ALL ON {table} TO trustuser", db="p0")
    try:
        with closing(lg.raw()) as a:
            harness.login_trust(a)
            a.sendall(harness.query_message(f"COPY {table} FROM STDIN"))
            assert harness.read_message(a)[0] == b"G"  # CopyInResponse
            row = b"not a number\n"
            a.sendall(b"d" + struct.pack("!I", 4 + len(row)) + row)
            assert harness.read_until_error(a)["C"] == "22P02"
            assert harness.read_message(a)[0] == b"Z"  # the server is free again
            # A CopyData of 1 MB, of which only 64 kB arrive before the client leaves.
            a.sendall(b"d" + struct.pack("!I", 4 + (1 << 20)) + b"x" * (64 << 10))
            time.sleep(0.3)
        # pool_size 1: the same server, unless it was closed.
        with closing(lg.raw(timeout=5)) as b:
            harness.login_trust(b)
            assert harness.simple_query(b, "SELECT 1") == [b"\0\1\0\0\0\0011"]
        harness.wait_until(lambda: "client left with a message half forwarded" in lg.log_text(), 5)
    finally:
        pg.sql(f"DROP TABLE {table}", db="p0")
