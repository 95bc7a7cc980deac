#!/bin/bash
# Flow table expiry.  The data path only marks an entry's hint as seen; the
# sweep turns the mark into a time and drops entries idle for
# --flow-idle-ms.  Flows that keep sending must never expire, flows that
# stop must all be forgotten, and a forgotten flow that comes back is new.
. "$(dirname "$0")/lib.sh"
IDLE_MS=200
FLOWS=300

# "LIVE CREATED EXPIRED" from the status line of the flow table
flows() {
	"$B"/nfhost -r "$REGION" status |
		sed -n 's/^flows: on, \([0-9]*\) live of [0-9]*; created \([0-9]*\), expired \([0-9]*\),.*/\1 \2 \3/p'
}

# the same 300 flows over and over, from memory, as long as an NF serves
gen_pcap -n $FLOWS -f $FLOWS --round-robin --ipv4 --fixed 64 -s 5 "$T/flows.pcap"
start_core "net_pcap0,rx_pcap=$T/flows.pcap,infinite_rx=1" -- --chain 1 --flow-idle-ms $IDLE_MS
# a rule turns the flow table on; it sends its flows where the default does
"$B"/nfhost -r "$REGION" rule add --id 1 --proto udp --chain 0 > /dev/null
start_nf f1 nf-forward 1
wait_nfs 1

# 1. busy flows: six idle periods and not one expires
sleep $(echo "6 * $IDLE_MS / 1000" | bc -l)
read -r live created expired < <(flows)
echo "busy: $live live, $created created, $expired expired"
[[ -n $live ]] || fail "no flow table status"
((live == FLOWS && created == FLOWS)) || fail "want $FLOWS live flows, have $live live of $created created"
((expired == 0)) || fail "$expired busy flows expired"

# 2. the NF leaves: the chain has no instance, RX stops, every flow goes idle
# and is gone within two idle periods of its last packet (sweep granularity)
stop_nf "$NF_PID"
PIDS=()
sleep $(echo "2.5 * $IDLE_MS / 1000" | bc -l)
read -r live created expired < <(flows)
echo "idle: $live live, $created created, $expired expired"
((live == 0 && expired == FLOWS)) || fail "after the traffic stopped: $live live, $expired of $FLOWS expired"

# 3. they come back: new flows, classified afresh
start_nf f2 nf-forward 1
wait_nfs 1
for _ in $(seq 1 100); do
	read -r live created expired < <(flows)
	((live == FLOWS)) && break
	sleep 0.02
done
echo "back: $live live, $created created, $expired expired"
((live == FLOWS && created == 2 * FLOWS)) || fail "returning flows: $live live, $created created"
pkts=$("$B"/nfhost -r "$REGION" rule list | awk '$1 == 1 { print $NF }')
echo "rule 1 matched $pkts packets"
[[ $pkts =~ ^[0-9]+$ ]] && ((pkts > 0)) || fail "rule 1 counted no packets ('$pkts')"
stop_all
echo "ok: busy flows stay, idle flows expire, returning flows are new"
