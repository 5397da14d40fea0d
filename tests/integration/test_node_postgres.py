"""node-postgres (npm `pg`) through the pooler: named queries from many clients
sharing a few servers in transaction pooling, and its startup parameters
(tests/integration/node/).

The npm dependencies come from tests/integration/node/node_modules when it holds
the pinned `pg`; otherwise `npm ci` installs them once per session into a
scratch dir (never into the repository, which may be read-only for the user
the tests run as). Skipped only when `node` is missing (scripts/deps.sh installs
it); a missing `npm` or a failed install fails the test.
"""

import json
import os
import shutil
import subprocess
from pathlib import Path

import pytest

import harness

NODE_DIR = Path(__file__).resolve().parent / "node"
SCRIPT = "named_queries.js"
NPM_CI_TIMEOUT = 180
NODE_TIMEOUT = 120


def _pinned_pg_version():
    return json.loads((NODE_DIR / "package.json").read_text())["dependencies"]["pg"]


def _installed_pg_version(node_modules):
    try:
        return json.loads((node_modules / "pg" / "package.json").read_text())["version"]
    except (OSError, ValueError, KeyError):
        return None


@pytest.fixture(scope="session")
def node_scripts(tmp_path_factory):
    """A directory holding named_queries.js with node_modules beside it."""
    if shutil.which("node") is None:
        pytest.skip("node is not installed (scripts/deps.sh installs the nodejs and npm packages)")
    if _installed_pg_version(NODE_DIR / "node_modules") == _pinned_pg_version():
        return NODE_DIR
    npm = shutil.which("npm")
    assert npm, "node is installed but npm is not: cannot install tests/integration/node deps"
    work = tmp_path_factory.mktemp("node")
    for name in ["package.json", "package-lock.json"] + [p.name for p in NODE_DIR.glob("*.js")]:
        shutil.copy(NODE_DIR / name, work / name)
    env = harness.clean_env(
        HOME=work / "home",  # npm writes under $HOME; the caller's may be read-only
        npm_config_cache=work / "npm-cache",
        npm_config_update_notifier="false",
        npm_config_fund="false",
        npm_config_audit="false",
    )
    (work / "home").mkdir()
    cmd = [npm, "ci", "--no-audit", "--no-fund"]
    print("+ " + " ".join(cmd) + f"  (in {work})")
    try:
        res = subprocess.run(cmd, cwd=work, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.STDOUT, text=True,
                             timeout=NPM_CI_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"npm ci took over {NPM_CI_TIMEOUT}s:\n{e.output}") from None
    assert res.returncode == 0, f"npm ci exited {res.returncode}:\n{res.stdout}"
    installed = _installed_pg_version(work / "node_modules")
    assert installed == _pinned_pg_version(), f"npm ci installed pg {installed}"
    return work


# PgBouncer 1.18 does not track protocol-level named statements in transaction mode.
@pytest.mark.lifeguard_only
@pytest.mark.timeout(NPM_CI_TIMEOUT + NODE_TIMEOUT + 60)
@pytest.mark.lg_config(main={"pool_mode": "transaction", "default_pool_size": "3"})
def test_node_postgres_named_queries_over_three_servers(node_scripts, lg, pg):
    clients, iterations = 20, 50
    # servers the pooler opens from now on (earlier tests' backends may linger)
    t0 = pg.sql("SELECT now()")[0][0]
    env = harness.clean_env(
        PGHOST=lg.host, PGPORT=lg.port, PGUSER="trustuser", PGDATABASE="p0",
        LG_NODE_TIMEOUT_MS=(NODE_TIMEOUT - 20) * 1000,
    )
    cmd = ["node", SCRIPT, str(clients), str(iterations)]
    print("+ " + " ".join(cmd) + f"  (in {node_scripts})")
    try:
        res = subprocess.run(cmd, cwd=node_scripts, env=env, stdin=subprocess.DEVNULL,
                             stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True,
                             timeout=NODE_TIMEOUT)
    except subprocess.TimeoutExpired as e:
        raise AssertionError(f"node {SCRIPT} ran over {NODE_TIMEOUT}s:\n{e.stdout}\n{e.stderr}") \
            from None
    out = f"exit {res.returncode}\nstdout:\n{res.stdout}\nstderr:\n{res.stderr}"
    lines = res.stdout.strip().splitlines()
    assert lines, out
    summary = json.loads(lines[-1])
    assert summary["errors"] == [] and summary["error_count"] == 0, out
    assert summary["ok"] == clients * iterations, out
    assert res.returncode == 0, out

    # at most default_pool_size servers served all of it
    seen = set(summary["pids"])
    assert 1 <= len(seen) <= 3, f"clients were served by backends {sorted(seen)}"
    live = {r[0] for r in pg.sql(
        "SELECT pid FROM pg_stat_activity WHERE datname = 'p0' AND usename = 'trustuser'"
        " AND backend_start >= %s", (t0,))}
    assert len(live) <= 3, f"{len(live)} backends opened for p0/trustuser: {sorted(live)}"
    assert seen <= live, f"backends seen by the clients {sorted(seen)}, alive now {sorted(live)}"


@pytest.mark.timeout(NPM_CI_TIMEOUT + 60)
@pytest.mark.parametrize("mode", ["session", "transaction"])
def test_node_postgres_startup_parameter_wins_over_options(node_scripts, make_lg, mode):
    """A parameter of its own in the startup packet wins over the same one in
    "options", as in PostgreSQL. node-postgres puts statement_timeout before options;
    lib/pq's order is random (its TestRuntimeParameters). Transaction mode applied them
    in packet order, so options won."""
    lg = make_lg(main={"pool_mode": mode})
    env = harness.clean_env(PGHOST=lg.host, PGPORT=lg.port, PGUSER="trustuser", PGDATABASE="p0")
    res = subprocess.run(["node", "startup_options.js"], cwd=node_scripts, env=env,
                         stdin=subprocess.DEVNULL, stdout=subprocess.PIPE,
                         stderr=subprocess.PIPE, text=True, timeout=60)
    assert res.returncode == 0, res.stdout + res.stderr
    got = json.loads(res.stdout.strip().splitlines()[-1])
    assert got == {"statement_timeout": "1234ms", "lock_timeout": "4321ms"}, got
