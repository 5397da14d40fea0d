# test_pooled.py: the SQLAlchemy features a pooler in front of PostgreSQL must carry, which
# the compliance suite (test_suite.py) does not reach: pool pre-ping after the server went
# away, server-side (named) cursors read in steps between other statements, two-phase
# commit and recovery, isolation levels, psycopg2's executemany helpers, savepoints, and the
# ORM's Session over them (SAVEPOINT, yield_per, twophase=True). Written
# with SQLAlchemy's own fixtures so it runs under its plugin with --dburi, directly and
# through lifeguard (run-sqlalchemy-suite.sh); each test passes against PostgreSQL directly.
import time

from sqlalchemy import Column
from sqlalchemy import exc
from sqlalchemy import func
from sqlalchemy import Integer
from sqlalchemy import select
from sqlalchemy import String
from sqlalchemy import Table
from sqlalchemy import testing
from sqlalchemy import text
from sqlalchemy.testing import engines
from sqlalchemy.testing import eq_
from sqlalchemy.testing import fixtures
from sqlalchemy.testing import is_true
from sqlalchemy.orm import registry
from sqlalchemy.orm import Session
from sqlalchemy.pool import NullPool


class _Base(fixtures.TablesTest):
    __only_on__ = "postgresql"
    __backend__ = True
    run_deletes = "each"

    @classmethod
    def define_tables(cls, metadata):
        Table(
            "pooled_data",
            metadata,
            Column("id", Integer, primary_key=True, autoincrement=False),
            Column("x", String(50)),
        )

    def _ids(self, conn):
        t = self.tables.pooled_data
        return [r[0] for r in conn.execute(select(t.c.id).order_by(t.c.id))]


class PrePingTest(_Base):
    # asyncpg 0.27 answers the ping of a terminated connection with InternalClientError
    # ("cannot switch to state 15"), which SQLAlchemy 1.4.46 does not take for a
    # disconnect: that fails directly too.
    __only_on__ = "postgresql+psycopg2"

    def test_pre_ping_after_backend_terminated(self):
        """pool_pre_ping's SELECT 1 at checkout finds a connection whose server was
        terminated while it sat in SQLAlchemy's pool, and SQLAlchemy reconnects (directly,
        and in session mode); in transaction mode the idle server is replaced without the
        client noticing. The terminating connection holds its own server in a transaction
        meanwhile, so in transaction mode it cannot be the server it terminates."""
        eng = engines.testing_engine(options={"pool_pre_ping": True})
        with testing.db.connect() as other:
            with other.begin():
                other.exec_driver_sql("SELECT 1")
                with eng.connect() as conn:
                    pid = conn.exec_driver_sql("SELECT pg_backend_pid()").scalar()
                other.exec_driver_sql("SELECT pg_terminate_backend(%d)" % pid)
                for _ in range(100):
                    # pg_stat_activity is read once per transaction unless cleared
                    other.exec_driver_sql("SELECT pg_stat_clear_snapshot()")
                    gone = not other.exec_driver_sql(
                        "SELECT count(*) FROM pg_stat_activity WHERE pid = %d" % pid
                    ).scalar()
                    if gone:
                        break
                    time.sleep(0.05)
                is_true(gone)
        for _ in range(3):
            with eng.connect() as conn:
                eq_(conn.exec_driver_sql("SELECT 1").scalar(), 1)
        eng.dispose()


class ServerSideCursorTest(_Base):
    def _fill(self, conn, n):
        conn.execute(
            self.tables.pooled_data.insert(),
            [{"id": i, "x": "row %d" % i} for i in range(n)],
        )

    def test_stream_results_between_statements(self):
        """stream_results=True (psycopg2: DECLARE ... CURSOR and FETCH FORWARD; asyncpg: a
        portal read in steps) fetched in slices with other statements run in between, all
        in one transaction."""
        t = self.tables.pooled_data
        with testing.db.begin() as conn:
            self._fill(conn, 1000)
        with testing.db.begin() as conn:
            result = conn.execution_options(stream_results=True, max_row_buffer=50).execute(
                select(t.c.id).order_by(t.c.id)
            )
            got = []
            while True:
                part = result.fetchmany(97)
                if not part:
                    break
                got.extend(r[0] for r in part)
                eq_(conn.execute(select(func.count()).select_from(t)).scalar(), 1000)
            eq_(got, list(range(1000)))

    def test_two_streams_at_once(self):
        t = self.tables.pooled_data
        with testing.db.begin() as conn:
            self._fill(conn, 300)
        with testing.db.connect() as conn:
            streaming = conn.execution_options(stream_results=True)
            a = streaming.execute(select(t.c.id).order_by(t.c.id))
            b = streaming.execute(select(t.c.id).order_by(t.c.id.desc()))
            got_a, got_b = [], []
            for _ in range(3):
                got_a.extend(r[0] for r in a.fetchmany(100))
                got_b.extend(r[0] for r in b.fetchmany(100))
            eq_(got_a, list(range(300)))
            eq_(got_b, list(range(299, -1, -1)))


