// PoolerCheck: what Java applications do with pgjdbc, as named checks, run against one
// PostgreSQL address (directly or through a pooler). Compiled with javac against Debian's
// libpostgresql-jdbc-java jar only (no JUnit, no Maven); tests/compat/run-pgjdbc-suite.sh
// builds and runs it. Every check uses its own tables (pgjdbc_<check>_...), never temporary
// tables or session state, so that a transaction-mode pooler can pass it; the few checks
// that rely on session state by design say so and are expected to fail in transaction mode.
//
//   java -cp postgresql.jar:classes PoolerCheck HOST PORT DATABASE [CHECK ...]
//
// Prints "PASS name" or "FAIL name: reason" per check and "N passed, M failed" at the end;
// exits 0 when every check passed.

import java.io.ByteArrayInputStream;
import java.io.StringReader;
import java.io.StringWriter;
import java.sql.BatchUpdateException;
import java.sql.Connection;
import java.sql.DriverManager;
import java.sql.PreparedStatement;
import java.sql.ResultSet;
import java.sql.SQLException;
import java.sql.SQLWarning;
import java.sql.Savepoint;
import java.sql.Statement;
import java.util.ArrayList;
import java.util.Arrays;
import java.util.LinkedHashMap;
import java.util.List;
import java.util.Map;
import java.util.Random;
import java.util.UUID;
import java.util.concurrent.ExecutorService;
import java.util.concurrent.Executors;
import java.util.concurrent.Future;
import java.util.concurrent.TimeUnit;
import org.postgresql.PGConnection;
import org.postgresql.copy.CopyManager;
import org.postgresql.largeobject.LargeObject;
import org.postgresql.largeobject.LargeObjectManager;

public final class PoolerCheck {
    interface Check {
        void run() throws Exception;
    }

    static String base;

    static Connection conn(String props) throws SQLException {
        String url = base + "&ApplicationName=pgjdbc-check" + (props.isEmpty() ? "" : "&" + props);
        return DriverManager.getConnection(url);
    }

    static void check(boolean ok, String what) {
        if (!ok) {
            throw new AssertionError(what);
        }
    }

