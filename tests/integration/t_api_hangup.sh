#!/bin/bash
# API clients that hang up before reading their answers (issue 13, item 1):
# one pipelines 2000 `status` requests and closes at once, ten times;
# 150 others each send one `graph.show` and close.  Writing an answer to a
# closed socket must not raise SIGPIPE in the core: it stays up, answers
# the next client, and forwards the traffic as before.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 2000 -f 50 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1
SOCK=/run/nfhost/$NAME.sock
/usr/bin/python3 - "$SOCK" << 'PY' > "$T/clients.out" 2>&1 || fail "hang-up clients: $(cat "$T/clients.out")"
import socket, sys
path = sys.argv[1]
def hang_up(req, n):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.sendall(req * n)
    s.close()  # before reading a byte of the answers
try:
    for _ in range(10):
        hang_up(b'{"cmd":"status"}\n', 2000)
    for _ in range(150):
        hang_up(b'{"cmd":"graph.show"}\n', 1)
except (ConnectionRefusedError, BrokenPipeError, ConnectionResetError) as e:
    print("a client was refused (%s): nobody listens any more" % e)  # the check below says why
PY
sleep 0.5
kill -0 "$CORE_PID" 2> /dev/null || fail "the core died of clients that hung up$(core_gone)"
"$B"/nfhost -r "$REGION" graph show > "$T/show.out" 2>&1 || fail "the core no longer answers: $(cat "$T/show.out")"
start_nf fwd nf-forward 1
wait_drained
stop_all
"$B"/nfh-pcapcmp "$T/in.pcap" "$T/out.pcap" || fail "output differs from input"
echo "ok: 20000 pipelined and 150 single requests from clients that hung up; the core answers and forwards"
