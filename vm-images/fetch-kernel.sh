#!/bin/bash
# fetch-kernel.sh VMDIR: put Debian's cloud kernel at VMDIR/vmlinuz.
# The cloud flavour boots fast and has virtio/PCI built in; we only need its
# vmlinuz, so the .deb is downloaded and unpacked, never installed on the host.
set -euo pipefail
shopt -s nullglob

vm=${1:?usage: fetch-kernel.sh VMDIR}
meta=linux-image-cloud-amd64
cache=$vm/cache

# The metapackage only points at the current ABI-versioned package.
resolve() {
	apt-cache depends "$meta" 2>/dev/null |
		awk '$1 == "Depends:" && $2 ~ /^linux-image-/ { print $2; exit }'
}

# apt-get download writes to the current directory; the _apt sandbox user
# may not be able to write there, and we run as root anyway.
download() {
	(cd "$cache" && apt-get download -qq -o APT::Sandbox::User=root "$1") >&2
}

mkdir -p "$cache"
# Concurrent makes on one build dir must not both download into the cache.
exec 9> "$cache/.lock"
flock 9
pkg=$(resolve || true)
debs=()
[[ -z $pkg ]] || debs=("$cache/${pkg}"_*.deb)
if ((${#debs[@]})); then
	echo "vm-image: kernel $pkg (cached)"
else
	# Only refresh the lists when we cannot resolve or fetch with what we have:
	# an update is slow and changes host state.
	if [[ -z $pkg ]] || ! download "$pkg"; then
		echo "vm-image: apt lists missing or stale, running apt-get update"
		apt-get update -qq
		pkg=$(resolve)
		[[ -n $pkg ]] || { echo "vm-image: apt knows no $meta" >&2; exit 1; }
		download "$pkg"
	fi
	debs=("$cache/${pkg}"_*.deb)
	((${#debs[@]})) || { echo "vm-image: apt-get download left no $pkg .deb" >&2; exit 1; }
	echo "vm-image: kernel $pkg (downloaded $(du -h "${debs[-1]}" | cut -f1))"
fi

# Unpack beside the target and rename, so an interrupted run leaves no
# half-written vmlinuz that make would take as up to date.
tmp=$(mktemp -d "$vm/kernel.XXXXXX")
trap 'rm -rf "$tmp"' EXIT
# Normally one file: the cache holds what this package name was fetched as.
deb=${debs[-1]}
dpkg-deb -x "$deb" "$tmp"
imgs=("$tmp"/boot/vmlinuz-*)
((${#imgs[@]} == 1)) || { echo "vm-image: want one boot/vmlinuz-* in $deb" >&2; exit 1; }
img=${imgs[0]}
echo "$pkg $(dpkg-deb -f "$deb" Version)" > "$vm/kernel.txt"
# The packaged mtime predates this script; make must see a fresh target.
touch "$img"
mv "$img" "$vm/vmlinuz"
