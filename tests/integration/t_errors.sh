#!/bin/bash
# Bad input gets a clear message naming what is wrong, and a non-zero exit.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 100 "$T/in.pcap"

expect() { # expect "MESSAGE" CMD...: CMD fails and says MESSAGE
	local msg=$1 out rc=0
	shift
	out=$("$@" 2>&1) || rc=$?
	((rc != 0)) || fail "'$*' succeeded"
	grep -qF -- "$msg" <<< "$out" || fail "'$*' did not say '$msg':"$'\n'"$out"
}
EAL=(-l 0 --no-pci --in-memory --no-telemetry --file-prefix "${NAME}x" --vdev "net_pcap0,rx_pcap=$T/in.pcap")
expect "--flow-max 5: expected a number in 1024..16777216" "$B"/nfhost-core "${EAL[@]}" -- --name "${NAME}x" --flow-max 5
expect "--chain 0: expected a number in 1..255" "$B"/nfhost-core "${EAL[@]}" -- --name "${NAME}x" --chain 1,0
expect "must be a power of two" "$B"/nfhost-core "${EAL[@]}" -- --name "${NAME}x" --chain 1 --region-size 48M
expect "is not a hugetlbfs mount" "$B"/nfhost-core "${EAL[@]}" -- --name "${NAME}x" --chain 1 --huge-dir "$T"
expect "needs 4096 MiB of hugepages" "$B"/nfhost-core "${EAL[@]}" -- --name "${NAME}x" --chain 1 --region-size 4G
expect "is not in the EAL core list" "$B"/nfhost-core "${EAL[@]}" -- --name "${NAME}x" --chain 1 --rx-lcore 7
[[ ! -e /dev/hugepages/${NAME}x-s0 ]] || fail "a refused core left its region"

start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1
expect "in use by another nfhost-core" "$B"/nfhost-core -l 0 --no-pci --in-memory --no-telemetry \
	--file-prefix "${NAME}y" --vdev "net_null0" -- --name "$NAME" --chain 1
expect "service ID must be 1..255" "$B"/nf-forward -r "$REGION" -s 0
expect "service 1 listed twice" "$B"/nf-forward -r "$REGION" -s 1,1
for bad in ",1" "1," "1,,2" " 1" "+1" "0x01"; do # issue 13, item 10: each was taken as service 1
	expect "service ID must be 1..255, not '" "$B"/nf-forward -r "$REGION" -s "$bad"
done
expect "service 1 is served by this process already" "$B"/nf-trail -r "$REGION" -s 1 -- --also 1
expect "-s SERVICE_ID is required" "$B"/nf-forward -r "$REGION"
expect "is nfhost-core running?" "$B"/nf-forward -r /dev/hugepages/none-s0 -s 1
head -c 1048576 /dev/urandom > "$T/junk"
expect "bad magic" "$B"/nf-forward -r "$T/junk" -s 1
# issue 13, item 10: arguments an NF does not take are refused, by name
expect "unexpected argument '--bogus'" "$B"/nf-forward -r "$REGION" -s 1 -- --bogus
expect "unexpected argument 'bogus'" "$B"/nf-forward -r "$REGION" -s 1 bogus
expect "unexpected argument '--bogus'" "$B"/nf-monitor -r "$REGION" -s 1 -- --bogus
expect "unrecognized option '--bogus'" "$B"/nf-drop -r "$REGION" -s 1 -- --proto udp --bogus
expect "unexpected argument 'bogus'" "$B"/nf-drop -r "$REGION" -s 1 -- --proto udp bogus
expect "-w x: seconds must be" "$B"/nf-forward -r "$REGION" -s 1 -w x
expect "give at least one of --proto" "$B"/nf-drop -r "$REGION" -s 1
expect "--port 70000: expected a port" "$B"/nf-drop -r "$REGION" -s 1 -- --port 70000
expect "unknown command 'frobnicate'" "$B"/nfhost -r "$REGION" frobnicate
stop_all
