#!/usr/bin/python3
"""monitor_pcap.py OUT.pcap: the traffic t_nf_monitor.sh checks nf-monitor
against, with what it must find printed as JSON on stdout: a large TCP flow
(both directions), a middle UDP flow, a small one on a VLAN, an IPv6 flow,
ARP (not IP) and runts (bad headers)."""
import json
import sys

from scapy.all import ARP, IP, TCP, UDP, Dot1Q, Ether, IPv6, Raw, wrpcap

E = Ether(src='02:00:00:00:00:01', dst='02:00:00:00:00:02')
pkts = []
# big: 10.0.0.1:1234 <-> 172.16.0.1:80, 60 requests of 1000 B and 60 acks
for i in range(60):
    pkts.append(E / IP(src='10.0.0.1', dst='172.16.0.1') / TCP(sport=1234, dport=80, flags='PA') / Raw(b'x' * 946))
    pkts.append(E / IP(src='172.16.0.1', dst='10.0.0.1') / TCP(sport=80, dport=1234, flags='A'))
# middle: one way UDP, 40 x 500 B
for i in range(40):
    pkts.append(E / IP(src='10.0.0.2', dst='172.16.0.2') / UDP(sport=5000, dport=53) / Raw(b'y' * 458))
# small on VLAN 7: 5 x 100 B
for i in range(5):
    pkts.append(E / Dot1Q(vlan=7) / IP(src='10.0.0.3', dst='172.16.0.3') / UDP(sport=6000, dport=6001) /
                Raw(b'z' * 54))
# IPv6: 20 packets
for i in range(20):
    pkts.append(E / IPv6(src='2001:db8::1', dst='2001:db8::2') / UDP(sport=7000, dport=7001) / Raw(b'v' * 100))
# not IP: 7 ARP
for i in range(7):
    pkts.append(Ether(src='02:00:00:00:00:01', dst='ff:ff:ff:ff:ff:ff') / ARP(pdst='10.0.0.9'))
# bad headers: IPv4 with a total length past the frame
for i in range(3):
    p = E / IP(src='10.0.0.4', dst='172.16.0.4', len=1400) / UDP(sport=1, dport=2)
    pkts.append(Ether(bytes(p)))
wrpcap(sys.argv[1], pkts)
size = lambda p: len(bytes(p))  # noqa: E731
print(json.dumps({
    'pkts': len(pkts), 'bytes': sum(size(p) for p in pkts), 'flows': 4, 'ipv6': 20, 'not_ip': 7, 'bad': 3,
    'big_pkts': 120, 'big_bytes': sum(size(p) for p in pkts[:120]),
}))
