#!/bin/bash
# nf-lb, the load balancer, as two instances of one service on crafted
# conversations (tests/integration/nf_lb_pcap.py): client packets to a VIP
# reach a backend, all of a connection's the same one; replies come back
# from VIP:port, whichever instance they reach (the core hashes (backend,
# client), not (client, VIP)); what is no service's passes as it was;
# hostile frames and later fragments are dropped and counted by name; every
# checksum is right by scapy.  Then one instance on a looping capture of
# open connections: a reload that removes a backend keeps every connection
# (no new one is made), a reload with an ambiguous backend is refused with
# FILE:LINE and changes nothing.
. "$(dirname "$0")/lib.sh"

GEN=$ROOT/tests/integration/nf_lb_pcap.py

# counter NF NAME: NF's counter NAME (nfhost stats, by name); 0 until the
# NF has published its counters
counter() {
	stats_json | python3 -c '
import json, sys
c = [n for n in json.load(sys.stdin)["nfs"] if n["name"] == sys.argv[1]][0]
v = c["counters"].get(sys.argv[2], c.get(sys.argv[2], 0))
print(v["value"] if isinstance(v, dict) else v)' "$1" "$2"
}

# wait_counter NF NAME OP VALUE: until it holds (published every 10 ms), 10 s at most
wait_counter() {
	local i v
	for i in $(seq 1 500); do
		v=$(counter "$1" "$2")
		(($v $3 $4)) && return 0
		sleep 0.02
	done
	fail "$1's $2 is $v, wanted $3 $4$(core_gone)"
}

cat > "$T/lb.yaml" <<'EOF'
services:
  - name: web
    vip: 192.0.2.10
    port: 80
    backends:
      - {addr: 10.1.0.1, port: 8080}
      - {addr: 10.1.0.2, port: 8080, weight: 2}
      - {addr: 10.1.0.3, port: 8080}
  - name: dns
    vip: 192.0.2.10
    port: 53
    proto: udp
    backends:
      - {addr: 10.1.1.1, port: 5353}
      - {addr: 10.1.1.2, port: 5353}
  - name: web6
    vip: "2001:db8::10"
    port: 443
    backends:
      - {addr: "2001:db8:1::1", port: 8443}
      - {addr: "2001:db8:1::2", port: 8443}
EOF

# ---- 1. two instances on the conversations -----------------------------
$PY "$GEN" gen "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1 --wait-nfs 2
start_nf lba nf-lb 1 -c "$T/lb.yaml"
start_nf lbb nf-lb 1 -c "$T/lb.yaml"
wait_nfs 2
wait_drained
sleep 0.1 # the last counters published
stats_json > "$T/stats.json" # one snapshot: the TCP connections expire in 10 s
declare -A sum
for c in new_conns conn_hits replies_rewritten reply_conn_hits not_vip not_ip frag_first frag_later_drop \
	drop_trunc_l3 drop_trunc_l4 drop_bad_l4 no_backend conns; do
	read -r a b < <(python3 -c '
import json, sys
nfs = {n["name"]: n["counters"] for n in json.load(open(sys.argv[1]))["nfs"]}
print(nfs["lba"][sys.argv[2]]["value"], nfs["lbb"][sys.argv[2]]["value"])' "$T/stats.json" $c)
	sum[$c]=$((a + b))
	printf '%-18s %4d = lba %4d + lbb %4d\n' "$c" "${sum[$c]}" "$a" "$b"
done
# 40 + 8 TCP connections (SYN, data, FIN, ACK: 4 client packets, 3 replies),
# 10 DNS queries and answers, a first fragment: 59 connections
want="new_conns=59 conn_hits=144 replies_rewritten=154 not_vip=6 not_ip=1 frag_first=1 frag_later_drop=2"
want+=" drop_trunc_l3=3 drop_trunc_l4=3 drop_bad_l4=1 no_backend=0 conns=59"
for w in $want; do
	[[ ${sum[${w%=*}]} == "${w#*=}" ]] || fail "${w%=*} is ${sum[${w%=*}]}, wanted ${w#*=}"
done
python3 -c '
import json, sys
for n in json.load(open(sys.argv[1]))["nfs"]:
    if n["counters"]["new_conns"]["value"] == 0 or n["counters"]["replies_rewritten"]["value"] == 0:
        sys.exit("instance %s got no connections or no replies: the test does not test two instances" % n["name"])
' "$T/stats.json" || fail "one instance did all the work"
# replies that reached the instance without their connection: rewritten
# from the configuration alone
((${sum[reply_conn_hits]} < ${sum[replies_rewritten]})) ||
	fail "every reply reached its connection's instance: the stateless rewrite went untested"
echo "$((${sum[replies_rewritten]} - ${sum[reply_conn_hits]})) replies rewritten by the instance without the connection"
stop_all
$PY "$GEN" check "$T/in.pcap" "$T/out.pcap" || fail "the output is not what nf-lb should make of the input"
$PY "$ROOT/tests/integration/scapy_check.py" checksums "$T/out.pcap" || fail "bad checksums in the output"

# ---- 2. reloads: a backend removed, connections kept; an ambiguous file refused
$PY "$GEN" reload "$T/loop.pcap" 30
start_core "net_pcap0,rx_pcap=$T/loop.pcap,infinite_rx=1" -- --chain 1
start_nf lb nf-lb 1 -c "$T/lb.yaml"
LB=$NF_PID
wait_nfs 1
wait_counter lb conn_hits '>' 2000
[[ $(counter lb new_conns) == 30 ]] || fail "new_conns $(counter lb new_conns) on a loop of 30 connections"
sed -i '/10.1.0.2/d' "$T/lb.yaml"
kill -HUP "$LB"
wait_counter lb generation '==' 2
hits=$(counter lb conn_hits)
removed=$(counter lb conns_on_removed)
echo "reload: $removed of 30 connections on the removed backend 10.1.0.2, kept"
((removed > 0)) || fail "no connection was on the removed backend (weight 2 of 4): the test tests nothing"
wait_counter lb conn_hits '>' $((hits + 2000))
[[ $(counter lb new_conns) == 30 && $(counter lb conns) == 30 ]] ||
	fail "after the reload: new_conns $(counter lb new_conns), conns $(counter lb conns): connections were not kept"
cat >> "$T/lb.yaml" <<'EOF'
  - name: api
    vip: 192.0.2.20
    port: 80
    backends:
      - {addr: 10.1.0.1, port: 8080}
EOF
kill -HUP "$LB"
wait_counter lb reload_errors '==' 1
grep -q "reload refused.*lb.yaml:[0-9]*: services\[3\].backends\[0\]: backend 10.1.0.1:8080/tcp is a backend of service 'web' already (line 2)" "$T/lb.log" ||
	fail "the ambiguous backend was not refused with FILE:LINE: $(tail -2 "$T/lb.log")"
grep -o "lb.yaml:[0-9]*: services.*" "$T/lb.log"
[[ $(counter lb generation) == 2 ]] || fail "a refused reload changed the configuration"
stop_all
echo "ok: 2 instances balanced, replies rewritten by either, drops counted, checksums right; reload keeps connections"
