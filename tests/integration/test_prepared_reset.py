"""Transaction pooling: DEALLOCATE ALL / DISCARD ALL that the server refuses, or runs in
the middle of a pipeline, and the unnamed statement longer than the connection buffer.
Raw protocol through psycopg's pgconn (libpq), so that nothing a driver adds on its own
hides what reaches the server."""

import psycopg
import pytest

TXN = {"pool_mode": "transaction"}
pq = psycopg.pq
SQLSTATE = pq.DiagnosticField.SQLSTATE


def _connect(lg):
    c = pq.PGconn.connect(lg.dsn().encode())
    assert c.status == pq.ConnStatus.OK, c.error_message
    return c


def _ok(res, status=pq.ExecStatus.COMMAND_OK):
    assert res.status == status, res.error_message
    return res


def _fails(res, sqlstate):
    assert res.status == pq.ExecStatus.FATAL_ERROR, res.status
    assert res.error_field(SQLSTATE) == sqlstate, res.error_message


def _value(res):
    _ok(res, pq.ExecStatus.TUPLES_OK)
    return res.get_value(0, 0)


def _failed_drop(c, how):
    """Run DEALLOCATE ALL or DISCARD ALL on @c so that the server refuses it, the way
    @how says; the transaction it was in is rolled back afterwards."""
    _ok(c.exec_(b"BEGIN"))
    if how == "discard in a block":  # 25001: DISCARD ALL cannot run in a transaction
        _fails(c.exec_(b"DISCARD ALL"), b"25001")
    elif how == "deallocate when aborted":  # 25P02: the transaction already failed
        _fails(c.exec_(b"SELECT 1/0"), b"22012")
        _fails(c.exec_(b"DEALLOCATE ALL"), b"25P02")
    elif how == "unnamed parse when aborted":  # psycopg 3.1's way: its Parse fails
        _fails(c.exec_(b"SELECT 1/0"), b"22012")
        _fails(c.exec_params(b"DEALLOCATE ALL", []), b"25P02")
    elif how == "unnamed discard in a block":  # Parse and Bind succeed, Execute fails
        _fails(c.exec_params(b"DISCARD ALL", []), b"25001")
    elif how == "named discard in a block":  # pgjdbc's way: a named statement
        _fails(c.exec_prepared(b"drop_all", None), b"25001")
    else:
        raise AssertionError(how)
    _ok(c.exec_(b"ROLLBACK"))


HOWS = ["discard in a block", "deallocate when aborted", "unnamed parse when aborted",
        "unnamed discard in a block", "named discard in a block"]


@pytest.mark.timeout(60)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
@pytest.mark.parametrize("how", HOWS)
def test_refused_deallocate_all_keeps_every_statement(lg, how):
    """A DEALLOCATE ALL or DISCARD ALL that fails on the server drops nothing there, as
    directly: the client's statements and another client's on that server still run.
    lifeguard forgot them all as soon as it forwarded the statement, so the client's next
    Bind of its own statement went out under the client's name (26000 'prepared statement
    "s1" does not exist'), and another client's statement was prepared again on a server
    that still had it (42P05 'prepared statement "lg_2" already exists')."""
    c, other = _connect(lg), _connect(lg)
    try:
        _ok(c.prepare(b"s1", b"SELECT $1::int * 3"))
        _ok(c.prepare(b"drop_all", b"DISCARD ALL"))
        _ok(other.prepare(b"o1", b"SELECT $1::int + 100"))
        assert _value(c.exec_prepared(b"s1", [b"5"])) == b"15"
        assert _value(other.exec_prepared(b"o1", [b"1"])) == b"101"
        _failed_drop(c, how)
        for v in (1, 2):
            assert _value(other.exec_prepared(b"o1", [str(v).encode()])) == str(
                100 + v).encode()
            assert _value(c.exec_prepared(b"s1", [str(v).encode()])) == str(3 * v).encode()
        # The same statement outside a transaction block does drop everything, the
        # client's own and the other client's (lifeguard prepares the latter again).
        _ok(c.exec_prepared(b"drop_all", None))
        _fails(c.exec_prepared(b"s1", [b"1"]), b"26000")
        _fails(c.exec_prepared(b"drop_all", None), b"26000")
        assert _value(other.exec_prepared(b"o1", [b"3"])) == b"103"
    finally:
        c.finish()
        other.finish()


