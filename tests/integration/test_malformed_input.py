"""Malformed bytes from a client get an ErrorResponse and a closed
connection; the pooler keeps serving everyone else."""

import struct
from contextlib import closing

import pytest

import harness

STARTUP = {"user": "trustuser", "database": "p0"}

# (id, bytes to send, send them after a successful login?, PgBouncer answers it?)
# PgBouncer 1.18 waits silently on a startup length it can't use; lifeguard
# must answer those at once (ErrorResponse 08P01) instead of holding the socket.
CASES = [
    ("bad-protocol-version-4.0",
     harness.startup_packet(STARTUP, version=0x00040000), False, True),
    ("bad-protocol-version-2.0",
     harness.startup_packet(STARTUP, version=0x00020000), False, True),
    ("startup-length-3", struct.pack("!I", 3), False, False),
    ("startup-length-10001", struct.pack("!I", 10001), False, False),
    ("startup-length-2GiB", struct.pack("!I", 0x7FFFFFFF), False, False),
    ("http-request-instead-of-startup",
     b"GET / HTTP/1.1\r\nHost: lifeguard\r\n\r\n", False, True),
    ("garbage-message-type-after-login", b"\x01\x00\x00\x00\x08abcd", True, True),
    ("message-length-below-4-after-login", b"Q\x00\x00\x00\x02", True, True),
    ("startup-packet-again-after-login", harness.startup_packet(STARTUP), True, True),
]


def params(cases, mark_unshared):
    out = []
    for name, data, after_login, shared in cases:
        marks = [pytest.mark.lifeguard_only] if mark_unshared and not shared else []
        out.append(pytest.param(data, after_login, id=name, marks=marks))
    return out


def send_malformed(lg, data, after_login):
    """Send @data; return (ErrorResponse fields or None, closed-after?)."""
    with closing(lg.raw()) as s:
        if after_login:
            harness.login_trust(s)
        s.sendall(data)
        err = harness.read_until_error(s)
        closed = harness.wait_closed(s)
    return err, closed


def assert_pooler_serves(lg):
    assert lg.is_running(), f"{harness.FLAVOR} died"
    with closing(lg.conn()) as c, c.cursor() as cur:
        cur.execute("SELECT 'alive'")
        assert cur.fetchone()[0] == "alive"


@pytest.mark.parametrize("data,after_login", params(CASES, mark_unshared=True))
def test_malformed_input_gets_error_response_and_pooler_survives(lg, data, after_login):
    err, closed = send_malformed(lg, data, after_login)
    assert err is not None, "connection closed without an ErrorResponse"
    assert err.get("S") in ("ERROR", "FATAL"), err
    assert closed, "connection left open after a protocol error"
    assert_pooler_serves(lg)


@pytest.mark.lifeguard_only
@pytest.mark.parametrize("data,after_login", params(CASES, mark_unshared=False))
def test_malformed_input_gets_08P01(lg, data, after_login):
    err, closed = send_malformed(lg, data, after_login)
    assert err is not None and err.get("C") == "08P01", err
    assert err.get("S") == "FATAL", err
    assert closed
    assert_pooler_serves(lg)


@pytest.mark.parametrize("cut", [1, 4, 7, 20])
def test_client_closing_mid_startup_is_harmless(lg, cut):
    packet = harness.startup_packet(STARTUP)
    with closing(lg.raw()) as s:
        s.sendall(packet[:cut])
    assert_pooler_serves(lg)


def test_startup_without_user_is_refused(lg):
    with closing(lg.raw()) as s:
        s.sendall(harness.startup_packet({"database": "p0"}))
        err = harness.read_until_error(s)
    assert err is not None and err.get("S") == "FATAL", err
    assert_pooler_serves(lg)


def test_many_bad_clients_in_a_row_leave_pooler_healthy(lg):
    cases = [c for c in CASES if c[3] or not harness.IS_PGBOUNCER]
    for i in range(50):
        _, data, after_login, _ = cases[i % len(cases)]
        err, _ = send_malformed(lg, data, after_login)
        assert err is not None
    assert_pooler_serves(lg)


@pytest.mark.lifeguard_only
def test_terminate_before_startup_closes_without_error(lg):
    """A client that sends Terminate ('X', length 4) before any startup packet is
    leaving: it is closed without an ErrorResponse, as PostgreSQL does. node-postgres
    does this when end() follows connect() at once (its quick-disconnect-tests.js) and
    reports an ErrorResponse there as an unhandled failed connect."""
    with closing(lg.raw()) as s:
        s.sendall(harness.TERMINATE)
        msg = harness.read_message(s)
        assert msg is None, f"expected a silent close, got {msg[0]!r} {harness.parse_error(msg[1])}"
    assert_pooler_serves(lg)
