#!/usr/bin/python3
"""Traffic and configuration for t_nf_firewall.sh (scapy).

  fw_traffic.py conf FILE [DENY_SRC]  the firewall's configuration: the
                                      test's rules among 1000 filler rules
                                      no packet matches; DENY_SRC: one more
                                      rule denying that source (the reload)
  fw_traffic.py phase1 IN.pcap EXPECT crafted flows; EXPECT gets one line a
                                      packet: pass|drop and what it is
  fw_traffic.py phase2 IN.pcap        a loop for infinite_rx: connection A
                                      established, then data; connection B
                                      opened and reset again each round
  fw_traffic.py check IN EXPECT OUT   every packet EXPECT says passes is in
                                      OUT byte for byte, and nothing else
"""
import random
import sys

from scapy.all import ARP, ICMP, IP, TCP, UDP, Dot1Q, Ether, IPv6, Raw, fragment, raw, rdpcap, wrpcap

E = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
CLI, SRV, DNS = "10.0.0.1", "172.16.0.1", "8.8.8.8"


def conf(path, deny_src=None):
    rnd = random.Random(1)
    with open(path, "w") as f:
        f.write("default: deny\nconntrack: {max: 4096, timeouts: {established: 600}}\nrules:\n")
        f.write("  - {id: 10, priority: 10, action: allow, dst: 172.16.0.0/12, dport: 80, proto: tcp}\n")
        f.write("  - {id: 20, priority: 10, action: allow, src: 10.0.0.0/8, dport: 53, proto: udp}\n")
        f.write("  - {id: 30, priority: 5, action: allow, src: 10.0.0.0/8, proto: icmp}\n")
        f.write("  - {id: 40, priority: 50, action: deny, src: 10.0.66.0/24}\n")
        f.write("  - {id: 50, priority: 10, action: allow, src: \"2001:db8::/32\", dport: 443, proto: tcp}\n")
        if deny_src:
            f.write("  - {id: 60, priority: 100, action: deny, src: %s/32}\n" % deny_src)
        # filler: 198.18.0.0/15 (benchmarking addresses), never in the traffic
        for i in range(1000):
            f.write("  - {id: %d, priority: %d, action: %s, src: 198.18.%d.0/24, dport: %d-%d, proto: %s}\n" %
                    (1000 + i, rnd.randint(0, 99), rnd.choice(["allow", "deny"]), i % 256, i, i + rnd.randint(0, 999),
                     rnd.choice(["tcp", "udp"])))


def tcp(src, sport, dst, dport, flags, data=b"", vlan=None):
    l3 = (IPv6 if ":" in src else IP)(src=src, dst=dst) / TCP(sport=sport, dport=dport, flags=flags) / Raw(data)
    return E / Dot1Q(vlan=vlan) / l3 if vlan else E / l3


def handshake(c, cp, s, sp, vlan=None):
    return [tcp(c, cp, s, sp, "S", vlan=vlan), tcp(s, sp, c, cp, "SA", vlan=vlan), tcp(c, cp, s, sp, "A", vlan=vlan)]


