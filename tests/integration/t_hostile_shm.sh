#!/bin/bash
# An NF attacks the structure of the shared region (tests/nfs/nf-evil.c):
# its own rings' size, mask and indices, another NF's ring index, the
# region header's offsets and room length, its slot's fields.  Each time
# the core survives, sends nothing from outside a buffer, accounts for
# every packet and gets every buffer back; an NF whose ring index no honest
# NF could have written is retired (counted) and its flows go on at the
# other instance.  Before issue 13 each of these crashed the core, sent
# 60 000 B frames, or stranded buffers.  ATTACKS="tx-ring header ..." runs
# some of them.  An exporter (nfhost serve) scrapes the region through every
# attack: it answers 503 while the header is wrecked, parses after each
# attack, and never dies.
. "$(dirname "$0")/lib.sh"
N=12000
gen_pcap -n $N -f 300 "$T/in.pcap"
maxlen=$(python3 -c "
import sys; sys.path.insert(0, '$ROOT/tests/integration'); import pcaptool
print(max(len(p) for _, _, p in pcaptool.packets('$T/in.pcap')))")

# attack NAME TWO CORE_ARGS... -- EVIL_ARGS...: service 1 is nf-evil,
# service 2 an nf-forward; service TWO (1 or 2, 0: none) gets a second,
# honest instance (an nf-forward)
attack() {
	local a=$1 two=$2 core=() evil=() rx tx drops bad_meta retired out
	shift 2
	while (($#)) && [[ $1 != -- ]]; do core+=("$1"); shift; done
	(($#)) && shift
	evil=("$@")
	out=$T/out-$a.pcap
	echo "== $a"
	start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$out" -- --chain 1,2 --wait-nfs $((two ? 3 : 2)) "${core[@]}"
	start_nf "evil-$a" nf-evil 1 --attack "$a" "${evil[@]}"
	EVIL=$NF_PID
	start_nf "fwd2-$a" nf-forward 2
	((two)) && start_nf "second-$a" nf-forward "$two"
	[[ $a == header ]] && header_window
	wait_drained 60
	kill -0 "$CORE_PID" 2>/dev/null || fail "$a: the core died"
	read -r rx tx drops bad_meta retired < <(stats_json | python3 -c "
import json, sys; j = json.load(sys.stdin)
print(j['rx_pkts'], j['tx_pkts'], j['drops'], j['bad_meta'], j['nfs_retired'])")
	echo "$a: rx $rx tx $tx drops $drops bad_meta $bad_meta NFs retired $retired"
	((rx == N)) || fail "$a: rx $rx of $N"
	((tx + drops == rx)) || fail "$a: packets unaccounted for: rx $rx, tx $tx, drops $drops"
	grep -q "$a after" "$T/evil-$a.log" || fail "$a: the attack did not happen"
	RX=$rx TX=$tx DROPS=$drops BAD_META=$bad_meta RETIRED=$retired
	/usr/bin/python3 "$ROOT/tests/integration/metrics_check.py" "$URL" --up > /dev/null ||
		fail "$a: the exporter gave no metrics after the attack: $(cat "$T/serve.err")"
}

# scrape_code: the HTTP status of /metrics now
scrape_code() {
	/usr/bin/python3 -c "import sys, urllib.error, urllib.request
try:
    print(urllib.request.urlopen(sys.argv[1] + '/metrics', timeout=10).status)
except urllib.error.HTTPError as e:
    print(e.code)" "$URL"
}

# While the header is wrecked the tools refuse the region with a reason
# (they check a header before they use it) instead of crashing on it.
header_window() {
	local i out rc code
	for i in $(seq 1 1000); do
		grep -q "header after" "$T/evil-header.log" && break
		sleep 0.01
	done
	grep -q "header after" "$T/evil-header.log" || fail "header: the attack did not happen in 10 s"
	rc=0
	out=$("$B"/nfhost -r "$REGION" stats 2>&1) || rc=$?
	code=$(scrape_code)
	if ! grep -q "header put back" "$T/evil-header.log"; then
		((rc == 1)) || fail "header: nfhost stats on the wrecked region exited $rc: $out"
		echo "nfhost stats on the wrecked region: $out"
		[[ $code == 503 ]] || fail "header: /metrics on the wrecked region answered $code, not 503"
		echo "/metrics on the wrecked region: $code"
	fi
	for i in $(seq 1 1000); do
		grep -q "header put back" "$T/evil-header.log" && return 0
		sleep 0.01
	done
	fail "header: the window did not end in 10 s"
}

# finish NAME: stop everything; nothing from outside a buffer went out
finish() {
	local big
	stop_all
	big=$(python3 -c "
import sys; sys.path.insert(0, '$ROOT/tests/integration'); import pcaptool
print(sum(1 for _, _, p in pcaptool.packets('$T/out-$1.pcap') if len(p) > $maxlen))")
	((big == 0)) || fail "$1: $big frames longer than any input frame ($maxlen B) went out"
}

# its own rings' size and mask: the core keeps its own, nothing changes
own_size() {
	attack "$1" 0 -- --after 2000
	((TX == N)) || fail "$1: $((N - TX)) packets lost after the NF wrote its ring's size"
	((RETIRED == 0)) || fail "$1: the NF was retired though its indices stayed honest"
	finish "$1"
}
case_tx-ring() { own_size tx-ring; }
case_rx-ring() { own_size rx-ring; }

# its own indices: impossible ones retire it, the other instance takes over
case_tx-head() {
	attack tx-head 1 -- --after 1000
	((RETIRED == 1)) || fail "tx-head: NFs retired: $RETIRED, want 1"
	grep -q "impossible index on its tx ring" "$T/core.log" || fail "tx-head: the core did not say why"
	grep -q "the core gave up on this NF" "$T/evil-tx-head.log" || fail "tx-head: the NF was not told"
	((TX > N / 2)) || fail "tx-head: the flows did not go on at the other instance (tx $TX)"
	finish tx-head
}

# the core reads an rx ring's tail when its cached view runs out, at least
# once a ring's worth of entries: a small ring makes that soon
case_rx-tail() {
	attack rx-tail 1 --ring-size 512 -- --after 1000
	((RETIRED == 1)) || fail "rx-tail: NFs retired: $RETIRED, want 1"
	grep -q "impossible index on its rx ring" "$T/core.log" || fail "rx-tail: the core did not say why"
	((TX > N / 2)) || fail "rx-tail: the flows did not go on at the other instance (tx $TX)"
	finish rx-tail
}

# another NF's rx tail: that NF is retired, or it puts its own index back
# and carries on; either way the core and its accounting stand
case_peer-tail() {
	attack peer-tail 2 --ring-size 512 -- --after 1000 --peer 2
	if ((RETIRED == 0)); then
		((TX == N)) || fail "peer-tail: the victim was not retired, yet $((N - TX)) packets were lost"
	else
		# the victim is service 2's first instance, whichever registered first
		grep -Eq "'(fwd2|second)-peer-tail'.*impossible index on its rx ring" "$T/core.log" ||
			fail "peer-tail: the core retired someone other than the victim"
	fi
	finish peer-tail
}

# the header's offsets and room length, for 1 s: the core reads none of them
case_header() {
	local hb
	attack header 0 -- --after 1000 --window-ms 1000
	grep -q "header put back" "$T/evil-header.log" || fail "header: the window did not end"
	hb=$(sed -n 's/.* \([0-9]*\) packets handed back with len 60000/\1/p' "$T/evil-header.log")
	((hb > 0)) || fail "header: nothing was handed back while the header was wrecked"
	((BAD_META >= hb)) || fail "header: $hb packets came back with len 60000, only $BAD_META counted bad"
	finish header
}

# its slot's name, PID, flags, token, ring offsets: the core goes by its own
case_slot() {
	local inst i
	attack slot 0 -- --after 1000
	# the core's API answers from the core's own record of the grant
	inst=$("$B"/nfhost -r "$REGION" graph show --json | python3 -c "
import json, sys; j = json.load(sys.stdin)
print(' '.join('%s:%s:%s' % (i['name'], i['pid'], i['guest']) for s in j['status']['services'] if s['id'] == 1
               for i in s['instances']))")
	[[ $inst == "evil-slot:$EVIL:False" ]] ||
		fail "slot: the core's API says service 1 is '$inst', want evil-slot:$EVIL:False"
	((TX == N)) || fail "slot: $((N - TX)) packets lost"
	kill -TERM "$EVIL"
	wait "$EVIL" || true
	for i in $(seq 1 200); do
		grep -q "'evil-slot'.*vanished" "$T/core.log" && break
		sleep 0.01
	done
	grep -q "'evil-slot'.*vanished" "$T/core.log" || fail "slot: the core did not see the NF go by its own pidfd"
	finish slot
}

# one exporter for every attack: it maps the region anew for each request
start_serve
serve=$SERVE_PID
PIDS=() # not one of an attack's, which finish stops
ON_CLEANUP+=("kill -KILL $serve 2> /dev/null")
# ATTACKS: which ones (t_asan_core runs some of them under the sanitizers)
for a in ${ATTACKS:-tx-ring rx-ring tx-head rx-tail peer-tail header slot}; do
	"case_$a"
done
kill -TERM "$serve"
rc=0
wait "$serve" || rc=$?
((rc == 0)) || fail "the exporter exited $rc: $(cat "$T/serve.err")"
echo "every attack survived, the exporter's too"
