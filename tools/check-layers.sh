#!/usr/bin/env bash
# SPDX-License-Identifier: MIT
#
# check-layers.sh: checks every `#include "..."` in src/*.c and src/*.h against the layer
# table of docs style.md section 3, prints each violation as file:line, exits 1 if any.
#   L0 base alloc list buf log clock strbuf intern htab   may include L0 (libc only otherwise)
#   L1 pgproto md5 scram hba cfg cfg_keys userlist stats   may include L0, L1
#   L2 evloop uring net daemon stream stream_edit stream_tls stream_types  may include L0, L2
#   L3 auth client server pool janitor admin http   may include L0-L2, and other L3
#      modules only along the listed edges
#   L4 main                               may include everything
# A module may always include its own header. A header or source file whose module is not
# in the table is reported, so the table stays complete.
# --strict: L3 modules may include only L0 and their listed edges (the edge lists name L1
# and L2 modules too, e.g. client->stream but not client->net); L3 edges to cfg also allow
# cfg's own L1 companions userlist and cfg_keys.
# System headers (<...>) are not checked. Usage: tools/check-layers.sh [--strict] [srcdir]
set -u

strict=0
if [ "${1:-}" = "--strict" ]; then
    strict=1
    shift
fi
if [ $# -ge 1 ]; then
    src=$1
else
    cd "$(dirname "$0")/.." || exit 2
    src=src
fi

declare -A layer=(
    [base]=0 [alloc]=0 [list]=0 [buf]=0 [log]=0 [clock]=0 [strbuf]=0 [intern]=0 [htab]=0
    [pgproto]=1 [md5]=1 [scram]=1 [hba]=1 [cfg]=1 [cfg_keys]=1 [cfg_value]=1 [cfg_doc]=1 [cfg_load]=1 [cfg_diag]=1 [cfg_internal]=1 [userlist]=1 [stats]=1 [prepared]=1 [httpparse]=1 [paramset]=1 [dbddl]=1 [ps_sql]=1
    [evloop]=2 [uring]=2 [net]=2 [daemon]=2 [stream]=2 [stream_edit]=2 [stream_tls]=2 [stream_types]=2 [tls]=2
    [auth]=3 [console]=3 [health]=3 [client]=3 [server]=3 [server_int]=3 [server_auth]=3 [server_ps]=3 [server_param]=3 [pool]=3 [janitor]=3 [admin]=3 [admin_show]=3 [admin_msg]=3 [http]=3
    [client_int]=3 [client_auth]=3 [client_param]=3 [client_ps]=3 [client_admin]=3 [client_janitor]=3 [client_lookup]=3 [client_ddl]=3
    [pool_int]=3 [pool_handoff]=3 [pool_session]=3 [pool_txn]=3 [pool_ctl]=3 [pool_cancel]=3 [pool_janitor]=3 [pool_obs]=3 [pool_caps]=3 [pool_park]=3
    [main]=4
)
declare -A edges=(
    [client]="pool auth pgproto stream cfg stats admin console client_int"
    [client_int]="pool auth pgproto stream cfg stats admin console client"
    [client_param]="pool auth pgproto stream cfg stats admin console client client_int"
    [client_ps]="pool auth pgproto stream cfg stats admin console client client_int ps_sql"
    [client_auth]="pool auth pgproto stream cfg stats admin console client client_int"
    [client_lookup]="pool auth pgproto stream cfg stats admin console client client_int"
    [client_ddl]="pool auth pgproto stream cfg stats admin console client client_int dbddl"
    [client_admin]="pool auth pgproto stream cfg stats admin console client client_int"
    [client_janitor]="pool auth pgproto stream cfg stats admin console client client_int"
    [console]="pool client admin stats cfg"
    [health]="pool http stats strbuf"
    [server]="pool auth pgproto stream net cfg stats server_int"
    [server_int]="pool auth pgproto stream net cfg stats server"
    [server_auth]="pool auth pgproto stream net cfg stats server server_int"
    [server_param]="pool auth pgproto stream net cfg stats server server_int"
    [server_ps]="pool auth pgproto stream net cfg stats server server_int prepared"
    [pool]="client server pool_int"
    [pool_int]="client server pool"
    [pool_cancel]="client server pool pool_int"
    [pool_ctl]="client server pool pool_int"
    [pool_caps]="client server pool pool_int"
    [pool_txn]="client server pool pool_int"
    [pool_park]="client server pool pool_int"
    [pool_handoff]="client server pool pool_int"
    [pool_session]="client server pool pool_int"
    [pool_janitor]="client server pool pool_int"
    [pool_obs]="client server pool pool_int"
    [janitor]="pool server"
    [admin]="pool cfg stats pgproto stream buf strbuf admin_show admin_msg"
    [admin_show]="admin cfg stats strbuf admin_msg"
    [admin_msg]="admin strbuf"
    [http]="pool stats net stream httpparse evloop strbuf"
    [auth]="scram md5 hba pgproto cfg"
)

has_edge() { # from to
    local e
    for e in ${edges[$1]:-}; do
        [ "$e" = "$2" ] && return 0
        if [ "$e" = cfg ] && [[ " userlist cfg_keys cfg_value cfg_doc cfg_load cfg_diag " == *" $2 "* ]]; then
            return 0
        fi
    done
    return 1
}

# allowed FROM TO: 0 if module FROM may include module TO.
allowed() {
    local from=$1 to=$2 lf=${layer[$1]} lt=${layer[$2]}
    [ "$from" = "$to" ] && return 0
    [ "$lt" = 0 ] && return 0
    # stream frames messages: it reads the 5-byte header with pgproto's parser
    # (docs/architecture.md, "Where this differs from the design notes").
    [ "$from" = stream ] || [ "$from" = stream_edit ] && [ "$to" = pgproto ] && return 0
    case $lf in
    0) return 1 ;;
    1) [ "$lt" = 1 ] ;;
    2) [ "$lt" = 2 ] ;;
    3)
        if [ "$lt" = 3 ] || [ $strict = 1 ]; then
            has_edge "$from" "$to"
        else
            [ "$lt" -le 2 ]
        fi
        ;;
    4) return 0 ;;
    *) return 1 ;;
    esac
}

violations=0
files=0
includes=0
report() {
    echo "$1"
    violations=$((violations + 1))
}

shopt -s nullglob
for f in "$src"/*.c "$src"/*.h; do
    files=$((files + 1))
    base=$(basename "$f")
    from=${base%.*}
    if [ -z "${layer[$from]+x}" ]; then
        report "$f:1: module '$from' is not in the layer table (style.md section 3)"
        continue
    fi
    while IFS= read -r hit; do
        line=${hit%%:*}
        inc=$(printf '%s\n' "${hit#*:}" | sed -E 's/^[[:space:]]*#[[:space:]]*include[[:space:]]*"([^"]*)".*/\1/')
        includes=$((includes + 1))
        name=$(basename "$inc")
        if [ "${name%.h}" = "$name" ]; then
            report "$f:$line: includes \"$inc\": only headers may be included"
            continue
        fi
        to=${name%.h}
        if [ -z "${layer[$to]+x}" ]; then
            report "$f:$line: includes \"$inc\": module '$to' is not in the layer table"
            continue
        fi
        if ! allowed "$from" "$to"; then
            report "$f:$line: $from (L${layer[$from]}) must not include $inc (L${layer[$to]})"
        fi
    done < <(grep -n -E '^[[:space:]]*#[[:space:]]*include[[:space:]]*"' "$f")
done

echo "check-layers: $files files, $includes includes, $violations violations"
[ $violations = 0 ]
