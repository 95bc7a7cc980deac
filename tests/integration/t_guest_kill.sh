#!/bin/bash
# A guest destroyed mid-traffic (its QEMU killed with SIGKILL, as `virsh
# destroy` or a crash would): the core notices within a second, reclaims
# the buffers in its rings, the host instance of the same service takes its
# flows, and every buffer is back in the pool at shutdown.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 60000 -f 500 --fixed 64 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2
start_nf mon nf-monitor 1
# the guest first (traffic waits until service 2 has an instance), slow
# enough that its ring holds packets when it is killed
start_guest victim 4343 nf-zc-probe 2 -- --spin-ns 20000
start_nf survivor nf-zc-probe 2 --spin-ns 50000
for i in $(seq 1 600); do
	"$B"/nfhost -r "$REGION" guest show 4343 | grep -qE 'rx ([5-9][0-9]{2}|[0-9]{4,})' && break
	sleep 0.05
done
"$B"/nfhost -r "$REGION" guest show 4343 | grep -qE 'rx ([5-9][0-9]{2}|[0-9]{4,})' || fail "guest got no traffic"
t0=$(date +%s.%N)
kill -KILL "$GUEST_PID"
wait "$GUEST_PID" 2> /dev/null || true
tx_at_kill=$(stat_field tx_pkts)
for i in $(seq 1 200); do
	grep -q "guest 4343 .* ended" "$T/core.log" && break
	sleep 0.005
done
notice=$(echo "$(date +%s.%N) - $t0" | bc)
grep -q "guest 4343 .* ended" "$T/core.log" || fail "core did not notice the guest's end"
printf 'core noticed the destroyed guest after %.3f s\n' "$notice"
(($(echo "$notice < 1" | bc))) || fail "noticed after $notice s, not within a second"
((tx_at_kill < 50000)) || fail "traffic was over before the kill ($tx_at_kill sent)"
wait_drained 180
check_after_death 60000 "$tx_at_kill"
((RECLAIMED > 0)) || fail "nothing was reclaimed: the guest held no buffers when it died"
grep -q "vanished; reclaiming" "$T/core.log" || fail "core did not reclaim the guest NF's slot"
stop_all
"$B"/nfh-pcapcmp --expect-subset "$T/in.pcap" "$T/out.pcap" || fail "output has packets that were not input"
