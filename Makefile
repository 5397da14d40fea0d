# lifeguard: plain GNU make. BUILD=debug|release|asan|fuzz builds into build/$(BUILD)/.
BUILD ?= debug
CC ?= cc
ifeq ($(origin CC),default)
CC := gcc
endif
O := build/$(BUILD)

WARN := -Wall -Wextra -Werror -Wshadow -Wstrict-prototypes -Wmissing-prototypes -Wvla \
        -Wformat=2 -Wundef -fno-common
CFLAGS_BASE := -std=c11 -D_GNU_SOURCE -g -gdwarf-4 $(WARN) -MMD -MP
ifeq ($(BUILD),release)
# Link-time optimization: the relay's steps cross modules (stream, server, pool), and
# inlining their small accessors cuts ~11 % of the instructions per transaction; -O3
# another ~2 % (callgrind, session 10: 2,210 -> 2,165).
CFLAGS_BUILD := -O3 -DNDEBUG -flto
ifneq ($(findstring clang,$(CC)),)
LDFLAGS_BUILD := -O3 -flto
else
LDFLAGS_BUILD := -O3 -flto=auto
endif
else ifeq ($(BUILD),asan)
CFLAGS_BUILD := -O1 -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS_BUILD := -fsanitize=address,undefined
else ifeq ($(BUILD),fuzz)
CC := clang
CFLAGS_BUILD := -O1 -fsanitize=fuzzer-no-link,address,undefined -fno-omit-frame-pointer
LDFLAGS_BUILD := -fsanitize=address,undefined
else
CFLAGS_BUILD := -O0
endif
CFLAGS ?=
LDFLAGS ?=
ALL_CFLAGS := $(CFLAGS_BASE) $(CFLAGS_BUILD) $(CFLAGS)
LIBS := -lssl -lcrypto

