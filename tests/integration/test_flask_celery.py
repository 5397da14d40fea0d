"""test_flask_celery.py: issue #8's shortened run (c) of examples/flask-celery.

The example app (Flask under 4 Gunicorn gthread workers, 4 Celery prefork workers,
SQLAlchemy with NullPool, the fork fix off) talks to PostgreSQL through the lifeguard
under test in transaction mode, while two canary clients check every answer they get
through the same pool. examples/flask-celery/run-load starts and stops the whole stack
(its own PostgreSQL with max_connections = 30, redis, lifeguard, the app) on free ports
in this test's tmp dir; this test only bounds it and judges its JSON summary. It fails
on any error signature, HTTP error, canary error, "too many clients" or lost row, on a
lifeguard that crashed, left a sanitizer report or flagged a shared connection where
there is none, and when too little load ran to say anything.
"""

import json
import shutil
import signal
import subprocess
import sys
from pathlib import Path

import pytest

import harness

HERE = Path(__file__).resolve().parent
# In the repo: tests/integration/ -> ../../examples. run.sh's copy (when the postgres
# user cannot read the repo): $base/tests/ -> ../examples.
RUN_LOAD = next((p for p in (HERE.parents[1] / "examples" / "flask-celery" / "run-load",
                             HERE.parent / "examples" / "flask-celery" / "run-load")
                 if p.exists()), None)
MODULES = ("flask", "sqlalchemy", "celery", "redis", "gunicorn", "psycopg2")

LOAD_S = 12
CLIENTS = 16
# Hard limit on run-load, stopping included; about 30 s is typical for the debug build on
# 2 busy cores. ASan makes lifeguard, not the Python side, slower.
DEADLINE_S = 90 if harness.SANITIZED else 60
GRACE_S = 30  # after the deadline: SIGTERM, then SIGKILL (its children then die with it)


def missing_deps():
    missing = [m for m in MODULES
               if subprocess.run(["/usr/bin/python3", "-c", f"import {m}"],
                                 capture_output=True).returncode != 0]
    if not shutil.which("redis-server"):
        missing.append("redis-server")
    return missing


def run_load(tmp_path):
    """Run run-load once within DEADLINE_S + GRACE_S; (exit status, output, summary)."""
    out = tmp_path / "summary.json"
    outlog = tmp_path / "run-load.out"
    argv = ["/usr/bin/python3", str(RUN_LOAD), "--target", "lifeguard", "--pool", "null",
            "--fork-fix", "off", "--duration", str(LOAD_S), "--concurrency", str(CLIENTS),
            "--drain-timeout", "25", "--deadline", str(DEADLINE_S),
            "--lifeguard-bin", harness.BINARY, "--workdir", str(tmp_path), "--keep-logs",
            "--json", str(out)]
    print("+ " + " ".join(argv))
    with open(outlog, "wb") as f:
        p = subprocess.Popen(argv, stdin=subprocess.DEVNULL, stdout=f, stderr=subprocess.STDOUT,
                             env=harness.clean_env(), cwd=tmp_path)
    harness.note_pid(p.pid, f"run-load {tmp_path}")  # run.sh stops it if this worker dies
    try:
        rc = p.wait(timeout=DEADLINE_S + 15)
    except BaseException as exc:  # its own deadline missed, or pytest's timeout, or Ctrl-C
        p.send_signal(signal.SIGTERM)  # run-load stops everything it started, then exits
        try:
            p.wait(timeout=GRACE_S)
        except subprocess.TimeoutExpired:
            p.kill()  # its processes get their parent-death signals
            p.wait()
        if not isinstance(exc, subprocess.TimeoutExpired):
            raise
        rc = "nothing: it overran its deadline by 15 s and was stopped"
    finally:
        harness.forget_pid(p.pid)
    text = outlog.read_text(errors="replace")
    summary = json.loads(out.read_text()) if out.exists() else None
    return rc, text, summary


@pytest.mark.lifeguard_only  # run-load's ini uses lifeguard's keys (max_overflow, http_*)
@pytest.mark.timeout(DEADLINE_S + GRACE_S + 30)
def test_flask_celery_nullpool_through_lifeguard_loses_nothing(tmp_path):
    assert RUN_LOAD is not None, "examples/flask-celery/run-load not found"
    missing = missing_deps()
    assert not missing, f"missing {missing}: run scripts/deps.sh (make deps) as root"

    rc, text, s = run_load(tmp_path)
    sys.stdout.write(text)  # shown when the test fails
    assert rc == 0, f"run-load exited {rc} (124: its {DEADLINE_S} s deadline; see its output)"
    assert s is not None, "run-load wrote no summary"
    detail = json.dumps({k: s[k] for k in ("requests", "http_status", "error_signatures",
                                           "other_errors", "canary", "tasks_enqueued",
                                           "rows_written", "lost_work", "queue_left",
                                           "exit_status", "lifeguard_counters",
                                           "lifeguard_detected")}, indent=1)

    # enough load ran through lifeguard to say anything, one login per checkout
    counters = s["lifeguard_counters"]
    logins = counters.get("lifeguard_pool_client_logins_total", 0)
    assert s["requests"] >= 100, f"only {s['requests']} requests in {LOAD_S} s\n{detail}"
    assert s["tasks_enqueued"] >= 50, f"only {s['tasks_enqueued']} tasks\n{detail}"
    assert s["canary"].get("ok", 0) >= 100, detail
    assert logins >= s["requests"], f"{logins} logins for {s['requests']} requests\n{detail}"

    # nothing failed, nothing lost
    assert s["http_errors"] == 0, detail
    assert set(s["http_status"]) <= {"200", "202"}, detail
    assert s["app_error_lines"] == 0, detail
    assert s["postgres_log_too_many_clients"] == 0, detail
    assert s["lost_work"] == 0 and s["queue_left"] == 0, detail
    assert s["rows_written"] == s["tasks_enqueued"], detail
    assert s["canary"].get("error", 0) == 0, detail
    assert s["canary"].get("wrong_answer", 0) == 0, detail
    assert s["canary"].get("dirty_server", 0) == 0, detail
    assert not any(s["worker_deaths"].values()), detail
    assert counters.get("lifeguard_pool_timeouts_total", 0) == 0, detail

    # lifeguard: clean exit, no sanitizer report, no false alarm (nothing is shared here)
    assert s["exit_status"].get("lifeguard") == 0, detail
    assert not s["lifeguard_sanitizer_report"], f"sanitizer report in {s['logs']}/lifeguard.log"
    assert s["lifeguard_detected"]["shared_warnings"] == 0, detail
    assert s["lifeguard_detected"]["framing_closes"] == 0, detail
    assert s["postgres_log_transaction_warnings"] == 0, detail
