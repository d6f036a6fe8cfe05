# labqcd: one hand-written Makefile.
#
#   make deps      install the Debian packages the build and the tests need
#                  (and the browser check's npm modules); idempotent
#   make deps-run  only what `make run` needs: the build, the broker, the receivers
#   make           build build/labqcd, build/labqcctl, build/labsim (needs deps)
#   make test      deps, then unit and integration tests under ASan + UBSan
#   make run       deps-run, then the daemon with etc/labqcd.yaml, a private
#                  broker, the simulator
#
# On a fresh Debian 12 with only git and make, `make run` and `make test` are
# each a first command that works: they install what they need, then run make
# again, so the compiler flags that pkg-config gives are read after the
# packages exist (this file computes them when it is parsed).
#   make bench     the benchmarks of tests/bench, a table in build/bench.md
#   make install   PREFIX=/usr/local DESTDIR=
#
# Unit tests: tests/unit/test_NAME.c names the sources it links on a line
#   /* test-links: daemon/config.c collectors/topic.c */
# so adding a test never needs an edit here.

CC ?= cc
CFLAGS ?= -O2 -g
PREFIX ?= /usr/local
DESTDIR ?=
SANITIZE ?=

WARN = -std=c11 -Wall -Wextra -Werror -Wformat=2 -Wshadow
DEFS = -D_GNU_SOURCE
PKGS = libmosquitto librrd libcurl yaml-0.1 libcjson libcrypto zlib libsystemd cairo libpng
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
# Goals that install first and then run make again need no flags now; any
# other goal (a build) without the -dev packages stops here, saying what to do,
# rather than failing later on a missing header.
INSTALLING_GOALS = deps deps-run run test bench valgrind clean uninstall manlint
ifneq ($(filter-out $(INSTALLING_GOALS),$(or $(MAKECMDGOALS),all)),)
ifeq ($(shell pkg-config --exists $(PKGS) 2>/dev/null && echo ok),)
$(error missing development packages ($(strip $(shell for p in $(PKGS); do pkg-config --exists $$p 2>/dev/null || echo $$p; done))): run `make deps` as root first (Debian 12), or `make run` / `make test`, which install what they need)
endif
endif
INCS = -I.
LIBS = $(PKG_LIBS) -lpthread -lm

# Debian packages. RUN_PKGS: building and `make run` (the private broker,
# the alert printer's SMTP server, fonts for the graphs' text); TEST_PKGS:
# besides those, what the tests, benchmarks, fuzzing and the browser check
# use (npm is its own package in Debian, apart from nodejs; clang's fuzzer
# and sanitizer runtimes are only recommended by clang, so named here).
RUN_PKGS = build-essential pkg-config libmosquitto-dev mosquitto librrd-dev libcurl4-openssl-dev \
	libyaml-dev libcjson-dev libssl-dev zlib1g-dev libsystemd-dev uthash-dev libcairo2-dev libpng-dev \
	fonts-dejavu-core python3 python3-aiosmtpd ca-certificates
TEST_PKGS = $(RUN_PKGS) mosquitto-clients rrdtool libjansson-dev libcmocka-dev tidy clang libclang-rt-14-dev \
	chromium nodejs npm rrdcached collectd-core mandoc valgrind poppler-utils openssl

