# snowflake: PGXS build of the C++ core and the PostgreSQL glue.
#
#   make / make install       build and install the extension
#   make demo                 first command on a fresh machine (README)
#   make check                the inner loop: build, core tests, pg_regress, TAP smoke set (< 3 min)
#   make test                 every test: core, pg_regress, concurrency, TAP (prints each phase's time)
#   make lint                 clang-tidy (make format: clang-format)
#   make installcheck         pg_regress only, on throwaway preloaded servers
#   make examples             the client examples (examples/) against a throwaway server
#   make bench                benchmarks (bench/)
#   make test-all-versions    build, pg_regress and TAP on every supported major (chroots)
#   make deb                  the Debian packages for 15, 17, 18 (pg_buildext), in build/deb/
#   make deb-test             make deb, then install each on a clean Debian and use it
#   make dist                 the PGXN release archive, from git HEAD
#   make pgxn-check           META.json against the PGXN meta spec; versions and file names in the docs
#   make docs-check           docs/troubleshooting.md against every message, and cited sections
#   make monitoring-check     the alert rules (promtool check and test rules) and the metric names of monitoring/
#   make fuzz                 libFuzzer targets in tests/fuzz/, FUZZ_SECONDS each (default 30)
#   make soak DURATION=600    crash/clock/disk soak test in seconds (not part of make test)

EXTENSION = snowflake
MODULE_big = snowflake
DATA = snowflake--1.0.sql snowflake--1.0--1.1.sql snowflake--1.1--1.2.sql snowflake--1.2--1.3.sql
PGFILEDESC = "snowflake - globally unique 64-bit IDs"

# The version, in one place: default_version in snowflake.control. The
# release (META.json, make dist, the Debian package) is its SemVer form,
# 1.0 -> 1.0.0; tests/pgxn/check_meta.py fails when they disagree.
EXTVERSION := $(shell sed -n "s/^default_version *= *'\([^']*\)'.*/\1/p" $(dir $(firstword $(MAKEFILE_LIST)))snowflake.control)
RELEASE_VERSION := $(EXTVERSION).0

