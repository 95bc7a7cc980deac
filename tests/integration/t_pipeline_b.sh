#!/bin/bash
# Pipeline B (examples/pipelines/b.yaml, SoftFlow section 7.2): nf-firewall ->
# nf-aes (encrypt) -> nf-nat, loaded by `nfhost graph load` from the example
# file, on a realistic capture (nfh-pcapgen --sessions).  Both directions
# go through the one port: the recorded replies are addressed to the
# clients' own addresses, not to the NAT pool, so nf-nat passes them
# untouched (passed_other, its policy for traffic neither from inside nor
# to the pool); the firewall needs them to track its connections.
# pipeline_check.py, from the summary, the input and the config files:
# the packets the firewall allows come out in order (AES drops the
# fragments); client packets from a pool address and port, one mapping per
# connection, one pool address per client host; payloads IV + CBC blocks of
# the right length, every other header field as it came; every checksum
# right (and by scapy); each NF's counters by name.  A second core run
# decrypts the output (nf-aes, aes-decrypt.yaml): every L4 payload is the
# input's, byte for byte.  Then the same pipeline in one process (nf-chain,
# run to completion): its output is the three processes', packet for
# packet, but for NAT's ports and pool addresses (one-to-one between the
# runs) and AES's IVs (both decrypt to the same bytes).
. "$(dirname "$0")/lib.sh"
cd "$ROOT"
FW=examples/pipelines/firewall.yaml
ENC=examples/pipelines/aes-encrypt.yaml
NAT=examples/pipelines/nat.yaml

# decrypt IN OUT: a core with nf-aes decrypting IN into OUT
decrypt() {
	start_core "net_pcap0,rx_pcap=$1,tx_pcap=$2" -- --chain 1
	start_nf dec nf-aes 1 -c examples/pipelines/aes-decrypt.yaml
	wait_drained 60
	stop_all
}

gen_pcap --sessions 250 -s 12 --hostile 3 --summary "$T/in.json" "$T/in.pcap"
run_graph examples/pipelines/b.yaml "$T/in.pcap" "$T/out.pcap"
decrypt "$T/out.pcap" "$T/dec.pcap"
$PY tests/integration/pipeline_check.py check examples/pipelines/b.yaml "$T/in.json" "$T/in.pcap" "$T/out.pcap" \
	--stats "$T/stats.json" --decrypted "$T/dec.pcap" | tee "$T/check.out" ||
	fail "the output is not what pipeline B's policy says (above)"
$PY tests/integration/scapy_check.py checksums "$T/out.pcap" || fail "bad checksums in the output"

# the same pipeline as one process
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out1.pcap" -- --chain 1,2,3
start_nf chain nf-chain 1,2,3 firewall -c $FW + aes -c $ENC + nat -c $NAT
for i in $(seq 1 100); do
	kill -0 "$NF_PID" 2> /dev/null && (($(stat_field nfs_active) == 0)) || break
	sleep 0.05
done
kill -0 "$NF_PID" 2> /dev/null || fail "nf-chain did not start: $(cat "$T/chain.log")"
wait_drained 60
stop_all
decrypt "$T/out1.pcap" "$T/dec1.pcap"
$PY tests/integration/pipeline_check.py same "$T/out.pcap" "$T/dec.pcap" "$T/out1.pcap" "$T/dec1.pcap" ||
	fail "nf-chain's output is not the three processes'"
echo "ok: pipeline B (firewall -> AES -> NAT): what the policy passes, NAT consistent per connection, checksums right, decryption gives back every payload"
