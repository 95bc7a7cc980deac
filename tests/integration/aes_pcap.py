#!/usr/bin/python3
"""Crafted traffic for t_nf_aes.sh (nf-aes), made and checked with scapy:

  aes_pcap.py good OUT.pcap      TCP and UDP, IPv4 and IPv6, 0-2 VLAN tags,
                                 payloads of 0, 1, 15, 16, 17, ... bytes and the
                                 largest whose encryption fits an MTU of 1500
  aes_pcap.py hostile OUT.pcap   what encryption must drop, one kind each with
                                 its count on stderr: too big for the MTU,
                                 fragments, runts and truncated frames, a bad
                                 TCP checksum
  aes_pcap.py badcipher OUT.pcap payloads decryption must refuse: not IV + whole
                                 blocks, or whole blocks with a bad padding
  aes_pcap.py lengths IN OUT     OUT is IN encrypted (the good packets, in
                                 order): each payload grew by 16 + (16 - n % 16)
                                 (an empty one by nothing), headers alike but
                                 for lengths and checksums, every length field
                                 right; exit 1 with what differs"""
import logging
import sys

from scapy.all import (IP, TCP, UDP, Dot1Q, Ether, IPv6, IPv6ExtHdrFragment, PcapReader, Raw, fragment, raw,
                       wrpcap)

# written as bytes with linktype 1: no warning that Raw has no link type
logging.getLogger('scapy.runtime').setLevel(logging.ERROR)
MTU = 1500
SIZES = [0, 1, 2, 15, 16, 17, 31, 32, 33, 100, 1000]


def l3(ipv):
    return IP(src='10.0.0.1', dst='10.0.0.2') if ipv == 4 else IPv6(src='2001::1', dst='2001::2')


def l2(vlans):
    e = Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')
    for v in range(vlans):
        e = e / Dot1Q(vlan=100 + v)
    return e


def l4(proto, i):
    return TCP(sport=4000 + i, dport=443, flags='PA', seq=1000 * i) if proto == 'tcp' else UDP(sport=5000 + i,
                                                                                              dport=9999)


def fits(ipv, proto):
    """The largest payload whose encryption fits the MTU."""
    hdr = (20 if ipv == 4 else 40) + (20 if proto == 'tcp' else 8)
    n = 0
    while hdr + n + 1 + 16 + (16 - (n + 1) % 16) <= MTU:
        n += 1
    return n


def payload(n, seed):
    return bytes((seed * 7 + k * 13) & 0xff for k in range(n))


def good():
    pkts, i = [], 0
    for ipv in (4, 6):
        for vlans in (0, 1, 2):
            for proto in ('tcp', 'udp'):
                for n in SIZES + [fits(ipv, proto)]:
                    pkts.append(l2(vlans) / l3(ipv) / l4(proto, i) / Raw(payload(n, i)))
                    i += 1
    return pkts


def hostile():
    big = [l2(0) / l3(4) / UDP(sport=1, dport=2) / Raw(payload(fits(4, 'udp') + 1, 1)),
           l2(1) / l3(6) / TCP(sport=1, dport=2) / Raw(payload(fits(6, 'tcp') + 1, 2))]
    frags = fragment(l2(0) / l3(4) / UDP(sport=1, dport=2) / Raw(payload(2000, 3)), fragsize=800)
    frags += [l2(0) / l3(6) / IPv6ExtHdrFragment(m=1, id=9) / UDP(sport=1, dport=2) / Raw(payload(40, 4)),
              l2(0) / l3(6) / IPv6ExtHdrFragment(offset=10, id=9) / Raw(payload(40, 5))]
    whole = raw(l2(0) / l3(4) / TCP(sport=1, dport=2) / Raw(payload(100, 6)))
    # cut in the IP header, in the TCP header, in the payload (each shorter
    # than the IP total length says)
    trunc = [Raw(whole[:n]) for n in (20, 40, 80)]
    runts = [Raw(whole[:n]) for n in (10,)]
    badsum = l2(0) / l3(4) / TCP(sport=1, dport=2, chksum=0x1234) / Raw(payload(50, 7))
    kinds = {'too_big': big, 'frag': frags, 'trunc_l3': trunc, 'trunc_l2': runts, 'bad_l4_csum': [badsum]}
    for k, v in kinds.items():
        print('%s %d' % (k, len(v)), file=sys.stderr)
    return [p for v in kinds.values() for p in v]


