#!/bin/bash
# Bad input gets a clear message naming what is wrong, and a non-zero exit.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 100 "$T/in.pcap"

expect() { # expect "MESSAGE" CMD...: CMD fails and says MESSAGE
	local msg=$1 rc=0
	shift
	out=$("$@" 2>&1) || rc=$? # left in $out for more checks
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
# an infinite_rx port whose file does not fit the pool (issue 13, item 10):
# one line naming the port and why, and no "RING: Cannot free ring" from
# the pcap driver freeing its ring twice
"$B"/nfh-pcapgen -n 30000 --fixed 64 --ipv4 "$T/many.pcap" > /dev/null
expect "core: port 0 (net_pcap0): RX queue setup failed: Invalid argument (infinite_rx holds every packet" \
	"$B"/nfhost-core "${EAL[@]/in.pcap/many.pcap,infinite_rx=1}" -- --name "${NAME}x" --chain 1
! grep -q "Cannot free ring" <<< "$out" || fail "a failed infinite_rx port still says:"$'\n'"$out"
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
expect "unrecognized option '--bogus'" "$B"/nf-monitor -r "$REGION" -s 1 -- --bogus
expect "unexpected argument 'bogus'" "$B"/nf-monitor -r "$REGION" -s 1 -- bogus
expect "option '-c' needs a value" "$B"/nf-firewall -r "$REGION" -s 1 -- -c
expect "unknown option '-x'" "$B"/nf-nat -r "$REGION" -s 1 -- -x
expect "unrecognized option '--bogus'" "$B"/nf-drop -r "$REGION" -s 1 -- --proto udp --bogus
expect "unexpected argument 'bogus'" "$B"/nf-drop -r "$REGION" -s 1 -- --proto udp bogus
expect "-w x: seconds must be" "$B"/nf-forward -r "$REGION" -s 1 -w x
expect "give at least one of --proto" "$B"/nf-drop -r "$REGION" -s 1
expect "--port 70000: expected a port" "$B"/nf-drop -r "$REGION" -s 1 -- --port 70000
expect "unknown command 'frobnicate'" "$B"/nfhost -r "$REGION" frobnicate
stop_all
