"""asyncpg (python3-asyncpg) and psycopg 3 in transaction pooling, with Bind messages
larger than lifeguard's connection buffer (tests/compat/run-asyncpg-suite.sh runs
asyncpg's own suite; these are what it led to).

asyncpg prepares every query as a named statement and reuses it from its cache, so in
transaction pooling lifeguard must prepare it again on whichever server the client
lands on, and rename it in every Bind. When the Bind is large (an upload, a JSON
document), the client's buffer is full of it by the time lifeguard sees its header,
and neither the inserted Parse nor a server name longer than the client's fits in
front of it: lifeguard used to close the client with 54000 ("prepared statement too
large", "Bind too large") for a statement of a few bytes.
"""

import asyncio
import struct
from contextlib import closing

import asyncpg
import pytest

import harness

# PgBouncer 1.18 does not track protocol-level named statements in transaction mode.
pytestmark = pytest.mark.lifeguard_only

TXN = {"pool_mode": "transaction"}
BIG = 200_000  # bytes of one parameter: many times the 16 KiB buffer


def connect(lg):
    return asyncpg.connect(host=lg.host, port=lg.port, user="trustuser", database="p0",
                           ssl=False)


@pytest.mark.timeout(60)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "2"})
def test_asyncpg_statement_prepared_again_ahead_of_a_large_bind_on_another_server(lg):
    lg.sql("DROP TABLE IF EXISTS apg_blobs")
    lg.sql("CREATE TABLE apg_blobs (b bytea)")
    query = "INSERT INTO apg_blobs VALUES ($1)"

    async def main():
        a = await connect(lg)
        holders = []
        try:
            # a prepares the statement (asyncpg's cache) on the server it holds now.
            async with a.transaction():
                prepared_on = await a.fetchval("SELECT pg_backend_pid()")
                await a.executemany(query, [(b"small",)])
            # Other clients hold both servers in open transactions until one of them
            # holds that one; the others let theirs go, so a's next transaction lands
            # on a server that has never seen the statement.
            while not holders or holders[-1][2] != prepared_on:
                h = await connect(lg)
                tr = h.transaction()
                await tr.start()
                holders.append((h, tr, await h.fetchval("SELECT pg_backend_pid()")))
                assert len(holders) <= 2, holders
            for h, tr, _ in holders[:-1]:
                await tr.rollback()
            # One Bind of BIG bytes: lifeguard inserts the Parse ahead of it.
            await a.executemany(query, [(b"y" * BIG,)])
            assert await a.fetchval("SELECT pg_backend_pid()") != prepared_on
            assert await a.fetchval("SELECT sum(length(b)) FROM apg_blobs") == BIG + 5
            # The same statement keeps working, on either server.
            await holders[-1][1].rollback()
            for _ in range(3):
                await a.executemany(query, [(b"z" * BIG,)])
            assert await a.fetchval("SELECT count(*) FROM apg_blobs") == 5
        finally:
            for h, _, _ in holders:
                await h.close()
            await a.close()

    asyncio.run(main())
    assert "54000" not in lg.log_text()


def _msg(mtype, body):
    return mtype + struct.pack("!I", len(body) + 4) + body


def _until_ready(lg, s):
    got = []
    while not got or got[-1][0] != b"Z":
        m = harness.read_message(s)
        assert m is not None, f"closed after {got}: {lg.log_text()[-500:]}"
        got.append(m)
    return got


