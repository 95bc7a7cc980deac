#!/bin/bash
# mkinitramfs.sh [--dyn BIN]... [--pmd DRIVER]... [--file SRC:DST]... OUT INIT NF...:
# pack busybox, INIT as /init and the static NF binaries into the gzipped
# newc cpio OUT.  A test image that runs the platform itself (the two-node
# NUMA guest, vm-images/numa/) adds dynamic host binaries with the shared
# libraries they load (--dyn, into /bin), DPDK drivers from the plugin
# directory with theirs (--pmd net_pcap: librte_net_pcap.so), and files.
set -euo pipefail

usage="usage: mkinitramfs.sh [--dyn BIN]... [--pmd DRIVER]... [--file SRC:DST]... OUT INIT NF..."
dyn=() pmds=() files=()
while (($#)) && [[ $1 == --* ]]; do
	case $1 in
	--dyn) dyn+=("${2:?$usage}") ;;
	--pmd) pmds+=("${2:?$usage}") ;;
	--file) files+=("${2:?$usage}") ;;
	*) echo "$usage" >&2; exit 2 ;;
	esac
	shift 2
done
out=${1:?$usage}
init=${2:?$usage}
shift 2
busybox=/bin/busybox
# where EAL looks for drivers at start (RTE_EAL_PMD_PATH of Debian's DPDK)
pmd_dir=$(ls -d /usr/lib/x86_64-linux-gnu/dpdk/pmds-* 2> /dev/null | tail -1)

# The dynamic "busybox" package installs the same path; a dynamic busybox
# would find no libc in the guest and the kernel would panic on /init.
if [[ ! -x $busybox ]] || readelf -l "$busybox" | grep -q 'INTERP'; then
	echo "vm-image: need a static $busybox (apt-get install busybox-static)" >&2
	exit 1
fi

# A private staging tree, fresh each time: a removed NF cannot linger in the
# image, and two makes sharing one build dir (tests do that) cannot collide.
stage=$(mktemp -d "$(dirname "$out")/rootfs.XXXXXX")
tmp=$stage.cpio.gz
trap 'rm -rf "$stage" "$tmp"' EXIT
mkdir -p "$stage"/{bin,dev,proc,sys,tmp,root}
cp "$busybox" "$stage/bin/busybox"
# Relative links, unlike `busybox --install -s DIR`, which would point them
# at the host's busybox path rather than the one inside the image.
for applet in $("$busybox" --list); do
	[[ $applet == busybox ]] || ln -s busybox "$stage/bin/$applet"
done
# Some tools and scripts hard-code these paths.
ln -s bin "$stage/sbin"
mkdir -p "$stage/usr"
ln -s ../bin "$stage/usr/bin"
ln -s ../bin "$stage/usr/sbin"
for nf in "$@"; do
	install -m 0755 "$nf" "$stage/bin/"
done
install -m 0755 "$init" "$stage/init"

# libraries live in /usr/lib as on the host (merged /usr): one file each,
# whether reached by /lib/... or /usr/lib/... (DPDK registers a driver once
# per loaded copy, and two vdev buses find no device)
if ((${#dyn[@]} + ${#pmds[@]})); then
	mkdir -p "$stage/usr/lib" "$stage/usr/lib64"
	ln -s usr/lib "$stage/lib"
	ln -s usr/lib64 "$stage/lib64"
fi
# put PATH: the file PATH resolves to, at its real path, and PATH a link
# to it, as on the host: a library reached by two names (a DPDK driver is
# one in the plugin directory and a dependency of another) is one file,
# loaded once
put() {
	local real
	real=$(readlink -f "$1")
	if [[ ! -e $stage$real ]]; then
		mkdir -p "$stage$(dirname "$real")"
		cp "$real" "$stage$real"
	fi
	if [[ $1 != "$real" && ! -e $stage$1 ]]; then
		mkdir -p "$stage$(dirname "$1")"
		ln -s "$real" "$stage$1"
	fi
}
# libs FILE: the shared libraries FILE loads
libs() {
	local lib
	for lib in $(ldd "$1" | awk '$2 == "=>" && $3 ~ /^\// { print $3 } $1 ~ /^\// { print $1 }'); do
		put "$lib"
	done
}
for b in "${dyn[@]}"; do
	install -m 0755 "$b" "$stage/bin/"
	libs "$b"
done
for d in "${pmds[@]}"; do
	so=$pmd_dir/librte_$d.so
	[[ -e $so ]] || { echo "vm-image: no DPDK driver $so" >&2; exit 1; }
	put "$so"
	libs "$so"
done
for f in "${files[@]}"; do
	mkdir -p "$stage$(dirname "${f#*:}")"
	install -m 0755 "${f%%:*}" "$stage${f#*:}"
done

# Sorted names, root ownership and one mtime make the archive depend only on
# its inputs, so two builds of the same tree are byte-identical.
find "$stage" -exec touch -h -d @0 {} +
(cd "$stage" && find . -mindepth 1 -print0 | LC_ALL=C sort -z |
	cpio --null -o -H newc --owner=0:0 --reproducible --quiet) |
	gzip -9n > "$tmp"
mv "$tmp" "$out"
size=$(stat -c %s "$out")
echo "vm-image: initramfs $(awk -v b="$size" 'BEGIN { printf "%.1f MB", b / 1e6 }')" \
	"($# NFs: $(for nf in "$@"; do printf '%s ' "${nf##*/}"; done | sed 's/ $//'))"
