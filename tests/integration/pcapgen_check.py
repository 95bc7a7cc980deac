#!/usr/bin/python3
"""Check a pcap of nfh-pcapgen --sessions against its --summary, with scapy
(Debian's python3-scapy), independently of the generator's own code:

  pcapgen_check.py [--mix] FILE.pcap SUMMARY.json

  - timestamps increase; every packet is a conversation's or a listed
    hostile one, and carries the mark (source MAC 02:ba:d0:00:00:KIND,
    DSCP 1) exactly when hostile
  - every checksum is right except in hostile packets listed with
    checksums_valid false (scapy_check.bad_checksums)
  - a host has one MAC; a conversation's packets have its VLAN
  - per conversation: packets, frame bytes and payload bytes each way, its
    first and last packet number, as the summary says
  - TCP: SYN, SYN-ACK, ACK with the right numbers; every ACK number is all
    the other side sent; each side's sequence numbers run on without a gap
    (one repeat for "retransmit", one jump filled at once for "reorder",
    none otherwise, and repeated bytes the same); the end is FIN, FIN, ACK
    ("fin"), an RST ("rst") or neither ("none")
  - UDP and ICMP echo: request, response, in turn; DNS ids and echo ids,
    sequence numbers and data match
  - hostile: counts by kind; after_close follows its conversation's end on
    its 5-tuple, icmp_error quotes its conversation
  - with --mix (a file big enough): every conversation kind, end and
    anomaly present, VLANs if --vlan, every hostile kind if --hostile
Prints what it checked; exits 1 with the first problems otherwise."""
import ipaddress
import json
import sys
from collections import Counter, defaultdict

from scapy.all import DNS, ICMP, IP, TCP, UDP, Dot1Q, Ether, IPv6, PcapReader, raw  # noqa: E402
from scapy.layers.inet import IPerror, TCPerror, UDPerror
from scapy.layers.inet6 import ICMPv6EchoReply, ICMPv6EchoRequest, IPerror6

from scapy_check import bad_checksums

PROBLEMS = []


def problem(msg):
    PROBLEMS.append(msg)
    if len(PROBLEMS) >= 20:
        report_and_exit()


def report_and_exit():
    for p in PROBLEMS:
        print('FAIL: ' + p)
    sys.exit(1)


def addr(a):
    return str(ipaddress.ip_address(a))


def l3(pkt):
    return pkt[IP] if IP in pkt else pkt[IPv6] if IPv6 in pkt else None


def dscp(frame):
    """DSCP from the raw frame (scapy may not parse a malformed header)."""
    off = 18 if frame[12:14] == b'\x81\x00' else 14
    if len(frame) < off + 2:
        return None
    if frame[off] >> 4 == 6:
        return (frame[off] & 0xf) << 2 | frame[off + 1] >> 6
    return frame[off + 1] >> 2


def tuple_of(pkt):
    """(proto, src, sport, dst, dport) with ICMP echo ids as the client port."""
    ip = l3(pkt)
    proto = ip.proto if IP in pkt else ip.nh
    if TCP in pkt:
        return proto, addr(ip.src), pkt[TCP].sport, addr(ip.dst), pkt[TCP].dport
    if UDP in pkt:
        return proto, addr(ip.src), pkt[UDP].sport, addr(ip.dst), pkt[UDP].dport
    if ICMP in pkt:
        return proto, addr(ip.src), pkt[ICMP].id, addr(ip.dst), 0
    echo = pkt.getlayer(ICMPv6EchoRequest) or pkt.getlayer(ICMPv6EchoReply)
    return proto, addr(ip.src), echo.id, addr(ip.dst), 0


def l4_payload(pkt):
    """The L4 payload without Ethernet padding."""
    ip = l3(pkt)
    l4 = ip.payload
    if IP in pkt:
        size = ip.len - ip.ihl * 4
    else:
        size = ip.plen
    hdr = pkt[TCP].dataofs * 4 if TCP in pkt else 8
    return raw(l4)[hdr:size]


