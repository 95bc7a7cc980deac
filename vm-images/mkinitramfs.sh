#!/bin/bash
# mkinitramfs.sh OUT INIT NF...: pack busybox, INIT as /init and the static
# NF binaries into the gzipped newc cpio OUT.
set -euo pipefail

out=${1:?usage: mkinitramfs.sh OUT INIT NF...}
init=${2:?usage: mkinitramfs.sh OUT INIT NF...}
shift 2
busybox=/bin/busybox

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
