"""pgbench through the pooler: the built-in scripts in every query mode."""

import re

import pytest

SCALE = 1


@pytest.fixture(scope="session")
def pgbench_tables(pg):
    """pgbench -i directly on the server (once per worker), owned by trustuser."""
    pg.pgbench(["-i", "-s", str(SCALE), "-q"], db="p1", user="trustuser")
    return "p1"


@pytest.mark.parametrize("mode", ["simple", "extended", "prepared"])
@pytest.mark.parametrize("script", ["select-only", "tpcb-like"])
def test_pgbench_runs_clean_through_pooler(lg, pgbench_tables, script, mode):
    clients, per_client = 4, 100
    args = ["-n", "-c", str(clients), "-j", "2", "-t", str(per_client), "-M", mode,
            "-b", script]
    res = lg.pgbench(args, db=pgbench_tables, timeout=60)
    out = res.stdout
    processed = re.search(r"number of transactions actually processed: (\d+)/(\d+)", out)
    assert processed, out
    assert processed.group(1) == processed.group(2) == str(clients * per_client), out
    failed = re.search(r"number of failed transactions: (\d+)", out)
    assert failed and failed.group(1) == "0", out
    assert "error" not in res.stderr.lower(), res.stderr


def test_pgbench_timed_run_with_reconnects(lg, pgbench_tables):
    """-C: a new connection per transaction, the pooler's login path on repeat."""
    res = lg.pgbench(["-n", "-C", "-S", "-c", "4", "-j", "2", "-T", "2"], db=pgbench_tables,
                     timeout=60)
    assert re.search(r"number of failed transactions: 0\b", res.stdout), res.stdout
    tps = re.search(r"tps = ([\d.]+)", res.stdout)
    assert tps and float(tps.group(1)) > 0, res.stdout
    assert "error" not in res.stderr.lower(), res.stderr
