#!/bin/bash
# nf-nat on a crafted conversation (tests/integration/nat_pcap.py): both
# directions through one port pair, replies after the packets that made
# their mappings.  The output is held byte for byte to what scapy built
# (addresses, ports, echo identifiers, an ICMP error's quote translated
# back; every checksum recomputed by scapy), then checked again by
# scapy_check.py; drops by policy and by reason counted by name; a reload
# keeps the mappings, a bad one is refused with file and line.
. "$(dirname "$0")/lib.sh"

# counter NAME: nf-nat's named counter (or a slot field) from nfhost stats
counter() {
	stats_json | $PY -c '
import json, sys
n = [n for n in json.load(sys.stdin)["nfs"] if n["name"] == "nat"][0]
v = n["counters"][sys.argv[1]] if sys.argv[1] in n["counters"] else n[sys.argv[1]]
print(v["value"] if isinstance(v, dict) else v)' "$1"
}

wait_counter() {
	local i v
	for i in $(seq 1 250); do
		v=$(counter "$1")
		(($v $2 $3)) && return 0
		sleep 0.02
	done
	fail "counter $1 is $v, wanted $2 $3$(core_gone)"
}

$PY "$ROOT/tests/integration/nat_pcap.py" gen "$T/in.pcap" "$T/want.pcap"
# one pool address, 64 ports: the ports handed out are the lowest free
cat > "$T/nat.yaml" << 'YAML'
inside: [10.0.0.0/8]
pool:
  addresses: [192.0.2.1]
  ports: 20000-20063
YAML
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1
start_nf nat nf-nat 1 -c "$T/nat.yaml"
NAT=$NF_PID
wait_nfs 1
wait_drained
# counters are published every 10 ms
wait_counter translated_out == 72
declare -A want=([translated_in]=8 [icmp_errors]=1 [no_mapping]=2 [pool_exhausted]=3 [mappings]=67
	[frag_dropped]=1 [untranslatable]=1 [passed_other]=1 [ipv6_passed]=1 [trunc_l2]=1 [trunc_l3]=1
	[mapping_expired]=0)
for c in "${!want[@]}"; do
	[[ $(counter "$c") == "${want[$c]}" ]] || fail "counter $c is $(counter "$c"), wanted ${want[$c]}"
done
echo "counters: translated out 72, in 8, 1 ICMP error back; no mapping 2, pool exhausted 3, 67 mappings"

# a reload with other timeouts keeps every mapping
printf 'timeouts: {udp: 600}\n' >> "$T/nat.yaml"
kill -HUP "$NAT"
wait_counter reloads == 1
grep -q "reload: 67 mappings kept, 0 flushed" "$T/nat.log" || fail "reload: $(tail -2 "$T/nat.log")"
[[ $(counter mappings) == 67 ]] || fail "mappings $(counter mappings) after the reload"
# a bad one is refused, naming file, line and field; the mappings stay
printf 'fragments: reassemble\n' >> "$T/nat.yaml"
kill -HUP "$NAT"
wait_counter reload_errors == 1
grep -q "nat.yaml:6: fragments: 'reassemble': expected drop or pass" "$T/nat.log" ||
	fail "bad reload not reported with file and line: $(tail -2 "$T/nat.log")"
[[ $(counter mappings) == 67 ]] || fail "mappings $(counter mappings) after a refused reload"

stop_all
$PY "$ROOT/tests/integration/nat_pcap.py" check "$T/want.pcap" "$T/out.pcap" || fail "output differs from what scapy expects"
$PY "$ROOT/tests/integration/scapy_check.py" checksums "$T/out.pcap" || fail "bad checksums in the output"
echo "ok: nf-nat translated a conversation both ways byte for byte as scapy expects; drops counted; reload kept its mappings"