def main():
    args = sys.argv[1:]
    want_mix = args[:1] == ['--mix']
    args = args[1:] if want_mix else args
    if len(args) != 2:
        sys.exit(__doc__)
    summ = json.load(open(args[1]))
    convs = summ['conversations']
    kind_no = {v: int(k) for k, v in summ['hostile_kinds'].items()}
    hostile = {h['packet']: h for h in summ['hostile']}
    by_tuple = {}
    for c in convs:
        key = (c['proto'], addr(c['client']), c['cport'], addr(c['server']), c['sport'])
        if key in by_tuple:
            problem('conversations %d and %d share the 5-tuple %s' % (by_tuple[key]['id'], c['id'], key))
        by_tuple[key] = c
    seen = defaultdict(list)  # conversation id -> [(dir, packet no, pkt, payload)]
    stats = defaultdict(lambda: {'packets': [0, 0], 'bytes': [0, 0], 'payload': [0, 0]})
    hostile_seen = Counter()
    macs = {}
    last_ts = None
    n = sums = 0
    for n, pkt in enumerate(PcapReader(args[0]), 1):
        frame = raw(pkt)
        if last_ts is not None and pkt.time <= last_ts:
            problem('packet %d: timestamp %s not after %s' % (n, pkt.time, last_ts))
        last_ts = pkt.time
        marked = pkt[Ether].src.startswith('02:ba:d0:00:00:')
        h = hostile.get(n)
        if h:
            hostile_seen[h['kind']] += 1
            try:
                check_hostile(n, pkt, frame, h, kind_no, convs)
            except (AttributeError, IndexError, TypeError) as e:
                problem('packet %d (%s): not what the summary says: %s: %s' % (n, h['kind'], e, pkt.summary()))
            continue
        if l3(pkt) is None or not (TCP in pkt or UDP in pkt or ICMP in pkt or
                                   ICMPv6EchoRequest in pkt or ICMPv6EchoReply in pkt):
            problem('packet %d: not a conversation\'s, not listed hostile: %s' % (n, pkt.summary()))
            continue
        if marked or dscp(frame) != 0:
            problem('packet %d: hostile mark on a packet not listed hostile: %s' % (n, pkt.summary()))
        bad = bad_checksums(pkt)
        sums += 1
        if bad:
            problem('packet %d: %s: %s' % (n, ', '.join(bad), pkt.summary()))
        ip = l3(pkt)
        for a, mac in ((addr(ip.src), pkt[Ether].src), (addr(ip.dst), pkt[Ether].dst)):
            if macs.setdefault(a, mac) != mac:
                problem('packet %d: host %s has MAC %s, earlier %s' % (n, a, mac, macs[a]))
        t = tuple_of(pkt)
        c = by_tuple.get(t)
        d = 0
        if c is None:
            c = by_tuple.get((t[0], t[3], t[4], t[1], t[2]))
            d = 1
        if c is None and t[0] in (1, 58):  # echo replies: id is the source's
            c = by_tuple.get((t[0], t[3], t[2], t[1], 0))
            d = 1
        if c is None:
            problem('packet %d: no conversation has it: %s' % (n, pkt.summary()))
            continue
        vlan = pkt[Dot1Q].vlan if Dot1Q in pkt else 0
        if vlan != c['vlan']:
            problem('packet %d: VLAN %d, conversation %d has %d' % (n, vlan, c['id'], c['vlan']))
        pay = l4_payload(pkt)
        st = stats[c['id']]
        st['packets'][d] += 1
        st['bytes'][d] += len(frame)
        st['payload'][d] += len(pay)
        seen[c['id']].append((d, n, pkt, pay))

    if n != summ['packets']:
        problem('%d packets in the file, the summary says %d' % (n, summ['packets']))
    if sorted(hostile) and max(hostile) > n:
        problem('hostile packet %d listed, the file has %d' % (max(hostile), n))
    want_counts = {k: v for k, v in summ['hostile_counts'].items() if v}
    if dict(hostile_seen) != want_counts:
        problem('hostile by kind: %s, the summary counts %s' % (dict(hostile_seen), want_counts))
    for c in convs:
        segs = seen[c['id']]
        st = stats[c['id']]
        for f in ('packets', 'bytes', 'payload'):
            if st[f] != c[f]:
                problem('conversation %d: %s %s, the summary says %s' % (c['id'], f, st[f], c[f]))
        if not segs:
            continue
        if (segs[0][1], segs[-1][1]) != (c['first'], c['last']):
            problem('conversation %d: packets %d..%d, the summary says %d..%d' %
                    (c['id'], segs[0][1], segs[-1][1], c['first'], c['last']))
        if c['kind'] == 'tcp':
            check_tcp(c, segs)
        else:
            check_pairs(c, segs)

    mix = Counter()
    for c in convs:
        mix[c['kind']] += 1
        mix['ipv%d %s' % (c['ip'], c['kind'])] += 1
        mix['end ' + c['end']] += c['kind'] == 'tcp'
        mix['anomaly %s' % c['anomaly']] += 1
        mix['service ' + c['service']] += 1
        mix['vlan'] += c['vlan'] != 0
    want = ['tcp', 'udp', 'icmp', 'ipv6 tcp', 'ipv6 udp', 'ipv6 icmp', 'end fin', 'end rst',
            'end none', 'anomaly retransmit', 'anomaly reorder', 'service dns', 'service http']
    if summ['ipv4_only']:
        want = [w for w in want if not w.startswith('ipv6')]
    if summ['vlan_percent']:
        want.append('vlan')
    if summ['hostile_percent']:
        want += ['hostile ' + k for k in summ['hostile_kinds'].values()]
    for w in want if want_mix else []:
        if not mix[w] and not hostile_seen[w[len('hostile '):]]:
            problem('nothing in the mix has %s' % w)
    if PROBLEMS:
        report_and_exit()
    print('%d packets (%d hostile, %d checksummed), %d conversations: %s; hostile: %s' %
          (n, len(hostile), sums, len(convs),
           ', '.join('%s %d' % (k, v) for k, v in sorted(mix.items()) if not k.startswith('service')),
           ', '.join('%s %d' % kv for kv in sorted(hostile_seen.items()))))


