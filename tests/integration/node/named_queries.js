#!/usr/bin/env node
// named_queries.js: node-postgres named queries through a transaction pooler.
//
//   PGHOST=127.0.0.1 PGPORT=6432 PGUSER=trustuser PGDATABASE=p0 \
//     node named_queries.js [clients=20] [iterations=50]
//
// Every client runs named queries (protocol-level Parse with a name, prepared
// once per connection by node-postgres, then only Bind/Execute): q_add (three
// parameters) and q_shape (two parameters, other result columns; the same name
// has a different text on odd and even clients, so a statement of one client
// must never serve another). Each result is checked to belong to the client
// (its own tag in `who`, the right arithmetic, its own application_name).
// Every fifth iteration runs inside BEGIN/COMMIT and checks that the whole
// transaction stayed on one server; one iteration per client fails inside a
// transaction (division by zero) and rolls back, and the client goes on.
//
// Prints one JSON line {ok, expected_ok, errors, error_count, clients,
// iterations, pids} where ok counts fully verified iterations and pids lists
// the server backends seen. Exit 0 when all is well, 1 on any error, 2 on the
// global timeout (LG_NODE_TIMEOUT_MS, default 100 s).
'use strict';

const { Client } = require('pg');

const nClients = parseInt(process.argv[2] || '20', 10);
const iterations = parseInt(process.argv[3] || '50', 10);
const timeoutMs = parseInt(process.env.LG_NODE_TIMEOUT_MS || '100000', 10);
const MAX_ERRORS_SHOWN = 50;

const errors = [];
let errorCount = 0;
let ok = 0;
const pids = new Set();

function fail(client, where, detail) {
    errorCount++;
    if (errors.length < MAX_ERRORS_SHOWN) {
        errors.push({ client, where, detail: String(detail) });
    }
}

function summary() {
    return JSON.stringify({
        ok,
        expected_ok: nClients * iterations,
        errors,
        error_count: errorCount,
        clients: nClients,
        iterations,
        pids: [...pids].sort((a, b) => a - b),
    });
}

if (!(nClients > 0 && iterations > 0)) {
    console.error('usage: node named_queries.js CLIENTS ITERATIONS');
    process.exit(64);
}

setTimeout(() => {
    fail(-1, 'timeout', `not done within ${timeoutMs} ms`);
    console.log(summary());
    process.exit(2);
}, timeoutMs).unref();

const Q_ADD = 'SELECT $1::int + $2::int AS s, $3::text AS who';
// Same name, two shapes: even clients double, odd clients triple, and the
// columns come in another order.
const Q_SHAPE_EVEN =
    "SELECT $1::text AS who, $2::int * 2 AS v, pg_backend_pid() AS pid," +
    " current_setting('application_name') AS app";
const Q_SHAPE_ODD =
    "SELECT pg_backend_pid() AS pid, current_setting('application_name') AS app," +
    " $2::int * 3 AS v, $1::text AS who";
const Q_DIV = 'SELECT 100 / $1::int AS d, $2::text AS who';

function rand() {
    return Math.floor(Math.random() * 1000000);
}

async function runClient(id) {
    const who = `client-${id}`;
    const app = `lg-node-${id}`;
    const factor = id % 2 === 0 ? 2 : 3;
    const shapeText = id % 2 === 0 ? Q_SHAPE_EVEN : Q_SHAPE_ODD;
    const client = new Client({ application_name: app, connectionTimeoutMillis: 20000 });
    // a backend or socket error outside a query must not crash the process
    client.on('error', (e) => fail(id, 'client error event', e.message));
    try {
        await client.connect();
    } catch (e) {
        fail(id, 'connect', e.message);
        return;
    }

    async function add() {
        const a = rand();
        const b = rand();
        const r = await client.query({ name: 'q_add', text: Q_ADD, values: [a, b, who] });
        const row = r.rows[0];
        if (r.rows.length !== 1 || row.s !== a + b || row.who !== who) {
            throw new Error(`q_add(${a}, ${b}, ${who}) gave ${JSON.stringify(r.rows)}`);
        }
        return row;
    }

    async function shape() {
        const x = rand();
        const r = await client.query({ name: 'q_shape', text: shapeText, values: [who, x] });
        const row = r.rows[0];
        const cols = r.fields.map((f) => f.name).join(',');
        const wantCols = id % 2 === 0 ? 'who,v,pid,app' : 'pid,app,v,who';
        if (r.rows.length !== 1 || row.who !== who || row.v !== x * factor || cols !== wantCols) {
            throw new Error(`q_shape(${who}, ${x}) gave ${cols} ${JSON.stringify(r.rows)}`);
        }
        if (row.app !== app) {
            throw new Error(`application_name is ${JSON.stringify(row.app)}, want ${app}`);
        }
        pids.add(row.pid);
        return row;
    }

    for (let k = 0; k < iterations; k++) {
        try {
            if (k === Math.floor(iterations / 2)) {
                // an error inside a transaction, then a rollback
                await client.query('BEGIN');
                await add();
                let failed = false;
                try {
                    await client.query({ name: 'q_div', text: Q_DIV, values: [0, who] });
                } catch (e) {
                    failed = true;
                    if (e.code !== '22012') {
                        throw new Error(`q_div(0) failed with ${e.code} ${e.message}, want 22012`);
                    }
                }
                if (!failed) {
                    throw new Error('q_div(0) did not fail');
                }
                await client.query('ROLLBACK');
                const r = await client.query({ name: 'q_div', text: Q_DIV, values: [4, who] });
                if (r.rows[0].d !== 25 || r.rows[0].who !== who) {
                    throw new Error(`q_div(4) gave ${JSON.stringify(r.rows)}`);
                }
            } else if (k % 5 === 0) {
                await client.query('BEGIN');
                const first = await shape();
                await add();
                const xid1 = (await client.query('SELECT txid_current() AS x')).rows[0].x;
                const second = await shape();
                await add();
                const xid2 = (await client.query('SELECT txid_current() AS x')).rows[0].x;
                await client.query('COMMIT');
                if (first.pid !== second.pid) {
                    throw new Error(`transaction moved from server ${first.pid} to ${second.pid}`);
                }
                if (xid1 !== xid2) {
                    throw new Error(`transaction id changed inside BEGIN: ${xid1} then ${xid2}`);
                }
            } else {
                await add();
                await shape();
            }
            ok++;
        } catch (e) {
            fail(id, `iteration ${k}`, e.message);
            // leave a failed transaction so the next iteration starts clean
            try {
                await client.query('ROLLBACK');
            } catch (_) {
                // the connection may be gone; later iterations will say so
            }
        }
    }

    try {
        await client.end();
    } catch (e) {
        fail(id, 'end', e.message);
    }
}

async function main() {
    const clients = [];
    for (let i = 0; i < nClients; i++) {
        clients.push(runClient(i));
    }
    await Promise.all(clients);
    console.log(summary());
    process.exit(errorCount === 0 && ok === nClients * iterations ? 0 : 1);
}

main().catch((e) => {
    fail(-1, 'main', e.stack || e.message);
    console.log(summary());
    process.exit(1);
});
