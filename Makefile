# nfhost: top-level build.  `make demo` and `make test` set up what they need.
BUILD   ?= build
BIN     := $(BUILD)/bin
LIB     := $(BUILD)/lib
OBJ     := $(BUILD)/obj
CC      ?= gcc
CFLAGS  ?= -O2 -g
CFLAGS  += -std=gnu11 -Wall -Wextra -Werror -fPIC
GUEST_INC := -Iguestlib/include
DPDK_CFLAGS = $(shell pkg-config --cflags libdpdk 2>/dev/null)
DPDK_LIBS   = $(shell pkg-config --libs libdpdk 2>/dev/null)

GUEST_SRC := $(wildcard guestlib/src/*.c)
GRAPH_SRC := $(wildcard graph/*.c)
# what the graph code takes from libnfguest: the configuration reader
CONF_SRC  := guestlib/src/conf.c guestlib/src/conf_yaml.c guestlib/src/error.c
GRAPH_INC := -Igraph
CORE_SRC  := $(wildcard core/*.c)
NFS       := nf-forward nf-macswap nf-monitor nf-drop nf-chain nf-firewall nf-aes nf-lb nf-nat nf-ids
TEST_NFS  := nf-zc-probe nf-trail nf-fakepid nf-evil nf-conf-probe nf-acl-probe nf-steer-probe nf-reflect nf-spy nf-wake-probe nf-busy
TOOLS     := nfh-pcapgen nfh-pcapcmp
HDRS      := $(wildcard guestlib/include/nfhost/*.h) $(wildcard guestlib/src/*.h)
KIT_SRC   := $(wildcard nfs/lib/*.c)
KIT_HDRS  := $(wildcard nfs/lib/*.h)
KIT_INC   := -Infs/lib
# what an NF links: the toolkit, libnfguest, and what libnfguest's
# configuration reader needs; static archives, so the guest build links the same
NF_LIBS   := -ljansson -lyaml
KIT_LIBS   = $(LIB)/libnfkit.a $(LIB)/libnfguest.a -lpthread $(NF_LIBS)

# nf-ids: Hyperscan, a C++ library: static, it needs libstdc++ and libm
NF_LIBS_ids := -lhs -lstdc++ -lm
NF_SRC_ids  := $(wildcard nfs/ids/*.c)

.PHONY: all deps demo test test-numa bench clean vm-image numa-image
all: $(LIB)/libnfguest.a $(LIB)/libnfguest.so $(LIB)/libnfhgraph.a $(LIB)/libnfkit.a $(BIN)/nfhost-core $(BIN)/nfhost \
     $(NFS:%=$(BIN)/%) $(TOOLS:%=$(BIN)/%) $(BIN)/nfh-ref-ring $(BIN)/nfh-peer-nf $(BIN)/nfh-stall-probe $(BIN)/nfh-ref-wake $(BIN)/nfh-ref-hash $(BIN)/nfh-ref-aes $(BIN)/nfh-bench-ftab $(BIN)/nfh-bench-nat $(BIN)/nfh-bench-fw $(BIN)/nfh-ref-ids $(TEST_NFS:%=$(BIN)/%)

deps:
	@tools/deps.sh

# ---- libnfguest: no DPDK -------------------------------------------------
$(OBJ)/guestlib/%.o: guestlib/src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(GUEST_INC) -c $< -o $@

$(LIB)/libnfguest.a: $(GUEST_SRC:guestlib/src/%.c=$(OBJ)/guestlib/%.o)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

$(LIB)/libnfguest.so: $(GUEST_SRC:guestlib/src/%.c=$(OBJ)/guestlib/%.o)
	@mkdir -p $(@D)
	$(CC) -shared -Wl,-soname,libnfguest.so.1 -o $@ $^ -ljansson -lyaml

# ---- the NF toolkit (nfs/lib/): parse, checksums, flow table; no DPDK ------
$(OBJ)/nfkit/%.o: nfs/lib/%.c $(KIT_HDRS) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(KIT_INC) $(GUEST_INC) -c $< -o $@

$(LIB)/libnfkit.a: $(KIT_SRC:nfs/lib/%.c=$(OBJ)/nfkit/%.o)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# ---- the graph model: types, validation, the YAML/JSON loader; no DPDK ------
$(OBJ)/graph/%.o: graph/%.c $(wildcard graph/*.h) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(GUEST_INC) $(GRAPH_INC) -c $< -o $@

$(LIB)/libnfhgraph.a: $(GRAPH_SRC:graph/%.c=$(OBJ)/graph/%.o)
	@mkdir -p $(@D)
	$(AR) rcs $@ $^

# ---- the core --------------------------------------------------------------
$(OBJ)/core/%.o: core/%.c $(wildcard core/*.h) $(wildcard graph/*.h) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DPDK_CFLAGS) $(GUEST_INC) $(GRAPH_INC) -c $< -o $@

$(BIN)/nfhost-core: $(CORE_SRC:core/%.c=$(OBJ)/core/%.o) $(LIB)/libnfhgraph.a $(LIB)/libnfguest.a
	@mkdir -p $(@D)
	$(CC) -o $@ $^ $(DPDK_LIBS) -lurcu-qsbr -lnuma -ljansson -lyaml -lpthread

# ---- the core again under ASan/UBSan: our code (core, graph, libnfguest)
# instrumented, DPDK as installed.  make test runs one integration test with
# it (tests/integration/t_asan_core.sh).
CORE_SAN := -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer
ASAN_OBJ := $(OBJ)/asan
$(ASAN_OBJ)/core/%.o: core/%.c $(wildcard core/*.h) $(wildcard graph/*.h) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CORE_SAN) $(DPDK_CFLAGS) $(GUEST_INC) $(GRAPH_INC) -c $< -o $@

$(ASAN_OBJ)/graph/%.o: graph/%.c $(wildcard graph/*.h) $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CORE_SAN) $(GUEST_INC) $(GRAPH_INC) -c $< -o $@

$(ASAN_OBJ)/guestlib/%.o: guestlib/src/%.c $(HDRS)
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(CORE_SAN) $(GUEST_INC) -c $< -o $@

$(BIN)/nfhost-core-asan: $(CORE_SRC:core/%.c=$(ASAN_OBJ)/core/%.o) $(GRAPH_SRC:graph/%.c=$(ASAN_OBJ)/graph/%.o) \
			 $(GUEST_SRC:guestlib/src/%.c=$(ASAN_OBJ)/guestlib/%.o)
	@mkdir -p $(@D)
	$(CC) $(CORE_SAN) -o $@ $^ $(DPDK_LIBS) -lurcu-qsbr -lnuma -ljansson -lyaml -lpthread

# ---- NFs and the manager link the static library: one self-contained binary
# An NF is its program nfs/nf-NAME.c and, for a module (nfs/lib/nf_module.h),
# its own files in nfs/NAME/; NF_LIBS_NAME: the libraries it needs besides.
# nf-chain links every module.
NF_MODS    := $(patsubst nfs/%/,%,$(filter-out nfs/lib/,$(sort $(dir $(wildcard nfs/*/*.c)))))
NF_MOD_SRC := $(foreach m,$(NF_MODS),$(wildcard nfs/$(m)/*.c))
NF_MOD_LIBS = $(foreach m,$(NF_MODS),$(NF_LIBS_$(m)))
.SECONDEXPANSION:
$(BIN)/nf-%: nfs/nf-%.c $$(wildcard nfs/$$*/*.c nfs/$$*/*.h) $(wildcard nfs/*.h) $(KIT_HDRS) $(LIB)/libnfkit.a \
	     $(LIB)/libnfguest.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(GUEST_INC) $(KIT_INC) -o $@ $< $(wildcard nfs/$*/*.c) $(KIT_LIBS) $(NF_LIBS_$*)

$(BIN)/nf-chain: nfs/nf-chain.c $(NF_MOD_SRC) $(wildcard nfs/*/*.h) $(KIT_HDRS) $(LIB)/libnfkit.a $(LIB)/libnfguest.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(GUEST_INC) $(KIT_INC) -o $@ $< $(NF_MOD_SRC) $(KIT_LIBS) $(NF_MOD_LIBS)

NAT_SRC := $(wildcard nfs/nat/*.c) $(wildcard nfs/nat/*.h)
# nf-nat's handler per packet at 100,000 mappings (docs/nfs.md)
$(BIN)/nfh-bench-nat: bench/nf_nat_bench.c bench/nf_bench.h $(NAT_SRC) $(KIT_HDRS) $(LIB)/libnfkit.a $(LIB)/libnfguest.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(GUEST_INC) $(KIT_INC) -Infs -o $@ $< $(filter %.c,$(NAT_SRC)) $(KIT_LIBS)

FW_SRC := $(wildcard nfs/firewall/*.c) $(wildcard nfs/firewall/*.h)
# nf-firewall's handler per packet at 100,000 connections (docs/nfs.md)
$(BIN)/nfh-bench-fw: bench/nf_fw_bench.c bench/nf_bench.h $(FW_SRC) $(KIT_HDRS) $(LIB)/libnfkit.a $(LIB)/libnfguest.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(GUEST_INC) $(KIT_INC) -Infs -o $@ $< $(filter %.c,$(FW_SRC)) $(KIT_LIBS)

$(BIN)/nf-%: tests/nfs/nf-%.c $(wildcard nfs/*.h) $(KIT_HDRS) $(LIB)/libnfkit.a $(LIB)/libnfguest.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(GUEST_INC) $(KIT_INC) -o $@ $< $(KIT_LIBS)

# the manager checks graph files with the same validator the core runs
$(BIN)/nfhost: $(wildcard manager/*.c) $(wildcard manager/*.h) $(wildcard graph/*.h) $(LIB)/libnfhgraph.a \
	       $(LIB)/libnfguest.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(GUEST_INC) $(GRAPH_INC) -o $@ $(wildcard manager/*.c) $(LIB)/libnfhgraph.a \
		$(LIB)/libnfguest.a -ljansson -lyaml -lvirt $$(pkg-config --libs libmicrohttpd) -pthread

$(BIN)/nfh-%: tools/nfh-%.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $< -lpcap

$(BIN)/nfh-ref-ring: bench/ref/ref_ring.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DPDK_CFLAGS) -o $@ $< $(DPDK_LIBS)

# the peers' NF and traffic edge (memif, vhost-user, AF_PACKET rows of make bench)
$(BIN)/nfh-peer-nf: bench/peers/peer_nf.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DPDK_CFLAGS) -o $@ $< $(DPDK_LIBS)

# how long this machine keeps a never-sleeping thread from running: the
# floor under every latency tail of the peers' runs
$(BIN)/nfh-stall-probe: bench/peers/stall_probe.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -pthread -o $@ $<

# a bare futex wake-up across CPUs: the floor under a sleeping NF's
$(BIN)/nfh-ref-wake: bench/ref/ref_wake.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) -o $@ $<

# the NF toolkit's flow table per lookup+touch, next to rculfhash (docs/nfs.md)
$(BIN)/nfh-bench-ftab: bench/nfkit_ftab.c $(KIT_HDRS) $(LIB)/libnfkit.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(KIT_INC) -o $@ $< $(LIB)/libnfkit.a -lurcu-cds -lurcu-qsbr -lurcu-common

$(BIN)/nfh-ref-hash: bench/ref/ref_hash.c
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(DPDK_CFLAGS) -o $@ $< $(DPDK_LIBS)

# nf-ids's handler next to Hyperscan alone (no DPDK)
$(BIN)/nfh-ref-ids: bench/ref/ref_ids.c $(NF_SRC_ids) $(wildcard nfs/ids/*.h) $(KIT_HDRS) $(LIB)/libnfkit.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(GUEST_INC) $(KIT_INC) -Infs -o $@ $< $(NF_SRC_ids) $(KIT_LIBS) $(NF_LIBS_ids)

# ---- the guest image (vm-images/): kernel, initramfs, static NFs ----------
include vm-images/vm-images.mk

# ---- NFs with files of their own, and libraries beyond the toolkit's ----------
# nf-aes: OpenSSL's libcrypto (EVP); the guest image links libcrypto.a
AES_SRC := $(wildcard nfs/aes/*.c)
NF_LIBS_aes := -lcrypto
LB_SRC := $(wildcard nfs/lb/*.c) $(wildcard nfs/lb/*.h)

$(BIN)/nfh-ref-aes: bench/ref/ref_aes.c $(AES_SRC) $(wildcard nfs/aes/*.h) $(KIT_HDRS) $(LIB)/libnfkit.a \
		    $(LIB)/libnfguest.a
	@mkdir -p $(@D)
	$(CC) $(CFLAGS) $(GUEST_INC) $(KIT_INC) -o $@ $(filter %.c,$^) $(KIT_LIBS) -lcrypto

# ---- the two commands ------------------------------------------------------
demo: deps
	@$(MAKE) --no-print-directory all
	@tools/demo.sh

# make test TESTS="t_rtc unit fuzz": only the named tests (tests/run-all.sh NAME...)
test: deps
	@$(MAKE) --no-print-directory all unit-tests vm-image numa-image fuzz-targets $(BIN)/nfhost-core-asan
	@tests/run-all.sh $(TESTS)

# The platform on two NUMA nodes, in a guest that has them (tests/numa/):
# make test runs it short (t_numa, 1000 packets); this, with NUMA_PACKETS.
test-numa: deps
	@$(MAKE) --no-print-directory all numa-image
	@tests/numa/run-numa.sh $(or $(NUMA_PACKETS),20000)

bench:
	@tools/deps.sh --bench
	@$(MAKE) --no-print-directory all
	@BENCH=$(or $(BENCH),quick) bench/run-bench.sh

include tests/unit/unit.mk
include fuzz/fuzz.mk

clean:
	rm -rf $(BUILD)
