"""The core's control API from a test: one JSON request per line, one
answer per line, over the UNIX socket (for tests that need a raw client:
many at once, idle, or misbehaving)."""
import json
import socket
import sys


def connect(path):
    s = socket.socket(socket.AF_UNIX, socket.SOCK_STREAM)
    s.connect(path)
    return s


def ask(s, req, timeout=5):
    """Send req (a dict) on s and return its answer; the test ends, saying
    so, if the core closes s instead of answering."""
    s.sendall(json.dumps(req).encode() + b'\n')
    s.settimeout(timeout)
    data = b''
    while not data.endswith(b'\n'):
        k = s.recv(65536)
        if not k:
            sys.exit("the core closed a client without answering %s" % req)
        data += k
    return json.loads(data)
