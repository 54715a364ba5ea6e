# Makefile for aigov (PGXS)
#
#   make                 build the extension
#   make emulator        build the provider emulator
#   make install         install the extension into PG_CONFIG's PostgreSQL
#   make test            install missing packages, build, run every suite
#   make demo            run the demo scenario against the emulator
#
# Build with PG_CFLAGS="-Wall -Wextra -Werror ..." in development; -Werror
# stays out of the defaults so packagers with newer compilers can build.

EXTENSION    = aigov
EXTVERSION   = 0.1.0
MODULE_big   = aigov
OBJS         = $(patsubst %.c,%.o,$(wildcard src/*.c))
DATA         = $(wildcard sql/aigov--*.sql)
DOCS         =
PG_CONFIG   ?= pg_config

PG_CPPFLAGS += -DAIGOV_VERSION=\"$(EXTVERSION)\" -Isrc \
               $(shell pkg-config --cflags libcurl jansson)
SHLIB_LINK  += $(shell pkg-config --libs libcurl jansson)

# The postgres binary exports a json_object() of its own (the SQL
# function), which would win the dynamic symbol lookup over jansson's; see
# src/jansson_compat.h.  Only the pure files (no postgres.h) use jansson.
PURE_OBJS    = $(patsubst %.c,%.o,$(shell grep -L '"postgres.h"' src/*.c))

# pg_regress suites; the order matters (install first).
REGRESS      = install tiers_tenants providers_keys egress_secrets submit request_fields response_format \
               insert_batch admission result_cancel_wait tenant_roles tenant_bounds \
               threat_model fair_queue class_shares history observability prometheus context_window crash_recovery
ISOLATION    = claim_skip_locked cancel_vs_complete
TAP_TESTS    = 1

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

$(PURE_OBJS): override CPPFLAGS += -include src/jansson_compat.h

# PGXS does not track header dependencies; a struct that changes shape in
# a header must rebuild every object that uses it.
$(OBJS): $(wildcard src/*.h)

.PHONY: emulator test demo unit
emulator:
	$(MAKE) -C emulator

unit:
	$(MAKE) -C test/unit check

test:
	./test/run-tests.sh

demo:
	./bench/demo.sh

# Lets the test runner read the suite lists without parsing this file.
print-%:
	@echo $($*)
