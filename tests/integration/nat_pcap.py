#!/usr/bin/python3
"""A conversation through nf-nat for t_nf_nat.sh, and what must come out.

  nat_pcap.py gen IN.pcap EXPECT.pcap   the input (both directions, in order:
                                        replies after the packets that made
                                        their mappings) and the output
                                        expected, built by scapy
  nat_pcap.py check EXPECT.pcap OUT.pcap  byte for byte, packet by packet

The NF's pool is one address (192.0.2.1) and 64 ports (20000-20063): one
bitmap word, in which nf-nat hands out the lowest free port, so the ports
are known in advance: per protocol, 20000, 20001, ... in order of first
packets.  Expected packets are the input with the translated fields set and
every checksum left to scapy (a UDP checksum of 0 stays 0)."""
import logging
import sys

from scapy.all import (ICMP, IP, TCP, UDP, Dot1Q, Ether, GRE, IPv6, Raw, PcapReader, raw,  # noqa: E402
                       wrpcap)

# the runts are written as raw bytes, which scapy warns about
logging.getLogger('scapy.runtime').setLevel(logging.ERROR)

INSIDE_A, INSIDE_B = '10.0.0.5', '10.0.0.6'
REMOTE = '198.51.100.7'
POOL = '192.0.2.1'
PORT0 = 20000
L2 = dict(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')


def eth(vlan=None):
    return Ether(**L2) / Dot1Q(vlan=vlan) if vlan else Ether(**L2)


def rebuilt(p, **ip):
    """p with IP fields and L4 fields changed, checksums recomputed (a UDP
    checksum of 0 kept)."""
    q = p.copy()
    for k, v in ip.items():
        if k in ('src', 'dst'):
            setattr(q[IP], k, v)
        elif k == 'sport':
            (q[TCP] if q.haslayer(TCP) else q[UDP]).sport = v
        elif k == 'dport':
            (q[TCP] if q.haslayer(TCP) else q[UDP]).dport = v
        elif k == 'id':
            q[ICMP].id = v
    del q[IP].chksum
    for layer in (TCP, ICMP):
        if q.haslayer(layer):
            del q[layer].chksum
    if q.haslayer(UDP) and q[UDP].chksum != 0:
        del q[UDP].chksum
    return Ether(raw(q))


def conversation():
    """[(input packet, expected output or None)]"""
    c = []
    tcp_port = {}
    udp_next = [PORT0]

    def out_tcp(src, sport, dport, flags, load=b''):
        if (src, sport) not in tcp_port:
            tcp_port[(src, sport)] = PORT0 + len(tcp_port)
        p = Ether(raw(eth() / IP(src=src, dst=REMOTE) / TCP(sport=sport, dport=dport, flags=flags) / load))
        c.append((p, rebuilt(p, src=POOL, sport=tcp_port[(src, sport)])))

    def in_tcp(dst, dsport, rport, flags, load=b''):
        p = Ether(raw(eth() / IP(src=REMOTE, dst=POOL) / TCP(sport=rport, dport=tcp_port[(dst, dsport)], flags=flags) /
                      load))
        c.append((p, rebuilt(p, dst=dst, dport=dsport)))

    def out_udp(src, sport, dport, vlan=None, nocsum=False):
        port = udp_next[0]
        udp_next[0] += 1
        u = UDP(sport=sport, dport=dport, chksum=0) if nocsum else UDP(sport=sport, dport=dport)
        p = Ether(raw(eth(vlan) / IP(src=src, dst=REMOTE) / u / b'query'))
        c.append((p, rebuilt(p, src=POOL, sport=port)))
        return port

    # TCP A: a whole connection, data both ways, closed by FINs
    out_tcp(INSIDE_A, 40000, 80, 'S')
    in_tcp(INSIDE_A, 40000, 80, 'SA')
    out_tcp(INSIDE_A, 40000, 80, 'A')
    out_tcp(INSIDE_A, 40000, 80, 'PA', b'GET / HTTP/1.0\r\n\r\n')
    in_tcp(INSIDE_A, 40000, 80, 'PA', b'HTTP/1.0 200 OK\r\n\r\nhello')
    out_tcp(INSIDE_A, 40000, 80, 'FA')
    in_tcp(INSIDE_A, 40000, 80, 'FA')
    out_tcp(INSIDE_A, 40000, 80, 'A')
    # TCP B: a RST from the server mid-connection
    out_tcp(INSIDE_B, 40001, 443, 'S')
    in_tcp(INSIDE_B, 40001, 443, 'SA')
    out_tcp(INSIDE_B, 40001, 443, 'PA', b'x' * 100)
    in_tcp(INSIDE_B, 40001, 443, 'R')
    # UDP with no checksum, and its answer with one
    u1 = out_udp(INSIDE_A, 5353, 53, nocsum=True)
    p = Ether(raw(eth() / IP(src=REMOTE, dst=POOL) / UDP(sport=53, dport=u1) / b'answer'))
    c.append((p, rebuilt(p, dst=INSIDE_A, dport=5353)))
    # UDP VLAN-tagged, both ways
    uv = out_udp(INSIDE_B, 6000, 123, vlan=7)
    p = Ether(raw(eth(7) / IP(src=REMOTE, dst=POOL) / UDP(sport=123, dport=uv) / b'ntp'))
    c.append((p, rebuilt(p, dst=INSIDE_B, dport=6000)))
    # ICMP echo: the identifier is the port
    p = Ether(raw(eth() / IP(src=INSIDE_A, dst=REMOTE) / ICMP(type=8, id=0x1234, seq=1) / b'ping'))
    c.append((p, rebuilt(p, src=POOL, id=PORT0)))
    p = Ether(raw(eth() / IP(src=REMOTE, dst=POOL) / ICMP(type=0, id=PORT0, seq=1) / b'ping'))
    c.append((p, rebuilt(p, dst=INSIDE_A, id=0x1234)))
    # UDP to a closed port: the server's port unreachable quotes what it
    # got; it comes back quoting what the inside host sent
    u5 = out_udp(INSIDE_A, 7777, 9999)
    sent = c[-1][0]
    got = c[-1][1]
    p = Ether(raw(eth() / IP(src=REMOTE, dst=POOL) / ICMP(type=3, code=3) / raw(got[IP])[:28]))
    want = Ether(raw(eth() / IP(src=REMOTE, dst=INSIDE_A) / ICMP(type=3, code=3) / raw(sent[IP])[:28]))
    c.append((p, want))
    assert u5 == PORT0 + 2
    # to the pool, no mapping: dropped
    c.append((Ether(raw(eth() / IP(src=REMOTE, dst=POOL) / UDP(sport=53, dport=PORT0 + 50) / b'stray')), None))
    # from another remote port than the mapping's: dropped
    c.append((Ether(raw(eth() / IP(src=REMOTE, dst=POOL) / UDP(sport=54, dport=u1) / b'spoof')), None))
    # IPv6: passed as it is (the default policy)
    p = Ether(raw(eth() / IPv6(src='2001:db8::1', dst='2001:db8::2') / UDP(sport=1, dport=2) / b'v6'))
    c.append((p, p))
    # fragments: the first (ports in it) translated, a later one dropped
    whole = IP(src=INSIDE_B, dst=REMOTE, id=777) / UDP(sport=8000, dport=8001) / (b'f' * 64)
    whole = IP(raw(whole))
    first = IP(raw(whole)[:20 + 32])
    first.flags = 'MF'
    first.len = 52
    del first.chksum
    later = IP(src=INSIDE_B, dst=REMOTE, id=777, frag=4, proto=17) / raw(whole)[20 + 32:]
    uf = udp_next[0]
    udp_next[0] += 1
    p = Ether(raw(eth() / first))
    # what the first fragment must become: the whole datagram translated
    # (its UDP checksum covers all of it), cut where the input was
    tw = IP(raw(whole))
    tw.src = POOL
    tw[UDP].sport = uf
    del tw.chksum
    del tw[UDP].chksum
    tfirst = IP(raw(IP(raw(tw)))[:52])
    tfirst.flags = 'MF'
    tfirst.len = 52
    del tfirst.chksum
    c.append((p, Ether(raw(eth() / tfirst))))
    c.append((Ether(raw(eth() / later)), None))
    # GRE from inside: no port to map, dropped
    c.append((Ether(raw(eth() / IP(src=INSIDE_A, dst=REMOTE) / GRE() / b'gre')), None))
    # neither inside nor to the pool: passed as it is
    p = Ether(raw(eth() / IP(src=REMOTE, dst='203.0.113.9') / UDP(sport=1, dport=2) / b'transit'))
    c.append((p, p))
    # a runt and a truncated IP header: dropped by the parser's reason
    c.append((Raw(raw(eth())[:10]), None))
    c.append((Raw(raw(eth() / IP(src=INSIDE_A, dst=REMOTE) / UDP())[:14 + 12]), None))
    # the UDP ports run out: 60 left, 63 flows
    for i in range(63):
        if udp_next[0] <= PORT0 + 63:
            out_udp('10.1.0.%d' % (i + 1), 1000 + i, 53)
        else:
            c.append((Ether(raw(eth() / IP(src='10.1.0.%d' % (i + 1), dst=REMOTE) / UDP(sport=1000 + i, dport=53) /
                                b'query')), None))
    return c


def main():
    if len(sys.argv) != 4 or sys.argv[1] not in ('gen', 'check'):
        sys.exit(__doc__)
    if sys.argv[1] == 'gen':
        c = conversation()
        wrpcap(sys.argv[2], [p for p, _ in c], linktype=1)
        wrpcap(sys.argv[3], [e for _, e in c if e is not None], linktype=1)
        print('%d packets in, %d expected out' % (len(c), sum(1 for _, e in c if e is not None)))
        return
    want = [bytes(p) for p in PcapReader(sys.argv[2])]
    got = [bytes(p) for p in PcapReader(sys.argv[3])]
    bad = 0
    for i, (w, g) in enumerate(zip(want, got)):
        if w != g:
            bad += 1
            if bad <= 5:
                print('output packet %d differs:\n  want %s\n  got  %s' % (i + 1, Ether(w).summary(), Ether(g).summary()))
                print('  want %s\n  got  %s' % (w.hex(), g.hex()))
    if len(want) != len(got):
        print('%d packets out, %d expected' % (len(got), len(want)))
        bad += 1
    print('%d packets out, %d as expected' % (len(got), len(got) - bad))
    sys.exit(1 if bad else 0)


if __name__ == '__main__':
    main()
