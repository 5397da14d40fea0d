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
CFLAGS_BUILD := -O2 -DNDEBUG
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

.PHONY: all run test unit integration deps lint format format-check clean bench docs fuzz fuzz-smoke
all: $(O)/lifeguard

$(O)/lifeguard: $(OBJS)
	$(CC) $(LDFLAGS_BUILD) $(LDFLAGS) -o $@ $^ $(LIBS)

$(O)/%.o: src/%.c | $(O)
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
	@$(MAKE) --no-print-directory all unit
	@$(MAKE) --no-print-directory integration

run: deps
	@$(MAKE) --no-print-directory all
	@BUILD=$(BUILD) scripts/run.sh

bench: deps
	@$(MAKE) --no-print-directory BUILD=release all
	@bench/run.sh

docs: $(O)/lifeguard
	$(O)/lifeguard --config-doc > docs/config.md

lint:
	@tools/check-layers.sh

format:
	clang-format -i src/*.c src/*.h tests/unit/*.c

format-check:
	clang-format --dry-run --Werror src/*.c src/*.h tests/unit/*.c

clean:
	rm -rf build

-include $(OBJS:.o=.d) $(wildcard $(O)/tests/*.d)
