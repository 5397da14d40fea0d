# One line pair per unit test binary: its name, and the src objects it links.
# Needing more objects than the module under test and L0 means the layering is broken.
UNIT_TESTS += test_buf
test_buf_OBJS := buf.o alloc.o log.o
UNIT_TESTS += test_md5
test_md5_OBJS := md5.o alloc.o log.o
UNIT_TESTS += test_scram
test_scram_OBJS := scram.o alloc.o log.o
UNIT_TESTS += test_cfg
test_cfg_OBJS := cfg.o cfg_diag.o cfg_load.o cfg_keys.o cfg_value.o cfg_doc.o alloc.o log.o
UNIT_TESTS += test_userlist
test_userlist_OBJS := userlist.o cfg.o cfg_diag.o cfg_load.o cfg_keys.o cfg_value.o cfg_doc.o alloc.o log.o
UNIT_TESTS += test_pgproto
test_pgproto_OBJS := pgproto.o buf.o alloc.o log.o
UNIT_TESTS += test_stats
test_stats_OBJS := stats.o strbuf.o alloc.o log.o
UNIT_TESTS += test_httpparse
test_httpparse_OBJS := httpparse.o alloc.o log.o
UNIT_TESTS += test_admin
test_admin_OBJS := admin.o admin_show.o admin_msg.o stats.o strbuf.o buf.o cfg.o cfg_diag.o cfg_load.o cfg_keys.o cfg_value.o cfg_doc.o alloc.o log.o
UNIT_TESTS += test_http
test_http_OBJS := http.o httpparse.o strbuf.o evloop.o uring.o net.o clock.o alloc.o log.o
# The /metrics exposition also passes `promtool check metrics` when promtool is installed.
unit: promtool-check
.PHONY: promtool-check
promtool-check: $(O)/tests/test_stats
	@tests/unit/promtool_check.sh $<
UNIT_TESTS += test_hba
test_hba_OBJS := hba.o cfg_diag.o alloc.o log.o
UNIT_TESTS += test_intern
test_intern_OBJS := intern.o htab.o alloc.o log.o
UNIT_TESTS += test_paramset
test_paramset_OBJS := paramset.o intern.o htab.o alloc.o log.o
UNIT_TESTS += test_evloop
test_evloop_OBJS := evloop.o uring.o clock.o alloc.o log.o
UNIT_TESTS += test_dbddl
test_dbddl_OBJS := dbddl.o
UNIT_TESTS += test_prepared
test_prepared_OBJS := prepared.o htab.o alloc.o log.o
UNIT_TESTS += test_ps_sql
test_ps_sql_OBJS := ps_sql.o