CORE_SRCS = $(sort $(wildcard src/core/*.cpp))
GLUE_SRCS = $(sort $(wildcard src/pg/*.cpp))
OBJS = $(GLUE_SRCS:.cpp=.o) $(CORE_SRCS:.cpp=.o)

PG_CONFIG ?= pg_config
PG_INCLUDE_SERVER := $(shell $(PG_CONFIG) --includedir-server)

WARNINGS = -Wall -Wextra -Werror
CXX_STD = -std=c++17 -fno-exceptions -fno-rtti -fvisibility=hidden
# PostgreSQL's headers as system headers: our warnings apply to our code.
PG_CXXFLAGS = $(CXX_STD) $(WARNINGS) -isystem $(PG_INCLUDE_SERVER) -MMD -MP
# PG18's magic block carries the version (src/pg/pg_compat.h).
PG_CPPFLAGS = -DSNOWFLAKE_VERSION='"$(EXTVERSION)"'
# The etcd client (src/core/etcd_client.cpp): libcurl, nlohmann/json
# (header-only) and OpenSSL's libcrypto for base64; pkg-config knows where
# each one is. Not a C JSON library: jansson exports json_object(), and so
# does the postgres executable (an SQL function), which the dynamic linker
# would bind the library's own calls to (src/core/json.h).
ETCD_DEPS = libcurl nlohmann_json libcrypto
ETCD_DEPS_CFLAGS := $(shell pkg-config --cflags $(ETCD_DEPS))
ETCD_DEPS_LIBS := $(shell pkg-config --libs $(ETCD_DEPS))
SHLIB_LINK = -lstdc++ $(ETCD_DEPS_LIBS)

# The core is compiled without the server's include path, so a PostgreSQL
# header in src/core/ fails the build: "no PostgreSQL header" is checked by
# the compiler.
# It gets the hardening flags PostgreSQL was built with (fortified libc
# calls, stack protector), as the glue does through PGXS.
CORE_HARDENING = $(filter -D_FORTIFY_SOURCE% -fstack-protector% -fstack-clash-protection -fcf-protection%,\
	$(CPPFLAGS) $(CXXFLAGS))
src/core/%.o: src/core/%.cpp
	$(CXX) $(CXX_STD) $(WARNINGS) -O2 -g -fPIC $(CORE_HARDENING) -Isrc/core $(ETCD_DEPS_CFLAGS) -MMD -MP -c -o $@ $<

# pg_regress: one file per feature. Three throwaway servers are started:
# preloaded with a node id (REGRESS), preloaded without one, not preloaded.
REGRESS = functions decode errors labels table_default parallel settings privileges type \
	next_ids convert_column upgrade advance_past
REGRESS_OPTS = --temp-instance=tmp_check_regress --temp-config=$(srcdir)/tests/regress/preloaded.conf \
	--load-extension=snowflake
REGRESS_NO_NODE_ID = node_id_unset
REGRESS_NOT_PRELOADED = not_preloaded

TAP_TESTS = 1
# Every TAP file, the longest first: make test runs several at once (prove
# -j), and a long file started last would run alone at the end.
TAP_LONGEST = tests/t/011_patroni.pl tests/t/003_crash_loop.pl tests/t/030_node_leases.pl \
	tests/t/010_failover.pl tests/t/002_concurrency.pl tests/t/032_fleet_moves.pl tests/t/039_fleet_storm.pl
PROVE_TESTS = $(filter $(wildcard tests/t/*.pl),$(TAP_LONGEST)) \
	$(filter-out $(TAP_LONGEST),$(sort $(wildcard tests/t/*.pl)))

# JIT bitcode is for inlining into JIT-compiled expressions; these functions
# are a call each, and PGXS's bitcode rules do not cover the core's C++.
override with_llvm = no

# make check is the inner loop between edits (scripts/check.sh). PGXS has a
# check target of its own, which for an extension built outside the source
# tree only says it is not supported; it is left out when check is asked for,
# so neither recipe overrides the other.
ifeq ($(MAKECMDGOALS),check)
.PHONY: check
check:
	scripts/check.sh
else
PGXS := $(shell $(PG_CONFIG) --pgxs)
include $(PGXS)
endif

# make CCACHE=ccache: compile through the compiler cache (scripts/ccache.sh).
ifneq ($(CCACHE),)
override CXX := $(CCACHE) $(CXX)
endif

# Header dependencies (-MMD above): a changed header rebuilds what uses it.
-include $(OBJS:.o=.d)

# Every sql/*.sql must be in one of the lists above, or the check fails.
REGRESS_ALL = $(REGRESS) $(REGRESS_NO_NODE_ID) $(REGRESS_NOT_PRELOADED)
.PHONY: check-schedule installcheck-node-id-unset installcheck-not-preloaded installcheck-tap
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

# The TAP tests alone: make test-all-versions times pg_regress
# (make installcheck TAP_TESTS=) and TAP apart.
installcheck-tap:
	$(prove_installcheck)

EXTRA_CLEAN = $(OBJS:.o=.d) tmp_check_regress tmp_check_node_id_unset tmp_check_not_preloaded output_node_id_unset \
	output_not_preloaded build

.PHONY: demo test examples bench fuzz soak format format-check lint test-all-versions deb deb-test dist \
	pgxn-check docs-check monitoring-check
demo:
	scripts/demo.sh

test:
	scripts/test.sh

examples:
	scripts/examples.sh

bench:
	bench/run.sh

test-all-versions:
	scripts/test-all-versions.sh

deb:
	scripts/deb.sh build

deb-test:
	scripts/deb.sh test

# The PGXN release archive of the committed tree (git HEAD), named after the
# version in snowflake.control; files marked export-ignore in .gitattributes
# stay out.
dist:
	@mkdir -p build
	git archive --format=zip --prefix=$(EXTENSION)-$(RELEASE_VERSION)/ \
	  --output=build/$(EXTENSION)-$(RELEASE_VERSION).zip HEAD
	@echo "build/$(EXTENSION)-$(RELEASE_VERSION).zip"

pgxn-check:
	python3 tests/pgxn/check_meta.py

docs-check:
	PG_CONFIG=$(PG_CONFIG) python3 scripts/check-docs.py

monitoring-check:
	python3 scripts/check-monitoring.py
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
# One file a process, as many at once as there are cores (xargs exits 123 if any fails).
lint:
	printf '%s\n' src/core/*.cpp src/pg/*.cpp | xargs -P $(shell nproc) -I{} clang-tidy --quiet {} -- -std=c++17 \
	  -D_GNU_SOURCE -Isrc/core $(ETCD_DEPS_CFLAGS) $(PG_CPPFLAGS) -isystem $(PG_INCLUDE_SERVER)
