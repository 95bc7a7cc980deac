#!/bin/bash
# The API's documented request limits hold exactly (issue 13, item 9): a
# line of 8 MiB is answered, one byte more is refused and the client
# closed; two requests that together pass 8 MiB are both answered;
# nesting of 64 levels is taken, 65 or 5000 are refused by name.  Every
# refusal is one valid JSON line, and the core stays up.
. "$(dirname "$0")/lib.sh"
gen_pcap -n 10 "$T/in.pcap"
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" -- --chain 1
SOCK=/run/nfhost/$NAME.sock
/usr/bin/python3 - "$SOCK" << 'PY' > "$T/clients.out" 2>&1 || fail "$(cat "$T/clients.out")"
import json, socket, sys, threading
path = sys.argv[1]
MAX = 8 << 20

def exchange(data, n):
    """send data, return the first n answer lines (or fewer if the core closes)"""
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    s.settimeout(10)
    def push():
        try:
            s.sendall(data)
        except (BrokenPipeError, ConnectionResetError):
            pass  # the core closed: its answer says why
    w = threading.Thread(target=push)
    w.start()
    got = b''
    try:
        while got.count(b'\n') < n:
            k = s.recv(1 << 20)
            if not k:
                break
            got += k
    except ConnectionResetError:
        pass
    w.join()
    s.close()
    return [json.loads(l) for l in got.split(b'\n')[:n] if l]

def status_of(size):
    """a status request of exactly size bytes, its '\\n' not counted"""
    head = b'{"cmd":"status"'
    return head + b' ' * (size - len(head) - 1) + b'}'

def check(what, answers, ok, err=None):
    if len(answers) != 1 or answers[0].get("ok") != ok or (err and err not in answers[0].get("error", "")):
        sys.exit("%s: got %s, expected %s" % (what, answers, "ok" if ok else "the error '%s'" % err))

check("a request of 8 MiB", exchange(status_of(MAX) + b'\n', 1), True)
check("a request of 8 MiB + 1 byte", exchange(status_of(MAX + 1) + b'\n', 1), False, "request longer than 8 MiB")
check("8 MiB + 1 byte without a line end", exchange(status_of(MAX + 1), 1), False, "request longer than 8 MiB")
two = exchange(status_of(5 << 20) + b'\n' + status_of(5 << 20) + b'\n', 2)
if len(two) != 2 or not all(a.get("ok") for a in two):
    sys.exit("two requests of 5 MiB in a row: got %s, expected two answers" % [a.get("error") for a in two])

def nested(levels):
    """a status request nested levels deep (the request object is level 1)"""
    return b'{"cmd":"status","x":' + b'[' * (levels - 1) + b']' * (levels - 1) + b'}\n'

check("64 levels of nesting", exchange(nested(64), 1), True)
check("65 levels of nesting", exchange(nested(65), 1), False, "nesting deeper than 64 levels")
check("5000 levels of nesting", exchange(nested(5000), 1), False, "nesting deeper than 64 levels")
check("malformed JSON", exchange(b'{"cmd":\n', 1), False, "malformed JSON")
print("8 MiB lines and 64 levels taken, one more refused")
PY
kill -0 "$CORE_PID" 2> /dev/null || fail "the core died$(core_gone)"
"$B"/nfhost -r "$REGION" status > "$T/status.out" 2>&1 || fail "the core no longer answers: $(cat "$T/status.out")"
echo "ok: $(cat "$T/clients.out")"
