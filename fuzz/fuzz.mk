# nfhost: libFuzzer targets (fuzz/fuzz_*.c), included by the top-level Makefile.
#   make fuzz-targets   build them into $(BUILD)/fuzz/ (clang: -fsanitize=fuzzer)
#   make fuzz           build, then run each for FUZZ_TIME seconds (default 600)
#                       on a copy of its corpus (fuzz/run-fuzz.sh); FUZZ="parse api"
#                       picks targets
# Each target compiles the sources it tests itself, under ASan and UBSan,
# so nothing here touches the gcc objects of `make all`.  docs/fuzzing.md.

FUZZ_CC     ?= clang
FUZZ_OUT    := $(BUILD)/fuzz
FUZZ_NAMES  := parse desc graph api nfcheck nfparse
FUZZ_TIME   ?= 600
FUZZ_CFLAGS  = -g -O1 -std=gnu11 -Wall -Wextra -Werror -fsanitize=fuzzer,address,undefined \
	       -fno-sanitize-recover=all -fno-omit-frame-pointer $(GUEST_INC) $(GRAPH_INC) -Icore
FUZZ_DEPS   := $(HDRS) $(wildcard core/*.h) $(wildcard graph/*.h) fuzz/fuzz_util.h fuzz/fuzz.mk

.PHONY: fuzz fuzz-targets
fuzz-targets: $(FUZZ_NAMES:%=$(FUZZ_OUT)/fuzz_%)

fuzz: fuzz-targets
	@FUZZ_TIME=$(FUZZ_TIME) BUILD=$(BUILD) fuzz/run-fuzz.sh $(FUZZ)

# core_parse.h is header-only; its CRC hash picks the SSE4.2 path through
# librte_eal (as test_parse): only that library, not all of DPDK
$(FUZZ_OUT)/fuzz_parse: fuzz/fuzz_parse.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DPDK_CFLAGS) -o $@ $< -lrte_eal

# rte_reciprocal_value() is librte_eal's
$(FUZZ_OUT)/fuzz_desc: fuzz/fuzz_desc.c core/core_route.c $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DPDK_CFLAGS) -o $@ $< core/core_route.c -lrte_eal

$(FUZZ_OUT)/fuzz_graph: fuzz/fuzz_graph.c $(GRAPH_SRC) $(CONF_SRC) $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Iguestlib/src -o $@ $< $(GRAPH_SRC) $(CONF_SRC) -lyaml -ljansson

# the request handler with the control thread's tables, rules (rte_acl) and
# the graph validator; no ports, no data path
FUZZ_API_SRC := core/core_api.c core/core_tables.c core/core_rules.c core/core_classify.c core/core_route.c core/core_acl.c \
		core/core_iso.c core/core_region.c core/core_pool.c graph/graph.c \
		$(CONF_SRC)
$(FUZZ_OUT)/fuzz_api: fuzz/fuzz_api.c $(FUZZ_API_SRC) $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(DPDK_CFLAGS) -Iguestlib/src -o $@ $< $(FUZZ_API_SRC) -lrte_acl -lrte_mbuf -lrte_mempool -lrte_ring -lrte_stack -lrte_eal -ljansson -lyaml -lurcu-qsbr -lnuma

$(FUZZ_OUT)/fuzz_nfcheck: fuzz/fuzz_nfcheck.c $(GUEST_SRC) $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) -Iguestlib/src -o $@ $< $(GUEST_SRC) -lyaml -ljansson

# the NF toolkit's parser and rewriters (nfs/lib/), as every shipped NF meets frames
$(FUZZ_OUT)/fuzz_nfparse: fuzz/fuzz_nfparse.c nfs/lib/nf_pkt.c nfs/lib/nf_csum.c $(KIT_HDRS) $(FUZZ_DEPS)
	@mkdir -p $(@D)
	$(FUZZ_CC) $(FUZZ_CFLAGS) $(KIT_INC) -o $@ $< nfs/lib/nf_pkt.c nfs/lib/nf_csum.c
