# TrackingBMS — plain GNU make.  See README.md.
#
#   make                 build every program into $(O)/bin
#   make check           build and run every test suite
#   make check SANITIZE=1  the same under ASan and UBSan (in build/asan)
#   make test-all        all of these: what CI runs
#   make fuzz            run each libFuzzer target for FUZZTIME seconds
#   make bench           performance figures against peers
#   make deps            install the Debian packages the build and tests need
#   make install         PREFIX=/usr/local DESTDIR=

PREFIX ?= /usr/local
BINDIR ?= $(PREFIX)/bin
MANDIR ?= $(PREFIX)/share/man
DATADIR ?= $(PREFIX)/share/trackingbms
LIBDIR ?= $(PREFIX)/lib/trackingbms
BASHCOMPDIR ?= $(PREFIX)/share/bash-completion/completions
ZSHCOMPDIR ?= $(PREFIX)/share/zsh/site-functions

PKG_CONFIG ?= pkg-config
CC ?= cc
CFLAGS ?= -O2 -g
FUZZTIME ?= 10

ifeq ($(SANITIZE),1)
O ?= build/asan
SAN_FLAGS = -fsanitize=address,undefined -fno-omit-frame-pointer -fno-sanitize-recover=undefined
else
O ?= build
SAN_FLAGS =
endif

override CFLAGS := -std=c11 -D_GNU_SOURCE -Wall -Wextra -Wshadow -Wstrict-prototypes \
	-Wmissing-prototypes -Wno-unused-parameter -iquote lib $(SAN_FLAGS) $(CFLAGS)
override LDFLAGS := $(SAN_FLAGS) $(LDFLAGS)

JANSSON_LIBS := $(shell $(PKG_CONFIG) --libs jansson 2>/dev/null || echo -ljansson)
SERIAL_CFLAGS := $(shell $(PKG_CONFIG) --cflags libserialport 2>/dev/null)
SERIAL_LIBS := $(shell $(PKG_CONFIG) --libs libserialport 2>/dev/null || echo -lserialport)
SQLITE_LIBS := $(shell $(PKG_CONFIG) --libs sqlite3 2>/dev/null || echo -lsqlite3)
CRYPT_LIBS := $(shell $(PKG_CONFIG) --libs libxcrypt 2>/dev/null || echo -lcrypt)
JWT_LIBS := $(shell $(PKG_CONFIG) --libs libjwt 2>/dev/null || echo -ljwt)
SSL_LIBS := $(shell $(PKG_CONFIG) --libs openssl 2>/dev/null || echo -lssl -lcrypto)
STORE_LIBS = $(SQLITE_LIBS) $(CRYPT_LIBS) -lm
# Debian's civetweb ships no pkg-config file; it loads OpenSSL (libssl.so)
# when TLS is asked for, and bms-serve hands it the certificate itself.
CIVETWEB_LIBS ?= -lcivetweb $(SSL_LIBS)
# ... through the two stand-ins of lib/tls (see libssl.c there), found
# first by bms-serve's run path, beside it in the tree and once installed.
TLS_SHIMS = $(O)/lib/trackingbms/libssl.so $(O)/lib/trackingbms/libcrypto.so