DAEMON_SRC = $(filter-out daemon/main.c daemon/labqcctl.c,$(wildcard daemon/*.c))
LIB_SRC = $(DAEMON_SRC) $(wildcard collectors/*.c) $(wildcard rules/*.c) $(wildcard dashboards/*.c)

ifeq ($(SANITIZE),)
B = build/obj
SANFLAGS =
else
B = build/san
SANFLAGS = -fsanitize=$(SANITIZE) -fno-omit-frame-pointer -fno-sanitize-recover=all
endif

ALL_CFLAGS = $(WARN) $(DEFS) $(INCS) $(PKG_CFLAGS) $(CFLAGS) $(SANFLAGS) -MMD -MP
LIB_OBJ = $(LIB_SRC:%.c=$(B)/%.o)

PROGS = build/labqcd build/labqcctl build/labsim build/count_sub

.PHONY: all deps deps-run test unit integration run bench fuzz fuzz-check install uninstall clean valgrind
all: $(PROGS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# build/ holds one set of programs: relink them when the sanitizer
# setting changes, so `make run` after `make test` runs an optimised build.
MODE_FILE = build/.mode
$(shell mkdir -p build; [ -f $(MODE_FILE) ] && [ "$$(cat $(MODE_FILE))" = "$(SANITIZE)" ] || echo "$(SANITIZE)" > $(MODE_FILE))

$(B)/liblabqcd.a: $(LIB_OBJ)
	@rm -f $@
	ar rcs $@ $^

build/labqcd: $(B)/daemon/main.o $(B)/liblabqcd.a $(MODE_FILE)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $(filter-out $(MODE_FILE),$^) $(LIBS)

build/labqcctl: $(B)/daemon/labqcctl.o $(B)/liblabqcd.a $(MODE_FILE)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $(filter-out $(MODE_FILE),$^) $(LIBS)

# The simulator and the bare counting subscriber are test tools: they
# link libmosquitto only, none of labqcd's code.
SIM_LIBS = $(shell pkg-config --libs libmosquitto libcjson) -lpthread -lm
build/labsim: $(B)/tests/sim/labsim.o $(B)/tests/sim/lab.o $(B)/tests/sim/backfill.o $(B)/tests/sim/load.o $(MODE_FILE)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $(filter-out $(MODE_FILE),$^) $(SIM_LIBS)

build/count_sub: $(B)/tests/sim/count_sub.o $(MODE_FILE)
	$(CC) $(CFLAGS) $(SANFLAGS) -o $@ $(filter-out $(MODE_FILE),$^) $(SIM_LIBS)

# ---- unit tests ----
UNIT_SRC = $(wildcard tests/unit/test_*.c)
UNIT_BIN = $(UNIT_SRC:tests/unit/%.c=$(B)/unit/%)
test_links = $(shell sed -n 's|.*test-links:\(.*\)\*/.*|\1|p' $(1))
test_objs = $(patsubst %.c,$(B)/%.o,$(call test_links,$(1)))

.SECONDEXPANSION:
$(B)/unit/%: tests/unit/%.c $$(call test_objs,tests/unit/$$*.c)
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -o $@ $< $(call test_objs,$<) \
		$(LIBS) $(shell pkg-config --libs cmocka)

unit: $(UNIT_BIN)
	@tests/run-unit $(UNIT_BIN)

# ---- the test target: deps, sanitized build, unit, integration ----
# The fuzz regression runs first, so that the run's last line is the
# test count ("N passed, N failed").
test: deps
	tests/check-layout
	$(MAKE) fuzz-check
	$(MAKE) SANITIZE=address,undefined all-tests

all-tests: $(PROGS) $(UNIT_BIN)
	tests/run-all $(UNIT_BIN)

integration: $(PROGS)
	tests/run-integration

# ---- fuzzing (libFuzzer, Debian's clang) ----
# make fuzz: each target for FUZZ_TIME seconds from its seed corpus, new
# inputs into build/fuzz/corpus/NAME, crashes as build/fuzz/crash-*.
# make fuzz-check (part of make test): every seed once, then a short run.
FUZZ_CC ?= clang
FUZZ_TIME ?= 300
FUZZ_CHECK_TIME ?= 20
FUZZ_TARGETS = payload topic config replay
FUZZ_BIN = $(FUZZ_TARGETS:%=build/fuzz/fuzz_%)
FUZZ_CFLAGS = $(WARN) $(DEFS) $(INCS) $(PKG_CFLAGS) -g -O1 \
	-fsanitize=fuzzer,address,undefined -fno-sanitize-recover=all
fuzz_src_payload = collectors/payload.c collectors/senml.c collectors/timefmt.c \
	collectors/topic.c
fuzz_src_topic = collectors/topic.c collectors/replay_line.c
fuzz_src_replay = collectors/replay_line.c collectors/topic.c collectors/payload.c \
	collectors/senml.c collectors/timefmt.c
fuzz_src_config = $(wildcard daemon/config*.c) daemon/rrd_layout.c daemon/rrdaddr.c rules/westgard_names.c \
	rules/severity.c collectors/topic.c
FUZZ_RUN = ASAN_OPTIONS=detect_leaks=1 UBSAN_OPTIONS=print_stacktrace=1:halt_on_error=1

build/fuzz/fuzz_%: tests/fuzz/fuzz_%.c $$(fuzz_src_$$*)
	@mkdir -p $(dir $@)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -o $@ $< $(fuzz_src_$*) $(LIBS)

fuzz: $(FUZZ_BIN)
	@for t in $(FUZZ_TARGETS); do mkdir -p build/fuzz/corpus/$$t; \
		echo "fuzz: $$t for $(FUZZ_TIME)s"; \
		$(FUZZ_RUN) build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_TIME) -timeout=10 \
			-max_len=8192 -artifact_prefix=build/fuzz/ \
			build/fuzz/corpus/$$t tests/fuzz/corpus/$$t || exit 1; done

fuzz-check: $(FUZZ_BIN)
	@for t in $(FUZZ_TARGETS); do \
		$(FUZZ_RUN) build/fuzz/fuzz_$$t -runs=1 tests/fuzz/corpus/$$t/* >build/fuzz/$$t.log 2>&1 \
			|| { cat build/fuzz/$$t.log; echo "fuzz: $$t: a seed fails"; exit 1; }; \
		mkdir -p build/fuzz/check-$$t; \
		$(FUZZ_RUN) build/fuzz/fuzz_$$t -max_total_time=$(FUZZ_CHECK_TIME) -timeout=10 \
			-max_len=4096 -artifact_prefix=build/fuzz/ build/fuzz/check-$$t \
			tests/fuzz/corpus/$$t >>build/fuzz/$$t.log 2>&1 \
			|| { tail -60 build/fuzz/$$t.log; echo "fuzz: $$t: crash"; exit 1; }; \
		echo "fuzz: $$t: seeds and $(FUZZ_CHECK_TIME)s of fuzzing clean"; done

# make valgrind: the integration suite with labqcd under memcheck (an
# unsanitized build); any error or definite leak fails its test (exit 99).
VALGRIND = valgrind --error-exitcode=99 --leak-check=full --errors-for-leak-kinds=definite \
	--suppressions=$(CURDIR)/tests/valgrind.supp
valgrind: deps
	$(MAKE) SANITIZE= all
	LABQCD_VALGRIND="$(VALGRIND)" tests/run-integration $(TESTS)

# Installs the packages of $(1) that dpkg does not list as installed;
# apt-get update first, since a fresh machine has no package lists. A
# package of CMD_PKGS counts as there when its command is on PATH: npm
# comes with some other builds of nodejs (which then conflict with
# Debian's npm package).
CMD_PKGS = npm
define install_pkgs
	@missing=$$(for p in $(1); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || \
		{ case " $(CMD_PKGS) " in *" $$p "*) command -v $$p >/dev/null;; *) false;; esac; } || \
		echo $$p; done); \
	if [ -z "$$missing" ]; then echo "make $@: all packages present"; \
	elif [ "$$(id -u)" != 0 ]; then echo "make $@: missing Debian packages:" $$missing; \
		echo "make $@: run it as root (it uses apt-get)"; exit 1; \
	else echo "make $@: installing" $$missing; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y \
			--no-install-recommends $$missing; fi
endef

deps-run:
	$(call install_pkgs,$(RUN_PKGS))

deps:
	$(call install_pkgs,$(TEST_PKGS))
	@# the browser check drives Debian's chromium with playwright-core
	@[ -d tests/browser/node_modules/playwright-core ] && [ -d tests/browser/node_modules/axe-core ] || \
		(cd tests/browser && npm ci --no-audit --no-fund)

run: deps-run
	$(MAKE) SANITIZE= all
	tests/run-local $(if $(DURATION),--duration $(DURATION))

bench: deps
	$(MAKE) SANITIZE= all $(BENCH_PROGS)
	tests/bench/run

# Benchmark programs (tests/bench/bench_*.c), always optimised.
BENCH_PROGS = build/bench_westgard build/bench_json build/bench_store build/bench_snapshot
BENCH_CFLAGS = -O2 -g -std=c11 -D_GNU_SOURCE $(INCS)
build/bench_westgard: tests/bench/bench_westgard.c tests/bench/bench_clock.h rules/westgard.c rules/westgard_runs.c rules/westgard_count.c rules/westgard_names.c rules/westgard_json.c rules/json_exact.c
	$(CC) $(BENCH_CFLAGS) $(shell pkg-config --cflags libcjson) -o $@ $(filter-out %.h,$^) $(shell pkg-config --libs libcjson) -lm
build/bench_json: tests/bench/bench_json.c tests/bench/bench_clock.h
	$(CC) $(BENCH_CFLAGS) $(shell pkg-config --cflags libcjson jansson) -o $@ $(filter-out %.h,$^) $(shell pkg-config --libs libcjson jansson)
build/bench_store: tests/bench/bench_store.c tests/bench/bench_clock.h daemon/store.c daemon/store_series.c daemon/store_writer.c daemon/store_vbuf.c daemon/rrd_layout.c daemon/fsutil.c daemon/log.c daemon/rrdaddr.c
	$(CC) $(BENCH_CFLAGS) $(shell pkg-config --cflags libcjson librrd) -o $@ $(filter-out %.h,$^) $(shell pkg-config --libs librrd libcjson) -lpthread -lm
build/bench_snapshot: tests/bench/bench_snapshot.c tests/bench/bench_clock.h $(B)/liblabqcd.a
	$(CC) $(BENCH_CFLAGS) $(WARN) $(PKG_CFLAGS) -o $@ $(filter-out %.h,$^) $(LIBS)

clean:
	rm -rf build

# Install: programs, man pages, the unit file (ExecStart pointing at
# $(PREFIX)/sbin), sysusers.d and tmpfiles.d entries that create the labqcd
# user and its directories, and the example config. An existing
# /etc/labqcd/labqcd.yaml is never overwritten; the example is always
# refreshed as labqcd.yaml.example.
SYSCONFDIR ?= /etc
UNITDIR ?= $(PREFIX)/lib/systemd/system
# systemd reads sysusers.d and tmpfiles.d from /etc and /usr/lib only.
SYSUSERSDIR ?= $(SYSCONFDIR)/sysusers.d
TMPFILESDIR ?= $(SYSCONFDIR)/tmpfiles.d
LOCALSTATEDIR ?= /var
MANS = man/labqcd.8 man/labqcd.yaml.5 man/labqcctl.1
# The example config with the directories of an installed daemon.
INSTALL_CONFIG_SED = -e 's|^\(  state_dir:\) var/lib  *|\1 $(LOCALSTATEDIR)/lib/labqcd |' \
	-e 's|^\(  rrd_dir:\) var/rrd  *|\1 $(LOCALSTATEDIR)/lib/labqcd/rrd |' \
	-e 's|^\(  www_dir:\) var/www  *|\1 $(LOCALSTATEDIR)/www/labqcd |' \
	-e 's|^\(  control_socket:\) var/run/labqcd.sock  *|\1 /run/labqcd/labqcd.sock |' \
	-e 's|^\(  user:\) ""  *|\1 labqcd |'

.PHONY: manlint
install: build/labqcd build/labqcctl
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin \
		$(DESTDIR)$(PREFIX)/share/man/man8 $(DESTDIR)$(PREFIX)/share/man/man5 \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(UNITDIR) \
		$(DESTDIR)$(SYSUSERSDIR) $(DESTDIR)$(TMPFILESDIR)
	install -d -m 0755 $(DESTDIR)$(SYSCONFDIR)/labqcd
	install -d -m 0750 $(DESTDIR)$(LOCALSTATEDIR)/lib/labqcd \
		$(DESTDIR)$(LOCALSTATEDIR)/lib/labqcd/rrd
	install -d -m 0755 $(DESTDIR)$(LOCALSTATEDIR)/www/labqcd
	install -m 0755 build/labqcd $(DESTDIR)$(PREFIX)/sbin/labqcd
	install -m 0755 build/labqcctl $(DESTDIR)$(PREFIX)/bin/labqcctl
	install -m 0644 man/labqcd.8 $(DESTDIR)$(PREFIX)/share/man/man8/labqcd.8
	install -m 0644 man/labqcd.yaml.5 $(DESTDIR)$(PREFIX)/share/man/man5/labqcd.yaml.5
	install -m 0644 man/labqcctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/labqcctl.1
	sed -e 's|/usr/local/sbin/labqcd|$(PREFIX)/sbin/labqcd|g' \
		-e 's|/etc/labqcd/|$(SYSCONFDIR)/labqcd/|g' -e 's|/var/|$(LOCALSTATEDIR)/|g' \
		etc/labqcd.service > build/labqcd.service
	install -m 0644 build/labqcd.service $(DESTDIR)$(UNITDIR)/labqcd.service
	install -m 0644 etc/labqcd.sysusers $(DESTDIR)$(SYSUSERSDIR)/labqcd.conf
	sed -e 's|/var/|$(LOCALSTATEDIR)/|g' etc/labqcd.tmpfiles > build/labqcd.tmpfiles
	install -m 0644 build/labqcd.tmpfiles $(DESTDIR)$(TMPFILESDIR)/labqcd.conf
	sed $(INSTALL_CONFIG_SED) etc/labqcd.yaml > build/labqcd.yaml.example
	install -m 0640 build/labqcd.yaml.example $(DESTDIR)$(SYSCONFDIR)/labqcd/labqcd.yaml.example
	[ -e $(DESTDIR)$(SYSCONFDIR)/labqcd/labqcd.yaml ] || \
		install -m 0640 build/labqcd.yaml.example $(DESTDIR)$(SYSCONFDIR)/labqcd/labqcd.yaml

# Removes what install put there, except the config and the state (the
# lab's record: audit log, RRD files), which stay for a reinstall.
uninstall:
	rm -f $(DESTDIR)$(PREFIX)/sbin/labqcd $(DESTDIR)$(PREFIX)/bin/labqcctl \
		$(DESTDIR)$(PREFIX)/share/man/man8/labqcd.8 \
		$(DESTDIR)$(PREFIX)/share/man/man5/labqcd.yaml.5 \
		$(DESTDIR)$(PREFIX)/share/man/man1/labqcctl.1 \
		$(DESTDIR)$(UNITDIR)/labqcd.service $(DESTDIR)$(SYSUSERSDIR)/labqcd.conf \
		$(DESTDIR)$(TMPFILESDIR)/labqcd.conf \
		$(DESTDIR)$(SYSCONFDIR)/labqcd/labqcd.yaml.example
	@echo "make uninstall: kept $(SYSCONFDIR)/labqcd/labqcd.yaml and $(LOCALSTATEDIR)/lib/labqcd"

# Man pages must lint clean.
manlint:
	mandoc -T lint -W warning $(MANS)

-include $(shell find build -name '*.d' 2>/dev/null)
