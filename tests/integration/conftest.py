"""conftest.py: fixtures for lifeguard's integration tests.

pg       session scope (one per xdist worker): a scratch PostgreSQL 15 with
         trustuser/md5user/scramuser and databases p0, p1.
lg       per test: the pooler started from the base ini plus the test's
         @pytest.mark.lg_config(...) overrides.
make_lg  per test: a factory for more poolers (or differently configured ones).
Poolers are stopped with SIGTERM at teardown; a crash, a non-zero exit or a
sanitizer report in the log fails the test. Logs of a failed test are
attached to its report.
"""

import os

import pytest

import harness


def pytest_report_header(config):
    return f"pooler under test: {harness.BINARY} ({harness.FLAVOR}, BUILD={harness.BUILD})"


def pytest_collection_modifyitems(config, items):
    # LG_RUN_LIFEGUARD_ONLY=1 runs them anyway (to see where PgBouncer differs)
    if not harness.IS_PGBOUNCER or os.environ.get("LG_RUN_LIFEGUARD_ONLY") == "1":
        return
    skip = pytest.mark.skip(reason="lifeguard_only: PgBouncer behaves differently")
    for item in items:
        if "lifeguard_only" in item.keywords:
            item.add_marker(skip)


@pytest.hookimpl(hookwrapper=True)
def pytest_runtest_makereport(item, call):
    outcome = yield
    rep = outcome.get_result()
    if not rep.failed or rep.when == "teardown":
        return
    for p in getattr(item, "_lg_poolers", []):
        rep.sections.append((f"{harness.FLAVOR} log {p.logfile}", harness.tail(p.log_text())))
    pg = item.funcargs.get("pg") if hasattr(item, "funcargs") else None
    if pg is not None:
        start = getattr(item, "_lg_pg_log_start", 0)
        rep.sections.append(("postgres log (this test)", harness.tail(pg.log_since(start))))


@pytest.fixture(scope="session")
def pg(tmp_path_factory):
    """A PostgreSQL 15 cluster for this worker."""
    server = harness.Postgres(tmp_path_factory.mktemp("pg"))
    try:
        server.init()
        server.start()
        server.setup()
    except BaseException:
        print(server.log_since(0))
        server.stop()
        raise
    yield server
    server.stop()


@pytest.fixture(autouse=True)
def _mark_pg_log(request):
    if "pg" in request.fixturenames:
        server = request.getfixturevalue("pg")
        request.node._lg_pg_log_start = server.log_size()
    yield


@pytest.fixture
def make_lg(request, pg, tmp_path):
    """make_lg(start=True, main=..., databases=..., users=..., userlist=...)"""
    poolers = []
    request.node._lg_poolers = poolers

    def make(start=True, **overrides):
        p = harness.Pooler(pg, tmp_path / f"pooler{len(poolers)}", **overrides)
        poolers.append(p)
        if start:
            p.start()
        return p

    yield make
    problems = []
    for p in poolers:
        problems += p.stop()
    if problems:
        pytest.fail("\n".join(problems), pytrace=False)


@pytest.fixture
def lg(request, make_lg):
    """The pooler under test, started; see harness.Pooler for helpers."""
    marker = request.node.get_closest_marker("lg_config")
    overrides = dict(marker.kwargs) if marker else {}
    return make_lg(**overrides)
