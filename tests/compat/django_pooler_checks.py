"""django_pooler_checks.py: what Django does that stresses a pooler, outside the shelter of
its test suite (whose TestCase wraps every test in a transaction, so the suite never runs
a server-side cursor across transactions, nor a connection used by several requests).
Run by tests/compat/run-django-suite.sh with its settings module
(DJANGO_SETTINGS_MODULE=lg_django_settings, LG_DJANGO_PORT, LG_DJANGO_NOSSC), against the
database django_default; prints "ok NAME" or "FAIL NAME: why" per check, exit 1 on any
FAIL. Each check is written so that it passes on a direct connection.
"""

import os
import sys
import threading

import django

os.environ.setdefault("DJANGO_SETTINGS_MODULE", "lg_django_settings")
django.setup()

from django.db import DatabaseError, close_old_connections, connection, models  # noqa: E402
from django.db import transaction  # noqa: E402

ROWS = 50


class Row(models.Model):
    i = models.IntegerField(primary_key=True)

    class Meta:
        app_label = "lg_checks"
        db_table = "lg_dj_rows"
        managed = False


def q(sql, params=None, conn=connection):
    with conn.cursor() as cur:
        cur.execute(sql, params)
        return cur.fetchall() if cur.description else None


def in_threads(n, fn):
    errors = []

    def run(i):
        try:
            fn(i)
        except Exception as e:  # reported by the caller
            errors.append(f"thread {i}: {type(e).__name__}: {str(e).strip()}")
        finally:
            connection.close()

    threads = [threading.Thread(target=run, args=(i,)) for i in range(n)]
    for t in threads:
        t.start()
    for t in threads:
        t.join()
    if errors:
        raise AssertionError(errors[0])


def check_iterator_in_autocommit():
    """QuerySet.iterator() outside atomic(): a cursor WITH HOLD (unless
    DISABLE_SERVER_SIDE_CURSORS), fetched in chunks, one transaction each, while other
    threads run transactions of their own."""

    def work(i):
        got = []
        for n in Row.objects.order_by("i").values_list("i", flat=True).iterator(chunk_size=3):
            got.append(n)
            if n % 3 == 0:
                with transaction.atomic():
                    q("SELECT count(*) FROM lg_dj_rows")
        assert got == list(range(1, ROWS + 1)), got[:5]

    in_threads(4, work)
    leaked = q("SELECT count(*) FROM pg_cursors")[0][0]
    assert leaked == 0, f"{leaked} cursor(s) visible to a new client"


def check_iterator_abandoned():
    """A request that stops iterating half-way and ends (CONN_MAX_AGE=0 closes the
    connection): nobody after it may see its cursor."""

    def work(i):
        it = Row.objects.order_by("i").iterator(chunk_size=2)
        assert next(it).i == 1

    in_threads(3, work)
    in_threads(3, lambda i: assert_no_cursor())


def assert_no_cursor():
    n = q("SELECT count(*) FROM pg_cursors")[0][0]
    assert n == 0, f"{n} cursor(s) of another client"


def check_close_inside_atomic():
    """connection.close() in the middle of a transaction: its work is rolled back and the
    next connection starts clean."""
    try:
        with transaction.atomic():
            q("INSERT INTO lg_dj_rows VALUES (-1)")
            connection.close()
    except DatabaseError:
        pass  # Django may complain on leaving the block; the data is what matters
    assert q("SELECT count(*) FROM lg_dj_rows WHERE i = -1")[0][0] == 0
    assert q("SELECT now() = statement_timestamp()")[0][0], "still inside a transaction"


def check_persistent_connection():
    """CONN_MAX_AGE > 0: one connection over several "requests", with other clients
    changing their own time zone meanwhile."""
    connection.settings_dict["CONN_MAX_AGE"] = 600
    try:
        for _ in range(5):
            close_old_connections()  # request_started
            assert q("SHOW TimeZone")[0][0] in ("UTC", "America/Chicago")
            mine = q("SHOW TimeZone")[0][0]

            def other(i):
                q("SET TIME ZONE 'Asia/Tokyo'")

            in_threads(2, other)
            assert q("SHOW TimeZone")[0][0] == mine
            close_old_connections()  # request_finished
    finally:
        connection.settings_dict["CONN_MAX_AGE"] = 0
        connection.close()


def check_isolation_level():
    """OPTIONS isolation_level: psycopg2 sends it with each BEGIN, so it must not leak."""
    import psycopg2.extensions as ext

    connection.close()
    connection.settings_dict["OPTIONS"] = {"isolation_level": ext.ISOLATION_LEVEL_SERIALIZABLE}
    try:
        with transaction.atomic():
            assert q("SHOW transaction_isolation")[0][0] == "serializable"
    finally:
        connection.close()
        connection.settings_dict["OPTIONS"] = {}

    def other(i):
        with transaction.atomic():
            level = q("SHOW transaction_isolation")[0][0]
        assert level == "read committed", f"another client got {level}"

    in_threads(2, other)


def check_savepoints_and_select_for_update():
    with transaction.atomic():
        q("INSERT INTO lg_dj_rows VALUES (-2)")
        try:
            with transaction.atomic():
                q("INSERT INTO lg_dj_rows VALUES (-3)")
                q("SELECT 1/0")
        except DatabaseError:
            pass
        q("SELECT i FROM lg_dj_rows WHERE i = 1 FOR UPDATE")
        blocked = []

        def other(i):
            try:
                with transaction.atomic():
                    q("SELECT i FROM lg_dj_rows WHERE i = 1 FOR UPDATE NOWAIT")
            except DatabaseError as e:
                blocked.append(getattr(e.__cause__, "pgcode", None))

        in_threads(1, other)
        assert blocked == ["55P03"], blocked
    assert sorted(r[0] for r in q("SELECT i FROM lg_dj_rows WHERE i < 0")) == [-2]
    q("DELETE FROM lg_dj_rows WHERE i < 0")


def main():
    q("DROP TABLE IF EXISTS lg_dj_rows")
    q("CREATE TABLE lg_dj_rows (i int PRIMARY KEY)")
    q("INSERT INTO lg_dj_rows SELECT generate_series(1, %s)", [ROWS])
    connection.close()
    failed = 0
    for name, fn in sorted(globals().items()):
        if not name.startswith("check_"):
            continue
        try:
            fn()
            print(f"ok {name[6:]}", flush=True)
        except Exception as e:
            failed += 1
            print(f"FAIL {name[6:]}: {type(e).__name__}: {str(e).strip()[:300]}", flush=True)
        finally:
            connection.close()
    q("DROP TABLE lg_dj_rows")
    return 1 if failed else 0


if __name__ == "__main__":
    sys.exit(main())
