#!/bin/bash
# Live changes without loss.  While packets flow at full load (the NFs are
# the bottleneck; the core keeps --max-inflight packets inside and
# back-pressures the port), tests/integration/live_change.py changes the
# tables through the nfhost CLI, dozens of times: chains are redefined,
# created and deleted, and rules that send flows to another chain, straight
# out the port or to a drop come and go.  Meanwhile service 2 gains a
# second instance and its first one leaves (SIGTERM).  Then every packet is
# accounted for:
#  - in = out + policy drops, and every other drop counter is 0;
#  - the output is the input less packets a drop rule matches, exactly as
#    many as the policy drops (nfh-pcapcmp --unordered against the input
#    less the missing ones);
#  - every NF (nf-zc-probe --check-path) checks each packet: the services
#    it visited are the first ones of the path it was given at receive and
#    that path is one of the chains the test defines; per chain, as many
#    packets reached the end of their path as the core sent down it;
#  - each packet's first NF logs when the core received it and its
#    5-tuple: the chain and path it got must be what the rules and chains
#    in force at that moment give it (packets within 2 ms of a change may
#    have either side of it);
#  - the packets that went straight out the port are those a port rule
#    matches that went down no chain and were not dropped.
# The NFs spin per packet (LIVE_SPIN_NS) until LIVE_CHANGES changes are
# made, then get SIGUSR1 and let the rest of the input through at full
# speed: however fast this machine runs the NFs and the nfhost commands,
# that many changes land under traffic.  LIVE_PKTS sizes the input (it
# must outlast them).
. "$(dirname "$0")/lib.sh"
N=${LIVE_PKTS:-150000}
SPIN=${LIVE_SPIN_NS:-80000}
CHANGES=${LIVE_CHANGES:-60}
LC=$ROOT/tests/integration/live_change.py
nfh() { "$B"/nfhost -r "$REGION" "$@"; }
# without NAME ARRAY_NAME: drop a PID from an array of PIDs
without() {
	local -n arr=$2
	local p keep=()
	for p in "${arr[@]}"; do [[ $p == "$1" ]] || keep+=("$p"); done
	arr=("${keep[@]}")
}
# until the driver has made $1 changes (one line each in its log)
wait_changes() {
	local _
	for _ in $(seq 1 1200); do
		(($(wc -l < "$T/changes.json") >= $1)) && return 0
		kill -0 "$DRIVER" 2> /dev/null ||
			fail "the changes stopped after $(wc -l < "$T/changes.json") of $1: $(cat "$T/driver.log")" \
				"(LIVE_PKTS or LIVE_SPIN_NS too small if the input ran out)"
		sleep 0.05
	done
	fail "fewer than $1 changes in 60 s"
}

gen_pcap -n "$N" -f 3000 -s 21 --size 64-200 "$T/in.pcap"
# rings of 1024, at most 512 packets inside: a full ring never drops.  A
# small region and flow table: other cores may be using the hugepages
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2 --ring-size 1024 --max-inflight 512 \
	--wait-nfs 4 --region-size 32M --flow-max 32768
read -ra DEFS <<< "$(python3 "$LC" defs)"
PROBES=()
probe() { # probe LOGNAME SERVICE
	start_nf "$1" nf-zc-probe "$2" --check-path "${DEFS[@]}" --rx-log "$T/$1.rx" --spin-ns "$SPIN"
	PROBES+=("$NF_PID")
}
for s in 1 3 4 2; do probe p$s $s; done
P2=$NF_PID
wait_nfs 4

# the changes, until the whole input has come in
: > "$T/changes.json"
python3 "$LC" drive "$B/nfhost" "$REGION" "$N" "$T/changes.json" 90 > "$T/driver.log" 2>&1 &
DRIVER=$!
PIDS+=("$DRIVER")

# the instance set changes too: service 2 gains a second instance, and
# later its first one leaves (SIGTERM: it drains and exits cleanly)
wait_changes 15
probe p2b 2
wait_nfs 5
at_join=$(stat_field rx_pkts)
wait_changes 35
at_leave=$(stat_field rx_pkts)
stop_nf "$P2"
without "$P2" PIDS
without "$P2" PROBES
left=$(stat_field rx_pkts)
wait_changes "$CHANGES"
at_fast=$(stat_field rx_pkts)
for p in "${PROBES[@]}"; do kill -USR1 "$p"; done
echo "service 2: a second instance joined at packet $at_join, the first left between $at_leave and $left;" \
	"$CHANGES changes done at packet $at_fast of $N"
((at_fast < N)) || fail "the input ran out before $CHANGES changes (LIVE_PKTS or LIVE_SPIN_NS too small)"

wait "$DRIVER" || fail "the changes failed: $(cat "$T/driver.log")"
without "$DRIVER" PIDS
wait_drained 60
# chain 4 comes and goes: define it again (traffic is over) so that the
# status lists its counter
nfh graph show --json > "$T/show.json"
python3 -c "import json,sys; sys.exit(any(c['id'] == 4 for c in json.load(open('$T/show.json'))['status']['chains']))" &&
	nfh chain set 4 2,1 > /dev/null
stats_json > "$T/stats.json"
nfh graph show --json > "$T/show.json"
stop_all

t0=$(date +%s.%N)
python3 "$LC" check "$T/changes.json" "$T/stats.json" "$T/show.json" "$T/in.pcap" "$T/out.pcap" "$T/expected.pcap" \
	"$CHANGES" 512 "$T"/p*.log -- "$T"/p*.rx || fail "packets unaccounted for or misrouted"
"$B"/nfh-pcapcmp --unordered "$T/expected.pcap" "$T/out.pcap" > "$T/cmp.txt" ||
	fail "the output is not the input less the dropped packets: $(cat "$T/cmp.txt")"
echo "the checks took $(echo "$(date +%s.%N) - $t0" | bc) s"
echo "ok: live changes under full load, every packet accounted for"
