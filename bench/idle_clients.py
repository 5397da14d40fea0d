#!/usr/bin/python3
"""bench/idle_clients.py: hold N idle PostgreSQL client connections open.

    idle_clients.py HOST PORT N USER DBNAME

Opens N TCP connections (at most 200 handshakes in flight), completes the
PostgreSQL login on each (startup message; the pooler must use auth_type=trust,
since this speaks no password protocol), reads up to the first ReadyForQuery,
then prints "ready OK FAILED" and holds every connection idle until stdin closes
(or 600 s pass). Standard library only (/usr/bin/python3).
"""
import asyncio
import struct
import sys


async def login(host, port, user, db, sem, conns):
    async with sem:
        try:
            r, w = await asyncio.wait_for(asyncio.open_connection(host, port), 30)
        except Exception:
            return False
        body = struct.pack("!I", 196608)
        for k, v in (("user", user), ("database", db), ("application_name", "idle")):
            body += k.encode() + b"\0" + v.encode() + b"\0"
        body += b"\0"
        w.write(struct.pack("!I", len(body) + 4) + body)
        try:
            while True:
                hdr = await asyncio.wait_for(r.readexactly(5), 60)
                kind, ln = hdr[:1], struct.unpack("!I", hdr[1:])[0]
                payload = await r.readexactly(ln - 4)
                if kind == b"E":
                    raise RuntimeError(payload)
                if kind == b"R" and struct.unpack("!I", payload[:4])[0] != 0:
                    raise RuntimeError("pooler asked for a password: use auth_type=trust")
                if kind == b"Z":
                    break
        except Exception as e:  # noqa: BLE001
            if not getattr(login, "warned", False):
                login.warned = True
                print(f"idle_clients: login failed: {e}", file=sys.stderr)
            w.close()
            return False
        conns.append(w)
        return True


async def main():
    host, port, n, user, db = sys.argv[1], int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
    sem = asyncio.Semaphore(200)
    conns = []
    res = await asyncio.gather(*(login(host, port, user, db, sem, conns) for _ in range(n)))
    ok = sum(res)
    print(f"ready {ok} {n - ok}", flush=True)
    loop = asyncio.get_running_loop()
    try:
        await asyncio.wait_for(loop.run_in_executor(None, sys.stdin.read), 600)
    except asyncio.TimeoutError:
        pass
    for w in conns:
        try:
            w.write(b"X\0\0\0\4")
            w.close()
        except Exception:  # noqa: BLE001
            pass


if __name__ == "__main__":
    asyncio.run(main())
