#!/usr/bin/env python3
"""Reference computations on pcap files for the integration tests (stdlib
only): what a correct drop filter leaves, per-packet byte hashes, which way
each packet goes in its flow, and where each output packet was in the input."""
import struct
import sys


def packets(path):
    with open(path, 'rb') as f:
        hdr = f.read(24)
        magic = struct.unpack('<I', hdr[:4])[0]
        endian = '<' if magic in (0xa1b2c3d4, 0xa1b23c4d) else '>'
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return
            _, _, incl, _ = struct.unpack(endian + 'IIII', rec)
            yield hdr, rec, f.read(incl)


def l3(pkt):
    """(ethertype, offset of the L3 header), past one VLAN tag."""
    et = struct.unpack('!H', pkt[12:14])[0]
    if et in (0x8100, 0x88a8):
        return struct.unpack('!H', pkt[16:18])[0], 18
    return et, 14


def l4(pkt):
    """(proto, sport, dport) or None, as the core's parser sees it."""
    et, off = l3(pkt)
    if et == 0x0800:
        ihl = (pkt[off] & 0xf) * 4
        proto = pkt[off + 9]
        frag = struct.unpack('!H', pkt[off + 6:off + 8])[0] & 0x3fff
        l4o = off + ihl
    elif et == 0x86dd:
        proto = pkt[off + 6]
        frag = 0
        l4o = off + 40
    else:
        return None
    if proto in (6, 17) and not frag and len(pkt) >= l4o + 4:
        sp, dp = struct.unpack('!HH', pkt[l4o:l4o + 4])
        return proto, sp, dp
    return proto, None, None


def matches(pkt, proto, port):
    t = l4(pkt)
    if t is None:
        return False
    if proto is not None and t[0] != proto:
        return False
    if port is not None and port not in (t[1], t[2]):
        return False
    return True


def direction(pkt):
    """'0' if the packet goes from the lower end of its canonical flow key
    to the higher (nfs/flowkey.h: addresses, then ports), '1' the other
    way, '-' if it is not IP."""
    et, off = l3(pkt)
    if et == 0x0800:
        src, dst = pkt[off + 12:off + 16], pkt[off + 16:off + 20]
    elif et == 0x86dd:
        src, dst = pkt[off + 8:off + 24], pkt[off + 24:off + 40]
    else:
        return '-'
    t = l4(pkt)
    sp, dp = (t[1], t[2]) if t and t[1] is not None else (0, 0)
    return '1' if src > dst or (src == dst and sp > dp) else '0'


def fnv1a(b):
    h = 0xcbf29ce484222325
    for x in b:
        h = ((h ^ x) * 0x100000001b3) & 0xffffffffffffffff
    return h


def main():
    cmd, args = sys.argv[1], sys.argv[2:]
    if cmd in ('drop', 'count'):
        proto = port = None
        while args and args[0].startswith('--'):
            opt, val = args[0], args[1]
            args = args[2:]
            if opt == '--proto':
                proto = {'tcp': 6, 'udp': 17, 'icmp': 1}.get(val) or int(val)
            elif opt == '--port':
                port = int(val)
        n = 0
        out = open(args[1], 'wb') if cmd == 'drop' else None
        for i, (hdr, rec, pkt) in enumerate(packets(args[0])):
            if i == 0 and out:
                out.write(hdr)
            if matches(pkt, proto, port):
                n += 1
            elif out:
                out.write(rec + pkt)
        print(n)
    elif cmd == 'hashes':
        for _, _, pkt in packets(args[0]):
            print('%016x' % fnv1a(pkt))
    elif cmd == 'splice':
        # the first HEAD packets of A alone, then the rest of A and all of B
        # alternately: B's flows all start after A's
        head, a, b, out = int(args[0]), list(packets(args[1])), list(packets(args[2])), open(args[3], 'wb')
        out.write(a[0][0])
        rest = a[head:]
        for _, rec, pkt in a[:head]:
            out.write(rec + pkt)
        for i in range(max(len(rest), len(b))):
            for part in (rest, b):
                if i < len(part):
                    out.write(part[i][1] + part[i][2])
    elif cmd == 'dirs':
        # per packet, in order: its byte hash (as nf-zc-probe logs it) and
        # which way it goes in its flow: 0 if its source is the lower end
        # of the flow key (nfs/flowkey.h: address, then port), 1 if not,
        # - if it is not IP
        for _, _, pkt in packets(args[0]):
            print('%016x %s' % (fnv1a(pkt), direction(pkt)))
    elif cmd == 'order':
        # per packet of OUT, in order: the index in IN of a packet with the
        # same bytes (copies of one packet take its indexes in turn), or -1
        where = {}
        for i, (_, _, pkt) in enumerate(packets(args[0])):
            where.setdefault(pkt, []).append(i)
        for k in where:
            where[k].reverse()
        for _, _, pkt in packets(args[1]):
            print(where[pkt].pop() if where.get(pkt) else -1)
    else:
        sys.exit('usage: pcaptool.py drop|count [--proto P] [--port N] IN [OUT] | hashes IN | '
                 'splice HEAD A B OUT | dirs IN | order IN OUT')


if __name__ == '__main__':
    main()
