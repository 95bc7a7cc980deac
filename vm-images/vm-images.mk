# Guest image: `make vm-image` builds $(VM)/vmlinuz (Debian's cloud kernel)
# and $(VM)/initramfs.cpio.gz (busybox, static NFs, vm-images/init).
# Included by the top Makefile, which defines BUILD, LIB, CC, CFLAGS, GUEST_INC,
# KIT_INC, KIT_HDRS, KIT_LIBS.
VM       := $(BUILD)/vm
# nf-zc-probe and nf-conf-probe: the test NFs the guest tests run
VM_NFS   := $(patsubst nfs/%.c,%,$(wildcard nfs/nf-*.c)) nf-zc-probe nf-conf-probe
VM_BINS  := $(VM_NFS:%=$(VM)/bin/%)

vm-image: $(VM)/vmlinuz $(VM)/initramfs.cpio.gz

# Depends only on the script: the kernel is fetched once and then kept, even
# when Debian moves the metapackage on (rm $(VM)/vmlinuz to pick that up).
$(VM)/vmlinuz: vm-images/fetch-kernel.sh
	@mkdir -p $(@D)
	@vm-images/fetch-kernel.sh $(VM)

# Static, because the guest has no libc of its own.
# The same sources and libraries as the host build (the top Makefile's
# $(BIN)/nf-% and $(BIN)/nf-chain rules; .SECONDEXPANSION is on there).
$(VM)/bin/nf-%: nfs/nf-%.c $$(wildcard nfs/$$*/*.c nfs/$$*/*.h) $(wildcard nfs/*.h) $(KIT_HDRS) $(LIB)/libnfkit.a \
		$(LIB)/libnfguest.a
	@mkdir -p $(@D)
	@echo "vm-image: cc -static $@"
	@$(CC) $(CFLAGS) $(GUEST_INC) $(KIT_INC) -static -o $@ $< $(wildcard nfs/$*/*.c) $(KIT_LIBS) $(NF_LIBS_$*)

$(VM)/bin/nf-chain: nfs/nf-chain.c $(NF_MOD_SRC) $(wildcard nfs/*/*.h) $(KIT_HDRS) $(LIB)/libnfkit.a \
		$(LIB)/libnfguest.a
	@mkdir -p $(@D)
	@echo "vm-image: cc -static $@"
	@$(CC) $(CFLAGS) $(GUEST_INC) $(KIT_INC) -static -o $@ $< $(NF_MOD_SRC) $(KIT_LIBS) $(NF_MOD_LIBS)

$(VM)/bin/nf-zc-probe $(VM)/bin/nf-conf-probe: $(VM)/bin/%: tests/nfs/%.c $(LIB)/libnfguest.a
	@mkdir -p $(@D)
	@echo "vm-image: cc -static $@"
	@$(CC) $(CFLAGS) $(GUEST_INC) -static -o $@ $< $(LIB)/libnfguest.a $(NF_LIBS)

# /bin/busybox is a prerequisite so an upgraded busybox-static gets repacked.
$(VM)/initramfs.cpio.gz: vm-images/mkinitramfs.sh vm-images/init $(VM_BINS) \
		$(wildcard /bin/busybox)
	@vm-images/mkinitramfs.sh $@ vm-images/init $(VM_BINS)

# The two-node NUMA test guest (tests/numa/run-numa.sh): the same kernel and
# packing, with the platform itself inside (the core, the manager and their
# shared libraries, the DPDK drivers the test's ports need), nf-forward and
# vm-images/numa/init running vm-images/numa/check.sh.
NUMA_IMG := $(VM)/numa-initramfs.cpio.gz

numa-image: $(VM)/vmlinuz $(NUMA_IMG)

$(NUMA_IMG): vm-images/mkinitramfs.sh $(wildcard vm-images/numa/*) $(BIN)/nfhost-core $(BIN)/nfhost \
		$(BIN)/nfh-pcapgen $(VM)/bin/nf-forward $(wildcard /bin/busybox)
	@vm-images/mkinitramfs.sh --dyn $(BIN)/nfhost-core --dyn $(BIN)/nfhost --dyn $(BIN)/nfh-pcapgen \
		--pmd bus_vdev --pmd net_pcap --pmd mempool_ring \
		--file vm-images/numa/check.sh:/numa/check.sh --file vm-images/numa/graph.yaml:/numa/graph.yaml \
		$@ vm-images/numa/init $(VM)/bin/nf-forward