@pytest.mark.timeout(60)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
@pytest.mark.parametrize("query", [b"SELECT 1; DEALLOCATE ALL",
                                   b"SELECT 1;\n  deallocate prepare all;"])
def test_deallocate_all_after_another_statement_in_one_query(lg, query):
    """A DEALLOCATE ALL that is not the first statement of its query drops every statement
    on the server all the same: another client's statement there is prepared again, and
    the client's own are gone for it, as directly. lifeguard looked only at a query's first
    statement, so it kept both in its tables, and the other client's next Bind went to a
    statement the server no longer had (26000 'prepared statement "lg_2" does not
    exist')."""
    c, other = _connect(lg), _connect(lg)
    try:
        _ok(c.prepare(b"s1", b"SELECT $1::int * 3"))
        _ok(other.prepare(b"o1", b"SELECT $1::int + 100"))
        assert _value(c.exec_prepared(b"s1", [b"5"])) == b"15"
        assert _value(other.exec_prepared(b"o1", [b"1"])) == b"101"
        _ok(c.exec_(query), pq.ExecStatus.COMMAND_OK)
        assert _value(other.exec_prepared(b"o1", [b"2"])) == b"102"
        _fails(c.exec_prepared(b"s1", [b"1"]), b"26000")
        _ok(c.prepare(b"s1", b"SELECT $1::int * 4"))  # the name is free again, as directly
        assert _value(c.exec_prepared(b"s1", [b"2"])) == b"8"
        assert _value(other.exec_prepared(b"o1", [b"3"])) == b"103"
    finally:
        c.finish()
        other.finish()


def _pipeline(c, sends):
    """Send what @sends does in pipeline mode; every result (None ends a query's results,
    PIPELINE_SYNC ends a sync), until the last sync's."""
    c.enter_pipeline_mode()
    syncs = 0
    for send in sends:
        if send is None:
            c.pipeline_sync()
            syncs += 1
        else:
            send()
    assert c.flush() == 0
    out = []
    while syncs:
        c.consume_input()
        while not c.is_busy():
            r = c.get_result()
            if r is None:
                continue
            out.append(r)
            if r.status == pq.ExecStatus.PIPELINE_SYNC:
                syncs -= 1
                break
        else:
            import select

            select.select([c.socket], [], [], 5)
    c.exit_pipeline_mode()
    return out


@pytest.mark.timeout(60)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
def test_deallocate_all_in_a_pipeline_spares_what_is_prepared_after_it(lg):
    """The statements a pipeline prepares after its DEALLOCATE ALL outlive it, and those
    prepared before it do not, as directly: lifeguard forgets the statements when the
    server reports DEALLOCATE ALL done, only those it knew before that statement."""
    c, other = _connect(lg), _connect(lg)
    try:
        _ok(c.prepare(b"before", b"SELECT $1::int - 1"))
        _ok(other.prepare(b"o1", b"SELECT $1::int + 100"))
        assert _value(other.exec_prepared(b"o1", [b"1"])) == b"101"
        res = _pipeline(c, [
            lambda: c.send_query_params(b"DEALLOCATE ALL", None),
            lambda: c.send_prepare(b"after", b"SELECT $1::int + 2"),
            lambda: c.send_query_prepared(b"after", [b"40"]),
            None,
        ])
        assert [r.status for r in res] == [pq.ExecStatus.COMMAND_OK, pq.ExecStatus.COMMAND_OK,
                                           pq.ExecStatus.TUPLES_OK, pq.ExecStatus.PIPELINE_SYNC]
        assert res[0].command_status == b"DEALLOCATE ALL"
        assert res[2].get_value(0, 0) == b"42"
        assert _value(c.exec_prepared(b"after", [b"1"])) == b"3"
        _fails(c.exec_prepared(b"before", [b"1"]), b"26000")
        assert _value(other.exec_prepared(b"o1", [b"2"])) == b"102"
    finally:
        c.finish()
        other.finish()


