#!/usr/bin/env node
// startup_options.js: node-postgres sends statement_timeout as a startup parameter of
// its own, ahead of "options" in the startup packet. PostgreSQL lets a parameter given
// on its own win over the same one in "options", wherever each stands.
//
//   PGHOST=127.0.0.1 PGPORT=6432 PGUSER=trustuser PGDATABASE=p0 node startup_options.js
//
// Prints one JSON line {statement_timeout, lock_timeout} as the session sees them, from
// two transactions (in transaction pooling each may run on another server).
'use strict';

const { Client } = require('pg');

async function main() {
    const client = new Client({
        statement_timeout: 1234,
        options: '-c statement_timeout=5000 -c lock_timeout=4321',
    });
    await client.connect();
    try {
        const a = await client.query('SHOW statement_timeout');
        const b = await client.query('SHOW lock_timeout');
        console.log(JSON.stringify({
            statement_timeout: a.rows[0].statement_timeout,
            lock_timeout: b.rows[0].lock_timeout,
        }));
    } finally {
        await client.end();
    }
}

main().catch((e) => {
    console.error(e);
    process.exit(1);
});