class TwoPhaseTest(_Base):
    __requires__ = ("two_phase_transactions",)

    def test_prepare_commit(self):
        t = self.tables.pooled_data
        with testing.db.connect() as conn:
            tx = conn.begin_twophase()
            conn.execute(t.insert(), {"id": 1, "x": "a"})
            tx.prepare()
            tx.commit()
        with testing.db.connect() as conn:
            eq_(self._ids(conn), [1])

    def test_prepare_rollback(self):
        t = self.tables.pooled_data
        with testing.db.connect() as conn:
            tx = conn.begin_twophase()
            conn.execute(t.insert(), {"id": 2, "x": "b"})
            tx.prepare()
            tx.rollback()
        with testing.db.connect() as conn:
            eq_(self._ids(conn), [])

    def test_recover_from_another_connection(self):
        t = self.tables.pooled_data
        eng = engines.testing_engine()
        conn = eng.connect()
        tx = conn.begin_twophase()
        conn.execute(t.insert(), {"id": 3, "x": "c"})
        tx.prepare()
        xid = tx.xid
        conn.invalidate()
        with eng.connect() as conn2:
            eq_(self._ids(conn2), [])
            is_true(xid in conn2.recover_twophase())
            conn2.commit_prepared(xid, recover=True)
        with eng.connect() as conn3:
            eq_(self._ids(conn3), [3])
        eng.dispose()


class IsolationLevelTest(_Base):
    def _level(self, conn):
        return conn.exec_driver_sql("SHOW transaction_isolation").scalar()

    def test_engine_level_every_checkout(self):
        eng = engines.testing_engine(options={"isolation_level": "SERIALIZABLE"})
        for _ in range(5):
            with eng.connect() as conn:
                eq_(self._level(conn), "serializable")
            with testing.db.connect() as other:
                eq_(self._level(other), "read committed")
        eng.dispose()

    def test_connection_level_reset_on_return(self):
        eng = engines.testing_engine()
        with eng.connect() as conn:
            conn.execution_options(isolation_level="REPEATABLE READ")
            eq_(self._level(conn), "repeatable read")
        for _ in range(3):
            with eng.connect() as conn:
                eq_(self._level(conn), "read committed")
        eng.dispose()

    _SERIALIZABLE = "SET SESSION CHARACTERISTICS AS TRANSACTION ISOLATION LEVEL SERIALIZABLE"

    def _default_level(self, conn):
        return conn.exec_driver_sql("SHOW default_transaction_isolation").scalar()

    def test_session_characteristics_not_seen_by_other_connections(self):
        """PostgreSQL's own way to set a session's isolation level (PGDialect's
        set_isolation_level for drivers without an isolation API): SET SESSION
        CHARACTERISTICS, then COMMIT. No other connection may get it."""
        eng = engines.testing_engine(options={"poolclass": NullPool})
        with eng.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql(self._SERIALIZABLE)
            for _ in range(5):
                with eng.connect() as other:
                    eq_(self._default_level(other), "read committed")
        eng.dispose()

    def test_session_characteristics_kept_by_their_connection(self):
        eng = engines.testing_engine(options={"poolclass": NullPool})
        with eng.connect() as conn:
            conn = conn.execution_options(isolation_level="AUTOCOMMIT")
            conn.exec_driver_sql(self._SERIALIZABLE)
            with eng.connect() as other, other.begin():
                # another client holds a server meanwhile: in transaction mode the one
                # just released, where the SET ran
                other.exec_driver_sql("SELECT 1")
                eq_(self._default_level(conn), "serializable")
        eng.dispose()


