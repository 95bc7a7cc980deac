#!/bin/bash
# NF ACLs (SDNFV): service 2's NF hands the core its rule set, the core
# classifies each flow's first packet and every packet reaches the NF with
# the winning rule's id, which the NF checks against its own linear scan of
# the rules.  Hostile ACL messages are refused first, each with its reason,
# and counted; a set installed from the run loop mid-stream (a reload)
# changes the answers; UDP dropped by id; the ACL goes when the NF leaves.
. "$(dirname "$0")/lib.sh"
N=30000
gen_pcap -n $N -f 2000 -s 5 --ipv4 --fixed 128 "$T/in.pcap"
# clients are 10.0.0.0/16, servers 172.16.0.0/20 (nfh-pcapgen)
cat > "$T/a.rules" << 'R'
# id prio src dst sport dport proto
10 10 10.0.0.0/8 0.0.0.0/0 0-65535 0-65535 6
20 20 0.0.0.0/0 172.16.0.0/12 0-65535 80-80 6
30 5 0.0.0.0/0 0.0.0.0/0 0-65535 0-65535 17
41 10 172.16.0.0/12 0.0.0.0/0 0-65535 0-65535 any
40 10 172.16.0.0/12 0.0.0.0/0 0-65535 0-65535 any
R
cat > "$T/b.rules" << 'R'
77 1 0.0.0.0/0 0.0.0.0/0 0-65535 0-65535 any
78 2 10.0.0.0/8 172.16.0.0/12 1024-65535 0-1023 6
R
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2 --max-inflight 256
errs0=$(stat_field ctrl_errors)
# the probe installs its rules before service 1 comes: no packet moves before
start_nf p2 nf-acl-probe 2 --hostile --rules "$T/a.rules" --reload "$T/b.rules" --reload-at 15000 --drop 30
P2=$NF_PID
for _ in $(seq 1 500); do grep -q "installed 5 rules" "$T/p2.log" && break; sleep 0.02; done
grep -q "installed 5 rules" "$T/p2.log" || fail "the probe did not install its rules"
grep -q "hostile: 10 of 10 refused as expected" "$T/p2.log" || fail "a hostile ACL was not refused as expected"
errs=$(($(stat_field ctrl_errors) - errs0))
echo "core: $errs control errors counted for the hostile messages"
# 10 refused sets (5 at the commit only, 2 whose rules were ignored too)
((errs >= 12)) || fail "only $errs refusals counted"
start_nf f1 nf-forward 1
wait_nfs 2
wait_drained 60
grep -q "installed 2 rules" "$T/p2.log" || fail "the reload did not install"
stop_nf "$P2"
for _ in $(seq 1 250); do grep -q "service 2: its last instance left" "$T/core.log" && break; sleep 0.02; done
grep -q "service 2: its last instance left, its ACL with it" "$T/core.log" || fail "the ACL outlived its NF"
stop_all
grep '^acl-probe' "$T/p2.log"
read -r pkts wrong stale noacl < <(sed -n 's/^acl-probe: \([0-9]*\) packets, \([0-9]*\) with a wrong answer, \([0-9]*\) stale, \([0-9]*\) without.*/\1 \2 \3 \4/p' "$T/p2.log")
id_n() { sed -n "s/^acl-probe: id $1: \([0-9]*\) packets/\1/p" "$T/p2.log"; }
[[ -n $pkts ]] || fail "the probe did not report"
((pkts == N)) || fail "the probe saw $pkts of $N packets"
((wrong == 0)) || fail "$wrong packets carried a wrong rule id"
((noacl == 0)) || fail "$noacl packets came without the ACL's answer"
for i in 10 20 30 40 77 78; do [[ -n $(id_n $i) ]] || fail "no packet matched rule $i"; done
[[ -z $(id_n 41) ]] || fail "rule 41 won over rule 40 (equal priority: the lower id wins)"
((stale < 1000)) || fail "$stale packets kept the old set's answer after the reload"
echo "ok: $pkts packets with the right rule ids, $stale in flight at the reload, hostile sets refused, ACL gone with its NF"
