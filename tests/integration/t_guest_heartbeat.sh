#!/bin/bash
# A guest nobody bound to its QEMU process hangs (QEMU stopped with
# SIGSTOP): its NF's heartbeat stands still, the core declares the NF dead
# after --guest-timeout-ms and reclaims what it held; the chain's other
# instance takes the traffic.  The core keeps the slot: the NF may only be
# frozen.  When the guest runs again, its NF sees it was given up on before
# touching its ring, acknowledges and exits, the guest powers off, and only
# then is the slot free.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 40000 -f 300 --fixed 64 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1 --guest-timeout-ms 800
GUEST_NOBIND=1 start_guest hung 4545 nf-zc-probe 1 -- --spin-ns 20000
start_nf survivor nf-zc-probe 1 --spin-ns 50000
wait_tx 1000
kill -STOP "$GUEST_PID"
t0=$(date +%s.%N)
tx_at_stop=$(stat_field tx_pkts)
for i in $(seq 1 300); do
	grep -q "guest NF 'hung' (slot .*) silent for 800 ms" "$T/core.log" && break
	sleep 0.01
done
grep -q "silent for 800 ms" "$T/core.log" || fail "core did not notice the silent guest NF"
printf 'declared dead %.2f s after the guest stopped\n' "$(echo "$(date +%s.%N) - $t0" | bc)"
kill -CONT "$GUEST_PID"
for i in $(seq 1 400); do
	kill -0 "$GUEST_PID" 2> /dev/null || break
	sleep 0.05
done
kill -0 "$GUEST_PID" 2> /dev/null && fail "the guest did not power off after its NF was declared dead"
grep -q "the core gave up on this NF" "$T/hung.log" || fail "guest NF did not say why it stopped"
grep -q "kept until its NF acknowledges" "$T/core.log" || fail "core did not keep the slot of a frozen NF"
for i in $(seq 1 100); do
	grep -q "saw it was given up on; slot free again" "$T/core.log" && break
	sleep 0.02
done
grep -q "saw it was given up on; slot free again" "$T/core.log" || fail "slot not freed after the NF acknowledged"
wait_drained 120
check_after_death 40000 "$tx_at_stop"
((RECLAIMED > 0)) || fail "nothing was reclaimed from the silent NF"
stop_all
"$B"/nfh-pcapcmp --expect-subset "$T/in.pcap" "$T/out.pcap" || fail "output has packets that were not input"