class ExecutemanyTest(_Base):
    __only_on__ = "postgresql+psycopg2"

    def test_values_plus_batch_small_pages(self):
        """executemany_mode values_plus_batch: INSERT through psycopg2.extras.execute_values,
        UPDATE through execute_batch (several statements joined in one Query), both in
        pages much smaller than the row count."""
        t = self.tables.pooled_data
        eng = engines.testing_engine(
            options={
                "executemany_mode": "values_plus_batch",
                "executemany_values_page_size": 7,
                "executemany_batch_page_size": 5,
            }
        )
        with eng.begin() as conn:
            conn.execute(t.insert(), [{"id": i, "x": "v%d" % i} for i in range(53)])
            conn.execute(
                text("UPDATE pooled_data SET x = :x WHERE id = :id"),
                [{"id": i, "x": "u%d" % i} for i in range(0, 53, 2)],
            )
        with eng.connect() as conn:
            rows = conn.execute(select(t.c.id, t.c.x).order_by(t.c.id)).fetchall()
            eq_(len(rows), 53)
            eq_(rows[10], (10, "u10"))
            eq_(rows[11], (11, "v11"))
        eng.dispose()

    def test_insert_returning_executemany(self):
        t = self.tables.pooled_data
        eng = engines.testing_engine(options={"executemany_values_page_size": 4})
        with eng.begin() as conn:
            result = conn.execute(
                t.insert().returning(t.c.id), [{"id": i, "x": "r"} for i in range(10)]
            )
            eq_(sorted(r[0] for r in result), list(range(10)))
        eng.dispose()


class SavepointTest(_Base):
    __requires__ = ("savepoints",)

    def test_savepoints_rollback_after_error(self):
        t = self.tables.pooled_data
        with testing.db.connect() as conn:
            with conn.begin():
                conn.execute(t.insert(), {"id": 1, "x": "a"})
                sp = conn.begin_nested()
                conn.execute(t.insert(), {"id": 2, "x": "b"})
                sp.rollback()
                sp = conn.begin_nested()
                try:
                    conn.execute(t.insert(), {"id": 1, "x": "dup"})
                except exc.IntegrityError as err:
                    is_true(isinstance(err.orig, Exception))
                    sp.rollback()
                else:
                    raise AssertionError("duplicate key accepted")
                with conn.begin_nested():
                    conn.execute(t.insert(), {"id": 3, "x": "c"})
                    with conn.begin_nested():
                        conn.execute(t.insert(), {"id": 4, "x": "d"})
            eq_(self._ids(conn), [1, 3, 4])


class OrmSessionTest(_Base):
    def _mapped(self):
        reg = registry()

        class Row(object):
            def __init__(self, id, x):
                self.id = id
                self.x = x

        reg.map_imperatively(Row, self.tables.pooled_data)
        return reg, Row

    @testing.requires.savepoints
    def test_savepoint_and_yield_per(self):
        """Session.begin_nested() around a flush that fails, then Query.yield_per (a
        server-side cursor with stream_results) read in steps while the same Session
        runs other statements, all in the Session's one transaction."""
        reg, Row = self._mapped()
        try:
            with Session(testing.db) as s:
                s.add_all([Row(i, "r%d" % i) for i in range(500)])
                s.commit()
            with Session(testing.db) as s:
                try:
                    with s.begin_nested():
                        s.add(Row(1, "duplicate"))
                        s.flush()
                except exc.IntegrityError:
                    pass
                else:
                    raise AssertionError("duplicate key accepted")
                seen = 0
                for row in s.query(Row).order_by(Row.id).yield_per(50):
                    eq_(row.x, "r%d" % row.id)
                    seen += 1
                    if seen % 100 == 0:
                        eq_(s.query(func.count(Row.id)).scalar(), 500)
                eq_(seen, 500)
                s.commit()
        finally:
            reg.dispose()

    @testing.requires.two_phase_transactions
    def test_twophase_session(self):
        reg, Row = self._mapped()
        try:
            with Session(testing.db, twophase=True) as s:
                s.add(Row(7, "two-phase"))
                s.commit()
            with testing.db.connect() as conn:
                eq_(self._ids(conn), [7])
                eq_(conn.exec_driver_sql("SELECT count(*) FROM pg_prepared_xacts").scalar(), 0)
        finally:
            reg.dispose()
