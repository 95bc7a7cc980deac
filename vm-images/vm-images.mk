# Guest image: `make vm-image` builds $(VM)/vmlinuz (Debian's cloud kernel)
# and $(VM)/initramfs.cpio.gz (busybox, static NFs, vm-images/init).
# Included by the top Makefile, which defines BUILD, LIB, CC, CFLAGS, GUEST_INC,
# KIT_INC, KIT_HDRS, KIT_LIBS.
VM       := $(BUILD)/vm
VM_NFS   := $(patsubst nfs/%.c,%,$(wildcard nfs/nf-*.c)) nf-zc-probe
VM_BINS  := $(VM_NFS:%=$(VM)/bin/%)

vm-image: $(VM)/vmlinuz $(VM)/initramfs.cpio.gz

# Depends only on the script: the kernel is fetched once and then kept, even
# when Debian moves the metapackage on (rm $(VM)/vmlinuz to pick that up).
$(VM)/vmlinuz: vm-images/fetch-kernel.sh
	@mkdir -p $(@D)
	@vm-images/fetch-kernel.sh $(VM)

# Static, because the guest has no libc of its own.
$(VM)/bin/nf-%: nfs/nf-%.c $(wildcard nfs/*.h) $(KIT_HDRS) $(LIB)/libnfkit.a $(LIB)/libnfguest.a $$(NF_SRC_$$*) \
		$$(wildcard nfs/$$*/*.h)
	@mkdir -p $(@D)
	@echo "vm-image: cc -static $@"
	@$(CC) $(CFLAGS) $(GUEST_INC) $(KIT_INC) -Infs -static -o $@ $< $(NF_SRC_$*) $(KIT_LIBS) $(NF_LIBS_$*)

$(VM)/bin/nf-zc-probe: tests/nfs/nf-zc-probe.c $(LIB)/libnfguest.a
	@mkdir -p $(@D)
	@echo "vm-image: cc -static $@"
	@$(CC) $(CFLAGS) $(GUEST_INC) -static -o $@ $< $(LIB)/libnfguest.a $(NF_LIBS)

# /bin/busybox is a prerequisite so an upgraded busybox-static gets repacked.
$(VM)/initramfs.cpio.gz: vm-images/mkinitramfs.sh vm-images/init $(VM_BINS) \
		$(wildcard /bin/busybox)
	@vm-images/mkinitramfs.sh $@ vm-images/init $(VM_BINS)
