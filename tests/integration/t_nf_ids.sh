#!/bin/bash
# nf-ids on a crafted pcap (ids_pcap.py): alerts as JSON lines with flow and
# signature (a signature split over three segments fires once, and not
# when the pieces are in different flows; nocase; hex; IPv6; VLAN); inline,
# a drop rule drops the rest of its flow and asks the core to drop it;
# fragments pass unscanned, runts are dropped, all counted by name; a
# SIGHUP reload: a bad rules file refused with FILE:LINE, a good one taken.
. "$(dirname "$0")/lib.sh"

counter() { nf_counter ids "$1"; }
wait_counter() { wait_nf_counter ids "$@"; }

$PY "$(dirname "$0")/ids_pcap.py" "$T/in.pcap"
cat > "$T/ids.rules" << 'RULES'
alert tcp any any -> any 80 (msg:"attack split"; content:"ATTACK-SIGNATURE"; sid:1;)
alert tcp any any -> any any (msg:"cmd"; content:"cmd.exe"; nocase; sid:2;)
alert tcp any any -> any any (msg:"hex"; content:"A|00 ff|B|0d0a|"; sid:3;)
drop tcp any any -> any 8080 (msg:"evil"; content:"EVIL"; sid:6;)
alert udp any any -> any 53 (msg:"dns bad.com"; content:"|03|bad|03|com"; nocase; sid:7;)
RULES
cat > "$T/ids.yaml" << 'YAML'
rules: ids.rules
mode: inline
alerts: alerts.json
YAML

start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1
start_nf ids nf-ids 1 -c "$T/ids.yaml"
IDS=$NF_PID
wait_nfs 1
wait_drained 30

# which packets came out: every tag but the dropped flow's rest and the runt
$PY - "$T/out.pcap" << 'PY' > "$T/tags.out"
import sys
from scapy.all import IP, IPv6, rdpcap
tags = sorted(p[IP].id if IP in p else p[IPv6].fl for p in rdpcap(sys.argv[1]) if IP in p or IPv6 in p)
print(" ".join(map(str, tags)))
PY
want="1 2 3 4 5 6 7 8 9 20 21 22 30 31 32 40 50 51 60 70"
[[ $(cat "$T/tags.out") == "$want" ]] || fail "out: $(cat "$T/tags.out"), expected $want"
$PY "$(dirname "$0")/scapy_check.py" checksums "$T/out.pcap" > /dev/null || fail "bad checksums in the output"

wait_counter alerts '==' 5
wait_counter flows_dropped '==' 1
wait_counter core_rules '==' 1
wait_counter frags '==' 1
wait_counter trunc_l3 '==' 1 # the runt: its IPv4 header cut short
wait_counter streams_open '==' 5 # 30, 31, 32, IPv6, VLAN: no FIN; flow 1 closed both ways
wait_counter rules '==' 5
(( $(counter pkts_dropped) >= 2 )) || fail "pkts_dropped $(counter pkts_dropped)"
grep -q "refused a flow rule" "$T/core.log" && fail "the core refused the drop rule"

# reload: a bad rules file is refused with its line, the rules stay
printf 'alert tcp any any -> any 80 (content:"x"; sid:1;)\nalert tcp any any -> any 80 (content:"y"; sid:1;)\n' \
	> "$T/ids.rules"
kill -HUP "$IDS"
wait_counter reload_errors '==' 1
grep -q "reload refused.*ids.rules:2: sid: 1 is the sid of the rule at line 1" "$T/ids.log" ||
	fail "bad reload not reported with FILE:LINE: $(tail -3 "$T/ids.log")"
[[ $(counter rules) == 5 ]] || fail "a refused reload changed the rules"
printf 'alert tcp any any -> any 80 (content:"x"; sid:1;)\n' > "$T/ids.rules"
kill -HUP "$IDS"
wait_counter reloads '==' 1
wait_counter rules '==' 1
wait_counter dbs '==' 2 # the old database stays for the open streams

stop_all
# the alerts, as JSON lines: each signature once, with its flow
$PY - "$T/alerts.json" << 'PY' || fail "alerts: $(cat "$T/alerts.json")"
import json, sys
a = [json.loads(line) for line in open(sys.argv[1])]
got = sorted((x["sid"], x["src"], x["sport"], x["dst"], x["dport"], x["proto"], x["direction"], x["action"],
              x["blocked"]) for x in a)
want = sorted([
    (1, "10.0.0.1", 40000, "10.0.0.2", 80, "tcp", "to_server", "alert", False),
    (2, "2001:db8::1", 40002, "2001:db8::2", 8000, "tcp", "to_server", "alert", False),
    (3, "10.0.0.1", 40003, "10.0.0.2", 9000, "tcp", "to_server", "alert", False),
    (6, "10.0.0.3", 40001, "10.0.0.2", 8080, "tcp", "to_server", "drop", True),
    (7, "10.0.0.1", 5353, "10.0.0.53", 53, "udp", "to_server", "alert", False),
])
assert got == want, f"got {got}"
assert all(x["time"].endswith("Z") and x["msg"] for x in a)
PY
echo "ok: 5 alerts as JSON lines, the dropped flow's rest dropped and the core asked, fragment and runt counted, reload"
