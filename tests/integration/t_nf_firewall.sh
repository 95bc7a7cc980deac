#!/bin/bash
# nf-firewall with the real core and the real ACL path (the core's rte_acl
# classifies for the NF, nfg_acl_set): 1005 rules.
#   1. crafted flows (tests/integration/fw_traffic.py): which packets come
#      out, byte for byte, and the counters by name: a whole connection and
#      data after its close, no rule, a deny rule, mid-stream, a RST
#      mid-connection, UDP and ICMP echo both ways, ICMP errors related or
#      not, IPv6 by the NF's fallback, VLAN, fragments, a runt, ARP.
#   2. a reload (SIGHUP) on looping traffic: a rule denying B's source;
#      connection A, established before, goes on passing (not checked
#      again), B's new connections are denied; a bad file is refused with
#      FILE:LINE and the rules before stay.
. "$(dirname "$0")/lib.sh"
TR="$PY $ROOT/tests/integration/fw_traffic.py"

counter() { nf_counter fw "$1"; }
wait_counter() { wait_nf_counter fw "$@"; }

$TR conf "$T/fw.yaml"
$TR phase1 "$T/in.pcap" "$T/expect.txt"

# ---- 1. crafted flows --------------------------------------------------
# service 2 (nf-forward) comes once the firewall has handed the core its
# rules: no packet moves before, so the core classifies every IPv4 flow
# (packets that came before the rules would take the NF's fallback)
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2
start_fw() {
	start_nf fw nf-firewall 1 -c "$T/fw.yaml"
	FW=$NF_PID
	for _ in $(seq 1 500); do grep -q "^firewall: .* rules" "$T/fw.log" && break; sleep 0.02; done
	grep -q "^firewall: .* rules" "$T/fw.log" || fail "the firewall did not start: $(cat "$T/fw.log")"
	start_nf fwd nf-forward 2
	wait_nfs 2
}
start_fw
wait_drained 30
sleep 0.1 # the last counters published (every 10 ms)
declare -A want=([passed]=26 [drop_bad_state]=5 [drop_no_rule]=3 [drop_deny_rule]=1 [drop_frag]=1
	[drop_invalid]=2 [invalid_trunc_l3]=1 [invalid_not_ip]=1 [related]=1 [frag_passed]=2 [fallback]=3
	[conn_new]=7 [rules]=1005)
for k in "${!want[@]}"; do
	v=$(counter "$k")
	echo "  $k = $v"
	[[ $v == "${want[$k]}" ]] || fail "counter $k is $v, expected ${want[$k]}"
done
grep -q "1005 rules (1004 IPv4 to the core, 1 IPv6)" "$T/fw.log" || fail "the firewall did not say its rules: $(cat "$T/fw.log")"
stop_all
$TR check "$T/in.pcap" "$T/expect.txt" "$T/out.pcap" || fail "the wrong packets came out"

# ---- 2. a reload on looping traffic ------------------------------------
$TR phase2 "$T/loop.pcap"
start_core "net_pcap0,rx_pcap=$T/loop.pcap,infinite_rx=1" -- --chain 1,2
start_fw
wait_counter conn_new '>' 100
[[ $(counter drop_deny_rule) == 0 ]] || fail "B denied before the reload"
$TR conf "$T/fw.yaml" 10.0.0.2
kill -HUP "$FW"
wait_counter reloads '==' 1
wait_counter drop_deny_rule '>' 100
# from now on no connection opens, and A's packets pass
new=$(counter conn_new) passed=$(counter passed) denied=$(counter drop_deny_rule)
wait_counter drop_deny_rule '>' $((denied + 1000))
(( $(counter conn_new) <= new + 1 )) || fail "connections opened after the reload denied them"
(( $(counter passed) >= passed + 8000 )) || fail "connection A did not go on passing after the reload"
[[ $(counter rules) == 1006 ]] || fail "rules $(counter rules) after the reload"
# a bad file: refused with its line, the rules before stay
echo "  - {id: 61, action: alow}" >> "$T/fw.yaml"
kill -HUP "$FW"
wait_counter reload_errors '==' 1
grep -q "fw.yaml:1010: rules\[1006\].action: 'alow': expected allow or deny" "$T/fw.log" ||
	fail "bad reload not reported with file and line: $(tail -3 "$T/fw.log")"
denied=$(counter drop_deny_rule)
wait_counter drop_deny_rule '>' $((denied + 1000))
[[ $(counter rules) == 1006 ]] || fail "a refused reload changed the rules"
echo "  after the reload: conn_new $(counter conn_new), drop_deny_rule $(counter drop_deny_rule), passed $(counter passed)"
stop_all
echo "ok: crafted flows pass and drop as the policy says, counted by reason; a reload keeps connections and denies new ones"
