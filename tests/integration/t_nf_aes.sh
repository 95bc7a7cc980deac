#!/bin/bash
# nf-aes (AES-128-CBC of the transport payload) on crafted pcaps made with
# scapy (aes_pcap.py):
#  1. encrypt -> decrypt, two instances as services 1 and 2 of one chain:
#     the output is the input byte for byte (TCP, UDP, IPv4, IPv6, VLAN,
#     payloads of 0, 1, 15, 16, 17 ... and the largest the MTU allows);
#     then the same with both services untrusted (copies, lengths changed);
#  2. encrypt alone: every checksum valid by scapy (scapy_check.py), every
#     payload grown by 16 + (16 - n % 16) and every length field right;
#     then hostile traffic dropped and counted by name: too big for the
#     MTU, fragments, truncated frames, a bad L4 checksum; a bad reload
#     refused with file and line, the configuration before kept;
#  3. decrypt alone of payloads that are not ciphertexts: bad_ciphertext.
. "$(dirname "$0")/lib.sh"

GEN=$ROOT/tests/integration/aes_pcap.py
KEY=2b7e151628aed2a6abf7158809cf4f3c

# counter NF NAME: NF's named counter from nfhost stats (or a slot field)
counter() {
	stats_json | $PY -c '
import json, sys
nf = [n for n in json.load(sys.stdin)["nfs"] if n["name"] == sys.argv[1]][0]
c = nf["counters"]
print(c[sys.argv[2]]["value"] if sys.argv[2] in c else nf[sys.argv[2]])' "$1" "$2"
}

# expect NF NAME=VALUE...: each counter as given (they are published every
# 10 ms: waits up to 2 s for them)
expect() {
	local nf=$1 kv i ok
	shift
	for i in $(seq 1 100); do
		ok=1
		for kv in "$@"; do
			[[ $(counter "$nf" "${kv%%=*}") == "${kv#*=}" ]] || ok=0
		done
		((ok)) && return 0
		sleep 0.02
	done
	for kv in "$@"; do
		[[ $(counter "$nf" "${kv%%=*}") == "${kv#*=}" ]] ||
			fail "$nf: ${kv%%=*} is $(counter "$nf" "${kv%%=*}"), want ${kv#*=}"
	done
}

conf() {
	printf 'mode: %s\nkey: "%s"\nmtu: 1500\n' "$1" "$KEY" > "$T/$1.yaml"
}

$PY "$GEN" good "$T/good.pcap"
$PY "$GEN" hostile "$T/hostile.pcap" 2> "$T/hostile.kinds"
$PY "$GEN" badcipher "$T/bad.pcap"
conf encrypt
conf decrypt
npkts=$($PY -c 'import sys; from scapy.all import rdpcap; print(len(rdpcap(sys.argv[1])))' "$T/good.pcap")
# empty payloads pass as they are: 2 IP versions x 3 VLAN depths x 2 protocols
nempty=12
kind() { sed -n "s/^$1 //p" "$T/hostile.kinds"; }

# 1. encrypt -> decrypt gives back the input; again with both services
# untrusted, where each NF grows or shrinks a copy of the packet in its own
# region (NFG_D_F_META) and the core copies the new length back
for trust in trusted untrusted; do
	iso=() r1=$REGION r2=$REGION
	if [[ $trust == untrusted ]]; then
		iso=(--untrusted 1,2) r1=/dev/hugepages/$NAME-u1 r2=/dev/hugepages/$NAME-u2
	fi
	start_core "net_pcap0,rx_pcap=$T/good.pcap,tx_pcap=$T/roundtrip-$trust.pcap" -- --chain 1,2 "${iso[@]}"
	REGION=$r1 start_nf enc nf-aes 1 -c "$T/encrypt.yaml"
	REGION=$r2 start_nf dec nf-aes 2 -c "$T/decrypt.yaml"
	wait_nfs 2
	wait_drained
	expect enc encrypted=$((npkts - nempty)) empty=$nempty too_big=0 no_room=0
	expect dec decrypted=$((npkts - nempty)) empty=$nempty bad_ciphertext=0
	[[ $(stat_field drops) == 0 ]] || fail "$trust: $(stat_field drops) drops"
	if [[ $trust == untrusted ]]; then
		[[ $(stat_field iso_copied_back) == $((2 * npkts)) ]] ||
			fail "untrusted: $(stat_field iso_copied_back) packets copied back, want $((2 * npkts))"
	fi
	stop_all
	"$B"/nfh-pcapcmp "$T/good.pcap" "$T/roundtrip-$trust.pcap" ||
		fail "encrypt -> decrypt ($trust) did not give back the input"
	echo "encrypt -> decrypt ($trust): $npkts packets back byte for byte ($((npkts - nempty)) transcoded, $nempty empty)"
done

# 2. encrypt alone: the ciphertext packets are well formed; hostile ones
# dropped by reason
start_core "net_pcap0,rx_pcap=$T/good.pcap,tx_pcap=$T/enc.pcap" -- --chain 1
start_nf enc nf-aes 1 -c "$T/encrypt.yaml"
ENC=$NF_PID
wait_nfs 1
wait_drained
expect enc encrypted=$((npkts - nempty))
stop_all
$PY "$ROOT"/tests/integration/scapy_check.py checksums "$T/enc.pcap" || fail "bad checksums after encryption"
$PY "$GEN" lengths "$T/good.pcap" "$T/enc.pcap" || fail "lengths after encryption"

start_core "net_pcap0,rx_pcap=$T/hostile.pcap,tx_pcap=$T/hostile-out.pcap" -- --chain 1
start_nf enc nf-aes 1 -c "$T/encrypt.yaml"
ENC=$NF_PID
wait_nfs 1
wait_drained
expect enc too_big="$(kind too_big)" frag_dropped="$(kind frag)" trunc_l3="$(kind trunc_l3)" \
	trunc_l2="$(kind trunc_l2)" bad_l4_csum="$(kind bad_l4_csum)" encrypted=0
echo "hostile: too_big $(kind too_big), frag_dropped $(kind frag), trunc_l3 $(kind trunc_l3)," \
	"trunc_l2 $(kind trunc_l2), bad_l4_csum $(kind bad_l4_csum): $(stat_field drops) drops in all"
[[ $(tcpdump -r "$T/hostile-out.pcap" 2> /dev/null | wc -l) == 0 ]] || fail "hostile packets left the encryptor"
# a reload that names a bad line is refused; the configuration before stays
printf 'mode: encrypt\nkey: "%s"\nmtu: 20\n' "$KEY" > "$T/encrypt.yaml"
kill -HUP "$ENC"
expect enc reload_errors=1
grep -q "reload refused, the configuration before stays: .*encrypt.yaml:3: mtu: 20 is out of range" "$T/enc.log" ||
	fail "bad reload not reported with file and line: $(tail -3 "$T/enc.log")"
kill -0 "$ENC" || fail "nf-aes died of a bad reload"
stop_all

# 3. decrypt of what is not a ciphertext
nbad=$($PY -c 'import sys; from scapy.all import rdpcap; print(len(rdpcap(sys.argv[1])))' "$T/bad.pcap")
start_core "net_pcap0,rx_pcap=$T/bad.pcap,tx_pcap=$T/bad-out.pcap" -- --chain 1
start_nf dec nf-aes 1 -c "$T/decrypt.yaml"
wait_nfs 1
wait_drained
expect dec bad_ciphertext="$nbad" decrypted=0
stop_all
echo "ok: nf-aes round trip byte for byte, ciphertext packets well formed (scapy), $nbad bad ciphertexts and" \
	"hostile packets dropped and counted by name"
