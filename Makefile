# snowflake: PGXS build of the C++ core and the PostgreSQL glue.
#
#   make / make install       build and install the extension
#   make demo                 first command on a fresh machine (README)
#   make test                 every test: core, pg_regress, concurrency, TAP
#   make lint                 clang-tidy (make format: clang-format)
#   make installcheck         pg_regress only, on throwaway preloaded servers
#   make bench                benchmarks (bench/)
#   make fuzz                 libFuzzer targets in tests/fuzz/, FUZZ_SECONDS each (default 30)
#   make soak DURATION=600    crash/clock/disk soak test in seconds (not part of make test)

EXTENSION = snowflake
MODULE_big = snowflake
DATA = snowflake--1.0.sql snowflake--1.0--1.1.sql
PGFILEDESC = "snowflake - globally unique 64-bit IDs"

CORE_SRCS = $(sort $(wildcard src/core/*.cpp))
GLUE_SRCS = $(sort $(wildcard src/pg/*.cpp))
OBJS = $(GLUE_SRCS:.cpp=.o) $(CORE_SRCS:.cpp=.o)

PG_CONFIG ?= pg_config
PG_INCLUDE_SERVER := $(shell $(PG_CONFIG) --includedir-server)

WARNINGS = -Wall -Wextra -Werror
CXX_STD = -std=c++17 -fno-exceptions -fno-rtti -fvisibility=hidden
# PostgreSQL's headers as system headers: our warnings apply to our code.
PG_CXXFLAGS = $(CXX_STD) $(WARNINGS) -isystem $(PG_INCLUDE_SERVER) -MMD -MP
SHLIB_LINK = -lstdc++

# The core is compiled without the server's include path, so a PostgreSQL
# header in src/core/ fails the build: "no PostgreSQL header" is checked by
# the compiler.
src/core/%.o: src/core/%.cpp
	$(CXX) $(CXX_STD) $(WARNINGS) -O2 -g -fPIC -Isrc/core -MMD -MP -c -o $@ $<

# pg_regress: one file per feature. Three throwaway servers are started:
# preloaded with a node id (REGRESS), preloaded without one, not preloaded.
REGRESS = functions decode errors labels table_default parallel settings privileges type \
	next_ids convert_column upgrade advance_past
REGRESS_OPTS = --temp-instance=tmp_check_regress --temp-config=$(srcdir)/tests/regress/preloaded.conf \
	--load-extension=snowflake
REGRESS_NO_NODE_ID = node_id_unset
REGRESS_NOT_PRELOADED = not_preloaded

# JIT bitcode is for inlining into JIT-compiled expressions; these functions
# are a call each, and PGXS's bitcode rules do not cover the core's C++.
TAP_TESTS = 1
PROVE_TESTS = tests/t/*.pl

override with_llvm = no

PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)

# Header dependencies (-MMD above): a changed header rebuilds what uses it.
-include $(OBJS:.o=.d)

# Every sql/*.sql must be in one of the lists above, or the check fails.
REGRESS_ALL = $(REGRESS) $(REGRESS_NO_NODE_ID) $(REGRESS_NOT_PRELOADED)
.PHONY: check-schedule installcheck-node-id-unset installcheck-not-preloaded
check-schedule:
	@missing=""; for f in $(srcdir)/sql/*.sql; do b=$$(basename $$f .sql); \
	  case " $(REGRESS_ALL) " in *" $$b "*) ;; *) missing="$$missing $$b";; esac; done; \
	  if [ -n "$$missing" ]; then echo "sql files not in any regress list:$$missing"; exit 1; fi

installcheck: check-schedule installcheck-node-id-unset installcheck-not-preloaded

installcheck-node-id-unset:
	$(pg_regress_installcheck) --temp-instance=tmp_check_node_id_unset \
	  --temp-config=$(srcdir)/tests/regress/node_id_unset.conf \
	  --outputdir=output_node_id_unset $(REGRESS_NO_NODE_ID)

installcheck-not-preloaded:
	$(pg_regress_installcheck) --temp-instance=tmp_check_not_preloaded \
	  --temp-config=$(srcdir)/tests/regress/not_preloaded.conf \
	  --outputdir=output_not_preloaded $(REGRESS_NOT_PRELOADED)

EXTRA_CLEAN = $(OBJS:.o=.d) tmp_check_regress tmp_check_node_id_unset tmp_check_not_preloaded output_node_id_unset \
	output_not_preloaded build

.PHONY: demo test bench fuzz soak format format-check lint
demo:
	scripts/demo.sh

test:
	scripts/test.sh

bench:
	bench/run.sh

fuzz:
	FUZZ_SECONDS=$(or $(FUZZ_SECONDS),30) scripts/fuzz.sh

soak:
	SOAK_DURATION=$(or $(DURATION),600) scripts/soak.sh

format:
	clang-format -i src/core/*.h src/core/*.cpp src/pg/*.h src/pg/*.cpp tests/core/*.cpp tests/fuzz/*.cpp

format-check:
	clang-format --dry-run --Werror src/core/*.h src/core/*.cpp src/pg/*.h src/pg/*.cpp tests/core/*.cpp \
	  tests/fuzz/*.cpp

# clang-tidy with the checks in .clang-tidy; the glue sees PostgreSQL's headers as system headers.
lint:
	clang-tidy --quiet src/core/*.cpp src/pg/*.cpp -- -std=c++17 -D_GNU_SOURCE -Isrc/core \
	  -isystem $(PG_INCLUDE_SERVER)
