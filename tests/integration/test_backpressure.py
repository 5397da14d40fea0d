"""Backpressure: a client that reads a large result slowly does not make lifeguard
buffer it; lifeguard's memory stays flat while the result streams."""

import socket
import time

import pytest

import harness


def rss_kb(pid):
    with open(f"/proc/{pid}/status") as f:
        for line in f:
            if line.startswith("VmRSS:"):
                return int(line.split()[1])
    return 0


@pytest.mark.timeout(120)
@pytest.mark.lifeguard_only
def test_slow_reader_of_a_big_result_keeps_memory_flat(lg):
    s = lg.raw(timeout=30)
    s.setsockopt(socket.SOL_SOCKET, socket.SO_RCVBUF, 64 * 1024)
    harness.login_trust(s)
    # about 400 MB of rows
    s.sendall(harness.query_message(
        "SELECT repeat('x', 1000) FROM generate_series(1, 400000)"))
    base = rss_kb(lg.proc.pid)
    got = 0
    peak = base
    t_end = time.monotonic() + 20
    while time.monotonic() < t_end and got < 40 * 1024 * 1024:
        chunk = s.recv(256 * 1024)
        if not chunk:
            break
        got += len(chunk)
        time.sleep(0.01)  # a slow reader: about 25 MB/s at most
        peak = max(peak, rss_kb(lg.proc.pid))
    assert got >= 4 * 1024 * 1024, "the result was streaming"
    # the result is hundreds of MB; lifeguard holds at most its bounded buffers
    bound = 64 * 1024 if harness.SANITIZED else 16 * 1024  # ASan quarantine and shadow
    assert peak - base < bound, f"RSS grew by {peak - base} kB while streaming"
    s.close()
    assert lg.psql("SELECT 42").stdout.strip() == "42"
