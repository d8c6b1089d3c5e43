# lambdafs: run AWS Lambda functions on one machine, shown as files.
#
#   make deps        install build and test dependencies (Debian 12, as root)
#   make             build build/lambdafs
#   make run         deps + build + mount at ./mnt in the foreground
#   make test        unit + integration tests (prove)
#   make asan        the whole suite under AddressSanitizer and UBSan
#   make valgrind    the whole suite with the daemon under valgrind
#   make bench       benchmarks; figures go to build/bench.txt
#   make install     PREFIX=/usr/local DESTDIR=

PROG     = lambdafs
VERSION  = 0.1.0
PREFIX  ?= /usr/local
DESTDIR ?=
MOUNT_HELPER_DIR ?= /sbin
BUILD   ?= build
WERROR  ?= 1
MNT     ?= mnt

SHELL   = /bin/bash
CC      ?= cc
LIBS_PC  = fuse3 libcurl jansson libarchive sqlite3 libmicrohttpd
PKG_CFLAGS := $(shell pkg-config --cflags $(LIBS_PC) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(LIBS_PC) 2>/dev/null)

OPT     ?= -O2
WARN    = -Wall -Wextra -Wshadow -Wstrict-prototypes -Wmissing-prototypes \
	  -Wmissing-declarations -Wwrite-strings -Wpointer-arith -Wformat=2 \
	  -Wvla -Wundef -Wswitch-default -fno-common
ifeq ($(WERROR),1)
WARN   += -Werror
endif
CFLAGS_ALL = -std=c11 -D_GNU_SOURCE -D_FILE_OFFSET_BITS=64 \
	  -DFUSE_USE_VERSION=312 -DLAMBDAFS_VERSION='"$(VERSION)"' \
	  -DLAMBDAFS_RUNTIMES_DIR='"$(PREFIX)/lib/lambdafs/runtimes"' \
	  -g $(OPT) $(WARN) -iquote include $(PKG_CFLAGS) -MMD -MP $(CFLAGS)
ifneq ($(SANITIZE),)
CFLAGS_ALL += -fsanitize=$(SANITIZE) -fno-sanitize-recover=all -fno-omit-frame-pointer
LDFLAGS    += -fsanitize=$(SANITIZE)
endif
LDLIBS_ALL = $(PKG_LIBS) -lpthread $(LDLIBS)

SRCS    = $(wildcard src/*.c)
OBJS    = $(SRCS:src/%.c=$(BUILD)/obj/%.o)
LIBOBJS = $(filter-out $(BUILD)/obj/main.o,$(OBJS))
UNIT_SRCS = $(wildcard tests/unit/test_*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(BUILD)/tests/%)
BENCH_SRCS = $(wildcard tests/bench/*.c)
BENCH_BINS = $(BENCH_SRCS:tests/bench/%.c=$(BUILD)/bench/%)
DEPS    = $(OBJS:.o=.d) $(UNIT_BINS:=.d)

.PHONY: all deps run test test-run check test-unit test-integration asan valgrind \
	bench install uninstall clean analyze lint format format-check

all: $(BUILD)/$(PROG) $(UNIT_BINS) $(BENCH_BINS)

$(BUILD)/obj/%.o: src/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -c -o $@ $<

$(BUILD)/liblambdafs.a: $(LIBOBJS)
	@rm -f $@
	ar rcs $@ $^

$(BUILD)/$(PROG): $(BUILD)/obj/main.o $(BUILD)/liblambdafs.a
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS_ALL)

$(BUILD)/tests/%: tests/unit/%.c tests/unit/tap.h $(BUILD)/liblambdafs.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) -iquote tests/unit $(LDFLAGS) -o $@ $< $(BUILD)/liblambdafs.a $(LDLIBS_ALL)

$(BUILD)/bench/%: tests/bench/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS_ALL) $(LDFLAGS) -o $@ $< $(LDLIBS_ALL)

-include $(DEPS)

# Installs what building and testing need. Idempotent; quiet when all is there.
DEB_PKGS = build-essential pkg-config libfuse3-dev fuse3 libcurl4-openssl-dev \
	   libjansson-dev libarchive-dev libsqlite3-dev libmicrohttpd-dev \
	   zip unzip rsync curl python3 shellcheck valgrind cmake \
	   awscli python3-boto3 autoconf automake libtool make g++ \
	   docker.io debootstrap
deps:
	@missing=$$(for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | \
		grep -q 'install ok installed' || echo $$p; done); \
	if [ -n "$$missing" ]; then \
		echo "make deps: installing $$missing"; \
		if [ "$$(id -u)" != 0 ]; then echo "make deps: run as root (apt-get)" >&2; exit 1; fi; \
		apt-get update -qq && DEBIAN_FRONTEND=noninteractive \
			apt-get install -y -qq $$missing >/dev/null; \
	fi

run: deps $(BUILD)/$(PROG)
	@mkdir -p $(MNT)
	$(BUILD)/$(PROG) -f $(RUNFLAGS) $(MNT)

test: deps all
	@$(MAKE) --no-print-directory test-run

test-run:
	LAMBDAFS_BUILD=$(BUILD) prove --timer -e '' $(UNIT_BINS) tests/runtimes/test_runtimes.py tests/integration/t*.sh
check: test

test-unit: all
	prove -e '' $(UNIT_BINS)

test-integration: all
	prove -e '' tests/integration/t*.sh

asan:
	$(MAKE) BUILD=build/asan SANITIZE=address,undefined OPT=-O1 test

valgrind:
	$(MAKE) BUILD=build/valgrind OPT=-O0 all
	VALGRIND=1 $(MAKE) BUILD=build/valgrind OPT=-O0 test

bench: deps all
	bash tests/bench/run.sh $(BUILD) | tee $(BUILD)/bench.txt

install: $(BUILD)/$(PROG)
	install -d $(DESTDIR)$(PREFIX)/bin $(DESTDIR)$(MOUNT_HELPER_DIR) \
		$(DESTDIR)$(PREFIX)/share/man/man1 $(DESTDIR)$(PREFIX)/lib/lambdafs/runtimes
	install -m 755 $(BUILD)/$(PROG) $(DESTDIR)$(PREFIX)/bin/$(PROG)
	install -m 755 mount-helper/mount.lambdafs $(DESTDIR)$(MOUNT_HELPER_DIR)/mount.lambdafs
	install -m 644 man/lambdafs.1 $(DESTDIR)$(PREFIX)/share/man/man1/lambdafs.1
	if [ -d src/runtimes ]; then cp -r src/runtimes/. $(DESTDIR)$(PREFIX)/lib/lambdafs/runtimes/; fi

uninstall:
	rm -f $(DESTDIR)$(PREFIX)/bin/$(PROG) $(DESTDIR)$(MOUNT_HELPER_DIR)/mount.lambdafs \
		$(DESTDIR)$(PREFIX)/share/man/man1/lambdafs.1
	rm -rf $(DESTDIR)$(PREFIX)/lib/lambdafs

analyze:
	$(CC) $(CFLAGS_ALL) -fanalyzer -fsyntax-only $(SRCS)
	cppcheck --quiet --error-exitcode=1 --enable=warning -Iinclude $(SRCS)

lint:
	shellcheck -x -S warning tests/integration/*.sh tests/bench/*.sh mount-helper/mount.lambdafs .ci/run

format:
	clang-format -i src/*.c include/*.h tests/unit/*.c

format-check:
	clang-format --dry-run -Werror src/*.c include/*.h

clean:
	rm -rf build