@pytest.mark.timeout(60)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
@pytest.mark.parametrize("name", [b"s", b"S_1"])
def test_large_bind_of_a_statement_whose_server_name_is_longer(lg, name):
    # What pgjdbc ("S_1") or a node-postgres named query ("s") send: lifeguard's
    # name for the statement (lg_<n>) is longer, so the Bind's start grows, and the
    # Bind (written whole) fills lifeguard's buffer. By hand: no Python driver here
    # names its statements that short.
    with closing(lg.raw(timeout=20)) as s:
        harness.login_trust(s)
        s.sendall(_msg(b"P", name + b"\0SELECT length($1::bytea)\0\0\0") + _msg(b"S", b""))
        assert [m for m, _ in _until_ready(lg, s)] == [b"1", b"Z"]
        for _ in range(2):
            val = b"x" * BIG
            bind = (b"\0" + name + b"\0" + struct.pack("!hhhI", 1, 1, 1, len(val)) + val
                    + struct.pack("!hh", 1, 1))
            s.sendall(_msg(b"B", bind) + _msg(b"E", b"\0\0\0\0\0") + _msg(b"S", b""))
            got = _until_ready(lg, s)
            types = [m for m, _ in got]
            assert types == [b"2", b"D", b"C", b"Z"], got
            assert got[1][1] == struct.pack("!hII", 1, 4, BIG)
    assert "54000" not in lg.log_text()


def _long_query(n_bytes):
    # A statement of @n_bytes: an IN list of literals, as ORMs build them.
    items = []
    size = 0
    i = 0
    while size < n_bytes:
        item = str(1_000_000 + i)
        items.append(item)
        size += len(item) + 1
        i += 1
    return f"SELECT count(*) FROM generate_series(1, $1::int) g WHERE g IN ({','.join(items)})"


@pytest.mark.timeout(90)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "2"})
def test_asyncpg_named_statement_longer_than_the_buffer_on_either_server(lg):
    # asyncpg names every statement; a 300 kB one (a long IN list) is many times the
    # 16 KiB buffer. lifeguard used to close the client with 54000 ("named prepared
    # statement larger than the buffer"); now the client's buffer grows for it, and
    # preparing it again on the other server sends it through the server's buffer.
    query = _long_query(300_000)
    assert len(query) > 300_000

    async def main():
        # asyncpg names (caches) statements up to max_cacheable_statement_size only.
        a = await asyncpg.connect(host=lg.host, port=lg.port, user="trustuser", database="p0",
                                  ssl=False, max_cacheable_statement_size=1 << 20)
        b = await connect(lg)
        try:
            seen = set()
            for i in range(6):
                # b holds a server in an open transaction every other time, so a's
                # statement runs on both servers: prepared again on the second.
                tr = None
                if i % 2:
                    tr = b.transaction()
                    await tr.start()
                    await b.fetchval("SELECT 1")
                async with a.transaction():
                    seen.add(await a.fetchval("SELECT pg_backend_pid()"))
                    assert await a.fetchval(query, 10) == 0
                    assert await a.fetchval(query, 1_000_004) == 5
                if tr:
                    await tr.rollback()
            assert len(seen) == 2
            # Short statements are not disturbed by the grown buffer coming and going.
            assert await a.fetchval("SELECT $1::int + 1", 41) == 42
        finally:
            await a.close()
            await b.close()

    asyncio.run(main())
    assert "54000" not in lg.log_text()


@pytest.mark.timeout(60)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1", "max_packet_size": "100000"})
def test_named_statement_over_max_packet_size_is_refused_and_others_go_on(lg):
    # The bound on the grown buffer: max_packet_size. Above it the client gets an error
    # (08P01, as for any message over it) and is closed before anything is allocated
    # for it; another client goes on with the same server.
    query = _long_query(150_000).encode()
    with closing(lg.raw(timeout=20)) as s:
        harness.login_trust(s)
        s.sendall(_msg(b"P", b"big\0" + query + b"\0\0\0") + _msg(b"S", b""))
        err = None
        while True:
            m = harness.read_message(s)
            if m is None:
                break
            if m[0] == b"E":
                err = m[1]
        assert err is not None and b"C08P01" in err and b"max_packet_size" in err, err
    with closing(lg.raw(timeout=20)) as s:
        harness.login_trust(s)
        s.sendall(_msg(b"P", b"ok\0SELECT 1\0\0\0") + _msg(b"B", b"\0ok\0\0\0\0\0\0\0")
                  + _msg(b"E", b"\0\0\0\0\0") + _msg(b"S", b""))
        assert [m for m, _ in _until_ready(lg, s)] == [b"1", b"2", b"D", b"C", b"Z"]
