"""A shortened run (c): the app on NullPool with the fork fix off, through lifeguard in
transaction mode. Fails on any error signature, any HTTP error, any canary error or any
lost row. NOT part of `make test` (it needs the Debian packages of the example and takes
about a minute); run it by hand, as root or as a user who can run PostgreSQL:

    /usr/bin/python3 -m pytest -p no:cacheprovider examples/flask-celery/test_example.py
"""

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

HERE = Path(__file__).resolve().parent
REPO = HERE.parents[1]
BINARY = os.environ.get("LG_BINARY") or str(REPO / "build" / os.environ.get("BUILD", "release") / "lifeguard")


@pytest.mark.timeout(240)
def test_shortened_run_c_is_clean(tmp_path):
    if not Path(BINARY).exists():
        pytest.skip(f"{BINARY} not built")
    out = tmp_path / "summary.json"
    res = subprocess.run(
        ["/usr/bin/python3", str(HERE / "run-load"), "--target", "lifeguard", "--pool", "null",
         "--fork-fix", "off", "--duration", "15", "--concurrency", "16", "--drain-timeout", "60",
         "--lifeguard-bin", BINARY, "--json", str(out)],
        stdin=subprocess.DEVNULL, capture_output=True, text=True, timeout=220,
    )
    sys.stdout.write(res.stdout)
    sys.stderr.write(res.stderr[-5000:])
    assert res.returncode == 0, f"run-load exited {res.returncode}"
    s = json.loads(out.read_text())
    assert s["requests"] > 100, "too little load to say anything"
    assert s["http_errors"] == 0
    assert s["app_error_lines"] == 0, s["error_signatures"]
    assert s["postgres_log_too_many_clients"] == 0
    assert s["tasks_enqueued"] > 0
    assert s["lost_work"] == 0, f"{s['lost_work']} of {s['tasks_enqueued']} tasks lost"
    assert s["canary"].get("error", 0) == 0, s["canary"]
    assert s["canary"].get("wrong_answer", 0) == 0 and s["canary"].get("dirty_server", 0) == 0