SRCS := $(wildcard src/*.c)
OBJS := $(patsubst src/%.c,$(O)/%.o,$(SRCS))
LIB_OBJS := $(filter-out $(O)/main.o,$(OBJS))

.PHONY: all run test unit integration deps lint format format-check clean bench docs fuzz fuzz-smoke \
        fuzz-replay
all: $(O)/lifeguard

$(O)/lifeguard: $(OBJS)
	$(CC) $(LDFLAGS_BUILD) $(LDFLAGS) -o $@ $^ $(LIBS)

$(O)/%.o: src/%.c Makefile | $(O)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

$(O):
	mkdir -p $(O) $(O)/tests

# ---- unit tests: one cmocka binary per module, objects listed in tests/unit/unit.mk ----
UNIT_TESTS :=
include tests/unit/unit.mk
UNIT_BINS := $(addprefix $(O)/tests/,$(UNIT_TESTS))

$(O)/tests/%.o: tests/unit/%.c | $(O)
	$(CC) $(ALL_CFLAGS) -Isrc -c -o $@ $<

define unit_rule
$(O)/tests/$(1): $(O)/tests/$(1).o $(addprefix $(O)/,$($(1)_OBJS))
	$$(CC) $$(LDFLAGS_BUILD) $$(LDFLAGS) -o $$@ $$^ -lcmocka $$(LIBS)
endef
$(foreach t,$(UNIT_TESTS),$(eval $(call unit_rule,$(t))))

unit: $(UNIT_BINS)
	@BUILD=$(BUILD) tests/unit/run.sh $(UNIT_BINS)

integration: $(O)/lifeguard
	@BUILD=$(BUILD) tests/integration/run.sh

deps:
	@scripts/deps.sh

test: deps
	@$(MAKE) --no-print-directory all unit fuzz-replay
	@$(MAKE) --no-print-directory integration

run: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/run.sh

bench: deps
	@$(MAKE) --no-print-directory BUILD=release all
	@bench/run.sh

docs: $(O)/lifeguard
	$(O)/lifeguard --config-doc > docs/config.md

# ---- fuzzing: fuzz-replay (any $(CC), part of `make test`) replays each target's regression
# inputs and seeds without libFuzzer; fuzz-smoke (clang, libFuzzer) also fuzzes briefly ----
include tests/fuzz/fuzz.mk
FUZZ_DIR := build/fuzz
FUZZ_SECONDS ?= 15
FUZZ_FLAGS := -std=c11 -D_GNU_SOURCE -g -O1 -fsanitize=fuzzer,address,undefined \
              -fno-sanitize-recover=all -Isrc
FUZZ_BINS := $(addprefix $(FUZZ_DIR)/,$(FUZZ_TARGETS))
REPLAY_BINS := $(addprefix $(O)/fuzz/,$(FUZZ_TARGETS))

$(O)/fuzz/%.o: tests/fuzz/%.c | $(O)
	@mkdir -p $(@D)
	$(CC) $(ALL_CFLAGS) -Isrc -c -o $@ $<

define fuzz_rule
$(FUZZ_DIR)/$(1): tests/fuzz/$(1).c $(addprefix src/,$($(1)_SRCS))
	@mkdir -p $(FUZZ_DIR)
	clang $(FUZZ_FLAGS) -o $$@ $$^ -lcrypto
$(O)/fuzz/$(1): $(O)/fuzz/replay_main.o $(O)/fuzz/$(1).o $(addprefix $(O)/,$($(1)_SRCS:.c=.o))
	$$(CC) $$(LDFLAGS_BUILD) $$(LDFLAGS) -o $$@ $$^ $$(LIBS)
endef
$(foreach t,$(FUZZ_TARGETS),$(eval $(call fuzz_rule,$(t))))

fuzz-replay: $(REPLAY_BINS)
	@BUILD=$(BUILD) tests/fuzz/replay.sh $(REPLAY_BINS)

# Fuzzes a scratch copy of each corpus with regress/ as a second, read-only corpus. A crash
# fails the target and leaves its input in build/fuzz/artifacts/<name>/ (see tests/fuzz/README.md).
fuzz-smoke: $(FUZZ_BINS)
	@set -e; for t in $(FUZZ_TARGETS); do \
	    n=$$(echo $$t | sed 's/fuzz_//'); \
	    work=$$(mktemp -d); cp -r tests/fuzz/corpus/$$n/. $$work/ 2>/dev/null || true; \
	    extra=; [ -d tests/fuzz/regress/$$n ] && extra=tests/fuzz/regress/$$n; \
	    art=$(FUZZ_DIR)/artifacts/$$n; mkdir -p $$art; \
	    echo "fuzz-smoke: $$t ($(FUZZ_SECONDS) s)"; \
	    rc=0; $(FUZZ_DIR)/$$t -max_total_time=$(FUZZ_SECONDS) -print_final_stats=1 \
	        -artifact_prefix=$$art/ $$work $$extra >$$work.log 2>&1 || rc=$$?; \
	    grep -E 'stat::number_of_executed_units|stat::new_units_added|ERROR|SUMMARY|Test unit written' \
	        $$work.log || true; \
	    rm -f $$work.log; \
	    if [ $$rc != 0 ]; then echo "fuzz-smoke: $$t failed; input kept in $$art/"; exit 1; fi; \
	    $(FUZZ_DIR)/$$t -runs=0 $$work $$extra >/dev/null 2>&1 || { echo "fuzz-smoke: $$t failed"; exit 1; }; \
	    rm -rf $$work; \
	done

fuzz: $(FUZZ_BINS)
	@echo "run one target: $(FUZZ_DIR)/fuzz_<name> -max_total_time=600 tests/fuzz/corpus/<name>"

lint:
	@tools/check-layers.sh
	@clang-format --dry-run --Werror src/*.c src/*.h tests/unit/*.c bench/*.c && echo "format: clean"

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c bench/*.c

format-check:
	clang-format --dry-run --Werror src/*.c src/*.h tests/unit/*.c bench/*.c

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(wildcard $(O)/tests/*.d) $(wildcard $(O)/fuzz/*.d)