def badcipher():
    """Not 16 + k*16 bytes (k >= 1), or whole blocks of random bytes: a valid
    PKCS#7 padding by chance is 1 in ~256; the test counts at least 6 of 8."""
    pkts = [l2(0) / l3(4) / UDP(sport=1, dport=2) / Raw(payload(n, n)) for n in (17, 31, 33, 47, 100)]
    pkts += [l2(0) / l3(6) / UDP(sport=1, dport=2) / Raw(payload(16, 1))]
    pkts += [l2(0) / l3(4) / TCP(sport=1, dport=2) / Raw(payload(48, s)) for s in (8, 9)]
    return pkts


def layers(p):
    """The packet's headers up to the L4 payload, as bytes with lengths and
    checksums zeroed, and that payload (by the L4 header, not by what scapy
    makes of the payload)."""
    q = p.copy()
    for lay, fields in ((IP, ('len', 'chksum')), (IPv6, ('plen',)), (TCP, ('chksum',)), (UDP, ('len', 'chksum'))):
        if q.haslayer(lay):
            for f in fields:
                setattr(q[lay], f, 0)
    top = q[TCP] if q.haslayer(TCP) else q[UDP]
    pay = raw(top.payload)
    top.remove_payload()
    return raw(q), pay


def lengths(inp, out):
    bad = 0
    a, b = list(PcapReader(inp)), list(PcapReader(out))
    if len(a) != len(b):
        sys.exit('lengths: %d packets in, %d out' % (len(a), len(b)))
    for i, (p, q) in enumerate(zip(a, b)):
        hp, pp = layers(p)
        hq, pq = layers(q)
        n = len(pp)
        want = n + 16 + (16 - n % 16) if n else 0
        why = []
        if hp != hq:
            why.append('headers differ beyond lengths and checksums')
        if len(pq) != want:
            why.append('payload %d bytes, want %d' % (len(pq), want))
        ip = q[IP] if q.haslayer(IP) else q[IPv6]
        if q.haslayer(IP) and q[IP].len != len(raw(q[IP])):
            why.append('IPv4 total length %d, packet %d' % (q[IP].len, len(raw(q[IP]))))
        if q.haslayer(IPv6) and q[IPv6].plen != len(raw(q[IPv6])) - 40:
            why.append('IPv6 payload length %d, packet %d' % (q[IPv6].plen, len(raw(q[IPv6])) - 40))
        if q.haslayer(UDP) and q[UDP].len != len(raw(q[UDP])):
            why.append('UDP length %d, datagram %d' % (q[UDP].len, len(raw(q[UDP]))))
        if len(raw(ip)) > MTU:
            why.append('IP packet of %d bytes, over the MTU' % len(raw(ip)))
        if why:
            bad += 1
            print('packet %d: %s' % (i + 1, '; '.join(why)))
    print('lengths: %d packets, %d bad' % (len(a), bad))
    sys.exit(1 if bad else 0)


def main():
    if len(sys.argv) == 3 and sys.argv[1] in ('good', 'hostile', 'badcipher'):
        # as bytes: the runts are not Ethernet frames scapy would write
        wrpcap(sys.argv[2], [Raw(raw(p)) for p in globals()[sys.argv[1]]()], linktype=1)
    elif len(sys.argv) == 4 and sys.argv[1] == 'lengths':
        lengths(sys.argv[2], sys.argv[3])
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
