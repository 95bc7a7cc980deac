#!/bin/bash
# What libnfguest gives every NF: a config file whose errors name file, line
# and field; a reload on SIGHUP that swaps in a whole new configuration or
# none of it, keeping the NF's state; named counters in the slot, shown by
# `nfhost stats` and `nfhost status`.  The NF is tests/nfs/nf-conf-probe.
. "$(dirname "$0")/lib.sh"

counter() { nf_counter probe "$1"; }
wait_counter() { wait_nf_counter probe "$@"; }

gen_pcap -n 2000 -f 20 --ipv4 --fixed 64 -s 3 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,infinite_rx=1" -- --chain 1

# 1. a bad file: refused at start, with file, line and field
printf 'mode: pass\nmark: 300\n' > "$T/bad.yaml"
start_nf probe nf-conf-probe 1 "$T/bad.yaml"
wait "$NF_PID" && fail "nf-conf-probe started with mark: 300"
grep -q "bad.yaml:2: mark: 300 is out of range (expected 0..255)" "$T/probe.log" ||
	fail "no FILE:LINE: FIELD error: $(cat "$T/probe.log")"
echo "refused at start: $(grep -o 'bad.yaml:2:.*' "$T/probe.log")"
PIDS=()

# 2. a good one: packets pass, counted by name
printf 'mode: pass\nmark: 7\n' > "$T/probe.yaml"
start_nf probe nf-conf-probe 1 "$T/probe.yaml"
PROBE=$NF_PID
wait_nfs 1
wait_counter passed '>' 1000
[[ $(counter dropped) == 0 && $(counter generation) == 1 && $(counter mark) == 7 ]] ||
	fail "after start: dropped $(counter dropped), generation $(counter generation), mark $(counter mark)"
"$B"/nfhost -r "$REGION" status > "$T/status.txt"
cat "$T/status.txt"
grep -Eq '^ +seen [0-9]+, passed [0-9]+, dropped 0, generation 1' "$T/status.txt" ||
	fail "nfhost status does not show the counters by name: $(cat "$T/status.txt")"

# 3. reload to drop: the new configuration applies, the state (seen) stays
printf 'mode: drop\nmark: 9\n' > "$T/probe.yaml"
seen=$(counter seen)
kill -HUP "$PROBE"
wait_counter reloads '==' 1
wait_counter dropped '>' 1000
((  $(counter seen) > seen )) || fail "seen went from $seen to $(counter seen): state lost in the reload"
[[ $(counter generation) == 2 && $(counter mark) == 9 ]] || fail "reload: generation $(counter generation)"
grep -q "configuration reloaded" "$T/probe.log" || fail "the reload was not reported"

# 4. a bad reload: refused, counted, reported with its line; the old one stays
printf 'mode: drop\nmark: 9\nmood: pass\n' > "$T/probe.yaml"
dropped=$(counter dropped)
kill -HUP "$PROBE"
wait_counter reload_errors '==' 1
grep -q "reload refused, the configuration before stays: .*probe.yaml:3: mood: unknown key 'mood'" \
	"$T/probe.log" || fail "bad reload not reported with file and line: $(tail -3 "$T/probe.log")"
wait_counter dropped '>' "$((dropped + 1000))"
[[ $(counter generation) == 2 && $(counter reloads) == 1 ]] || fail "a refused reload changed the NF"

# 5. the counters survive in the slot until the NF has left
stop_nf "$PROBE"
PIDS=()
stop_all
echo "ok: config errors name file:line: field; SIGHUP reloads all or nothing, state kept; counters by name"