@pytest.mark.timeout(60)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
def test_refused_discard_all_in_a_pipeline_keeps_every_statement(lg):
    """libpq's pipeline mode: a DISCARD ALL inside a transaction block fails (25001), the
    rest of that sync is skipped, and the next sync rolls back and prepares another
    statement: all of the client's statements run afterwards, as directly."""
    c = _connect(lg)
    try:
        _ok(c.prepare(b"s1", b"SELECT $1::int * 3"))
        res = _pipeline(c, [
            lambda: c.send_query_params(b"BEGIN", None),
            lambda: c.send_query_params(b"DISCARD ALL", None),
            lambda: c.send_query_params(b"SELECT 1", None),
            None,
            lambda: c.send_query_params(b"ROLLBACK", None),
            lambda: c.send_prepare(b"s2", b"SELECT $1::int * 4"),
            lambda: c.send_query_prepared(b"s2", [b"2"]),
            None,
        ])
        statuses = [r.status for r in res]
        assert statuses[:4] == [pq.ExecStatus.COMMAND_OK, pq.ExecStatus.FATAL_ERROR,
                                pq.ExecStatus.PIPELINE_ABORTED,
                                pq.ExecStatus.PIPELINE_SYNC], statuses
        assert res[1].error_field(SQLSTATE) == b"25001"
        assert res[-2].get_value(0, 0) == b"8"
        assert _value(c.exec_prepared(b"s1", [b"5"])) == b"15"
        assert _value(c.exec_prepared(b"s2", [b"5"])) == b"20"
    finally:
        c.finish()


@pytest.mark.timeout(60)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "1"})
@pytest.mark.parametrize("size", [20_000, 300_000])
def test_long_unnamed_statement_outlives_its_sync(lg, size):
    """lib/pq's pattern (Parse of the unnamed statement and Sync, then Bind, Execute and
    Sync) with a statement longer than the connection buffer (16 KiB): meanwhile another
    client's unnamed statement replaced it on the server. lifeguard kept only unnamed
    statements that fit the buffer, so the Bind ran the other client's statement with
    this client's parameters."""
    pad = "x" * size
    sql = f"SELECT $1::int + 1, length('{pad}')".encode()
    c, other = _connect(lg), _connect(lg)
    try:
        _ok(c.prepare(b"", sql))
        _ok(other.prepare(b"", b"SELECT $1::int * 1000, 0"))
        assert _value(other.exec_prepared(b"", [b"7"])) == b"7000"
        for v in (41, 99):
            res = _ok(c.exec_prepared(b"", [str(v).encode()]), pq.ExecStatus.TUPLES_OK)
            assert (res.get_value(0, 0), res.get_value(0, 1)) == (
                str(v + 1).encode(), str(size).encode())
        assert _value(other.exec_prepared(b"", [b"8"])) == b"8000"
        res = _ok(c.exec_prepared(b"", [b"1"]), pq.ExecStatus.TUPLES_OK)
        assert res.get_value(0, 1) == str(size).encode()
    finally:
        c.finish()
        other.finish()


@pytest.mark.timeout(60)
@pytest.mark.lg_config(main={**TXN, "default_pool_size": "2"})
def test_long_one_shot_unnamed_statements_from_several_clients(lg):
    """psycopg 3 without prepared statements sends Parse+Bind+Execute+Sync of the unnamed
    statement at once; a long one is now held whole in the client's buffer (grown for
    it) before it goes out, and kept until the next one replaces it."""
    import threading

    errors = []

    def work(i):
        try:
            with psycopg.connect(lg.dsn(), autocommit=True, prepare_threshold=None) as c:
                for k, size in enumerate((30_000, 2_000_000, 100, 500_000)):
                    pad = chr(ord("a") + i) * size
                    row = c.execute(f"SELECT %s::int + {k}, length('{pad}'), left('{pad}', 1)",
                                    (i,)).fetchone()
                    if row != (i + k, size, chr(ord("a") + i)):
                        errors.append((i, k, row))
        except Exception as e:  # noqa: BLE001 - every failure is a finding
            errors.append((i, repr(e)))

    threads = [threading.Thread(target=work, args=(i,)) for i in range(4)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(50)
    assert not errors, errors
