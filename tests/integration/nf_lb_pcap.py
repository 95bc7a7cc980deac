#!/usr/bin/python3
"""Traffic for t_nf_lb.sh, and the check of what nf-lb made of it.

  nf_lb_pcap.py gen IN.pcap          conversations through the VIPs of
                                     t_nf_lb.sh's configuration, non-VIP
                                     traffic, hostile frames
  nf_lb_pcap.py check IN.pcap OUT.pcap
                                     every packet where it should be, as it
                                     should be; prints the expected counters
  nf_lb_pcap.py reload IN.pcap N     N TCP connections, SYN then data, no
                                     end (replayed in a loop)

Every packet is tagged (IPv4 ID, IPv6 flow label: its index + 1), so the
check finds each input packet in the output whatever the order two
instances put them in."""
import sys

from scapy.all import (ARP, ICMP, IP, TCP, UDP, Ether, IPv6, PcapReader, Raw, raw, wrpcap)

VIP4, VIP6 = '192.0.2.10', '2001:db8::10'
WEB = ['10.1.0.%d' % i for i in (1, 2, 3)]   # :8080
DNS = ['10.1.1.1', '10.1.1.2']               # :5353
WEB6 = ['2001:db8:1::1', '2001:db8:1::2']    # :8443
NC4, NC6, NUDP = 40, 8, 10

