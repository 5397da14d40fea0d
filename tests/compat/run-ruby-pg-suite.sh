#!/usr/bin/env bash
# run-ruby-pg-suite.sh: the ruby-pg driver's own rspec suite (spec/pg/connection_spec.rb, the
# one that talks to the server most), run with Debian's rspec against the INSTALLED ruby-pg
# (ruby-pg 1.4.5 on Debian 12, libpq 15), once directly against a scratch PostgreSQL 15 and
# once per pool mode through lifeguard, then the examples that fail only through lifeguard.
# By hand only (not part of `make test`); it fetches nothing.
#
#   RUBYPG_SUITE=/path/to/ruby-pg tests/compat/run-ruby-pg-suite.sh [session|transaction ...]
#
#   RUBYPG_SUITE: a directory holding ruby-pg's spec/ (helpers.rb, helpers/scheduler.rb,
#     helpers/tcp_gate_scheduler.rb, helpers/tcp_gate_switcher.rb, pg/*_spec.rb). It is
#     copied to $LG_COMPAT_DIR/suite for each run and left unchanged.
#   LG_BINARY=path  LG_COMPAT_DIR=dir (default /tmp/lg-rubypg)  LG_PG_PORT=19484
#   LG_POOLER_PORT=19485  RUBYPG_FILES="spec/pg/connection_spec.rb ..." (the default)
#   RUBYPG_EXAMPLE_TIMEOUT=seconds per example (default 30: a LISTEN that lands on another
#     server than its NOTIFY waits for ever with wait_for_notify(nil))
#
# How spec/helpers.rb is pointed at an existing server (no patch to ruby-pg's files): its
# before(:suite) builds PG::TestingHelpers::PostgresServer.new("specs", port: $PGPORT), which
# would initdb and start a cluster of its own in tmp_test_specs. The runner writes one file
# of its own into the scratch copy, spec/lifeguard_target.rb, loaded with `rspec --require`
# after helpers.rb, which reopens PostgresServer so that it starts nothing and connects to
# host=localhost port=$PGPORT dbname=test (the database this script recreates before each
# run), with the Unix socket directory of whatever listens there; stop_existing_postmasters,
# create_test_db and teardown do nothing, set_etc_hosts skips its example (the suite's would
# edit /etc/hosts with sudo). The same file sets rspec's order to defined (the suite asks
# for random) and wraps each example in a timeout. Examples that need a second
# cluster ("with multiple PostgreSQL servers"), SSL on the server (the scratch cluster has
# none; lifeguard's TLS is not set up here), a user with md5 password in pg_hba, or sudo to
# edit /etc/hosts fail or skip directly too and do not count against lifeguard.
#
# How the suite was obtained (2026-11-27): `apt-get source ruby-pg` (through apt_source_args)
# finds ruby-pg_1.4.5-1.dsc, but the archive mirror reachable here answers 404 for
# ruby-pg_1.4.5.orig.tar.gz (and for 1.2.3, 1.5.6, 1.7.0), the binary package ships no specs,
# and rubygems.org/GitHub are not reachable. So spec/helpers.rb, spec/helpers/*.rb and
# spec/pg/connection_spec.rb were copied by hand from a stored copy of ged/ruby-pg (their
# newest stored versions, of the 1.5 line rather than the 1.4.5 tag; indentation may differ
# in places). Examples for API newer than 1.4.5 fail directly too. connection_sync_spec.rb
# (the same file again with the sync API) was not copied: its stored version needs an older
# helpers.rb (connect_testing_db).
#
# Needs root (PostgreSQL and the pooler run as postgres), ruby-pg and ruby-rspec (Debian).
# Results: $LG_COMPAT_DIR/<direct|MODE>.txt (rspec output), .json, .failed (failing examples,
# "id description"), $LG_COMPAT_DIR/MODE.pooler.log.
#
# What to expect (2026-11-27, ruby-pg 1.4.5, ruby 3.1.2, PostgreSQL 15, 242 examples of
# connection_spec.rb run on Linux without IPv6 localhost; about 3 min for the three runs,
# most of it transaction mode's LISTEN examples waiting for their timeouts):
#   direct 220 passed / 22 failed, session 220/22, transaction 209/33.
#   Failing directly too (not lifeguard's): API newer than 1.4.5 (frozen connections,
#   Ractor, Result#binary_tuples, PG::LostCopyState, check_socket, PROGRAM_NAME,
#   discard_results returning nil, copy_data error handling, escape encodings), SSL (the
#   scratch cluster has none: ssl_in_use?, ssl_attribute), the second "read-only" cluster,
#   two copytable examples that find the table an earlier failing example left, "large
#   object can handle big data" (1.4.5's lo_write in nonblocking mode over a Unix socket),
#   pg_settings.source 'session' instead of 'default' for client_encoding. Three examples
#   bind port 54320 themselves ("times out after connect_timeout seconds", "handles server
#   close while asynchronous connect", "consume_input should raise ConnectionBad"): on a
#   shared machine they fail now and then with EADDRINUSE, in any run.
#   Session mode: none fail only through lifeguard.
#   Transaction mode, inherent (docs/pooling-modes.md): LISTEN/NOTIFY, 10 examples (the
#   LISTEN stays on a server the client no longer holds; wait_for_notify gets nothing, or
#   waits for ever with a nil timeout and is stopped by RUBYPG_EXAMPLE_TIMEOUT), and
#   "doesn't leave stale server connections after finish", which counts pg_stat_activity
#   rows with an application_name: idle pooled servers keep the one their last client set
#   (3 instead of 1).
#   Fixed with this runner: a client that went away halfway through a CopyData (ruby-pg's
#   "rejects to send lots of COPY data", after its COPY was cancelled) left a server that
#   had read half a message: transaction mode gave it to the next client, whose Query the
#   server took for the rest of the row ("needs to flush data after send_query" failed with
#   "invalid frontend message type 120"); session mode sent server_reset_query into it and
#   lost the server (tests/integration/test_transaction_pooling.py, client_gone_halfway).
#   Transaction mode was 208/34 before.
set -euo pipefail