PROGS = bms-sim bms-read bms-decode bms-validate bms-agg bms-alert bms-store bms-serve
BINS = $(PROGS:%=$(O)/bin/%)
LIB_SRCS = $(wildcard lib/*.c)
LIB_OBJS = $(LIB_SRCS:%.c=$(O)/%.o)
UNIT_SRCS = $(wildcard tests/unit/test-*.c)
UNIT_BINS = $(UNIT_SRCS:tests/unit/%.c=$(O)/tests/%)
# Programs the suites and make bench drive the programs with (a WebSocket
# client, peers to measure against); put on PATH by tests/run-suites.
TOOL_SRCS = $(wildcard tests/tools/*.c)
TOOL_BINS = $(TOOL_SRCS:tests/tools/%.c=$(O)/tests/tools/%)
FUZZ_SRCS = $(wildcard tests/fuzz/fuzz-*.c)
FUZZ_BINS = $(FUZZ_SRCS:tests/fuzz/%.c=build/fuzz/%)
DEPS = $(LIB_OBJS:.o=.d) $(PROGS:%=$(O)/cmd/%.d) $(UNIT_BINS:%=%.d) $(TOOL_BINS:%=%.d) $(wildcard build/fuzz/lib/*.d build/fuzz/*.d)

.DELETE_ON_ERROR:
.SECONDARY:
.PHONY: all check test-all fuzz bench deps install uninstall clean demo run web FORCE

all: $(BINS)

$(O)/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/lib/serial.o: override CFLAGS += $(SERIAL_CFLAGS)

$(O)/cmd/%.o: cmd/%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -c -o $@ $<

$(O)/libbms.a: $(LIB_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^

$(O)/bin/%: $(O)/cmd/%.o $(O)/libbms.a
	@mkdir -p $(@D)
	$(CC) $(LDFLAGS) -o $@ $^ $(LDLIBS)

$(O)/bin/bms-read: LDLIBS += $(SERIAL_LIBS)
$(O)/bin/bms-sim: LDLIBS += -lm
$(O)/bin/bms-decode: LDLIBS += -lm
$(O)/bin/bms-agg: LDLIBS += -lm
$(O)/bin/bms-store: LDLIBS += $(STORE_LIBS)
# bms-validate reads the store's battery registry (--db); bms-alert its
# registry and acknowledgements.
$(O)/bin/bms-validate $(O)/bin/bms-alert: LDLIBS += $(STORE_LIBS)
$(O)/bin/bms-serve: LDLIBS += $(STORE_LIBS) $(CIVETWEB_LIBS) $(JWT_LIBS) $(JANSSON_LIBS) \
	-Wl,--disable-new-dtags,-rpath,'$$ORIGIN/../lib/trackingbms'
$(O)/bin/bms-serve: | $(TLS_SHIMS)
$(O)/lib/trackingbms/libssl.so: lib/tls/libssl.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -shared -fPIC -o $@ $< -Wl,--no-as-needed $(SSL_LIBS)
$(O)/lib/trackingbms/libcrypto.so: lib/tls/libcrypto.c
	@mkdir -p $(@D)
	$(CC) -O2 -Wall -shared -fPIC -o $@ $< -Wl,--no-as-needed -lcrypto
# bms-serve carries its OpenAPI document, share/openapi.json, as a string.
$(O)/bin/bms-serve: $(O)/openapi.o
$(O)/openapi.c: share/openapi.json
	@mkdir -p $(@D)
	{ echo '/* share/openapi.json, made into a string by make. */'; \
	  echo '#include <stddef.h>'; \
	  echo 'extern const char bms_openapi[]; extern const size_t bms_openapi_len;'; \
	  echo 'const char bms_openapi[] ='; \
	  sed -e 's/\\/\\\\/g' -e 's/"/\\"/g' -e 's/^/"/' -e 's/$$/\\n"/' $<; \
	  echo ';'; echo 'const size_t bms_openapi_len = sizeof bms_openapi - 1;'; } >$@
$(O)/openapi.o: $(O)/openapi.c
	$(CC) $(CFLAGS) -c -o $@ $<
# Where bms-alert finds its default rules once installed, and bms-serve
# the dashboard; rebuilt when DATADIR changes.
$(O)/cmd/bms-alert.o $(O)/cmd/bms-serve.o: override CFLAGS += -DBMS_DATADIR='"$(DATADIR)"'
$(O)/cmd/bms-alert.o $(O)/cmd/bms-serve.o: $(O)/datadir
$(O)/datadir: FORCE
	@mkdir -p $(@D)
	@echo '$(DATADIR)' | cmp -s - $@ || echo '$(DATADIR)' >$@
FORCE:

$(O)/tests/%: tests/unit/%.c $(O)/libbms.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -MF $@.d $(LDFLAGS) -o $@ $< $(O)/libbms.a $(STORE_LIBS) $(LDLIBS)

$(O)/tests/test-cycle: LDLIBS += $(SERIAL_LIBS)

# The reading parser's test reads the schema with jansson.
$(O)/tests/test-reading: STORE_LIBS += $(JANSSON_LIBS)
# So do the tests of the health and anomaly records.
$(O)/tests/test-health $(O)/tests/test-anomaly: STORE_LIBS += $(JANSSON_LIBS)
# The token module's test links libjwt; the contract's, jansson.
$(O)/tests/test-jwt: LDLIBS += $(JWT_LIBS)
$(O)/tests/test-contract: LDLIBS += $(JANSSON_LIBS)
# The API's route table against its OpenAPI document.
$(O)/tests/test-serve: LDLIBS += $(CIVETWEB_LIBS) $(JWT_LIBS) $(JANSSON_LIBS)
$(O)/tests/test-serve: override CFLAGS += -DSRCDIR='"$(CURDIR)"'
$(O)/tests/test-serve: share/openapi.json

$(O)/tests/tools/%: tests/tools/%.c $(O)/libbms.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -MMD -MP -MF $@.d $(LDFLAGS) -o $@ $< $(O)/libbms.a $(STORE_LIBS) \
		$(CIVETWEB_LIBS) $(JANSSON_LIBS) $(LDLIBS)

check: all $(UNIT_BINS) $(TOOL_BINS)
	@O=$(O) SANITIZE=$(SANITIZE) tests/run-suites $(UNIT_BINS)

# Everything CI runs: the suites plain and sanitized, and each fuzz target.
test-all:
	$(MAKE) check
	$(MAKE) check SANITIZE=1
	$(MAKE) fuzz

# libFuzzer targets link an instrumented copy of the library, built with clang.
FUZZ_CFLAGS = -std=c11 -D_GNU_SOURCE -iquote lib -g -O1 -fsanitize=fuzzer-no-link,address,undefined
FUZZ_OBJS = $(LIB_SRCS:lib/%.c=build/fuzz/lib/%.o)
build/fuzz/lib/%.o: lib/%.c
	@mkdir -p $(@D)
	clang $(FUZZ_CFLAGS) $(SERIAL_CFLAGS) -MMD -MP -c -o $@ $<
build/fuzz/libbms.a: $(FUZZ_OBJS)
	@rm -f $@
	$(AR) rcs $@ $^
build/fuzz/%: tests/fuzz/%.c build/fuzz/libbms.a
	clang $(FUZZ_CFLAGS) -fsanitize=fuzzer -MMD -MP -MF $@.d -o $@ $< build/fuzz/libbms.a \
		$(JANSSON_LIBS) $(STORE_LIBS) $(JWT_LIBS)