ETH = dict(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')


class Gen:
    def __init__(self):
        self.pkts, self.kinds = [], []

    def add(self, kind, pkt, conn=None):
        """kind: fwd (client -> VIP), reply (backend -> client), same
        (passes untouched), drop"""
        tag = len(self.pkts) + 1
        if kind != 'drop':  # a drop must not come out: counted, not found
            if pkt.haslayer(IP):
                pkt[IP].id = tag
            elif pkt.haslayer(IPv6):
                pkt[IPv6].fl = tag
            pkt = Ether(raw(pkt))
        self.pkts.append(pkt)
        self.kinds.append((kind, conn))


def tcp_conv(g, ip, client, vip, backend, cport, vport, bport, conn):
    def c(flags, seq, ack, data=b''):
        g.add('fwd', Ether(**ETH) / ip(src=client, dst=vip) /
              TCP(sport=cport, dport=vport, flags=flags, seq=seq, ack=ack) / data, conn)

    def b(flags, seq, ack, data=b''):
        g.add('reply', Ether(**ETH) / ip(src=backend, dst=client) /
              TCP(sport=bport, dport=cport, flags=flags, seq=seq, ack=ack) / data, conn)
    c('S', 1000, 0)
    b('SA', 5000, 1001)
    c('PA', 1001, 5001, b'GET / HTTP/1.0\r\n\r\n' + bytes([conn % 256]) * (conn % 7))
    b('PA', 5001, 1020, b'HTTP/1.0 200 OK\r\n\r\nhello' + b'x' * conn)
    c('FA', 1020, 5100)
    b('FA', 5100, 1021)
    c('A', 1021, 5101)


def gen(path):
    g = Gen()
    for i in range(NC4):
        tcp_conv(g, IP, '198.51.100.%d' % (i + 1), VIP4, WEB[i % 3], 20000 + i, 80, 8080, i)
    for i in range(NC6):
        tcp_conv(g, IPv6, '2001:db8:99::%x' % (i + 1), VIP6, WEB6[i % 2], 30000 + i, 443, 8443, 100 + i)
    for i in range(NUDP):
        client = '198.51.100.%d' % (100 + i)
        g.add('fwd', Ether(**ETH) / IP(src=client, dst=VIP4) / UDP(sport=40000 + i, dport=53) / (b'q' * (10 + i)),
              200 + i)
        g.add('reply', Ether(**ETH) / IP(src=DNS[i % 2], dst=client) / UDP(sport=5353, dport=40000 + i) /
              (b'a' * (30 + i)), 200 + i)
    # not a service's: passed as they are
    g.add('same', Ether(**ETH) / IP(src='198.51.100.1', dst='192.0.2.11') / TCP(sport=1, dport=80, flags='S'))
    g.add('same', Ether(**ETH) / IP(src='198.51.100.1', dst=VIP4) / TCP(sport=1, dport=81, flags='S'))
    g.add('same', Ether(**ETH) / IP(src='198.51.100.1', dst=VIP4) / UDP(sport=1, dport=80) / b'x')
    g.add('same', Ether(**ETH) / IP(src='198.51.100.1', dst=VIP4) / ICMP(id=7, seq=1) / b'ping')
    g.add('same', Ether(**ETH) / IP(src='10.1.0.1', dst='198.51.100.1') / TCP(sport=33000, dport=80, flags='S'))
    g.add('same', Ether(**ETH) / IPv6(src='2001:db8:99::1', dst=VIP6) / TCP(sport=1, dport=80, flags='S'))
    g.add('same', Ether(**ETH) / ARP(psrc='198.51.100.1', pdst='198.51.100.2'))
    # a datagram to the VIP in three fragments: the first has the ports
    # (balanced), the later ones none (dropped, counted)
    frags = (Ether(**ETH) / IP(src='198.51.100.200', dst=VIP4, flags='MF', frag=0, proto=17) /
             raw(UDP(sport=41000, dport=53, len=8 + 64, chksum=0x1234) / (b'f' * 16)),
             Ether(**ETH) / IP(src='198.51.100.200', dst=VIP4, flags='MF', frag=3, proto=17, id=60000) / (b'g' * 24),
             Ether(**ETH) / IP(src='198.51.100.200', dst=VIP4, frag=6, proto=17, id=60000) / (b'h' * 24))
    g.add('fwd', frags[0], 300)
    g.add('drop', frags[1])
    g.add('drop', frags[2])
    # hostile: dropped, counted by reason
    ok = Ether(**ETH) / IP(src='198.51.100.1', dst=VIP4) / TCP(sport=5, dport=80, flags='S')
    for cut in (20, 25, 33):          # inside the IP header: trunc_l3
        g.add('drop', Ether(raw(ok)[:cut]))
    for l4 in (0, 8, 19):             # IP says fewer bytes than TCP's 20: trunc_l4
        p = Ether(raw(ok))
        p[IP].len = 20 + l4
        p[IP].chksum = None
        g.add('drop', Ether(raw(p)[:14 + 20 + l4]))
    bad = Ether(raw(ok))              # TCP data offset 2: bad_l4
    bad[TCP].dataofs = 2
    g.add('drop', bad)
    wrpcap(path, g.pkts)
    return g


def tag_of(p):
    if p.haslayer(IP):
        return p[IP].id
    if p.haslayer(IPv6):
        return p[IPv6].fl
    return None


def check(inp, outp):
    g = gen('/dev/null')
    ins = list(PcapReader(inp))
    assert len(ins) == len(g.pkts), 'input has %d packets, the generator %d' % (len(ins), len(g.pkts))
    outs = list(PcapReader(outp))
    seen, errors, backend_of = {}, [], {}
    want = sum(1 for k, _ in g.kinds if k != 'drop')
    if len(outs) != want:
        errors.append('%d packets out, %d expected (a drop passed, or a packet was lost)' % (len(outs), want))
    for o in outs:
        t = tag_of(o)
        if t is None:  # ARP
            t = next((i + 1 for i, p in enumerate(ins) if raw(p) == raw(o)), None)
        if t is None or t > len(ins) or g.kinds[t - 1][0] == 'drop':
            errors.append('a packet out that should not be: %s' % o.summary())
            continue
        if t in seen:
            errors.append('packet %d out twice' % t)
        seen[t] = o
    for i, (kind, conn) in enumerate(g.kinds):
        t, p = i + 1, ins[i]
        o = seen.get(t)
        if kind == 'drop':
            if o is not None:
                errors.append('packet %d (%s) should have been dropped' % (t, p.summary()))
            continue
        if o is None:
            errors.append('packet %d (%s) is missing' % (t, p.summary()))
            continue
        if kind == 'same':
            if raw(o) != raw(p):
                errors.append('packet %d changed: %s -> %s' % (t, p.summary(), o.summary()))
            continue
        ip, oip = (p[IP], o[IP]) if p.haslayer(IP) else (p[IPv6], o[IPv6])
        l4, ol4 = ip.payload, oip.payload
        if bytes(l4.payload) != bytes(ol4.payload):
            errors.append('packet %d: payload changed' % t)
        if kind == 'fwd':
            be = (oip.dst, ol4.dport)
            pool = {80: WEB, 53: DNS, 443: WEB6}[l4.dport]
            if oip.src != ip.src or ol4.sport != l4.sport or be[0] not in pool or \
                    be[1] != {80: 8080, 53: 5353, 443: 8443}[l4.dport]:
                errors.append('packet %d: %s became %s' % (t, p.summary(), o.summary()))
            if backend_of.setdefault(conn, be) != be:
                errors.append('connection %d: packet %d went to %s, an earlier one to %s' %
                              (conn, t, be, backend_of[conn]))
        else:
            vip = (VIP4 if p.haslayer(IP) else VIP6, {8080: 80, 5353: 53, 8443: 443}[l4.sport])
            if (oip.src, ol4.sport) != vip or oip.dst != ip.dst or ol4.dport != l4.dport:
                errors.append('reply %d: %s became %s' % (t, p.summary(), o.summary()))
    spread = {}
    for conn, be in backend_of.items():
        spread[be] = spread.get(be, 0) + 1
    print('connections per backend: %s' % ', '.join('%s:%d %d' % (a, p, n) for (a, p), n in sorted(spread.items())))
    print('%d in, %d out, %d errors' % (len(ins), len(outs), len(errors)))
    for e in errors[:20]:
        print('  ' + e)
    sys.exit(1 if errors else 0)


def reload_pcap(path, n):
    pkts = []
    for i in range(n):
        c = '198.51.100.%d' % (i + 1)
        pkts.append(Ether(**ETH) / IP(src=c, dst=VIP4) / TCP(sport=20000 + i, dport=80, flags='S', seq=1))
        for k in range(3):
            pkts.append(Ether(**ETH) / IP(src=c, dst=VIP4) / TCP(sport=20000 + i, dport=80, flags='PA',
                                                                  seq=2 + k) / b'data')
    wrpcap(path, pkts)


if __name__ == '__main__':
    if len(sys.argv) == 3 and sys.argv[1] == 'gen':
        gen(sys.argv[2])
    elif len(sys.argv) == 4 and sys.argv[1] == 'check':
        check(sys.argv[2], sys.argv[3])
    elif len(sys.argv) == 4 and sys.argv[1] == 'reload':
        reload_pcap(sys.argv[2], int(sys.argv[3]))
    else:
        sys.exit(__doc__)
