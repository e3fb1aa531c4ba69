# cascade: `make` builds build/cascade and build/cascade-agent; `make test`
# runs every test under ASan+UBSan; `make run` serves ./var on [::]:8080.

CC	?= cc
CLANG	?= clang
PKGS	 = libmicrohttpd libcurl libzstd libcrypto libsodium sqlite3 libpq jansson inih
PKG_CFLAGS := $(shell pkg-config --cflags $(PKGS) 2>/dev/null)
PKG_LIBS   := $(shell pkg-config --libs $(PKGS) 2>/dev/null) -lpthread
CURL_LIBS  := $(shell pkg-config --libs libcurl 2>/dev/null)
# the agent: no database (--as-needed drops what it does not call)
AGENT_PKGS = libmicrohttpd libcurl libzstd libcrypto libsodium jansson inih
AGENT_LIBS := -Wl,--as-needed $(shell pkg-config --libs $(AGENT_PKGS) 2>/dev/null) -lpthread

WARN	 = -Wall -Wextra -Wshadow -Wconversion -Wformat=2 \
	   -Wstrict-prototypes -Wmissing-prototypes -Wvla
ifeq ($(CI),true)
WARN	+= -Werror
endif
BASE	 = -std=c11 -D_GNU_SOURCE -Isrc $(WARN) $(PKG_CFLAGS)
REL	 = -O2 -g -D_FORTIFY_SOURCE=3 -fstack-protector-strong -fPIE
REL_LD	 = -pie -Wl,-z,relro,-z,now
SAN	 = -O1 -g -fno-omit-frame-pointer -fsanitize=address,undefined \
	   -fno-sanitize-recover=undefined

MAINS	 = src/main.c src/agent_main.c
SRCS	 = $(filter-out $(MAINS),$(wildcard src/*.c))
HDRS	 = $(wildcard src/*.h)
# the web console's files, built into the library as build/console.c
CONSOLE	 = $(sort $(wildcard console/*))
OBJS	 = $(SRCS:src/%.c=build/obj/%.o) build/obj/console_files.o
SOBJS	 = $(SRCS:src/%.c=build/asan/obj/%.o) build/asan/obj/console_files.o
UNITS	 = $(patsubst tests/unit/%.c,build/asan/tests/%,$(wildcard tests/unit/test_*.c))
ITOOLS	 = $(patsubst tests/integration/%.c,build/asan/tests/%,$(wildcard tests/integration/*.c))
FUZZERS	 = $(patsubst fuzz/fuzz_%.c,build/fuzz/fuzz_%,$(wildcard fuzz/fuzz_*.c))

.PHONY: all deps run test check fuzz clean bench FORCE
all: build/cascade build/cascade-agent

deps:
	@scripts/install-deps

build/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(REL) $(CFLAGS) -c $< -o $@

# the list of console files, rewritten only when it changes, so that a
# file removed rebuilds the table too
build/console.list: FORCE
	@mkdir -p $(@D)
	@echo '$(CONSOLE)' | cmp -s - $@ || echo '$(CONSOLE)' >$@

build/console.c: scripts/embed build/console.list $(CONSOLE)
	scripts/embed $@ $(CONSOLE)

build/obj/console_files.o: build/console.c src/console.h src/http.h
	@mkdir -p $(@D)
	$(CC) $(BASE) $(REL) $(CFLAGS) -c $< -o $@

build/asan/obj/console_files.o: build/console.c src/console.h src/http.h
	@mkdir -p $(@D)
	$(CC) $(BASE) $(SAN) $(CFLAGS) -c $< -o $@

build/cascade: build/obj/main.o build/libcascade.a
	$(CC) $(REL) $(REL_LD) $(LDFLAGS) -o $@ $^ $(PKG_LIBS)

build/cascade-agent: build/obj/agent_main.o build/libcascade.a
	$(CC) $(REL) $(REL_LD) $(LDFLAGS) -o $@ $^ $(AGENT_LIBS)

build/libcascade.a: $(OBJS)
	@rm -f $@
	ar rcs $@ $^

build/asan/obj/%.o: src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(BASE) $(SAN) $(CFLAGS) -c $< -o $@

build/asan/libcascade.a: $(SOBJS)
	@rm -f $@
	ar rcs $@ $^

build/asan/cascade: build/asan/obj/main.o build/asan/libcascade.a
	$(CC) $(SAN) -o $@ $^ $(PKG_LIBS)

build/asan/cascade-agent: build/asan/obj/agent_main.o build/asan/libcascade.a
	$(CC) $(SAN) -o $@ $^ $(AGENT_LIBS)

build/asan/tests/%: tests/unit/%.c tests/check.h build/asan/libcascade.a
	@mkdir -p $(@D)
	$(CC) $(BASE) -Itests $(SAN) -o $@ $< build/asan/libcascade.a $(PKG_LIBS) $(CURL_LIBS)

build/asan/tests/%: tests/integration/%.c build/asan/libcascade.a
	@mkdir -p $(@D)
	$(CC) $(BASE) -Itests $(SAN) -o $@ $< build/asan/libcascade.a $(PKG_LIBS) $(CURL_LIBS)

build/fuzz/fuzz_%: fuzz/fuzz_%.c $(SRCS) $(HDRS) build/console.c
	@mkdir -p $(@D)
	$(CLANG) -std=c11 -D_GNU_SOURCE -Isrc $(PKG_CFLAGS) -g -O1 \
	    -fsanitize=fuzzer,address,undefined -o $@ $< \
	    $(SRCS) build/console.c $(PKG_LIBS) $(CURL_LIBS)

fuzz: $(FUZZERS)

build/bench/%: bench/%.c build/libcascade.a
	@mkdir -p $(@D)
	$(CC) $(BASE) $(REL) -o $@ $< build/libcascade.a $(PKG_LIBS)

check: build/cascade build/cascade-agent build/asan/cascade \
    build/asan/cascade-agent $(UNITS) $(ITOOLS) $(FUZZERS)
	@tests/run

test: deps
	@$(MAKE) --no-print-directory check

run: deps
	@$(MAKE) --no-print-directory build/cascade
	@[ -d var ] || build/cascade init -d var
	build/cascade serve -d var --listen '[::]:8080'

bench: deps
	@$(MAKE) --no-print-directory build/cascade build/cascade-agent
	bench/delta
	bench/serve
	bench/fleet

clean:
	rm -rf build
