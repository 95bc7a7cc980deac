#!/bin/bash
# The exporter (issue 17): `nfhost serve`'s /metrics parsed by Prometheus'
# own text parser, every value checked against `nfhost stats` and `graph
# show` once the input has drained (ports, NFs and their own counters,
# drops by reason, chains, rules, flow table, each chain's latency
# histogram, one entry per packet sent); then, with traffic flowing for
# ever, the exporter scraped, killed with SIGKILL mid-scrape and started
# again: the data path loses nothing and the core accounts for every
# buffer at the end.  /api/events streams the counters meanwhile.
. "$(dirname "$0")/lib.sh"
manager_state
PY=/usr/bin/python3 # Debian's, with python3-prometheus-client
gen_pcap -n 20000 -f 200 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1 --wait-nfs 2
cat > "$T/g.yaml" << EOF
services:
  - {id: 1, name: mon, nf: nf-monitor, cores: "$NF_CPU"}
  - {id: 2, name: fwd, nf: nf-forward, cores: "$NF_CPU"}
chains:
  - {id: 1, name: watched, services: [mon, fwd]}
  - {id: 2, name: udp, services: [mon, fwd]}
rules:
  - {id: 7, proto: udp, chain: udp}
default: {chain: watched}
EOF
ON_CLEANUP+=('[[ -f $T/load.txt ]] && track "$T/load.txt"')
nfh graph load "$T/g.yaml" > "$T/load.txt" 2>&1 || { track "$T/load.txt"; fail "graph load: $(cat "$T/load.txt")"; }
track "$T/load.txt"
nfh wait-drained --timeout 30 > /dev/null || fail "the input did not drain"
start_serve
nfh stats > "$T/stats.json"
nfh graph show --json > "$T/show.json"
"$PY" -c "import json, sys; sys.path.insert(0, sys.argv[1]); import api_client
print(json.dumps(api_client.ask(api_client.connect(sys.argv[2]), {'cmd': 'rule.list'})))" "$(dirname "$0")" \
	"/run/nfhost/$NAME.sock" > "$T/rules.json" || fail "rule.list did not answer"
"$PY" "$(dirname "$0")/metrics_check.py" "$URL" "$T/stats.json" "$T/show.json" "$T/rules.json" ||
	fail "/metrics differs from nfhost"
# nothing was dropped: each packet's latency was measured once, in the
# chain the classifier sent it down (the core's --chain 0 until the graph
# came, then chain 1)
"$PY" -c "import json, sys
l = {c['chain']: c for c in json.load(open(sys.argv[1]))['latency']}
pk = {c['id']: c['pkts'] for c in json.load(open(sys.argv[2]))['status']['chains']}
assert sum(c['count'] for c in l.values()) == 20000, l
assert all(c['count'] == pk.get(i) for i, c in l.items()), (l, pk)
for i, c in sorted(l.items()):
    print('chain %d: %d packets, receive to transmit p50 %d ns, p99 %d ns, max %d ns' % (i, c['count'], c['p50_ns'], c['p99_ns'], c['max_ns']))
" "$T/stats.json" "$T/show.json" || fail "nfhost stats: the chains' latencies do not count each packet once"
"$PY" -c "import json, sys, urllib.request
a = json.load(urllib.request.urlopen(sys.argv[1] + '/api/stats', timeout=10))
b = json.load(open(sys.argv[2]))
assert a['rx_pkts'] == b['rx_pkts'] and [n['name'] for n in a['nfs']] == [n['name'] for n in b['nfs']], (a, b)
" "$URL" "$T/stats.json" || fail "/api/stats differs from nfhost stats"
stop_all
"$B"/nfh-pcapcmp "$T/in.pcap" "$T/out.pcap" > /dev/null || fail "output differs from input"

# traffic for ever: scrapes every 100 ms, the exporter killed mid-scrape
# and started again, and the data path neither drops nor leaks
start_core "net_pcap0,rx_pcap=$T/in.pcap,infinite_rx=1" -- --chain 1 --wait-nfs 1
start_nf fwd nf-forward 1
wait_nfs 1
start_serve
for i in $(seq 1 10); do
	"$PY" "$(dirname "$0")/metrics_check.py" "$URL" --up > /dev/null || fail "scrape $i failed"
	sleep 0.1
done
# top: each NF's rate and CPU, each chain's rate and p50/p99, a second
nfh top -c 1 > "$T/top.txt" || fail "nfhost top failed: $(cat "$T/top.txt")"
cat "$T/top.txt"
grep -Eq "^  NF fwd +service +1 +[0-9.]+ Mpps  CPU +[0-9.]+%$" "$T/top.txt" || fail "top shows no rate and CPU for NF fwd"
grep -Eq "^  chain +0 +[0-9.]+ Mpps out  receive to transmit p50 [0-9.]+ (us|ms), p99 [0-9.]+ (us|ms)$" "$T/top.txt" ||
	fail "top shows no latency for chain 0"
# the event stream: the counters a few times a second, moving
"$PY" - "$URL" << 'PY' || fail "/api/events did not stream the counters"
import json, sys, time, urllib.request
r = urllib.request.urlopen(sys.argv[1] + "/api/events", timeout=10)
assert r.headers["Content-Type"] == "text/event-stream", r.headers["Content-Type"]
t0, rx, ev = time.monotonic(), [], None
while len(rx) < 5:
    line = r.readline().decode().rstrip("\n")
    if line.startswith("event: "):
        ev = line[7:]
    elif line.startswith("data: "):
        assert ev == "stats", "event %r: %s" % (ev, line)
        rx.append(json.loads(line[6:])["rx_pkts"])
dt = time.monotonic() - t0
assert rx == sorted(rx) and rx[-1] > rx[0], rx
assert 0.6 < dt < 5, "5 events in %.2f s, expected about 1 s (250 ms apart)" % dt
print("/api/events: 5 events in %.2f s, rx %d to %d" % (dt, rx[0], rx[-1]))
PY
rx0=$(stat_field rx_pkts)
# a scrape in flight when it dies (it may also not have connected yet)
"$PY" -c "import sys, urllib.request; urllib.request.urlopen(sys.argv[1] + '/metrics', timeout=10)" "$URL" \
	> /dev/null 2>&1 &
scraper=$!
sleep 0.01
kill -KILL "$SERVE_PID"
wait "$SERVE_PID" 2> /dev/null || true
wait "$scraper" 2> /dev/null || true
start_serve
"$PY" "$(dirname "$0")/metrics_check.py" "$URL" --up || fail "the restarted exporter does not answer"
sleep 0.5
rx1=$(stat_field rx_pkts)
((rx1 > rx0)) || fail "traffic stopped after the exporter was killed ($rx0 then $rx1 packets)"
drops=$(stat_field drops)
((drops == 0)) || fail "the data path dropped $drops packets while the exporter was killed and restarted"
echo "traffic went on: $rx0 then $rx1 packets received, 0 dropped"
kill -TERM "$SERVE_PID"
wait "$SERVE_PID" || fail "nfhost serve exited $? on SIGTERM"
grep -q "stopped (SIGTERM) after" "$T/serve.log" || fail "nfhost serve did not say it stopped: $(cat "$T/serve.log")"
stop_all
