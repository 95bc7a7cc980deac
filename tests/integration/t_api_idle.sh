#!/bin/bash
# The API cannot be locked out (issue 13, item 9): 8 clients that connect
# and say nothing (one of them sending a request a byte at a time, never
# finishing it) take every place, but only for --api-idle-ms; meanwhile a
# 9th is told "too many clients (8)" and closed instead of hanging.  Once
# they are closed, chain, rule and graph commands work again; a client
# that keeps asking is never closed.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 10 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1 --api-idle-ms 2000
start_nf fwd nf-forward 1 # chain set needs a service with an instance
wait_nfs 1
SOCK=/run/nfhost/$NAME.sock
TESTDIR=$(dirname "$0") /usr/bin/python3 - "$SOCK" "$B/nfhost" "$REGION" << 'PY' > "$T/clients.out" 2>&1 || fail "$(cat "$T/clients.out")"
import json, os, socket, subprocess, sys, time
sys.path.insert(0, os.environ["TESTDIR"])
from api_client import connect, ask
path, NFHOST, region = sys.argv[1:]
conn = lambda: connect(path)

def lines(s, timeout):
    """What s receives until the core closes it (or the time is up)."""
    s.settimeout(timeout)
    data = b''
    try:
        while True:
            k = s.recv(65536)
            if not k:
                return data, True
            data += k
    except socket.timeout:
        return data, False

def nfhost(*args):
    return subprocess.run([NFHOST, '-r', region, *args], capture_output=True, text=True, timeout=10)

t0 = time.monotonic()
held = [conn() for _ in range(7)]
crawl = conn()
crawl.sendall(b'{"cmd":')
time.sleep(0.1)

# a 9th: a clear answer and the end of the connection, not silence
ninth = conn()
data, closed = lines(ninth, 1)
if not closed or b'"too many clients (8)"' not in data:
    sys.exit("9th client got %r%s, expected the error 'too many clients (8)' and a close"
             % (data, "" if closed else " and was left open"))
json.loads(data)  # valid JSON
r = nfhost('chain', 'set', '5', '1')
if r.returncode == 0 or 'too many clients (8)' not in r.stderr:
    sys.exit("while 8 clients are connected, 'chain set' gave %d: %s%s" % (r.returncode, r.stdout, r.stderr))

# the byte-at-a-time request does not keep its place
for ch in b'"status':
    time.sleep(0.2)
    crawl.send(bytes([ch]))
if time.monotonic() - t0 > 1.8:
    sys.exit("the test was too slow to tell: %.1f s" % (time.monotonic() - t0))

# after 2 s all 8 are closed, each told why
for s in held + [crawl]:
    data, closed = lines(s, 3)
    if not closed:
        sys.exit("an idle client is still open %.1f s after it connected" % (time.monotonic() - t0))
    if b'idle for 2000 ms: closed' not in data:
        sys.exit("an idle client was closed with %r instead of the reason" % data)
waited = time.monotonic() - t0
if waited < 1.9:
    sys.exit("idle clients were closed after %.2f s, before --api-idle-ms 2000" % waited)

for args in (('chain', 'set', '5', '1'), ('rule', 'add', '--id', '7', '--dport', '80', '--chain', '5'),
             ('rule', 'del', '7'), ('graph', 'show')):
    r = nfhost(*args)
    if r.returncode != 0:
        sys.exit("after the idle clients were closed, %s failed: %s%s" % (' '.join(args), r.stdout, r.stderr))

# a client that asks more often than the timeout stays
busy = conn()
for _ in range(8):
    ask(busy, {"cmd": "status"})
    time.sleep(0.5)
st = ask(busy, {"cmd": "status"})["api"]
if st["closed_idle"] != 8 or st["refused"] < 2 or st["clients"] != 1:
    sys.exit("status api counters: %s (expected 8 closed idle, 2+ refused, 1 client)" % st)
print("idle clients closed after %.2f s" % waited)
PY
kill -0 "$CORE_PID" 2> /dev/null || fail "the core died$(core_gone)"
echo "ok: 8 idle clients closed after 2 s, a 9th told 'too many clients (8)'; chain and rule commands work again, a busy client stays ($(cat "$T/clients.out"))"