def phase1(pcap, expect):
    P = []  # (packet, passes, what)

    def add(pkts, ok, what):
        for p in pkts if isinstance(pkts, list) else [pkts]:
            P.append((p, ok, what))

    # A: a whole connection, then data after the close
    add(handshake(CLI, 1001, SRV, 80), True, "A handshake")
    add([tcp(CLI, 1001, SRV, 80, "PA", b"GET /"), tcp(SRV, 80, CLI, 1001, "PA", b"200 OK")], True, "A data")
    add([tcp(CLI, 1001, SRV, 80, "FA"), tcp(SRV, 80, CLI, 1001, "FA"), tcp(CLI, 1001, SRV, 80, "A")], True,
        "A close")
    add(tcp(SRV, 80, CLI, 1001, "PA", b"late"), False, "A data after close")
    # B: no rule; C: the deny rule (priority 50 over rule 10)
    add(tcp("10.0.0.2", 1002, SRV, 22, "S"), False, "B no rule")
    add(tcp("10.0.66.5", 1003, SRV, 80, "S"), False, "C deny rule")
    # D: mid-stream, no connection
    add(tcp("10.0.0.3", 1004, SRV, 80, "PA", b"x"), False, "D no connection")
    # E: a RST mid-connection, then data
    add(handshake("10.0.0.4", 1005, SRV, 80), True, "E handshake")
    add(tcp(SRV, 80, "10.0.0.4", 1005, "R"), True, "E RST")
    add(tcp("10.0.0.4", 1005, SRV, 80, "PA", b"after rst"), False, "E data after RST")
    # F: UDP both ways; an unsolicited reply
    q = E / IP(src="10.0.0.5", dst=DNS) / UDP(sport=5353, dport=53) / Raw(b"query")
    add(q, True, "F query")
    add(E / IP(src=DNS, dst="10.0.0.5") / UDP(sport=53, dport=5353) / Raw(b"answer"), True, "F answer")
    add(E / IP(src="8.8.4.4", dst="10.0.0.5") / UDP(sport=53, dport=5354) / Raw(b"?"), False, "F unsolicited")
    # G: ICMP echo both ways; a reply to nothing
    add(E / IP(src="10.0.0.6", dst=SRV) / ICMP(type=8, id=7, seq=1), True, "G echo request")
    add(E / IP(src=SRV, dst="10.0.0.6") / ICMP(type=0, id=7, seq=1), True, "G echo reply")
    add(E / IP(src=SRV, dst="10.0.0.6") / ICMP(type=0, id=8, seq=1), False, "G reply to nothing")
    # H: an ICMP error about F's query (related), one about nothing
    add(E / IP(src="192.0.2.1", dst="10.0.0.5") / ICMP(type=3, code=3) / raw(q[IP])[:28], True, "H related")
    add(E / IP(src="192.0.2.1", dst="10.0.0.9") / ICMP(type=3, code=3) /
        raw(IP(src="10.0.0.9", dst=DNS) / UDP(sport=1, dport=53))[:28], False, "H unrelated")
    # I: IPv6 by the NF's fallback
    add(handshake("2001:db8::1", 1000, "2001:db8:1::1", 443), True, "I IPv6 handshake")
    add(E / IPv6(src="2001:db8::1", dst="2001:db8:1::1") / UDP(sport=1, dport=2), False, "I IPv6 no rule")
    # J: VLAN tagged
    add(handshake("10.0.0.7", 1007, "172.16.0.2", 80, vlan=42), True, "J VLAN")
    # K: fragments of an allowed datagram; a later fragment of nothing
    big = IP(src="10.0.0.8", dst=DNS, id=4242) / UDP(sport=5000, dport=53) / Raw(b"q" * 1200)
    add([E / f for f in fragment(big, fragsize=600)], True, "K fragments")
    add(E / IP(src="10.0.0.8", dst=DNS, id=999, frag=75, proto=17) / Raw(b"z" * 100), False, "K orphan fragment")
    # L: a runt and ARP
    add(Ether(raw(E / IP(src=CLI, dst=SRV) / TCP())[:34]), False, "L runt")
    add(E / ARP(psrc=CLI, pdst=SRV), False, "L ARP")
    # every packet distinct, so the check can match them byte for byte
    pkts = []
    with open(expect, "w") as f:
        for i, (p, ok, what) in enumerate(P):
            if p.haslayer(IP) and not p.haslayer(ICMP) and p[IP].frag == 0 and p[IP].flags == 0:
                p[IP].id = i
            pkts.append(p)
            f.write("%s %s\n" % ("pass" if ok else "drop", what))
    wrpcap(pcap, pkts)


def phase2(pcap):
    pkts = handshake(CLI, 2001, SRV, 80) + [tcp(CLI, 2001, SRV, 80, "PA", b"data %d" % i) for i in range(8)]
    pkts += [tcp("10.0.0.2", 2002, SRV, 80, "S"), tcp("10.0.0.2", 2002, SRV, 80, "R")]
    wrpcap(pcap, pkts)


def check(inp, expect, out):
    want = {}
    for p, line in zip(rdpcap(inp), open(expect)):
        ok, what = line.split(" ", 1)
        if ok == "pass":
            want[raw(p)] = what.strip()
    got = [raw(p) for p in rdpcap(out)]
    bad = 0
    for g in got:
        if g not in want:
            print("passed but should not have: %r" % Ether(g).summary())
            bad += 1
    for w, what in want.items():
        if w not in got:
            print("dropped but should have passed: %s: %s" % (what, Ether(w).summary()))
            bad += 1
    print("%d packets out, %d expected, %d wrong" % (len(got), len(want), bad))
    return 1 if bad or len(got) != len(want) else 0


if __name__ == "__main__":
    cmd = sys.argv[1]
    if cmd == "conf":
        conf(sys.argv[2], sys.argv[3] if len(sys.argv) > 3 else None)
    elif cmd == "phase1":
        phase1(sys.argv[2], sys.argv[3])
    elif cmd == "phase2":
        phase2(sys.argv[2])
    elif cmd == "check":
        sys.exit(check(sys.argv[2], sys.argv[3], sys.argv[4]))
