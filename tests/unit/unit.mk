# nfhost: Check unit tests, included by the top-level Makefile.
#   make unit-tests         build every test binary into $(BUILD)/tests/
#   tests/unit/run-unit.sh  run them (CK_FORK=yes), one summary line at the end
# Core sources under test are compiled straight into the binary that tests
# them; everything links libnfguest.a.

UNIT_DIR  := tests/unit
UNIT_OUT  := $(BUILD)/tests
UNIT_BINS := $(addprefix $(UNIT_OUT)/,test_ring test_abi test_region test_route test_route_asan test_parse test_parse_asan test_ring_tsan test_yaml test_classify \
		test_graph test_graph_asan test_nfkit test_nfkit_asan test_nf_firewall test_nf_firewall_asan test_nf_aes test_nf_aes_asan test_nf_lb test_nf_lb_asan bench_nf_lb test_nf_nat test_nf_nat_asan test_nf_ids test_nf_ids_asan)
UNIT_DEPS := $(UNIT_DIR)/unit_util.h $(HDRS) $(wildcard core/*.h) $(wildcard graph/*.h) $(LIB)/libnfguest.a
CHECK_LIBS = $(shell pkg-config --libs check 2>/dev/null || echo -lcheck -lsubunit) -lm -lrt -lpthread
UNIT_CFLAGS = $(CFLAGS) $(GUEST_INC) $(GRAPH_INC) -Icore -pthread
UNIT_SAN    = -fsanitize=address,undefined -fno-sanitize-recover=all -fno-omit-frame-pointer

.PHONY: unit-tests
unit-tests: $(UNIT_BINS)

# the ring is all inline in nfg_abi.h: no DPDK, no core source
$(UNIT_OUT)/test_ring: $(UNIT_DIR)/test_ring.c $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(LIB)/libnfguest.a $(CHECK_LIBS)

# the ring again under ThreadSanitizer: the two-thread hammer then proves
# the acquire/release pairs, which x86's strong ordering would hide
$(UNIT_OUT)/test_ring_tsan: $(UNIT_DIR)/test_ring.c $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -fsanitize=thread -o $@ $< $(CHECK_LIBS)

# layout + descriptor arithmetic; core.h (core_desc_index) needs the DPDK
# headers and rte_reciprocal_value() from librte_eal
$(UNIT_OUT)/test_abi: $(UNIT_DIR)/test_abi.c core/core_region.c core/core_region.h core/core.h $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(DPDK_CFLAGS) -o $@ $< core/core_region.c $(LIB)/libnfguest.a \
		$(DPDK_LIBS) -lnuma $(CHECK_LIBS)

$(UNIT_OUT)/test_region: $(UNIT_DIR)/test_region.c core/core_region.c core/core_region.h $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -o $@ $< core/core_region.c $(LIB)/libnfguest.a -lnuma $(CHECK_LIBS)

$(UNIT_OUT)/test_route: $(UNIT_DIR)/test_route.c core/core_route.c core/core_route.h $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -o $@ $< core/core_route.c $(LIB)/libnfguest.a $(CHECK_LIBS)

# ... and under AddressSanitizer/UBSan: steering reads ICMP messages of
# every length from a malloc of exactly that size
$(UNIT_OUT)/test_route_asan: $(UNIT_DIR)/test_route.c core/core_route.c core/core_route.h $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN) -o $@ $< core/core_route.c $(LIB)/libnfguest.a $(CHECK_LIBS)

# core_parse.h is header-only, but its CRC hash (rte_hash_crc.h) picks the
# SSE4.2 path at startup through rte_cpu_get_flag_enabled(), in librte_eal
$(UNIT_OUT)/test_parse: $(UNIT_DIR)/test_parse.c core/core_parse.h $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(DPDK_CFLAGS) -o $@ $< $(LIB)/libnfguest.a $(DPDK_LIBS) $(CHECK_LIBS)

# the parser again under AddressSanitizer/UBSan: the truncated-frame tests
# parse every prefix from a malloc of exactly that size, so a read past the
# end fails the run itself, not only under valgrind.  (The *_asan/*_tsan
# binaries cannot run under valgrind.)
$(UNIT_OUT)/test_parse_asan: $(UNIT_DIR)/test_parse.c core/core_parse.h $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN) $(DPDK_CFLAGS) -o $@ $< $(DPDK_LIBS) $(CHECK_LIBS)

# the graph library: its YAML loader, and the validator with each refusal's
# message; libyaml and jansson, nothing of the core
$(UNIT_OUT)/test_yaml: $(UNIT_DIR)/test_yaml.c $(LIB)/libnfhgraph.a $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -o $@ $< $(LIB)/libnfhgraph.a $(LIB)/libnfguest.a -lyaml -ljansson $(CHECK_LIBS)

# the validator: the example graphs, every refusal's path and message, the
# canonical form read back.  The examples are found where this tree is
# (NFH_EXAMPLES overrides).
GRAPH_TEST_DEFS = -DGRAPH_EXAMPLES='"$(abspath examples)"'
$(UNIT_OUT)/test_graph: $(UNIT_DIR)/test_graph.c $(LIB)/libnfhgraph.a $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(GRAPH_TEST_DEFS) -o $@ $< $(LIB)/libnfhgraph.a $(LIB)/libnfguest.a -lyaml -ljansson $(CHECK_LIBS)

# ... and again with the graph sources under AddressSanitizer/UBSan: the
# validator reads what users and API clients send, so an overrun in it
# fails the run itself
$(UNIT_OUT)/test_graph_asan: $(UNIT_DIR)/test_graph.c $(GRAPH_SRC) $(CONF_SRC) $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN) $(GRAPH_TEST_DEFS) -o $@ $< $(GRAPH_SRC) $(CONF_SRC) -lyaml -ljansson $(CHECK_LIBS)

# the rule classifier on rte_acl, held to its linear reference, NF ACLs
# built on it, and the flow table on rte_hash; the test starts the EAL itself (no hugepages)
# since both allocate with rte_malloc
$(UNIT_OUT)/test_classify: $(UNIT_DIR)/test_classify.c core/core_classify.c core/core_classify.h core/core_flow.c \
		core/core_flow.h core/core_acl.c core/core_acl.h $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(DPDK_CFLAGS) -o $@ $< core/core_classify.c core/core_flow.c core/core_acl.c $(DPDK_LIBS) $(CHECK_LIBS)

# the NF toolkit (nfs/lib/): parser, checksums, flow table; no DPDK
$(UNIT_OUT)/test_nfkit: $(UNIT_DIR)/test_nfkit.c $(LIB)/libnfkit.a $(KIT_HDRS) $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(KIT_INC) -o $@ $< $(LIB)/libnfkit.a $(CHECK_LIBS)

# ... and with the toolkit's sources under AddressSanitizer/UBSan: the
# parser reads hostile frames, each test frame in a malloc of its exact size
$(UNIT_OUT)/test_nfkit_asan: $(UNIT_DIR)/test_nfkit.c $(KIT_SRC) $(KIT_HDRS) $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN) $(KIT_INC) -o $@ $< $(KIT_SRC) $(LIB)/libnfguest.a $(NF_LIBS) \
		$(CHECK_LIBS)

# nf-firewall's logic (nfs/firewall/) with crafted frames, the toolkit
# compiled in; again under ASan/UBSan for the random frames
FW_TEST_SRC = $(wildcard nfs/firewall/*.c) $(KIT_SRC)
FW_TEST_LIBS = $(LIB)/libnfguest.a $(NF_LIBS) $(CHECK_LIBS)
$(UNIT_OUT)/test_nf_firewall: $(UNIT_DIR)/test_nf_firewall.c $(FW_TEST_SRC) $(wildcard nfs/firewall/*.h) $(KIT_HDRS) $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) -Infs $(KIT_INC) -o $@ $< $(FW_TEST_SRC) $(FW_TEST_LIBS)

$(UNIT_OUT)/test_nf_firewall_asan: $(UNIT_DIR)/test_nf_firewall.c $(FW_TEST_SRC) $(wildcard nfs/firewall/*.h) $(KIT_HDRS) \
		$(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN) -Infs $(KIT_INC) -o $@ $< $(FW_TEST_SRC) $(FW_TEST_LIBS)
# nf-aes's logic (nfs/aes/, without main) with the toolkit and OpenSSL
AES_TEST_DEPS = $(UNIT_DIR)/test_nf_aes.c $(wildcard examples/nfs/aes-*.yaml) $(wildcard nfs/aes/*.[ch]) $(KIT_SRC) $(KIT_HDRS) $(UNIT_DEPS)
AES_TEST_DEFS = -DAES_EXAMPLES='"$(abspath examples/nfs)"'
AES_TEST_LIBS = -lcrypto -ljansson -lyaml $(CHECK_LIBS)
$(UNIT_OUT)/test_nf_aes: $(AES_TEST_DEPS) $(LIB)/libnfkit.a
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(KIT_INC) $(AES_TEST_DEFS) -o $@ $< $(AES_SRC) $(LIB)/libnfkit.a $(LIB)/libnfguest.a $(AES_TEST_LIBS)

# ... and with all of it (but OpenSSL) under ASan/UBSan: the hostile frames
# sit in mallocs of exactly their size and room
$(UNIT_OUT)/test_nf_aes_asan: $(AES_TEST_DEPS) $(CONF_SRC)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN) $(KIT_INC) $(AES_TEST_DEFS) -o $@ $< $(AES_SRC) $(KIT_SRC) $(CONF_SRC) \
		$(LIB)/libnfguest.a $(AES_TEST_LIBS)

# nf-lb's logic (nfs/lb/, without its main) on crafted frames; and again
# with it, the toolkit and the configuration reader under ASan/UBSan, for
# the hostile frames
LB_LOGIC := $(filter %.c,$(LB_SRC))
LB_TEST_DEFS = -DLB_EXAMPLE='"$(abspath examples/nfs/lb.yaml)"'
$(UNIT_OUT)/test_nf_lb: $(UNIT_DIR)/test_nf_lb.c $(LB_SRC) examples/nfs/lb.yaml $(KIT_HDRS) $(LIB)/libnfkit.a $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(LB_TEST_DEFS) $(KIT_INC) -Infs/lb -o $@ $< $(LB_LOGIC) $(KIT_LIBS) $(CHECK_LIBS)

$(UNIT_OUT)/test_nf_lb_asan: $(UNIT_DIR)/test_nf_lb.c $(LB_SRC) examples/nfs/lb.yaml $(KIT_SRC) $(KIT_HDRS) $(CONF_SRC) $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN) $(LB_TEST_DEFS) $(KIT_INC) -Infs/lb -o $@ $< $(LB_LOGIC) $(KIT_SRC) $(CONF_SRC) \
		$(LIB)/libnfguest.a $(NF_LIBS) $(CHECK_LIBS)

# not a test (run-unit.sh runs test_* only): nf-lb's handler's cycles per
# packet, run by hand (the file says how)
$(UNIT_OUT)/bench_nf_lb: $(UNIT_DIR)/bench_nf_lb.c bench/nf_bench.h $(LB_SRC) $(KIT_HDRS) $(LIB)/libnfkit.a $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(KIT_INC) -Infs/lb -Ibench -o $@ $< $(LB_LOGIC) $(KIT_LIBS)

# nf-nat's logic (nfs/nat/) without its main: the allocator, the
# configuration, the translator on crafted and hostile frames
NAT_TEST_SRC := $(filter %.c,$(NAT_SRC))
NAT_TEST_DEFS = -DNAT_EXAMPLE='"$(abspath examples/nfs/nat.yaml)"'
$(UNIT_OUT)/test_nf_nat: $(UNIT_DIR)/test_nf_nat.c $(NAT_SRC) $(KIT_HDRS) $(LIB)/libnfkit.a $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(NAT_TEST_DEFS) $(KIT_INC) -Infs -o $@ $< $(NAT_TEST_SRC) $(KIT_LIBS) $(CHECK_LIBS)

# ... and with it, the toolkit and the configuration reader under
# AddressSanitizer/UBSan: the hostile frames are exact-size copies, so a
# read past one fails the run
$(UNIT_OUT)/test_nf_nat_asan: $(UNIT_DIR)/test_nf_nat.c $(NAT_SRC) $(KIT_SRC) $(KIT_HDRS) $(CONF_SRC) $(UNIT_DEPS)
	@mkdir -p $(@D)
	$(CC) $(UNIT_CFLAGS) $(UNIT_SAN) $(NAT_TEST_DEFS) $(KIT_INC) -Infs -o $@ $< $(NAT_TEST_SRC) $(KIT_SRC) $(CONF_SRC) \
		$(LIB)/libnfguest.a $(NF_LIBS) $(CHECK_LIBS)

# nf-ids's engine (nfs/ids/) with the toolkit and Hyperscan, on crafted
# frames; again under ASan/UBSan for the random frames
IDS_TEST_SRC  = tests/unit/test_nf_ids.c $(NF_SRC_ids) $(KIT_SRC)
IDS_TEST_DEPS = $(IDS_TEST_SRC) $(wildcard nfs/ids/*.h) $(KIT_HDRS) $(UNIT_DEPS) examples/nfs/ids.rules
IDS_TEST_CC   = $(CC) $(UNIT_CFLAGS) $(KIT_INC) -Infs -DIDS_EXAMPLES='"$(abspath examples/nfs)"'
IDS_TEST_LIBS = $(LIB)/libnfguest.a $(NF_LIBS) -lhs -lstdc++ -lm $(CHECK_LIBS)
$(UNIT_OUT)/test_nf_ids: $(IDS_TEST_DEPS)
	@mkdir -p $(@D)
	$(IDS_TEST_CC) -o $@ $(IDS_TEST_SRC) $(IDS_TEST_LIBS)

$(UNIT_OUT)/test_nf_ids_asan: $(IDS_TEST_DEPS)
	@mkdir -p $(@D)
	$(IDS_TEST_CC) $(UNIT_SAN) -o $@ $(IDS_TEST_SRC) $(IDS_TEST_LIBS)
