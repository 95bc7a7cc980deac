#!/bin/bash
# Jumbo frames end to end (issue 15): with --mtu 9000 every buffer holds a
# 9014-byte frame, so frames of 64 to 9014 bytes go through a chain of host
# NFs, one of them untrusted (copied into its own region and back), and
# leave byte for byte as they came; the region says its buffers' room.
# With the default MTU the same frames past a buffer are dropped, counted
# as rx_multiseg, and the core says once why and what to raise.
. "$(dirname "$0")/lib.sh"
N=3000
gen_pcap -n $N -f 200 -s 9 --size 64-9014 "$T/in.pcap"
# frames that do not fit a default buffer: 2048 bytes of frame and the
# 64 bytes of slack core_buf_size() leaves past the headroom
BIG=$($PY - "$T/in.pcap" "$(dirname "$0")" << 'PY'
import sys
sys.path.insert(0, sys.argv[2])
from pcaptool import packets
print(sum(1 for _, _, p in packets(sys.argv[1]) if len(p) > 2112))
PY
)
((BIG > N / 2)) || fail "the mix has only $BIG frames past 2112 bytes of $N"

# 1. --mtu 9000: service 2 untrusted, so its copies carry whole jumbo frames
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1,2,3 --untrusted 2 --mtu 9000
read -r room stride < <(stats_json | $PY -c "import json,sys; j=json.load(sys.stdin); print(j['buf_room_len'], j['buf_stride'])")
((room >= 9014 + 128 - 64)) || fail "buffers hold $room bytes of room, not a 9014-byte frame after the headroom"
start_nf mon nf-monitor 1
REGION=/dev/hugepages/$NAME-u2 start_nf fwd2 nf-forward 2
start_nf fwd3 nf-forward 3
wait_drained
[[ $(stat_field tx_pkts) == "$N" ]] || fail "tx $(stat_field tx_pkts) of $N"
[[ $(stat_field drops) == 0 ]] || fail "$(stat_field drops) drops (rx_multiseg $(stat_field rx_multiseg))"
[[ $(stat_field iso_copied_back) == "$N" ]] || fail "$(stat_field iso_copied_back) of $N copied back from the untrusted NF"
stop_all
"$B"/nfh-pcapcmp "$T/in.pcap" "$T/out.pcap" || fail "output differs from input"
echo "mtu 9000: $N frames of 64-9014 bytes ($BIG past a default buffer) out as they came in, buffers of $stride bytes"

# 2. the default MTU: what does not fit is dropped, counted and explained
rm -f "$T/out.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1
start_nf fwd nf-forward 1
wait_drained
[[ $(stat_field rx_multiseg) == "$BIG" ]] || fail "rx_multiseg $(stat_field rx_multiseg), wanted $BIG"
[[ $(stat_field tx_pkts) == $((N - BIG)) ]] || fail "tx $(stat_field tx_pkts), wanted $((N - BIG))"
grep -q "does not fit a buffer (MTU 1500): dropped and counted as rx_multiseg.*raise --mtu" "$T/core.log" ||
	fail "the core did not say why jumbo frames are dropped: $(tail -3 "$T/core.log")"
[[ $(grep -c "does not fit a buffer" "$T/core.log") == 1 ]] || fail "the core said it more than once"
stop_all
echo "default MTU: $BIG jumbo frames counted as rx_multiseg and explained once, $((N - BIG)) delivered"

# 3. an MTU no buffer can hold
"$CORE_BIN" -l 0 --no-pci --in-memory --no-telemetry --file-prefix "${NAME}x" --vdev net_null0 -- --name "${NAME}x" \
	--chain 1 --mtu 20000 > "$T/big.log" 2>&1 && fail "--mtu 20000 accepted"
grep -q -- "--mtu 20000: expected a number in 68..9702" "$T/big.log" || fail "no clear error: $(tail -2 "$T/big.log")"
echo "an MTU past 9702 refused with the range"
