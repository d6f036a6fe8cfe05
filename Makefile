# labqcd: one hand-written Makefile.
#
#   make deps      install the Debian packages the build and the tests need
#   make           build build/labqcd, build/labqcctl, build/labsim
#   make test      deps, then unit and integration tests under ASan + UBSan
#   make run       the daemon with etc/labqcd.yaml, a private broker, the simulator
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
PKGS = libmosquitto librrd libcurl yaml-0.1 libcjson libcrypto zlib libsystemd cairo
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS := $(shell pkg-config --libs $(PKGS) 2>/dev/null)
INCS = -I. -Idaemon -Icollectors -Irules -Idashboards
LIBS = $(PKG_LIBS) -lpthread -lm

# Debian packages: build, tests, benchmarks, browser checks.
DEB_PKGS = build-essential pkg-config libmosquitto-dev mosquitto mosquitto-clients \
	librrd-dev rrdtool libcurl4-openssl-dev libyaml-dev libcjson-dev libjansson-dev \
	libssl-dev zlib1g-dev libsystemd-dev libcmocka-dev uthash-dev python3 python3-aiosmtpd \
	tidy clang libcairo2-dev chromium nodejs rrdcached collectd-core

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

.PHONY: all deps test unit integration run bench fuzz install uninstall clean valgrind
all: $(PROGS)

$(B)/%.o: %.c
	@mkdir -p $(dir $@)
	$(CC) $(ALL_CFLAGS) -c -o $@ $<

# build/ holds one set of programs: relink them when the sanitizer
# setting changes, so `make run` after `make test` runs an optimised build.
MODE_FILE = build/.mode
$(shell mkdir -p build; [ "$$(cat $(MODE_FILE) 2>/dev/null)" = "$(SANITIZE)" ] || echo "$(SANITIZE)" > $(MODE_FILE))

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
build/labsim: $(B)/tests/sim/labsim.o $(B)/tests/sim/lab.o $(B)/tests/sim/load.o $(MODE_FILE)
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
test: deps
	$(MAKE) SANITIZE=address,undefined all-tests

all-tests: $(PROGS) $(UNIT_BIN)
	tests/run-all $(UNIT_BIN)

integration: $(PROGS)
	tests/run-integration

deps:
	@missing=$$(for p in $(DEB_PKGS); do dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q '^install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing $$missing"; \
		apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y --no-install-recommends $$missing; \
	else echo "make deps: all packages present"; fi
	@# the browser check drives Debian's chromium with playwright-core
	@[ -d tests/browser/node_modules/playwright-core ] || \
		(cd tests/browser && npm ci --no-audit --no-fund)

run: deps all
	tests/run-local $(if $(DURATION),--duration $(DURATION))

bench: deps
	$(MAKE) SANITIZE= all
	tests/bench/run

clean:
	rm -rf build

install: all
	install -d $(DESTDIR)$(PREFIX)/sbin $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(PREFIX)/share/man/man8 \
		$(DESTDIR)$(PREFIX)/share/man/man5 $(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)/etc/labqcd
	install -m 0755 build/labqcd $(DESTDIR)$(PREFIX)/sbin/labqcd
	install -m 0755 build/labqcctl $(DESTDIR)$(PREFIX)/bin/labqcctl
	install -m 0644 man/labqcd.8 $(DESTDIR)$(PREFIX)/share/man/man8/
	install -m 0644 man/labqcd.yaml.5 $(DESTDIR)$(PREFIX)/share/man/man5/
	install -m 0644 man/labqcctl.1 $(DESTDIR)$(PREFIX)/share/man/man1/
	install -m 0644 etc/labqcd.yaml $(DESTDIR)/etc/labqcd/labqcd.yaml.example

-include $(shell find build -name '*.d' 2>/dev/null)