here=$(cd "$(dirname "${BASH_SOURCE[0]}")" && pwd)
repo=$(cd "$here/../.." && pwd)
suite=${RUBYPG_SUITE:?set RUBYPG_SUITE to a directory holding ruby-pg spec/}
suite=$(readlink -f "$suite")
modes=("$@")
[ ${#modes[@]} -gt 0 ] || modes=(session transaction)
work=${LG_COMPAT_DIR:-/tmp/lg-rubypg}
pg_port=${LG_PG_PORT:-19484}
lg_port=${LG_POOLER_PORT:-19485}
binary=$(readlink -f "${LG_BINARY:-$repo/build/debug/lifeguard}")
pgbin=/usr/lib/postgresql/15/bin
asuser=(setpriv --reuid=postgres --regid=postgres --init-groups)
# shellcheck source=tests/compat/pooler.sh
source "$(dirname "${BASH_SOURCE[0]}")/pooler.sh"

[ "$(id -u)" = 0 ] || { echo "run-ruby-pg-suite.sh: run as root" >&2; exit 1; }
[ -f "$suite/spec/helpers.rb" ] || { echo "run-ruby-pg-suite.sh: no spec/helpers.rb in $suite" >&2; exit 1; }
[ -x "$binary" ] || { echo "run-ruby-pg-suite.sh: no pooler at $binary (make)" >&2; exit 1; }
ruby -e 'require "pg"; require "rspec"' ||
    { echo "run-ruby-pg-suite.sh: needs ruby-pg and ruby-rspec" >&2; exit 1; }
files=()
read -r -a files <<<"${RUBYPG_FILES:-spec/pg/connection_spec.rb}"

start_scratch_pg
# Copied after start_scratch_pg, which empties $work.
cp -r "$suite" "$work/suite"
cat >"$work/suite/spec/lifeguard_target.rb" <<'EOF'
# Written by lifeguard's tests/compat/run-ruby-pg-suite.sh (not part of ruby-pg): the suite's
# test server is whatever listens on localhost:$PGPORT (PostgreSQL or the pooler), with the
# database "test" made beforehand; nothing is started or stopped here.
require 'timeout'
require_relative 'helpers'

module PG::TestingHelpers
	def self.stop_existing_postmasters
	end

	class PostgresServer
		def initialize( name, port: 54321, postgresql_conf: '' )
			raise "run-ruby-pg-suite.sh: no second cluster (#{name}) through a given server" unless name == "specs"
			@name = name
			@port = port
			@conninfo = "host=localhost port=#{@port} dbname=test"
			@unix_socket = ENV.fetch('RUBYPG_SOCKET_DIR')
		end

		def create_test_db
		end

		def teardown
		end
	end

	# The suite's own would rewrite /etc/hosts through sudo.
	def set_etc_hosts( hostaddr )
		skip( "run-ruby-pg-suite.sh does not edit /etc/hosts" )
	end
end

RSpec.configure do |config|
	config.order = :defined
	config.around( :each ) do |example|
		Timeout.timeout( Integer(ENV.fetch('RUBYPG_EXAMPLE_TIMEOUT', '30')) ) { example.run }
	end
end
EOF

run_suite() { # name port
    local name=$1 port=$2 sockdir=/tmp # lifeguard's default unix_socket_dir
    [ "$port" = "$pg_port" ] && sockdir=$work/run
    "${asuser[@]}" "$pgbin/psql" -X -q -h 127.0.0.1 -p "$pg_port" -U postgres -d postgres \
        -c "DROP DATABASE IF EXISTS test WITH (FORCE)" -c "CREATE DATABASE test"
    (cd "$work/suite" && env PGHOST=localhost PGPORT="$port" PGUSER=postgres \
        RUBYPG_SOCKET_DIR="$sockdir" TERM=dumb timeout -k 10 1200 \
        rspec --require ./spec/lifeguard_target.rb --format progress \
        --format json --out "$work/$name.json" "${files[@]}" >"$work/$name.txt" 2>&1) || true
    ruby -rjson -e 'j = JSON.parse(File.read(ARGV[0]))
        j["examples"].select { |e| e["status"] == "failed" }.each { |e| puts "#{e["id"]} #{e["full_description"]}" }' \
        "$work/$name.json" | sort -u >"$work/$name.failed" || true
    echo "$name: $(ruby -rjson -e 'puts JSON.parse(File.read(ARGV[0]))["summary_line"]' "$work/$name.json" 2>/dev/null ||
        echo "no result, see $work/$name.txt")"
}

run_direct_and_modes "${modes[@]}"
for mode in "${modes[@]}"; do
    echo "$mode: failing only through the pooler:"
    comm -13 "$work/direct.failed" "$work/$mode.failed" | sed 's/^/  /'
done
