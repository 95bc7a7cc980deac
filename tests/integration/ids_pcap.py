#!/usr/bin/python3
"""t_nf_ids.sh's traffic, with scapy: ids_pcap.py OUT.pcap

Every packet carries a tag: its IPv4 id, or for IPv6 its flow label, is
its number; the test checks which numbers came out.  Flows:
  1-9    TCP 10.0.0.1:40000 -> 10.0.0.2:80, handshake, "ATTACK-SIGNATURE"
         split over three segments (alert sid 1, once), replies, FIN
  20-25  TCP 10.0.0.3:40001 -> 10.0.0.2:8080: "hello", then "EV" "IL"
         (drop sid 6: 22 and 23 completes it), then more both ways: from
         23 on nothing comes out
  30-32  three flows, one piece each of the signature: no alert
  40     UDP DNS query for bad.com (alert sid 7)
  50-51  IPv6 TCP with "CMD.EXE" (alert sid 2, nocase)
  60     VLAN 42, TCP with bytes 41 00 ff 42 0d 0a (alert sid 3)
  70     an IPv4 fragment carrying "EVIL" to port 8080: passed, not scanned
  80     a runt (20 bytes): dropped inline
"""
import sys

from scapy.all import IP, TCP, UDP, Dot1Q, Ether, IPv6, Raw, wrpcap

E = Ether(src="02:00:00:00:00:01", dst="02:00:00:00:00:02")
pkts = []


def tcp(tag, src, dst, sport, dport, flags, seq, ack=0, data=b""):
    p = E / IP(src=src, dst=dst, id=tag) / TCP(sport=sport, dport=dport, flags=flags, seq=seq, ack=ack)
    pkts.append(p / Raw(data) if data else p)


C, S = "10.0.0.1", "10.0.0.2"
tcp(1, C, S, 40000, 80, "S", 100)
tcp(2, S, C, 80, 40000, "SA", 500, 101)
tcp(3, C, S, 40000, 80, "A", 101, 501)
tcp(4, C, S, 40000, 80, "PA", 101, 501, b"GET /xxATTACK-")
tcp(5, C, S, 40000, 80, "PA", 115, 501, b"SIGNA")
tcp(6, C, S, 40000, 80, "PA", 120, 501, b"TURE HTTP/1.1\r\n\r\n")
tcp(7, S, C, 80, 40000, "PA", 501, 139, b"HTTP/1.1 200 OK\r\n\r\n")
tcp(8, C, S, 40000, 80, "FA", 139, 520)
tcp(9, S, C, 80, 40000, "FA", 520, 140)

B = "10.0.0.3"
tcp(20, B, S, 40001, 8080, "PA", 1000, 1, b"hello")
tcp(21, S, B, 8080, 40001, "PA", 1, 1005, b"hi")
tcp(22, B, S, 40001, 8080, "PA", 1005, 3, b"EV")
tcp(23, B, S, 40001, 8080, "PA", 1007, 3, b"IL")
tcp(24, B, S, 40001, 8080, "PA", 1009, 3, b"after")
tcp(25, S, B, 8080, 40001, "PA", 3, 1014, b"reply")

for i, piece in enumerate([b"ATTACK-", b"SIGNA", b"TURE"]):
    tcp(30 + i, C, S, 41000 + i, 80, "PA", 7, 1, piece)

pkts.append(E / IP(src=C, dst="10.0.0.53", id=40) / UDP(sport=5353, dport=53) /
            Raw(b"\x12\x34\x01\x00\x00\x01\x00\x00\x00\x00\x00\x00\x03bad\x03com\x00\x00\x01\x00\x01"))
for i, data in enumerate([b"GET /CMD", b".EXE"]):
    pkts.append(E / IPv6(src="2001:db8::1", dst="2001:db8::2", fl=50 + i) /
                TCP(sport=40002, dport=8000, flags="PA", seq=1 + 8 * i) / Raw(data))
pkts.append(E / Dot1Q(vlan=42) / IP(src=C, dst=S, id=60) / TCP(sport=40003, dport=9000, flags="PA") /
            Raw(b"xA\x00\xffB\r\nx"))
pkts.append(E / IP(src=B, dst=S, id=70, flags="MF") / TCP(sport=40004, dport=8080, flags="PA") / Raw(b"EVIL"))
pkts.append(Ether(bytes(E / IP(src=C, dst=S, id=80))[:20]))
wrpcap(sys.argv[1], pkts)
