#!/bin/bash
# A client that does not read cannot stall the control thread (issue 13,
# item 9): one pipelines 5000 `status` requests and never reads its
# answers.  Another client's `status` is still answered promptly (the
# core used to wait up to 1 s on each answer the first could not take);
# the slow client is not read further once its socket is full, and after
# --api-idle-ms without taking a byte it is closed and counted.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 10 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1 --api-idle-ms 2000
SOCK=/run/nfhost/$NAME.sock
TESTDIR=$(dirname "$0") /usr/bin/python3 - "$SOCK" << 'PY' > "$T/clients.out" 2>&1 || fail "$(cat "$T/clients.out")"
import os, sys, time
sys.path.insert(0, os.environ["TESTDIR"])
from api_client import connect as conn, ask
path = sys.argv[1]
N = 5000

def status():
    """status from a new client, and how long it took"""
    t = time.monotonic()
    s = conn(path)
    r = ask(s, {"cmd": "status"})
    s.close()
    return r, time.monotonic() - t

slow = conn(path)
slow.setblocking(False)
sent = 0
req = b'{"cmd":"status"}\n' * N
while sent < len(req):  # what the sockets take: the core stops reading it
    try:
        sent += slow.send(req[sent:])
    except BlockingIOError:
        break
time.sleep(0.1)
worst = 0
for _ in range(10):
    r, dt = status()
    worst = max(worst, dt)
    time.sleep(0.05)
if worst > 0.3:
    sys.exit("another client's status took %.2f s while a client does not read (expected well under 1 s)" % worst)
if r["api"]["closed_slow"] != 0:
    sys.exit("the slow client was closed too early: %s" % r["api"])

t = time.monotonic()
while r["api"]["closed_slow"] == 0:
    if time.monotonic() - t > 5:
        sys.exit("the client that does not read is still open 5 s later (--api-idle-ms 2000): %s" % r["api"])
    time.sleep(0.2)
    r, dt = status()
    worst = max(worst, dt)
slow.setblocking(True)
slow.settimeout(2)
got = b''
try:
    while True:
        k = slow.recv(1 << 20)
        if not k:
            break
        got += k
except ConnectionResetError:  # it closed with our requests unread
    pass
answers = got.count(b'\n')
if answers >= N:
    sys.exit("the slow client got all %d answers: it was not held back" % answers)
print("%d of %d requests sent before the sockets were full, %d answered before the core stopped reading; "
      "another client's status: at most %.1f ms" % (sent // 17, N, answers, worst * 1000))
PY
kill -0 "$CORE_PID" 2> /dev/null || fail "the core died$(core_gone)"
"$B"/nfhost -r "$REGION" status > "$T/status.out" 2>&1 || fail "the core no longer answers: $(cat "$T/status.out")"
echo "ok: a client that does not read was held back and closed; $(cat "$T/clients.out")"