def check_hostile(n, pkt, frame, h, kind_no, convs):
    kind = h['kind']
    want_mac = '02:ba:d0:00:00:%02x' % kind_no[kind]
    if pkt[Ether].src != want_mac:
        problem('packet %d (%s): source MAC %s, want %s' % (n, kind, pkt[Ether].src, want_mac))
    ds = dscp(frame)
    if ds is not None and ds != 1:
        problem('packet %d (%s): DSCP %d, want 1' % (n, kind, ds))
    if h['checksums_valid']:
        bad = bad_checksums(pkt)
        if bad:
            problem('packet %d (%s): %s' % (n, kind, ', '.join(bad)))
    if kind == 'runt' and len(frame) >= 34:
        problem('packet %d: a runt of %d bytes' % (n, len(frame)))
    if kind == 'after_close':
        c = convs[h['conversation']]
        if c['last'] >= n or c['end'] == 'none':
            problem('packet %d: after_close of conversation %d, which ends at %d (%s)' %
                    (n, c['id'], c['last'], c['end']))
        if tuple_of(pkt) != (c['proto'], addr(c['client']), c['cport'], addr(c['server']), c['sport']):
            problem('packet %d: after_close not on conversation %d\'s 5-tuple' % (n, c['id']))
    if kind == 'icmp_error':
        c = convs[h['conversation']]
        q = pkt.getlayer(IPerror) or pkt.getlayer(IPerror6)
        ql4 = q.getlayer(TCPerror) or q.getlayer(UDPerror)
        got = (addr(q.src), addr(q.dst), ql4.sport if ql4 else None)
        if got != (addr(c['client']), addr(c['server']), c['cport'] if ql4 else None):
            problem('packet %d: icmp_error quotes %s, not conversation %d' % (n, got, c['id']))


