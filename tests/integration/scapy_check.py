#!/usr/bin/python3
"""Independent checks of what NFs wrote, with scapy (Debian's python3-scapy),
not with the toolkit's own checksum code:

  scapy_check.py checksums FILE.pcap   every IPv4 header, TCP, UDP, ICMP and
                                       ICMPv6 checksum recomputed; prints
                                       "N packets, M checksums, K bad" and
                                       each bad one; exit 1 if any is bad
Imported: bad_checksums(pkt) -> list of "LAYER: have 0x.., want 0x.." ."""
import sys

from scapy.all import ICMP, IP, TCP, UDP, IPv6, PcapReader, raw  # noqa: E402
from scapy.layers.inet import IPerror, TCPerror, UDPerror, ICMPerror
from scapy.layers.inet6 import _ICMPv6

LAYERS = [IP, TCP, UDP, ICMP, _ICMPv6]
# inside an ICMP error only the first 8 bytes of L4 are quoted: its
# checksum cannot be recomputed, and need not be
QUOTED = (IPerror, TCPerror, UDPerror, ICMPerror)


def bad_checksums(pkt):
    """Every checksum of pkt that differs from scapy's recomputation."""
    bad = []
    for layer in LAYERS:
        lay = pkt.getlayer(layer)
        if lay is None or isinstance(lay, QUOTED) or not hasattr(lay, 'chksum') and not hasattr(lay, 'cksum'):
            continue
        field = 'chksum' if hasattr(lay, 'chksum') else 'cksum'
        have = getattr(lay, field)
        if layer is UDP and have == 0 and pkt.haslayer(IP) and not pkt.haslayer(IPv6):
            continue  # no checksum: allowed over IPv4
        if layer is not IP and pkt.haslayer(IP) and (pkt[IP].flags.MF or pkt[IP].frag):
            continue  # a fragment's L4 checksum covers bytes it does not carry
        clone = lay.copy()
        setattr(clone, field, None)
        under = lay.underlayer
        if under is not None and layer is not IP:
            # the pseudo-header needs the addresses: rebuild from the IP layer
            top = under.copy()
            top.remove_payload()
            top = top / clone
            want = getattr(type(top)(raw(top)).getlayer(layer), field)
        else:
            want = getattr(type(clone)(raw(clone)), field)
        if want != have:
            bad.append('%s: have 0x%04x, want 0x%04x' % (layer.__name__, have, want))
    return bad


def main():
    if len(sys.argv) != 3 or sys.argv[1] != 'checksums':
        sys.exit(__doc__)
    n = sums = nbad = 0
    for i, pkt in enumerate(PcapReader(sys.argv[2])):
        n += 1
        sums += sum(1 for layer in LAYERS if pkt.getlayer(layer) is not None)
        for b in bad_checksums(pkt):
            nbad += 1
            if nbad <= 20:
                print('packet %d: %s: %s' % (i + 1, b, pkt.summary()))
    print('%d packets, %d checksums, %d bad' % (n, sums, nbad))
    sys.exit(1 if nbad else 0)


if __name__ == '__main__':
    main()