    static long one(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            check(rs.next(), "no row from " + sql);
            return rs.getLong(1);
        }
    }

    static String oneString(Connection c, String sql) throws SQLException {
        try (Statement s = c.createStatement(); ResultSet rs = s.executeQuery(sql)) {
            check(rs.next(), "no row from " + sql);
            return rs.getString(1);
        }
    }

    static void exec(Connection c, String... sqls) throws SQLException {
        try (Statement s = c.createStatement()) {
            for (String sql : sqls) {
                s.execute(sql);
            }
        }
    }

    static void table(String name, String columns) throws SQLException {
        try (Connection c = conn("")) {
            exec(c, "DROP TABLE IF EXISTS " + name, "CREATE TABLE " + name + " (" + columns + ")");
        }
    }

    static SQLException expectError(String state, Check body) throws Exception {
        try {
            body.run();
        } catch (SQLException e) {
            SQLException cause = e instanceof BatchUpdateException && e.getNextException() != null
                    ? e.getNextException() : e;
            check(state.equals(e.getSQLState()) || state.equals(cause.getSQLState()),
                    "expected SQLSTATE " + state + ", got " + e.getSQLState() + ": " + e.getMessage());
            return e;
        }
        throw new AssertionError("expected SQLSTATE " + state + ", got no error");
    }

    static final Map<String, Check> CHECKS = new LinkedHashMap<>();

    static void add(String name, Check body) {
        CHECKS.put(name, body);
    }

    // Many threads, each with its own connection, all preparing the same SQL texts, so
    // that every client names them S_1, S_2, ... and more clients than the pool has
    // servers share servers from transaction to transaction.
    static void threads(int nthreads, int iterations, String props) throws Exception {
        table("pgjdbc_threads", "thread int, i int, v text");
        ExecutorService pool = Executors.newFixedThreadPool(nthreads);
        List<Future<?>> done = new ArrayList<>();
        for (int t = 0; t < nthreads; t++) {
            final int thread = t;
            done.add(pool.submit(() -> {
                try (Connection c = conn(props)) {
                    PreparedStatement ins = c.prepareStatement("INSERT INTO pgjdbc_threads VALUES (?, ?, ?)");
                    PreparedStatement cnt = c.prepareStatement(
                            "SELECT count(*), coalesce(sum(i), 0) FROM pgjdbc_threads WHERE thread = ?");
                    PreparedStatement echo = c.prepareStatement("SELECT ?::int + 1000000 * ?::int, ?::text");
                    for (int i = 0; i < iterations; i++) {
                        boolean tx = i % 2 == 0;
                        c.setAutoCommit(!tx);
                        ins.setInt(1, thread);
                        ins.setInt(2, i);
                        ins.setString(3, "t" + thread + "-" + i);
                        check(ins.executeUpdate() == 1, "insert count");
                        cnt.setInt(1, thread);
                        try (ResultSet rs = cnt.executeQuery()) {
                            rs.next();
                            check(rs.getLong(1) == i + 1, "thread " + thread + " sees " + rs.getLong(1)
                                    + " rows of its own after " + (i + 1) + " inserts");
                            check(rs.getLong(2) == (long) i * (i + 1) / 2, "sum of its own rows");
                        }
                        echo.setInt(1, i);
                        echo.setInt(2, thread);
                        echo.setString(3, "x" + thread);
                        try (ResultSet rs = echo.executeQuery()) {
                            rs.next();
                            check(rs.getInt(1) == i + 1000000 * thread && rs.getString(2).equals("x" + thread),
                                    "thread " + thread + " got another's result: " + rs.getInt(1));
                        }
                        if (tx) {
                            c.commit();
                        }
                    }
                }
                return null;
            }));
        }
        pool.shutdown();
        for (Future<?> f : done) {
            try {
                f.get(120, TimeUnit.SECONDS);
            } catch (java.util.concurrent.ExecutionException e) {
                Throwable cause = e.getCause();
                if (cause instanceof Exception) {
                    throw (Exception) cause;
                }
                throw new AssertionError(cause);
            }
        }
        try (Connection c = conn("")) {
            check(one(c, "SELECT count(*) FROM pgjdbc_threads") == (long) nthreads * iterations, "total rows");
        }
    }

    static void registerChecks() {
        add("select_one", () -> {
            try (Connection c = conn("")) {
                check(one(c, "SELECT 1") == 1, "SELECT 1");
            }
        });

        add("threads_own_connections", () -> threads(48, 60, ""));
        add("threads_prepare_threshold_1", () -> threads(48, 60, "prepareThreshold=1"));
        add("threads_prepare_at_once", () -> threads(24, 40, "prepareThreshold=-1"));

        add("prepared_reuse_past_threshold", () -> {
            try (Connection c = conn("")) {
                PreparedStatement ps = c.prepareStatement("SELECT ?::int * 2");
                for (int i = 0; i < 30; i++) {
                    ps.setInt(1, i);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        check(rs.getInt(1) == 2 * i, "result " + i);
                    }
                    // from the 5th execution (prepareThreshold) on, a named server statement S_1
                }
            }
        });

        add("statement_cache_eviction", () -> {
            // a cache of 3 statements for 8 texts: pgjdbc closes evicted S_n (Close) and
            // prepares the text again later under a new name
            try (Connection c = conn("prepareThreshold=1&preparedStatementCacheQueries=3")) {
                for (int round = 0; round < 6; round++) {
                    for (int k = 0; k < 8; k++) {
                        try (PreparedStatement ps = c.prepareStatement("SELECT ?::int + " + k)) {
                            ps.setInt(1, round);
                            try (ResultSet rs = ps.executeQuery()) {
                                rs.next();
                                check(rs.getInt(1) == round + k, "round " + round + " text " + k);
                            }
                        }
                    }
                }
            }
        });

        add("statement_close_and_reprepare", () -> {
            try (Connection c = conn("prepareThreshold=2&preparedStatementCacheQueries=0")) {
                for (int round = 0; round < 10; round++) {
                    PreparedStatement ps = c.prepareStatement("SELECT ?::text || 'x'");
                    for (int i = 0; i < 4; i++) {
                        ps.setString(1, "r" + round + i);
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            check(rs.getString(1).equals("r" + round + i + "x"), "value");
                        }
                    }
                    ps.close(); // no cache: Close S_n goes out with the next query
                }
            }
        });

        add("deallocate_all", () -> {
            try (Connection c = conn("prepareThreshold=1")) {
                PreparedStatement ps = c.prepareStatement("SELECT ?::int + 1");
                for (int i = 0; i < 6; i++) {
                    if (i == 3) {
                        exec(c, "DEALLOCATE ALL");
                    }
                    ps.setInt(1, i);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        check(rs.getInt(1) == i + 1, "value after DEALLOCATE ALL");
                    }
                }
            }
        });

        add("discard_all", () -> {
            try (Connection c = conn("prepareThreshold=1")) {
                PreparedStatement ps = c.prepareStatement("SELECT ?::int + 2");
                for (int i = 0; i < 6; i++) {
                    if (i == 3) {
                        exec(c, "DISCARD ALL");
                    }
                    ps.setInt(1, i);
                    try (ResultSet rs = ps.executeQuery()) {
                        rs.next();
                        check(rs.getInt(1) == i + 2, "value after DISCARD ALL");
                    }
                }
            }
        });

        add("schema_change_autosave_conservative", () -> {
            table("pgjdbc_schema", "a int");
            try (Connection c = conn("prepareThreshold=1&autosave=conservative")) {
                exec(c, "INSERT INTO pgjdbc_schema VALUES (1)");
                c.setAutoCommit(false);
                PreparedStatement ps = c.prepareStatement("SELECT * FROM pgjdbc_schema");
                for (int i = 0; i < 3; i++) {
                    try (ResultSet rs = ps.executeQuery()) {
                        check(rs.next() && rs.getInt(1) == 1, "row");
                    }
                }
                c.commit();
                try (Connection d = conn("")) {
                    exec(d, "ALTER TABLE pgjdbc_schema ADD COLUMN b int DEFAULT 7");
                }
                // "cached plan must not change result type": autosave=conservative rolls
                // back to its savepoint and prepares again
                try (ResultSet rs = ps.executeQuery()) {
                    check(rs.next() && rs.getInt(2) == 7, "new column");
                }
                c.commit();
            }
        });

        add("schema_change_column_type", () -> {
            // ALTER COLUMN ... TYPE under a statement prepared with binary results:
            // directly "cached plan must not change result type" (0A000), then pgjdbc's
            // autosave prepares again; never a value decoded with the old type
            table("pgjdbc_coltype", "a int4");
            try (Connection c = conn("prepareThreshold=1&autosave=conservative")) {
                exec(c, "INSERT INTO pgjdbc_coltype VALUES (1234567)");
                PreparedStatement ps = c.prepareStatement("SELECT a FROM pgjdbc_coltype");
                for (int i = 0; i < 3; i++) {
                    try (ResultSet rs = ps.executeQuery()) {
                        check(rs.next() && rs.getLong(1) == 1234567, "row");
                    }
                }
                try (Connection d = conn("")) {
                    exec(d, "ALTER TABLE pgjdbc_coltype ALTER COLUMN a TYPE int8",
                            "UPDATE pgjdbc_coltype SET a = 5000000000");
                }
                for (int i = 0; i < 3; i++) {
                    try (ResultSet rs = ps.executeQuery()) {
                        check(rs.next(), "row after ALTER");
                        check(rs.getLong(1) == 5000000000L, "value after ALTER: " + rs.getLong(1));
                    } catch (SQLException e) {
                        check("0A000".equals(e.getSQLState()), "error after ALTER: " + e);
                    }
                }
            }
        });

        add("batch_insert", () -> {
            table("pgjdbc_batch", "id int primary key, v text");
            try (Connection c = conn("")) {
                c.setAutoCommit(false);
                PreparedStatement ps = c.prepareStatement("INSERT INTO pgjdbc_batch VALUES (?, ?)");
                for (int i = 0; i < 2000; i++) {
                    ps.setInt(1, i);
                    ps.setString(2, "v" + i);
                    ps.addBatch();
                    if (i % 500 == 499) {
                        int[] n = ps.executeBatch();
                        check(n.length == 500 && Arrays.stream(n).allMatch(x -> x == 1), "update counts");
                    }
                }
                c.commit();
                check(one(c, "SELECT count(*) FROM pgjdbc_batch") == 2000, "rows");
                Statement s = c.createStatement();
                s.addBatch("UPDATE pgjdbc_batch SET v = 'a' WHERE id < 10");
                s.addBatch("DELETE FROM pgjdbc_batch WHERE id >= 1000");
                int[] n = s.executeBatch();
                check(n[0] == 10 && n[1] == 1000, "statement batch counts " + Arrays.toString(n));
                c.commit();
            }
        });

        add("batch_rewrite_inserts", () -> {
            table("pgjdbc_rewrite", "id int primary key, v text, d double precision");
            try (Connection c = conn("reWriteBatchedInserts=true")) {
                c.setAutoCommit(false);
                PreparedStatement ps = c.prepareStatement("INSERT INTO pgjdbc_rewrite (id, v, d) VALUES (?, ?, ?)");
                for (int round = 0; round < 3; round++) {
                    for (int i = 0; i < 1000; i++) {
                        int id = round * 1000 + i;
                        ps.setInt(1, id);
                        ps.setString(2, "value-" + id);
                        ps.setDouble(3, id / 3.0);
                        ps.addBatch();
                    }
                    ps.executeBatch();
                }
                c.commit();
                check(one(c, "SELECT count(*) FROM pgjdbc_rewrite") == 3000, "rows");
                check(one(c, "SELECT sum(id) FROM pgjdbc_rewrite") == 2999L * 3000 / 2, "sum");
                c.commit();
            }
        });

        add("batch_error", () -> {
            table("pgjdbc_batcherr", "id int primary key");
            try (Connection c = conn("")) {
                PreparedStatement ps = c.prepareStatement("INSERT INTO pgjdbc_batcherr VALUES (?)");
                for (int i : new int[] {1, 2, 3, 2, 4}) {
                    ps.setInt(1, i);
                    ps.addBatch();
                }
                expectError("23505", ps::executeBatch);
                check(one(c, "SELECT 42") == 42, "usable after a failed batch");
                for (int i = 10; i < 20; i++) {
                    ps.setInt(1, i);
                    ps.addBatch();
                }
                ps.executeBatch();
                check(one(c, "SELECT count(*) FROM pgjdbc_batcherr WHERE id >= 10") == 10, "second batch");
            }
        });

        add("autocommit_off_on", () -> {
            table("pgjdbc_ac", "v int");
            try (Connection c = conn(""); Connection other = conn("")) {
                c.setAutoCommit(false);
                exec(c, "INSERT INTO pgjdbc_ac VALUES (1)");
                check(one(other, "SELECT count(*) FROM pgjdbc_ac") == 0, "uncommitted row invisible");
                c.rollback();
                exec(c, "INSERT INTO pgjdbc_ac VALUES (2)");
                c.commit();
                check(one(other, "SELECT count(*) FROM pgjdbc_ac") == 1, "committed row");
                exec(c, "INSERT INTO pgjdbc_ac VALUES (3)");
                c.setAutoCommit(true); // commits the open transaction
                check(one(other, "SELECT sum(v) FROM pgjdbc_ac") == 5, "setAutoCommit(true) commits");
                exec(c, "INSERT INTO pgjdbc_ac VALUES (4)");
                check(one(other, "SELECT sum(v) FROM pgjdbc_ac") == 9, "autocommit insert");
            }
        });

        add("read_only_transaction", () -> {
            table("pgjdbc_ro", "v int");
            try (Connection c = conn("")) {
                c.setAutoCommit(false);
                c.setReadOnly(true); // BEGIN READ ONLY
                check(one(c, "SELECT count(*) FROM pgjdbc_ro") == 0, "read");
                expectError("25006", () -> exec(c, "INSERT INTO pgjdbc_ro VALUES (1)"));
                c.rollback();
                c.setReadOnly(false);
                exec(c, "INSERT INTO pgjdbc_ro VALUES (1)");
                c.commit();
            }
        });

        add("savepoints", () -> {
            table("pgjdbc_sp", "v int primary key");
            try (Connection c = conn("")) {
                c.setAutoCommit(false);
                exec(c, "INSERT INTO pgjdbc_sp VALUES (1)");
                Savepoint sp = c.setSavepoint();
                exec(c, "INSERT INTO pgjdbc_sp VALUES (2)");
                expectError("23505", () -> exec(c, "INSERT INTO pgjdbc_sp VALUES (1)"));
                c.rollback(sp);
                exec(c, "INSERT INTO pgjdbc_sp VALUES (3)");
                c.commit();
                check(one(c, "SELECT sum(v) FROM pgjdbc_sp") == 4, "rows 1 and 3");
                c.commit();
            }
        });

        add("autosave_always", () -> {
            table("pgjdbc_autosave", "v int primary key");
            try (Connection c = conn("autosave=always")) {
                c.setAutoCommit(false);
                PreparedStatement ps = c.prepareStatement("INSERT INTO pgjdbc_autosave VALUES (?)");
                for (int i : new int[] {1, 2, 2, 3, 3, 4}) {
                    ps.setInt(1, i);
                    try {
                        ps.executeUpdate();
                    } catch (SQLException e) {
                        check("23505".equals(e.getSQLState()), "duplicate " + e.getSQLState());
                    }
                }
                c.commit();
                check(one(c, "SELECT sum(v) FROM pgjdbc_autosave") == 10, "rows 1..4");
                c.commit();
            }
        });

        add("error_in_transaction_then_rollback", () -> {
            try (Connection c = conn("prepareThreshold=1")) {
                c.setAutoCommit(false);
                PreparedStatement ps = c.prepareStatement("SELECT 1 / ?::int");
                ps.setInt(1, 1);
                ps.executeQuery().close();
                ps.setInt(1, 0);
                expectError("22012", ps::executeQuery);
                expectError("25P02", () -> one(c, "SELECT 1"));
                c.rollback();
                ps.setInt(1, 1);
                try (ResultSet rs = ps.executeQuery()) {
                    check(rs.next() && rs.getInt(1) == 1, "after rollback");
                }
                c.commit();
            }
        });

        add("fetch_size_cursor", () -> {
            try (Connection c = conn("")) {
                c.setAutoCommit(false);
                PreparedStatement a = c.prepareStatement("SELECT g, repeat('x', 100) FROM generate_series(1, ?) g");
                PreparedStatement b = c.prepareStatement("SELECT -g FROM generate_series(1, 5000) g");
                a.setFetchSize(100);
                b.setFetchSize(37);
                a.setInt(1, 20000);
                long sa = 0, sb = 0, na = 0, nb = 0;
                try (ResultSet ra = a.executeQuery(); ResultSet rb = b.executeQuery()) {
                    boolean moreA = true, moreB = true;
                    while (moreA || moreB) {
                        if (moreA && (moreA = ra.next())) {
                            sa += ra.getLong(1);
                            na++;
                        }
                        if (moreB && (moreB = rb.next())) {
                            sb += rb.getLong(1);
                            nb++;
                        }
                    }
                }
                check(na == 20000 && sa == 20000L * 20001 / 2, "first portal " + na);
                check(nb == 5000 && sb == -5000L * 5001 / 2, "second portal " + nb);
                c.commit();
                // fetch size in autocommit mode reads everything at once
                c.setAutoCommit(true);
                a.setInt(1, 3000);
                long n = 0;
                try (ResultSet ra = a.executeQuery()) {
                    while (ra.next()) {
                        n++;
                    }
                }
                check(n == 3000, "autocommit fetch");
            }
        });

        add("fetch_size_statement_cursor", () -> {
            try (Connection c = conn("defaultRowFetchSize=64")) {
                c.setAutoCommit(false);
                for (int round = 0; round < 5; round++) {
                    long n = 0;
                    try (Statement s = c.createStatement();
                            ResultSet rs = s.executeQuery("SELECT g FROM generate_series(1, 1000) g")) {
                        while (rs.next() && rs.getInt(1) <= 500) {
                            n++;
                        }
                    } // closing the result set early closes its portal
                    check(n == 500, "read half");
                    c.commit();
                }
            }
        });

        add("generated_keys", () -> {
            table("pgjdbc_keys", "id serial primary key, v text");
            try (Connection c = conn("")) {
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO pgjdbc_keys (v) VALUES (?)",
                        Statement.RETURN_GENERATED_KEYS)) {
                    for (int i = 1; i <= 8; i++) {
                        ps.setString(1, "v" + i);
                        check(ps.executeUpdate() == 1, "count");
                        try (ResultSet rs = ps.getGeneratedKeys()) {
                            check(rs.next() && rs.getInt("id") == i, "key " + i);
                        }
                    }
                }
                try (PreparedStatement ps = c.prepareStatement("INSERT INTO pgjdbc_keys (v) VALUES (?)",
                        new String[] {"id"})) {
                    for (int i = 0; i < 5; i++) {
                        ps.setString(1, "b" + i);
                        ps.addBatch();
                    }
                    ps.executeBatch();
                    List<Integer> keys = new ArrayList<>();
                    try (ResultSet rs = ps.getGeneratedKeys()) {
                        while (rs.next()) {
                            keys.add(rs.getInt(1));
                        }
                    }
                    check(keys.equals(Arrays.asList(9, 10, 11, 12, 13)), "batch keys " + keys);
                }
                try (Statement s = c.createStatement()) {
                    s.executeUpdate("INSERT INTO pgjdbc_keys (v) VALUES ('s')", Statement.RETURN_GENERATED_KEYS);
                    try (ResultSet rs = s.getGeneratedKeys()) {
                        check(rs.next() && rs.getInt(1) == 14, "statement key");
                    }
                }
            }
        });

        add("copy_in_out", () -> {
            table("pgjdbc_copy", "id int, v text");
            try (Connection c = conn("")) {
                CopyManager cm = c.unwrap(PGConnection.class).getCopyAPI();
                StringBuilder sb = new StringBuilder();
                for (int i = 0; i < 50000; i++) {
                    sb.append(i).append('\t').append("line ").append(i).append('\n');
                }
                long n = cm.copyIn("COPY pgjdbc_copy FROM STDIN", new StringReader(sb.toString()));
                check(n == 50000, "copy in count " + n);
                StringWriter out = new StringWriter();
                n = cm.copyOut("COPY (SELECT * FROM pgjdbc_copy ORDER BY id) TO STDOUT", out);
                check(n == 50000 && out.toString().equals(sb.toString()), "copy out " + n);
                // inside a transaction, rolled back
                c.setAutoCommit(false);
                cm.copyIn("COPY pgjdbc_copy FROM STDIN", new StringReader("1\tx\n2\ty\n"));
                check(one(c, "SELECT count(*) FROM pgjdbc_copy") == 50002, "in transaction");
                c.rollback();
                c.setAutoCommit(true);
                check(one(c, "SELECT count(*) FROM pgjdbc_copy") == 50000, "rolled back");
                // binary COPY out
                java.io.ByteArrayOutputStream bin = new java.io.ByteArrayOutputStream();
                cm.copyOut("COPY pgjdbc_copy TO STDOUT (FORMAT binary)", bin);
                check(bin.size() > 50000 * 10, "binary copy out " + bin.size());
            }
        });

        add("copy_in_error", () -> {
            table("pgjdbc_copyerr", "id int");
            try (Connection c = conn("")) {
                CopyManager cm = c.unwrap(PGConnection.class).getCopyAPI();
                expectError("22P02", () -> cm.copyIn("COPY pgjdbc_copyerr FROM STDIN",
                        new StringReader("1\n2\nnot-a-number\n4\n")));
                check(one(c, "SELECT count(*) FROM pgjdbc_copyerr") == 0, "nothing copied, connection usable");
                cm.copyIn("COPY pgjdbc_copyerr FROM STDIN", new StringReader("5\n"));
                check(one(c, "SELECT sum(id) FROM pgjdbc_copyerr") == 5, "second copy");
            }
        });

        add("large_bytea", () -> {
            table("pgjdbc_bytea", "id int, b bytea");
            byte[] data = new byte[12 * 1024 * 1024];
            new Random(7).nextBytes(data);
            for (String props : new String[] {"", "prepareThreshold=-1", "binaryTransfer=false"}) {
                try (Connection c = conn(props)) {
                    exec(c, "TRUNCATE pgjdbc_bytea");
                    try (PreparedStatement ps = c.prepareStatement("INSERT INTO pgjdbc_bytea VALUES (?, ?)")) {
                        ps.setInt(1, 1);
                        ps.setBytes(2, data);
                        ps.executeUpdate();
                        ps.setInt(1, 2);
                        ps.setBinaryStream(2, new ByteArrayInputStream(data), data.length);
                        ps.executeUpdate();
                    }
                    try (PreparedStatement ps = c.prepareStatement("SELECT b, md5(b) FROM pgjdbc_bytea ORDER BY id")) {
                        for (int round = 0; round < 2; round++) {
                            try (ResultSet rs = ps.executeQuery()) {
                                for (int k = 0; k < 2; k++) {
                                    check(rs.next() && Arrays.equals(rs.getBytes(1), data), props + ": bytes back");
                                }
                            }
                        }
                    }
                }
            }
        });

        add("large_object", () -> {
            byte[] data = new byte[3 * 1024 * 1024 + 17];
            new Random(3).nextBytes(data);
            try (Connection c = conn("")) {
                c.setAutoCommit(false);
                LargeObjectManager lom = c.unwrap(PGConnection.class).getLargeObjectAPI();
                long oid = lom.createLO(LargeObjectManager.READWRITE);
                try (LargeObject lo = lom.open(oid, LargeObjectManager.WRITE)) {
                    for (int off = 0; off < data.length; off += 65536) {
                        lo.write(data, off, Math.min(65536, data.length - off));
                    }
                }
                c.commit();
                try (LargeObject lo = lom.open(oid, LargeObjectManager.READ)) {
                    check(lo.size() == data.length, "size");
                    byte[] back = lo.read(data.length);
                    check(Arrays.equals(back, data), "content");
                    lo.seek(1000);
                    check(lo.read(10)[0] == data[1000], "seek");
                }
                c.commit();
                lom.unlink(oid);
                c.commit();
            }
        });

        add("query_timeout", () -> {
            try (Connection c = conn("")) {
                try (Statement s = c.createStatement()) {
                    s.setQueryTimeout(1);
                    long t0 = System.nanoTime();
                    expectError("57014", () -> s.execute("SELECT pg_sleep(20)"));
                    long ms = (System.nanoTime() - t0) / 1000000;
                    check(ms < 8000, "cancelled after " + ms + " ms");
                }
                // no late cancel may hit the next statements
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_sleep(0.05), ?::int")) {
                    ps.setQueryTimeout(5);
                    for (int i = 0; i < 30; i++) {
                        ps.setInt(1, i);
                        try (ResultSet rs = ps.executeQuery()) {
                            check(rs.next() && rs.getInt(2) == i, "after timeout");
                        }
                    }
                }
                c.setAutoCommit(false);
                try (PreparedStatement ps = c.prepareStatement("SELECT pg_sleep(20)")) {
                    ps.setQueryTimeout(1);
                    expectError("57014", ps::executeQuery);
                }
                c.rollback();
                check(one(c, "SELECT 7") == 7, "usable after a cancelled transaction");
                c.commit();
            }
        });

        add("cancel_from_other_thread", () -> {
            try (Connection c = conn("")) {
                Statement s = c.createStatement();
                ExecutorService ex = Executors.newSingleThreadExecutor();
                Future<?> f = ex.submit(() -> {
                    Thread.sleep(700);
                    s.cancel();
                    return null;
                });
                expectError("57014", () -> s.execute("SELECT pg_sleep(20)"));
                f.get();
                ex.shutdown();
                check(one(c, "SELECT 8") == 8, "usable after cancel");
            }
        });

        add("prepare_threshold_minus1_binary", () -> {
            String sql = "SELECT ?::int4, ?::int8, ?::float8, ?::numeric, ?::timestamptz, ?::date, ?::uuid,"
                    + " ?::bytea, ?::int4[], ?::text, ?::bool, ?::jsonb";
            UUID u = UUID.fromString("6f1c1d4e-2b5a-4c3e-9f00-1234567890ab");
            for (String props : new String[] {"prepareThreshold=-1", "prepareThreshold=1",
                    "prepareThreshold=0", "binaryTransfer=false&prepareThreshold=-1"}) {
                try (Connection c = conn(props); PreparedStatement ps = c.prepareStatement(sql)) {
                    for (int i = 0; i < 4; i++) {
                        ps.setInt(1, 42 + i);
                        ps.setLong(2, 1L << 40);
                        ps.setDouble(3, 2.5);
                        ps.setBigDecimal(4, new java.math.BigDecimal("12345678901234567890.123"));
                        ps.setTimestamp(5, java.sql.Timestamp.valueOf("2024-02-29 12:34:56.789"));
                        ps.setDate(6, java.sql.Date.valueOf("2001-01-01"));
                        ps.setObject(7, u);
                        ps.setBytes(8, new byte[] {0, 1, 2, (byte) 255});
                        ps.setArray(9, c.createArrayOf("int4", new Integer[] {1, 2, 3}));
                        ps.setString(10, "héllo");
                        ps.setBoolean(11, true);
                        ps.setObject(12, "{\"a\": [1, 2]}", java.sql.Types.OTHER);
                        try (ResultSet rs = ps.executeQuery()) {
                            rs.next();
                            check(rs.getInt(1) == 42 + i, props + " int4");
                            check(rs.getLong(2) == 1L << 40, props + " int8");
                            check(rs.getDouble(3) == 2.5, props + " float8");
                            check(rs.getBigDecimal(4).toString().equals("12345678901234567890.123"), props + " numeric");
                            check(rs.getTimestamp(5).equals(java.sql.Timestamp.valueOf("2024-02-29 12:34:56.789")),
                                    props + " timestamptz " + rs.getTimestamp(5));
                            check(rs.getDate(6).toString().equals("2001-01-01"), props + " date");
                            check(rs.getObject(7).equals(u), props + " uuid");
                            check(Arrays.equals(rs.getBytes(8), new byte[] {0, 1, 2, (byte) 255}), props + " bytea");
                            check(Arrays.equals((Integer[]) rs.getArray(9).getArray(), new Integer[] {1, 2, 3}),
                                    props + " int4[]");
                            check(rs.getString(10).equals("héllo"), props + " text");
                            check(rs.getBoolean(11), props + " bool");
                            check(rs.getString(12).equals("{\"a\": [1, 2]}"), props + " jsonb " + rs.getString(12));
                        }
                    }
                }
            }
        });

        add("is_valid", () -> {
            try (Connection c = conn("")) {
                check(c.isValid(2), "idle");
                c.setAutoCommit(false);
                one(c, "SELECT 1");
                check(c.isValid(2), "in transaction");
                c.commit();
                for (int i = 0; i < 20; i++) {
                    check(c.isValid(1), "repeated " + i);
                }
                c.setAutoCommit(true);
                check(one(c, "SELECT 3") == 3, "after isValid");
            }
        });

        add("connection_churn", () -> {
            for (int i = 0; i < 150; i++) {
                try (Connection c = conn(i % 2 == 0 ? "" : "prepareThreshold=-1");
                        PreparedStatement ps = c.prepareStatement("SELECT ?::int")) {
                    ps.setInt(1, i);
                    try (ResultSet rs = ps.executeQuery()) {
                        check(rs.next() && rs.getInt(1) == i, "churn " + i);
                    }
                }
            }
        });

        add("startup_parameters", () -> {
            try (Connection d = conn("")) {
                exec(d, "CREATE SCHEMA IF NOT EXISTS pgjdbc_schema_a");
            }
            try (Connection c = conn("currentSchema=pgjdbc_schema_a,public&ApplicationName=java-app-1")) {
                for (int i = 0; i < 10; i++) {
                    check(oneString(c, "SELECT current_schema()").equals("pgjdbc_schema_a"), "currentSchema");
                    check(oneString(c, "SELECT current_setting('application_name')").equals("java-app-1"),
                            "application name");
                    String tz = oneString(c, "SHOW TimeZone");
                    check(tz.equals(java.util.TimeZone.getDefault().getID()), "TimeZone " + tz);
                    check(c.getSchema().equals("pgjdbc_schema_a"), "getSchema");
                }
            }
        });

        add("notices_as_warnings", () -> {
            try (Connection c = conn(""); Statement s = c.createStatement()) {
                s.execute("DO $$ BEGIN RAISE NOTICE 'hello from plpgsql'; END $$");
                SQLWarning w = s.getWarnings();
                check(w != null && w.getMessage().contains("hello from plpgsql"), "notice");
            }
        });

        add("multiple_statements", () -> {
            try (Connection c = conn(""); Statement s = c.createStatement()) {
                check(s.execute("SELECT 1; SELECT 2, 3; CREATE TABLE IF NOT EXISTS pgjdbc_multi (a int)"),
                        "first is a result set");
                try (ResultSet rs = s.getResultSet()) {
                    check(rs.next() && rs.getInt(1) == 1, "first");
                }
                check(s.getMoreResults(), "second");
                try (ResultSet rs = s.getResultSet()) {
                    check(rs.next() && rs.getInt(2) == 3, "second");
                }
                check(!s.getMoreResults() && s.getUpdateCount() == 0, "third");
            }
        });

        add("long_sql_in_list_2000", () -> {
            // ORM-style IN lists: a Parse of 17 kB (2,000 parameters), prepared by name past
            // the threshold; over lifeguard's 16 KiB buffer, a documented limit
            table("pgjdbc_inlist", "id int primary key");
            try (Connection c = conn("")) {
                exec(c, "INSERT INTO pgjdbc_inlist SELECT generate_series(1, 5000)");
                StringBuilder sql = new StringBuilder("SELECT count(*) FROM pgjdbc_inlist WHERE id IN (");
                for (int i = 0; i < 2000; i++) {
                    sql.append(i == 0 ? "?" : ", ?");
                }
                sql.append(")");
                try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
                    for (int round = 0; round < 8; round++) {
                        for (int i = 0; i < 2000; i++) {
                            ps.setInt(i + 1, i * 2 + round);
                        }
                        try (ResultSet rs = ps.executeQuery()) {
                            check(rs.next() && rs.getInt(1) == 2000 - (round == 0 ? 1 : 0)
                                    + (round > 0 ? 0 : 0), "round " + round + ": " + rs.getInt(1));
                        }
                    }
                }
            }
        });

        add("long_sql_in_list_500", () -> {
            // the common size: 500 parameters, a 4.5 kB Parse (over pkt_buf's 4,096)
            try (Connection c = conn("prepareThreshold=1")) {
                StringBuilder sql = new StringBuilder("SELECT count(*) FROM generate_series(1, 1000) g WHERE g IN (");
                for (int i = 0; i < 500; i++) {
                    sql.append(i == 0 ? "?::int" : ", ?::int");
                }
                sql.append(")");
                try (PreparedStatement ps = c.prepareStatement(sql.toString())) {
                    for (int round = 0; round < 8; round++) {
                        for (int i = 0; i < 500; i++) {
                            ps.setInt(i + 1, i + 1 + round * 50);
                        }
                        try (ResultSet rs = ps.executeQuery()) {
                            check(rs.next() && rs.getInt(1) == 500, "round " + round + ": " + rs.getInt(1));
                        }
                    }
                }
            }
        });

        add("server_switch_prepared", () -> {
            // B's named statements while A and C hold servers in open transactions: B runs
            // on whichever server is free, which in transaction mode is not always the one
            // that has its S_n
            try (Connection a = conn(""); Connection b = conn("prepareThreshold=1"); Connection cc = conn("")) {
                a.setAutoCommit(false);
                cc.setAutoCommit(false);
                PreparedStatement p1 = b.prepareStatement("SELECT ?::int * 3, pg_backend_pid()");
                PreparedStatement p2 = b.prepareStatement("SELECT ?::text || '!'");
                java.util.Set<Integer> pids = new java.util.HashSet<>();
                for (int i = 0; i < 30; i++) {
                    Connection holder = i % 2 == 0 ? a : cc;
                    if (i % 3 != 2) {
                        one(holder, "SELECT 1");
                    }
                    p1.setInt(1, i);
                    try (ResultSet rs = p1.executeQuery()) {
                        check(rs.next() && rs.getInt(1) == 3 * i, "p1 " + i);
                        pids.add(rs.getInt(2));
                    }
                    p2.setString(1, "s" + i);
                    try (ResultSet rs = p2.executeQuery()) {
                        check(rs.next() && rs.getString(1).equals("s" + i + "!"), "p2 " + i);
                    }
                    holder.commit();
                }
                System.out.println("  (server_switch_prepared: B ran on " + pids.size() + " backend(s))");
            }
        });

        add("max_rows", () -> {
            try (Connection c = conn("prepareThreshold=1");
                    PreparedStatement ps = c.prepareStatement("SELECT g FROM generate_series(1, ?) g")) {
                ps.setMaxRows(10);
                for (int i = 0; i < 5; i++) {
                    ps.setInt(1, 100 + i);
                    int n = 0;
                    try (ResultSet rs = ps.executeQuery()) {
                        while (rs.next()) {
                            n++;
                        }
                    }
                    check(n == 10, "max rows " + n);
                }
                check(one(c, "SELECT 5") == 5, "after suspended portals");
            }
        });

        add("query_modes", () -> {
            table("pgjdbc_modes", "id int, v text");
            for (String mode : new String[] {"simple", "extended", "extendedForPrepared", "extendedCacheEverything"}) {
                try (Connection c = conn("preferQueryMode=" + mode + "&prepareThreshold=1")) {
                    for (int i = 0; i < 6; i++) {
                        try (PreparedStatement ps = c.prepareStatement("INSERT INTO pgjdbc_modes VALUES (?, ?)")) {
                            ps.setInt(1, i);
                            ps.setString(2, mode + "'" + i);
                            ps.executeUpdate();
                        }
                        try (Statement s = c.createStatement();
                                ResultSet rs = s.executeQuery("SELECT count(*) FROM pgjdbc_modes WHERE v LIKE '"
                                        + mode + "''%'")) {
                            check(rs.next() && rs.getInt(1) == i + 1, mode + " count");
                        }
                    }
                    c.setAutoCommit(false);
                    exec(c, "INSERT INTO pgjdbc_modes VALUES (-1, 'rolled back')");
                    c.rollback();
                    c.setAutoCommit(true);
                }
            }
            try (Connection c = conn("")) {
                check(one(c, "SELECT count(*) FROM pgjdbc_modes WHERE id < 0") == 0, "rollback");
            }
        });

        add("long_sql_text", () -> {
            // a long query text (generated SQL, comments), 10 kB: over pkt_buf, inside 16 KiB
            StringBuilder sql = new StringBuilder("SELECT ?::int AS v /* ");
            for (int i = 0; i < 1250; i++) {
                sql.append("padding ");
            }
            sql.append("*/");
            try (Connection c = conn("prepareThreshold=2"); PreparedStatement ps = c.prepareStatement(sql.toString())) {
                for (int i = 0; i < 6; i++) {
                    ps.setInt(1, i);
                    try (ResultSet rs = ps.executeQuery()) {
                        check(rs.next() && rs.getInt(1) == i, "value " + i);
                    }
                }
            }
        });

        // Session state (SET, SET SESSION CHARACTERISTICS, LISTEN): inherent to transaction
        // pooling, last so that what they leave on a server cannot spoil the other checks.
        add("set_schema_and_client_info", () -> {
            // setSchema and setClientInfo are SETs: session state
            try (Connection c = conn("")) {
                exec(c, "CREATE SCHEMA IF NOT EXISTS pgjdbc_schema_b");
                c.setClientInfo("ApplicationName", "renamed");
                check(oneString(c, "SELECT current_setting('application_name')").equals("renamed"), "client info");
                c.setSchema("pgjdbc_schema_b");
                check(c.getSchema().equals("pgjdbc_schema_b"), "setSchema");
            }
        });

        add("transaction_isolation", () -> {
            // setTransactionIsolation sends SET SESSION CHARACTERISTICS AS TRANSACTION ...
            try (Connection c = conn("")) {
                c.setTransactionIsolation(Connection.TRANSACTION_SERIALIZABLE);
                c.setAutoCommit(false);
                check(oneString(c, "SHOW transaction_isolation").equals("serializable"), "serializable");
                c.commit();
                check(c.getTransactionIsolation() == Connection.TRANSACTION_SERIALIZABLE, "get");
            }
        });

        add("listen_notify", () -> {
            // LISTEN is session state: inherent to transaction pooling
            try (Connection l = conn(""); Connection n = conn("")) {
                exec(l, "LISTEN pgjdbc_chan");
                exec(n, "NOTIFY pgjdbc_chan, 'hello'");
                org.postgresql.PGNotification[] got = null;
                for (int i = 0; i < 20 && (got == null || got.length == 0); i++) {
                    got = l.unwrap(PGConnection.class).getNotifications(100);
                }
                check(got != null && got.length == 1 && got[0].getParameter().equals("hello"), "notification");
                exec(l, "UNLISTEN *");
            }
        });
    }

    // Other clients at the same time (-Dnoise=N threads): short autocommit statements and
    // transactions, named statements of their own (S_1, S_2 as well), so that through a
    // transaction-mode pooler the checks' clients move between servers.
    static void noise(java.util.concurrent.atomic.AtomicBoolean stop,
            java.util.concurrent.atomic.AtomicReference<String> error) {
        try (Connection c = conn("prepareThreshold=1")) {
            PreparedStatement a = c.prepareStatement("SELECT ?::int + 1");
            PreparedStatement b = c.prepareStatement("SELECT pg_sleep(0.003), ?::text");
            for (int i = 0; !stop.get(); i++) {
                c.setAutoCommit(i % 3 != 0);
                a.setInt(1, i);
                try (ResultSet rs = a.executeQuery()) {
                    check(rs.next() && rs.getInt(1) == i + 1, "noise result");
                }
                b.setString(1, "n" + i);
                try (ResultSet rs = b.executeQuery()) {
                    check(rs.next() && rs.getString(2).equals("n" + i), "noise result");
                }
                if (!c.getAutoCommit()) {
                    c.commit();
                }
            }
        } catch (Throwable e) {
            error.compareAndSet(null, e.getClass().getSimpleName() + ": " + e.getMessage());
        }
    }

    public static void main(String[] args) throws Exception {
        if (args.length < 3) {
            System.err.println("usage: PoolerCheck HOST PORT DATABASE [CHECK ...]");
            System.exit(2);
        }
        base = "jdbc:postgresql://" + args[0] + ":" + args[1] + "/" + args[2]
                + "?user=postgres&sslmode=disable&connectTimeout=10&socketTimeout=120";
        registerChecks();
        int noise = Integer.getInteger("noise", 0);
        java.util.concurrent.atomic.AtomicBoolean stop = new java.util.concurrent.atomic.AtomicBoolean();
        java.util.concurrent.atomic.AtomicReference<String> noiseError = new java.util.concurrent.atomic.AtomicReference<>();
        List<Thread> noisy = new ArrayList<>();
        for (int t = 0; t < noise; t++) {
            Thread th = new Thread(() -> noise(stop, noiseError));
            th.setDaemon(true);
            th.start();
            noisy.add(th);
        }
        List<String> names = args.length > 3 ? Arrays.asList(args).subList(3, args.length)
                : new ArrayList<>(CHECKS.keySet());
        int pass = 0, fail = 0;
        for (String name : names) {
            Check body = CHECKS.get(name);
            if (body == null) {
                System.out.println("FAIL " + name + ": no such check");
                fail++;
                continue;
            }
            long t0 = System.nanoTime();
            try {
                body.run();
                pass++;
                System.out.printf("PASS %s (%d ms)%n", name, (System.nanoTime() - t0) / 1000000);
            } catch (Throwable e) {
                fail++;
                String state = e instanceof SQLException ? " [" + ((SQLException) e).getSQLState() + "]" : "";
                System.out.printf("FAIL %s: %s%s: %s%n", name, e.getClass().getSimpleName(), state,
                        String.valueOf(e.getMessage()).replace('\n', ' '));
            }
            System.out.flush();
        }
        stop.set(true);
        for (Thread th : noisy) {
            th.join(10000);
        }
        if (noiseError.get() != null) {
            fail++;
            System.out.println("FAIL noise: " + noiseError.get());
        }
        System.out.println(pass + " passed, " + fail + " failed");
        System.exit(fail == 0 ? 0 : 1);
    }
}