def check_tcp(c, segs):
    cid = c['id']
    fl = [str(p[TCP].flags) for _, _, p, _ in segs]
    if fl[:3] != ['S', 'SA', 'A'] or [d for d, *_ in segs[:3]] != [0, 1, 0]:
        problem('conversation %d: starts %s, not a handshake' % (cid, fl[:3]))
        return
    isn = [segs[0][2][TCP].seq, segs[1][2][TCP].seq]
    end = [(isn[0] + 1) & 0xffffffff, (isn[1] + 1) & 0xffffffff]  # next new byte each side
    data = [{}, {}]  # seq -> payload, for repeats
    repeats = jumps = 0
    pending = [None, None]  # a jump's hole, to fill next
    if segs[1][2][TCP].ack != end[0] or segs[0][2][TCP].ack != 0:
        problem('conversation %d: SYN-ACK acks %d, SYN was %d' % (cid, segs[1][2][TCP].ack, isn[0]))
    for d, n, p, pay in segs[2:]:
        t = p[TCP]
        flags = str(t.flags)
        if t.ack != end[1 - d]:
            problem('conversation %d packet %d: ack %d, the other side sent up to %d' %
                    (cid, n, t.ack, end[1 - d]))
        size = len(pay) + ('F' in flags)
        if t.seq == end[d] and pending[d] is None:
            end[d] = (end[d] + size) & 0xffffffff
        elif pending[d] is not None and t.seq == pending[d][0]:
            if (t.seq + size) & 0xffffffff != pending[d][1]:
                problem('conversation %d packet %d: the reordered segment does not fill the hole' % (cid, n))
            end[d] = pending[d][2]
            pending[d] = None
        elif (t.seq - end[d]) & 0xffffffff < 0x80000000 and pending[d] is None:
            jumps += 1  # ahead: the hole must be filled by the next segment
            pending[d] = (end[d], t.seq, (t.seq + size) & 0xffffffff)
        else:
            repeats += 1
            if data[d].get(t.seq) != pay:
                problem('conversation %d packet %d: a repeat of seq %d with other bytes' % (cid, n, t.seq))
        if pay:
            data[d].setdefault(t.seq, pay)
    if pending != [None, None]:
        problem('conversation %d: a hole never filled' % cid)
    want = {None: (0, 0), 'retransmit': (1, 0), 'reorder': (0, 1)}[c['anomaly']]
    if (repeats, jumps) != want:
        problem('conversation %d (%s): %d repeats, %d jumps' % (cid, c['anomaly'], repeats, jumps))
    tail = [(d, f) for (d, *_), f in zip(segs, fl)]
    has = lambda ch: any(ch in f for f in fl)  # noqa: E731
    if c['end'] == 'fin':
        (x, f1), (y, f2), (x2, f3) = tail[-3:]
        if (f1, f2, f3) != ('FA', 'FA', 'A') or y == x or x2 != x or has('R'):
            problem('conversation %d: ends %s, not FIN, FIN, ACK' % (cid, tail[-3:]))
    elif c['end'] == 'rst':
        if 'R' not in fl[-1] or has('F') or sum('R' in f for f in fl) != 1:
            problem('conversation %d: ends %s, not one RST' % (cid, fl[-3:]))
    elif has('F') or has('R'):
        problem('conversation %d: open, yet %s' % (cid, fl))
    if c['service'] in ('http', 'http-alt'):
        for d, n, p, pay in segs:
            if d == 0 and pay and not pay.startswith(b'GET /'):
                problem('conversation %d packet %d: an HTTP request that is not a GET' % (cid, n))


def check_pairs(c, segs):
    cid = c['id']
    if len(segs) % 2 or [d for d, *_ in segs] != [0, 1] * (len(segs) // 2):
        problem('conversation %d: not request/response pairs: %s' % (cid, [d for d, *_ in segs]))
        return
    for (_, n, q, qp), (_, _, r, rp) in zip(segs[::2], segs[1::2]):
        if c['service'] == 'dns':
            if DNS not in q or DNS not in r or q[DNS].id != r[DNS].id or q[DNS].qr or not r[DNS].qr \
               or r[DNS].ancount != 1:
                problem('conversation %d packet %d: not a DNS query and its answer' % (cid, n))
        if c['kind'] == 'icmp':
            eq = q.getlayer(ICMP) or q.getlayer(ICMPv6EchoRequest)
            er = r.getlayer(ICMP) or r.getlayer(ICMPv6EchoReply)
            want = (8, 0) if c['ip'] == 4 else (128, 129)
            if (eq.type, er.type) != want or (eq.id, eq.seq) != (er.id, er.seq) or qp != rp:
                problem('conversation %d packet %d: echo and reply do not match' % (cid, n))


if __name__ == '__main__':
    main()