fuzz: $(FUZZ_BINS)
	@for f in $(FUZZ_BINS); do \
		n=$${f##*/}; mkdir -p build/fuzz/corpus-$$n; \
		echo "fuzz: $$n for $(FUZZTIME)s"; \
		$$f -max_total_time=$(FUZZTIME) -print_final_stats=0 -artifact_prefix=build/fuzz/ \
			build/fuzz/corpus-$$n tests/fuzz/corpus/$${n#fuzz-} \
			>build/fuzz/$$n.log 2>&1 || { tail -40 build/fuzz/$$n.log; exit 1; }; \
		grep -E '^(#[0-9]+ +DONE|Done )' build/fuzz/$$n.log | tail -1; \
	done

# The whole system: the simulator (or DEVICE=), every stage into a store
# under DATA (default ./data), bms-serve with the dashboard on LISTEN
# (default 127.0.0.1:8080); it says where to sign in.  Ctrl-C stops it.
run: all
	@O=$(O) DATA="$(DATA)" DEVICE="$(DEVICE)" LISTEN="$(LISTEN)" exec share/bms-up

# The dashboard's built files, share/web/dist, from its sources (Node.js
# is needed here only; tests/94-web.bats says when dist is stale).
web:
	cd share/web && npm ci --no-audit --no-fund && npm run build

bench: all $(TOOL_BINS)
	@O=$(O) tests/bench

DEB_PKGS = build-essential pkg-config libjansson-dev libserialport-dev \
	bats jq mandoc bash-completion time socat clang libclang-rt-dev \
	libsqlite3-dev sqlite3 libcrypt-dev curl libcivetweb-dev \
	libjwt-dev libssl-dev openssl wrk python3-fastapi python3-uvicorn python3-jwt \
	chromium
# Node.js (for the dashboard's tests and its rebuild) from Debian's
# packages only when there is no node at all: a newer one may be there.
deps:
	@missing=; for p in $(DEB_PKGS); do \
		dpkg-query -W -f='$${Status}\n' $$p 2>/dev/null | grep -q '^install ok installed' \
			|| missing="$$missing $$p"; \
	done; \
	command -v node >/dev/null && command -v npm >/dev/null || missing="$$missing nodejs npm"; \
	if [ -n "$$missing" ]; then \
		echo "deps: installing$$missing"; \
		sudo=; [ "$$(id -u)" = 0 ] || sudo=sudo; \
		$$sudo apt-get update -qq && \
		DEBIAN_FRONTEND=noninteractive $$sudo apt-get install -y -qq $$missing; \
	else echo "deps: all installed"; fi

demo: all
	@O=$(O) tests/demo $(COUNT)

install: all
	mkdir -p $(DESTDIR)$(BINDIR) $(DESTDIR)$(MANDIR)/man1 $(DESTDIR)$(MANDIR)/man5 \
		$(DESTDIR)$(MANDIR)/man7 \
		$(DESTDIR)$(DATADIR)/schema $(DESTDIR)$(DATADIR)/rules \
		$(DESTDIR)$(BASHCOMPDIR) $(DESTDIR)$(ZSHCOMPDIR)
	install -m 0755 $(BINS) $(DESTDIR)$(BINDIR)
	mkdir -p $(DESTDIR)$(LIBDIR)
	install -m 0644 $(TLS_SHIMS) $(DESTDIR)$(LIBDIR)
	install -m 0644 share/man/man1/*.1 $(DESTDIR)$(MANDIR)/man1
	install -m 0644 share/man/man5/*.5 $(DESTDIR)$(MANDIR)/man5
	install -m 0644 share/man/man7/*.7 $(DESTDIR)$(MANDIR)/man7
	install -m 0644 share/schema/*.json $(DESTDIR)$(DATADIR)/schema
	install -m 0644 share/rules/*.rules $(DESTDIR)$(DATADIR)/rules
	rm -rf $(DESTDIR)$(DATADIR)/web
	mkdir -p $(DESTDIR)$(DATADIR)/web/assets
	install -m 0644 share/web/dist/index.html share/web/dist/favicon.svg $(DESTDIR)$(DATADIR)/web
	install -m 0644 share/web/dist/assets/* $(DESTDIR)$(DATADIR)/web/assets
	for p in $(PROGS); do \
		install -m 0644 completions/bms.bash $(DESTDIR)$(BASHCOMPDIR)/$$p; done
	install -m 0644 completions/_bms $(DESTDIR)$(ZSHCOMPDIR)/_bms

uninstall:
	rm -f $(PROGS:%=$(DESTDIR)$(BINDIR)/%) $(PROGS:%=$(DESTDIR)$(BASHCOMPDIR)/%) \
		$(DESTDIR)$(ZSHCOMPDIR)/_bms
	rm -f $(patsubst share/man/%,$(DESTDIR)$(MANDIR)/%,$(wildcard share/man/man5/*.5))
	rm -rf $(DESTDIR)$(DATADIR) $(DESTDIR)$(LIBDIR)

clean:
	rm -rf build

-include $(DEPS)
