#!/bin/bash
# Idempotent set-up for building and running nfhost on Debian 12 as root:
# packages, hugepages, the hugetlbfs mount.  --bench: also what make
# bench's peers need (Open vSwitch with DPDK, gnuplot for the report's
# plots), which make test does not.
set -euo pipefail

PKGS=(build-essential pkg-config clang libclang-rt-dev dpdk dpdk-dev libdpdk-dev libnuma-dev libpcap-dev
      liburcu-dev check libjansson-dev libyaml-dev valgrind tcpdump iproute2 procps bc python3
      qemu-system-x86 busybox-static cpio libvirt-daemon libvirt-clients
      libvirt-daemon-driver-qemu libvirt-dev libssl-dev libhyperscan-dev python3-scapy
      libmicrohttpd-dev python3-prometheus-client)
[[ ${1:-} == --bench ]] && PKGS+=(openvswitch-switch-dpdk gnuplot-nox)
HUGEPAGES=${NFHOST_HUGEPAGES:-512}

missing=()
for p in "${PKGS[@]}"; do
	dpkg-query -W -f='${Status}' "$p" 2>/dev/null | grep -q "install ok installed" || missing+=("$p")
done
if ((${#missing[@]})); then
	if [[ $(id -u) -ne 0 ]]; then
		echo "deps: missing packages ${missing[*]}; run as root (or install them)" >&2
		exit 1
	fi
	echo "deps: installing ${missing[*]}"
	export DEBIAN_FRONTEND=noninteractive
	apt-get update -qq
	apt-get install -y -qq --no-install-recommends "${missing[@]}" >/dev/null
fi

have=$(cat /proc/sys/vm/nr_hugepages)
if ((have < HUGEPAGES)); then
	echo "deps: reserving $HUGEPAGES hugepages of 2 MiB (had $have)"
	echo "$HUGEPAGES" > /proc/sys/vm/nr_hugepages
	have=$(cat /proc/sys/vm/nr_hugepages)
	if ((have < HUGEPAGES)); then
		echo "deps: the kernel gave only $have hugepages (memory fragmented?)" >&2
		exit 1
	fi
fi
if ! grep -qs ' /dev/hugepages hugetlbfs ' /proc/mounts; then
	echo "deps: mounting hugetlbfs at /dev/hugepages"
	mkdir -p /dev/hugepages
	mount -t hugetlbfs nodev /dev/hugepages
fi
