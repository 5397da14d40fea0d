# libFuzzer targets: one per pure parser, each with the src files it needs (clang only).
FUZZ_TARGETS := fuzz_pgproto fuzz_scram fuzz_cfg fuzz_http fuzz_hba fuzz_dbddl fuzz_ps_sql
fuzz_pgproto_SRCS := pgproto.c buf.c alloc.c log.c
fuzz_scram_SRCS := scram.c alloc.c log.c
fuzz_cfg_SRCS := cfg.c cfg_diag.c cfg_load.c cfg_keys.c cfg_value.c cfg_doc.c userlist.c alloc.c log.c
fuzz_http_SRCS := httpparse.c alloc.c log.c
fuzz_pgproto_CORPUS := pgproto
fuzz_scram_CORPUS := scram
fuzz_cfg_CORPUS := cfg
fuzz_http_CORPUS := http
fuzz_hba_SRCS := hba.c cfg_diag.c alloc.c log.c
fuzz_hba_CORPUS := hba
fuzz_dbddl_SRCS := dbddl.c
fuzz_dbddl_CORPUS := dbddl
fuzz_ps_sql_SRCS := ps_sql.c
fuzz_ps_sql_CORPUS := ps_sql
