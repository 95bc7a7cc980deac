#!/bin/bash
# 32 NFs share one CPU (issue 16), each the only service of a chain of its
# own, the flows spread over the chains by rules on the source port:
# all busy (every NF gets its share, every packet comes out once), then
# one busy (its flows only: the 31 others sleep through it, and nothing is
# lost); then a few hundred: 250 NFs in one region (--max-nfs 254), all
# busy.  Sleeping is the NFs' default.
. "$(dirname "$0")/lib.sh"
N=32
gen_pcap -n 20000 -f 2000 --round-robin --fixed 64 --ipv4 "$T/all.pcap"

# graph FILE: N services of nf-forward on the NFs' CPU, chain i = service
# i, source ports 1024-65535 cut into N ranges, one rule each; loaded into
# a core started without a chain, which holds its port until a graph gives
# it one (so every packet meets the rules)
graph() {
	$PY - "$1" "$N" "$NF_CPU" << 'PY'
import sys
path, n, cpu = sys.argv[1], int(sys.argv[2]), sys.argv[3]
with open(path, "w") as f:
    f.write("services:\n")
    for i in range(1, n + 1):
        f.write('  - {id: %d, name: s%d, nf: nf-forward, cores: "%s"}\n' % (i, i, cpu))
    f.write("chains:\n")
    for i in range(1, n + 1):
        f.write("  - {id: %d, name: c%d, services: [s%d]}\n" % (i, i, i))
    f.write("rules:\n")
    for i in range(1, n + 1):
        f.write('  - {id: %d, sport: "%d-%d", chain: c%d}\n' % (
            i, 1024 + (i - 1) * 64512 // n, 1024 + i * 64512 // n - 1, i))
    f.write("default: {chain: c1}\n")
PY
}

# run PCAP OUT [CORE OPTION...]: the core, the graph loaded (its N
# instances started by the manager), until the input drained
run() {
	start_core "net_pcap0,rx_pcap=$1,tx_pcap=$2" -- "${@:3}"
	nfh graph load "$T/g.yaml" > "$T/load.txt" 2>&1 || fail "graph load: $(cat "$T/load.txt")"
	track "$T/load.txt"
	wait_drained 60
	sleep 0.2
}

# nf_rx: every NF's rx_pkts and sleeps, "name rx sleeps" a line
nf_rx() {
	stats_json | $PY -c 'import json, sys
for n in json.load(sys.stdin)["nfs"]: print(n["name"], n["rx_pkts"], n["sleeps"])'
}

manager_state
ON_CLEANUP+=('[[ -f $T/load.txt ]] && track "$T/load.txt"')
# all_busy WHAT PCAP PACKETS [CORE OPTION...]: every packet out once, every
# NF served
all_busy() {
	local rx tx drops
	graph "$T/g.yaml"
	run "$2" "$T/out-$1.pcap" "${@:4}"
	nf_rx > "$T/$1.txt"
	read -r rx tx drops < <(stats_json | $PY -c 'import json, sys; j = json.load(sys.stdin); print(j["rx_pkts"], j["tx_pkts"], j["drops"])')
	echo "$1: $N NFs, rx $rx tx $tx drops $drops; packets per NF $(awk '{print $2}' "$T/$1.txt" | sort -n | sed -n '1p;$p' | paste -sd-)"
	((rx == $3 && tx == rx && drops == 0)) || fail "$1: rx $rx tx $tx drops $drops of $3"
	(($(wc -l < "$T/$1.txt") == N)) || fail "$1: $(wc -l < "$T/$1.txt") NFs in the stats, not $N"
	awk '$2 == 0 {exit 1}' "$T/$1.txt" || fail "$1: an NF got no packet: $(grep -E ' 0 [0-9]+$' "$T/$1.txt" | head -3)"
	stop_all
	"$B"/nfh-pcapcmp --unordered "$2" "$T/out-$1.pcap" || fail "$1: the output is not the input"
}

all_busy all-busy "$T/all.pcap" 20000

# one busy: only the flows of NF 7's range (source ports of range 7 of 32)
lo=$((1024 + 6 * 64512 / N))
hi=$((1024 + 7 * 64512 / N - 1))
NONE=$($PY -c 'import struct, sys
sys.path.insert(0, sys.argv[5])
from pcaptool import packets
lo, hi, n = int(sys.argv[3]), int(sys.argv[4]), 0
with open(sys.argv[2], "wb") as out:
    for hdr, rec, p in packets(sys.argv[1]):
        if n == 0 and out.tell() == 0:
            out.write(hdr)
        if p[23] in (6, 17) and lo <= struct.unpack("!H", p[34:36])[0] <= hi:
            out.write(rec + p)
            n += 1
print(n)' "$T/all.pcap" "$T/one.pcap" "$lo" "$hi" "$ROOT/tests/integration")
echo "$NONE packets of NF 7's flows"
((NONE > 100)) || fail "only $NONE packets in NF 7's source port range"

run "$T/one.pcap" "$T/one-out.pcap"
nf_rx > "$T/one.txt"
read -r rx tx drops < <(stats_json | $PY -c 'import json, sys; j = json.load(sys.stdin); print(j["rx_pkts"], j["tx_pkts"], j["drops"])')
echo "one busy: rx $rx tx $tx drops $drops; s7-1: $(grep '^s7-1 ' "$T/one.txt")"
((rx == NONE && tx == rx && drops == 0)) || fail "one busy: rx $rx tx $tx drops $drops of $NONE"
[[ $(awk '$1 == "s7-1" {print $2}' "$T/one.txt") == "$NONE" ]] || fail "NF 7 did not get all $NONE packets: $(grep '^s7-1 ' "$T/one.txt")"
awk '$1 != "s7-1" && $2 != 0 {exit 1}' "$T/one.txt" || fail "another NF got packets: $(cat "$T/one.txt")"
awk '$1 != "s7-1" && $3 == 0 {exit 1}' "$T/one.txt" || fail "an idle NF never slept: $(cat "$T/one.txt")"
stop_all
"$B"/nfh-pcapcmp --unordered "$T/one.pcap" "$T/one-out.pcap" || fail "one busy: the output is not the input"

# a few hundred NFs in one region, all on the one CPU, all busy
N=250
gen_pcap -n 25000 -f 5000 --round-robin --fixed 64 --ipv4 "$T/many.pcap"
all_busy many-busy "$T/many.pcap" 25000 --max-nfs 254
