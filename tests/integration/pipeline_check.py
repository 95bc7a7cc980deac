#!/usr/bin/python3
"""What a service graph of nfhost NFs must make of an nfh-pcapgen --sessions
capture, and a check of what came out against it (stdlib and PyYAML only, so
the demo can run it on tens of thousands of packets).

The expectation is computed here, not by the NFs' code: the graph file says
which chain each packet takes (its rules, IPv4 only, as the core applies
them) and which NF programs run on it with which config files (`-c FILE` in
`args`, relative to the current directory); a reference model of each NF's
documented policy (docs/nfs.md) reads those files and walks the input in
order; the summary JSON says which packets are hostile and of what kind.

  pipeline_check.py check GRAPH.yaml SUMMARY.json IN.pcap OUT.pcap
        [--stats STATS.json] [--alerts FILE] [--decrypted DEC.pcap] [-v]
      OUT must be the expected packets in order: byte for byte where no NF
      rewrites, else field by field (NAT: source in the pool, one mapping
      per connection, the same pool address per inside host; LB: the
      destination one backend per connection, of the service, with a
      weight; AES: the payload IV + CBC blocks of the right length); every
      IPv4, TCP, UDP, ICMP and ICMPv6 checksum right.  --stats: `nfhost
      stats` JSON, each NF's named counters against the model's (instance
      NAME-1).  --alerts: nf-ids alert lines (other lines ignored) against
      the alerts the model raises.  --decrypted: OUT after an nf-aes
      decryptor: the same packets with the input's L4 payloads.
  pipeline_check.py same OUT1.pcap DEC1.pcap OUT2.pcap DEC2.pcap
      two runs of one pipeline with NAT and AES (their ports and IVs are
      random): packet for packet the same but for NAT's ports and pool
      addresses (one-to-one between the runs, per connection), checksums
      and ciphertexts; their decryptions the same byte for byte.

Prints what each NF did; exits 1 naming the first differences."""
import ipaddress
import json
import re
import struct
import sys
from array import array
from collections import Counter, defaultdict

import yaml

# --- packets ----------------------------------------------------------------

PROTO_NUM = {'tcp': 6, 'udp': 17, 'icmp': 1, 'icmpv6': 58, 'sctp': 132, 'gre': 47, 'esp': 50}
FIN, SYN, RST, ACK = 0x01, 0x02, 0x04, 0x10


def read_pcap(path):
    """Every frame of a pcap file, in order."""
    frames = []
    with open(path, 'rb') as f:
        hdr = f.read(24)
        endian = '<' if struct.unpack('<I', hdr[:4])[0] in (0xa1b2c3d4, 0xa1b23c4d) else '>'
        while True:
            rec = f.read(16)
            if len(rec) < 16:
                return frames
            frames.append(f.read(struct.unpack(endian + 'IIII', rec)[2]))


class Pkt:
    """A frame's headers, parsed for the models; `bad` names what is wrong
    (the NF toolkit's reason words) for a frame no NF would parse."""

    def __init__(self, frame):
        self.frame = frame
        self.bad = None
        self.v = self.proto = None
        self.sport = self.dport = 0
        self.frag_first = self.frag_later = False
        self.flags = 0
        self.icmp_type = None
        self.echo = None  # 'req' or 'rep'
        try:
            self._parse(frame)
        except (struct.error, IndexError):
            self.bad = self.bad or 'trunc_l3'

    def _parse(self, f):
        if len(f) < 14:
            self.bad = 'trunc_l2'
            return
        off, et = 14, struct.unpack_from('!H', f, 12)[0]
        self.vlans = 0
        while et in (0x8100, 0x88a8):
            if self.vlans == 2:
                self.bad = 'vlan_depth'
                return
            if len(f) < off + 4:
                self.bad = 'trunc_l2'
                return
            et = struct.unpack_from('!H', f, off + 2)[0]
            off += 4
            self.vlans += 1
        self.l3 = off
        if et == 0x0800:
            if len(f) < off + 20:
                self.bad = 'trunc_l3'
                return
            ihl = (f[off] & 0xf) * 4
            tot = struct.unpack_from('!H', f, off + 2)[0]
            if f[off] >> 4 != 4 or ihl < 20 or tot < ihl:
                self.bad = 'bad_l3'
                return
            if off + tot > len(f) or off + ihl > len(f):
                self.bad = 'trunc_l3'
                return
            self.v, self.proto = 4, f[off + 9]
            self.src, self.dst = f[off + 12:off + 16], f[off + 16:off + 20]
            self.ipid = struct.unpack_from('!H', f, off + 4)[0]
            fr = struct.unpack_from('!H', f, off + 6)[0]
            self.frag_later = fr & 0x1fff != 0
            self.frag_first = not self.frag_later and fr & 0x2000 != 0
            l4, self.end = off + ihl, off + tot
        elif et == 0x86dd:
            if len(f) < off + 40:
                self.bad = 'trunc_l3'
                return
            plen = struct.unpack_from('!H', f, off + 4)[0]
            if off + 40 + plen > len(f):
                self.bad = 'trunc_l3'
                return
            self.v, self.proto = 6, f[off + 6]
            self.src, self.dst = f[off + 8:off + 24], f[off + 24:off + 40]
            l4, self.end = off + 40, off + 40 + plen
        else:
            self.bad = 'not_ip'
            return
        self.l4 = self.pay = l4
        if self.frag_later:
            return
        room = self.end - l4
        if self.proto == 6:
            if room < 20:
                self.bad = 'trunc_l4'
                return
            self.sport, self.dport, self.seq = struct.unpack_from('!HHI', f, l4)
            doff = (f[l4 + 12] >> 4) * 4
            if doff < 20 or doff > room:
                self.bad = 'bad_l4'
                return
            self.flags, self.pay = f[l4 + 13], l4 + doff
        elif self.proto == 17:
            if room < 8:
                self.bad = 'trunc_l4'
                return
            self.sport, self.dport, ulen = struct.unpack_from('!HHH', f, l4)
            if not self.frag_first:
                if ulen < 8 or ulen > room:
                    self.bad = 'bad_l4'
                    return
                self.end = l4 + ulen
            self.pay = l4 + 8
        elif self.proto in (1, 58):
            if room < 8:
                self.bad = 'trunc_l4'
                return
            self.icmp_type = f[l4]
            req, rep = (8, 0) if self.proto == 1 else (128, 129)
            if self.icmp_type in (req, rep):
                self.echo = 'req' if self.icmp_type == req else 'rep'
                ident = struct.unpack_from('!H', f, l4 + 4)[0]
                # the echo identifier is the requester's port
                self.sport, self.dport = (ident, 0) if self.echo == 'req' else (0, ident)
            self.pay = l4 + 8

    def payload(self):
        return self.frame[self.pay:self.end]

    def has_ports(self):
        return self.proto in (6, 17, 132) and not self.frag_later

    def is_error(self):
        return self.proto == 1 and self.icmp_type in (3, 4, 5, 11, 12) or \
            self.proto == 58 and self.icmp_type is not None and self.icmp_type < 128

    def quoted(self):
        """The packet an ICMP error quotes, as a Pkt (its IP header and 8 bytes)."""
        q = self.frame[:self.l3 - 2] + (b'\x08\x00' if self.v == 4 else b'\x86\xdd') + self.frame[self.pay:self.end]
        p = Pkt(q + b'\0' * 64)
        return p

    def tuple(self):
        return (self.proto, self.src, self.sport, self.dst, self.dport)

    def flow(self):
        """Both directions' key (the smaller of the tuple and its reverse)."""
        a, b = (self.src, self.sport), (self.dst, self.dport)
        return (self.proto,) + (a + b if a <= b else b + a)

    def fields(self):
        """What a comparison looks at: every header byte but the checksums
        and length fields, named, and the L4 payload."""
        f, l3, l4 = self.frame, self.l3, self.l4
        d = {'l2': f[:l3]}
        if self.v == 4:
            d['ip'] = f[l3:l3 + 2] + f[l3 + 4:l3 + 10] + f[l3 + 20:l4]
        else:
            d['ip'] = f[l3:l3 + 4] + f[l3 + 6:l3 + 8]
        d['src'], d['dst'] = self.src, self.dst
        if self.proto == 6:
            d['l4'] = f[l4 + 4:l4 + 16] + f[l4 + 18:self.pay]
        elif self.proto in (1, 58) and not self.frag_later:
            d['l4'] = f[l4:l4 + 2] + f[l4 + 6:l4 + 8]
        else:
            d['l4'] = b''
        d['sport'], d['dport'] = self.sport, self.dport
        d['payload'] = self.payload()
        return d


def csum(data):
    if len(data) % 2:
        data += b'\0'
    s = sum(array('H', data))
    while s >> 16:
        s = (s & 0xffff) + (s >> 16)
    return s


def bad_checksums(p):
    """The checksums of p that do not verify: ['ip', 'tcp', ...]."""
    bad, f = [], p.frame
    if p.v == 4 and csum(f[p.l3:p.l4]) != 0xffff:
        bad.append('ip')
    if p.frag_first or p.frag_later or p.proto not in (6, 17, 1, 58):
        return bad
    seg = f[p.l4:p.end]
    if p.proto == 17 and p.v == 4 and seg[6:8] == b'\0\0':
        return bad
    if p.proto == 1:
        pseudo = b''
    else:
        pseudo = p.src + p.dst + struct.pack('!IxxxB', len(seg), p.proto) if p.v == 6 else \
            p.src + p.dst + struct.pack('!xBH', p.proto, len(seg))
    if csum(pseudo + seg) != 0xffff:
        bad.append({6: 'tcp', 17: 'udp', 1: 'icmp', 58: 'icmpv6'}[p.proto])
    return bad


def in_prefix(addr, net):
    """addr (4 or 16 bytes) in an ipaddress network of its family."""
    return len(addr) == (4 if net.version == 4 else 16) and \
        int.from_bytes(addr, 'big') >> (net.max_prefixlen - net.prefixlen) == \
        int(net.network_address) >> (net.max_prefixlen - net.prefixlen)


def port_range(v):
    if v is None:
        return None
    lo, _, hi = str(v).partition('-')
    return int(lo), int(hi or lo)


def proto_of(v):
    if v is None or v == 'any':
        return None
    return PROTO_NUM[v] if isinstance(v, str) else int(v)


def rules_of(rules):
    """Rules (a firewall's or a graph's) with their prefixes, ranges and
    protocols parsed, in winning order: the highest priority, then the
    lowest id."""
    out = [dict(r, src=r.get('src') and ipaddress.ip_network(r['src']),
                dst=r.get('dst') and ipaddress.ip_network(r['dst']),
                sport=port_range(r.get('sport')), dport=port_range(r.get('dport')),
                proto=proto_of(r.get('proto')), priority=r.get('priority', 0)) for r in rules]
    return sorted(out, key=lambda r: (-r['priority'], r['id']))


def a2s(a):
    return str(ipaddress.ip_address(a))


# --- the NFs' policies, from their config files --------------------------------

class Drop(Exception):
    """A packet an NF drops, with the counter that counts it."""

    def __init__(self, counter):
        super().__init__(counter)
        self.counter = counter


class Model:
    """One NF: step(pkt, hostile, mods) passes (returns), rewrites (appends
    to mods, may replace pkt) or raises Drop; self.c: its counters."""
    checked = ()  # the counters held to nfhost stats

    def __init__(self, name, conf):
        self.name, self.conf, self.c = name, conf, Counter()

    def summary(self):
        return ', '.join('%s %d' % (k, v) for k, v in sorted(self.c.items()) if v)


class Forward(Model):
    def step(self, p, hostile, mods):
        return p


class Firewall(Model):
    """nf-firewall: rules decide a new connection's first packet (highest
    priority, then lowest id; default deny), tracked connections pass both
    ways, the rest is dropped by reason."""
    checked = ('passed', 'conn_new', 'related', 'frag_passed', 'drop_no_rule', 'drop_deny_rule',
               'drop_bad_state', 'drop_frag', 'drop_invalid', 'invalid_trunc_l3', 'invalid_bad_l3',
               'invalid_bad_l4', 'invalid_trunc_l2')

    def __init__(self, name, conf):
        super().__init__(name, conf)
        self.rules = rules_of(conf.get('rules', []))
        self.default = conf.get('default', 'deny')
        self.conns = {}  # flow -> {'fins': set of senders, 'rst': bool}
        self.frags = set()

    def decide(self, p):
        """The winning rule's action, or None: the default."""
        for r in self.rules:
            fam = r['src'] or r['dst']
            if fam and fam.version != p.v:
                continue
            if r['src'] and not in_prefix(p.src, r['src']) or r['dst'] and not in_prefix(p.dst, r['dst']):
                continue
            if r['proto'] is not None and r['proto'] != p.proto:
                continue
            if r['sport'] or r['dport']:
                if not p.has_ports():
                    continue
                if r['sport'] and not r['sport'][0] <= p.sport <= r['sport'][1]:
                    continue
                if r['dport'] and not r['dport'][0] <= p.dport <= r['dport'][1]:
                    continue
            return r['action']
        return None

    def open(self, p):
        a = self.decide(p)
        if a is None and self.default != 'allow':
            raise Drop('drop_no_rule')
        if a == 'deny':
            raise Drop('drop_deny_rule')
        self.conns[p.flow()] = {'fins': set(), 'rst': False}
        self.c['conn_new'] += 1
        if p.frag_first:
            self.frags.add((p.src, p.dst, p.proto, p.ipid))

    def step(self, p, hostile, mods):
        try:
            self._step(p, hostile)
        except Drop as d:
            if d.counter.startswith('invalid_'):
                self.c['drop_invalid'] += 1
            raise
        self.c['passed'] += 1
        return p

    def _step(self, p, hostile):
        if p.bad:
            raise Drop('invalid_' + p.bad)
        if p.frag_later:
            if (p.src, p.dst, p.proto, p.ipid) not in self.frags:
                raise Drop('drop_frag')
            self.c['frag_passed'] += 1
            return
        if p.is_error():
            if p.quoted().flow() not in self.conns:
                raise Drop('drop_bad_state')
            self.c['related'] += 1
            return
        conn = self.conns.get(p.flow())
        if p.proto == 6:
            if conn and not conn['rst']:
                if len(conn['fins']) == 2 and p.pay < p.end:
                    raise Drop('drop_bad_state')  # time_wait: data
                if p.flags & RST:
                    conn['rst'] = True
                if p.flags & FIN:
                    conn['fins'].add((p.src, p.sport))
                return
            if p.flags & (SYN | ACK) == SYN:
                return self.open(p)
            raise Drop('drop_bad_state')
        if conn:
            return
        if p.echo == 'rep':
            raise Drop('drop_bad_state')
        self.open(p)


class Nat(Model):
    """nf-nat: sources in `inside` leave from a pool address and port, one
    mapping per connection; the rest passes (replies here are addressed to
    the clients' real addresses, not to the pool: passed_other)."""
    checked = ('translated_out', 'translated_in', 'passed_other', 'ipv6_passed', 'no_mapping',
               'untranslatable', 'frag_dropped', 'pool_exhausted')

    def __init__(self, name, conf):
        super().__init__(name, conf)
        self.inside = [ipaddress.ip_network(n) for n in conf.get('inside', ['10.0.0.0/8', '172.16.0.0/12',
                                                                            '192.168.0.0/16'])]
        pool = conf['pool']['addresses']
        self.pool = set()
        for a in pool if isinstance(pool, list) else [pool]:
            self.pool.update(ipaddress.ip_network(a).hosts() if '/' in a and not a.endswith('/32') else
                             [ipaddress.ip_address(a.split('/')[0])])
        self.ports = port_range(conf['pool'].get('ports', '1024-65535'))
        self.mapped = set()

    def step(self, p, hostile, mods):
        if p.bad:
            raise Drop(p.bad)
        if p.v == 6:
            if self.conf.get('ipv6', 'pass') == 'drop':
                raise Drop('ipv6_dropped')
            self.c['ipv6_passed'] += 1
            return p
        if p.frag_later:
            if self.conf.get('fragments', 'drop') == 'drop':
                raise Drop('frag_dropped')
            self.c['frag_passed'] += 1
            return p
        if any(in_prefix(p.src, n) for n in self.inside):
            if p.proto not in (6, 17) and p.echo != 'req':
                raise Drop('untranslatable')
            key = p.tuple()
            if p.proto == 6 and p.flags & RST and key not in self.mapped:
                raise Drop('no_mapping')
            self.mapped.add(key)
            mods.append(('nat', key))
            self.c['translated_out'] += 1
            return p
        if ipaddress.ip_address(p.dst) in self.pool:
            raise Drop('no_mapping')
        self.c['passed_other'] += 1
        return p


class Aes(Model):
    """nf-aes: the L4 payload of selected packets becomes IV || CBC(P ||
    PKCS#7), 17..32 bytes longer; decrypting gives it back."""
    checked = ('encrypted', 'decrypted', 'not_selected', 'empty', 'too_big', 'frag_dropped', 'frag_passed')

    def __init__(self, name, conf):
        super().__init__(name, conf)
        self.protos = {PROTO_NUM[x] for x in conf.get('protocols', ['tcp', 'udp'])}
        self.ports = [port_range(x) for x in conf.get('ports', [])]
        self.mtu = conf.get('mtu', 1500)
        self.encrypt = conf['mode'] == 'encrypt'

    def step(self, p, hostile, mods):
        if p.bad:
            raise Drop(p.bad)
        if p.frag_first or p.frag_later:
            if self.conf.get('fragments', 'drop') == 'drop':
                raise Drop('frag_dropped')
            self.c['frag_passed'] += 1
            return p
        sel = p.proto in self.protos and (p.proto in (6, 17) or p.echo)
        if sel and self.ports and p.proto in (6, 17):
            sel = any(lo <= x <= hi for lo, hi in self.ports for x in (p.sport, p.dport))
        if not sel:
            self.c['not_selected'] += 1
            return p
        n = p.end - p.pay
        if n == 0:
            self.c['empty'] += 1
            return p
        if self.encrypt:
            grow = 16 + 16 - n % 16
            if p.end - p.l3 + grow > self.mtu:
                raise Drop('too_big')
            mods.append(('enc', n))
            self.c['encrypted'] += 1
        else:
            mods.append(('dec', n))
            self.c['decrypted'] += 1
        return p


class Lb(Model):
    """nf-lb: a client packet to a VIP:port of a service goes to one of its
    backends with a weight, the same for every packet of the connection."""
    checked = ('new_conns', 'conn_hits', 'not_vip', 'frag_later_drop', 'replies_rewritten')

    def __init__(self, name, conf):
        super().__init__(name, conf)
        self.svcs = {}
        self.vips = set()
        for s in conf['services']:
            vip = ipaddress.ip_address(s['vip']).packed
            self.vips.add(vip)
            self.svcs[(vip, s['port'], PROTO_NUM[s.get('proto', 'tcp')])] = s
        self.conns = set()

    def step(self, p, hostile, mods):
        if p.bad:
            raise Drop('drop_' + p.bad if p.bad != 'not_ip' else 'not_ip')
        if p.frag_later:
            if p.dst in self.vips:
                raise Drop('frag_later_drop')
            self.c['not_vip'] += 1
            return p
        s = self.svcs.get((p.dst, p.dport, p.proto)) if p.has_ports() else None
        if s is None:
            self.c['not_vip'] += 1
            return p
        key = p.tuple()
        self.c['conn_hits' if key in self.conns else 'new_conns'] += 1
        self.conns.add(key)
        mods.append(('lb', key, s['name']))
        return p


class Ids(Model):
    """nf-ids: each rule's patterns matched in a flow direction's stream (TCP
    payload in sequence order, retransmissions skipped); a rule fires once per
    direction; inline, a drop rule drops that packet and the rest of its flow."""
    checked = ('pkts', 'alerts', 'pkts_dropped', 'flows_dropped')

    def __init__(self, name, conf, path):
        super().__init__(name, conf)
        self.inline = conf.get('mode', 'passive') == 'inline'
        rules_path = conf['rules']
        if not rules_path.startswith('/'):
            rules_path = path.rsplit('/', 1)[0] + '/' + rules_path if '/' in path else rules_path
        self.rules = [self.parse_rule(r) for r in self.rule_lines(rules_path)]
        self.streams = {}  # (flow, direction tuple) -> [next seq, bytes, fired sids]
        self.dropped = set()
        self.alerts = []

    @staticmethod
    def rule_lines(path):
        text = open(path).read().replace('\\\n', ' ')
        return [ln.strip() for ln in text.splitlines() if ln.strip() and not ln.strip().startswith('#')]

    @staticmethod
    def parse_rule(line):
        head, _, opts = line.partition('(')
        act, proto, src, sport, direction, dst, dport = head.split()
        r = {'action': act, 'proto': proto, 'src': src, 'sport': sport, 'dir': direction, 'dst': dst,
             'dport': dport, 'pats': []}
        for o in re.findall(r'(\w+)(?::("(?:[^"\\]|\\.)*"|[^;]*))?;', opts):
            k, v = o
            if k == 'content':
                raw = re.sub(r'\|([0-9a-fA-F ]+)\|', lambda m: bytes.fromhex(m.group(1)).decode('latin1'),
                             v[1:-1])
                r['pats'].append([re.escape(raw.encode('latin1')), 0])
            elif k == 'nocase':
                r['pats'][-1][1] = re.I
            elif k == 'pcre':
                body, _, flags = v[1:-1][1:].rpartition('/')
                fl = (re.I if 'i' in flags else 0) | (re.S if 's' in flags else 0) | (re.M if 'm' in flags else 0)
                r['pats'].append([body.encode('latin1'), fl])
            elif k in ('sid', 'msg'):
                r[k] = int(v) if k == 'sid' else v[1:-1]
        r['pats'] = [re.compile(pat, fl) for pat, fl in r['pats']]
        return r

    @staticmethod
    def addr_ok(spec, a):
        if spec == 'any':
            return True
        neg = spec.startswith('!')
        return in_prefix(a, ipaddress.ip_network(spec.lstrip('!'))) != neg

    @staticmethod
    def port_ok(spec, port):
        if spec == 'any':
            return True
        neg = spec.startswith('!')
        lo, _, hi = spec.lstrip('!').partition(':')
        ok = (int(lo) if lo else 0) <= port <= (int(hi) if hi else 65535) if ':' in spec else port == int(lo)
        return ok != neg

    def header_ok(self, r, p):
        if r['proto'] != 'ip' and PROTO_NUM[r['proto']] != p.proto:
            return False
        fwd = self.addr_ok(r['src'], p.src) and self.port_ok(r['sport'], p.sport) and \
            self.addr_ok(r['dst'], p.dst) and self.port_ok(r['dport'], p.dport)
        rev = r['dir'] == '<>' and self.addr_ok(r['src'], p.dst) and self.port_ok(r['sport'], p.dport) and \
            self.addr_ok(r['dst'], p.src) and self.port_ok(r['dport'], p.sport)
        return fwd or rev

    def step(self, p, hostile, mods):
        if p.bad or p.frag_first or p.frag_later or p.proto != 6:
            return p  # this model covers TCP streams (the pipelines send it those)
        self.c['pkts'] += 1
        flow = p.flow()
        if flow in self.dropped:
            self.c['pkts_dropped'] += 1
            raise Drop('pkts_dropped')
        # [next sequence number, the bytes scanned, the sids fired]
        st = self.streams.setdefault((flow, p.tuple()), [None, b'', set()])
        data = p.payload()
        seq = (p.seq + (1 if p.flags & SYN else 0)) & 0xffffffff
        if st[0] is None:
            st[0] = seq
        if data:
            old = (st[0] - seq) & 0xffffffff
            if old < 0x80000000:  # starts at or before the next byte: skip what was scanned
                data = data[old:]
            if data:  # a gap is scanned as it comes
                st[1] += data
                st[0] = (seq + len(p.payload())) & 0xffffffff
        drop = False
        for r in self.rules:
            if r['sid'] in st[2] or not data or not self.header_ok(r, p):
                continue
            if all(pat.search(st[1]) for pat in r['pats']):
                st[2].add(r['sid'])
                blocked = self.inline and r['action'] == 'drop'
                self.alerts.append((r['sid'], a2s(p.src), p.sport, a2s(p.dst), p.dport, blocked))
                self.c['alerts'] += 1
                drop = drop or blocked
        if drop:
            self.dropped.add(flow)
            self.c['flows_dropped'] += 1
            self.c['pkts_dropped'] += 1
            raise Drop('pkts_dropped')
        return p


def conf_arg(args):
    if '-c' not in args:
        return None, {}
    path = str(args[args.index('-c') + 1])
    with open(path) as f:
        return path, yaml.safe_load(f) or {}


def model_of(svc):
    path, conf = conf_arg([str(a) for a in svc.get('args', [])])
    name = '%s-1' % svc['name']
    nf = svc['nf']
    if nf == 'nf-firewall':
        return Firewall(name, conf)
    if nf == 'nf-nat':
        return Nat(name, conf)
    if nf == 'nf-aes':
        return Aes(name, conf)
    if nf == 'nf-lb':
        return Lb(name, conf)
    if nf == 'nf-ids':
        return Ids(name, conf, path)
    if nf in ('nf-forward', 'nf-monitor'):
        return Forward(name, conf)
    raise SystemExit('pipeline_check: no model of %s' % nf)


class Graph:
    """The chains of a graph file and the rule each IPv4 packet matches."""

    def __init__(self, path):
        with open(path) as f:
            g = yaml.safe_load(f)
        self.models = {}
        ids = {}
        for s in g['services']:
            self.models[s['name']] = model_of(s)
            ids[s['id']] = s['name']
        self.chains = {}
        for c in g['chains']:
            names = [ids.get(x, x) for x in c['services']]
            self.chains[c['id']] = self.chains[c.get('name')] = [self.models[n] for n in names]
        self.rules = rules_of(g.get('rules', []))
        self.default = self.chains[g['default']['chain']]

    def chain(self, p):
        if p.v == 4 and not p.bad:
            for r in self.rules:
                if r['proto'] is not None and r['proto'] != p.proto:
                    continue
                if r['src'] and not in_prefix(p.src, r['src']) or r['dst'] and not in_prefix(p.dst, r['dst']):
                    continue
                # the core: fragments (first ones too) have port 0
                sp, dp = (p.sport, p.dport) if p.has_ports() and not p.frag_first else (0, 0)
                if r['sport'] and not r['sport'][0] <= sp <= r['sport'][1]:
                    continue
                if r['dport'] and not r['dport'][0] <= dp <= r['dport'][1]:
                    continue
                return self.chains[r['chain']]
        return self.default


def expect(graph, summary, frames):
    """[(input index, mods, hostile, chain)] for every packet that must come
    out, in order."""
    hostile = {h['packet'] - 1: h for h in summary['hostile']}
    out = []
    for i, fr in enumerate(frames):
        p, mods = Pkt(fr), []
        h = hostile.get(i)
        chain = graph.chain(p)
        try:
            for m in chain:
                m.step(p, h and h['kind'], mods)
        except Drop as d:
            m.c[d.counter] += 0 if d.counter == 'pkts_dropped' else 1
            continue
        out.append((i, mods, h, id(chain)))
    return out


# --- checking ---------------------------------------------------------------

class Problems(list):
    def add(self, msg):
        self.append(msg)

    def report(self):
        for p in self[:20]:
            print('FAIL: ' + p)
        if len(self) > 20:
            print('FAIL: ... and %d more' % (len(self) - 20))
        return 1 if self else 0


def in_order(graph, exp, outs, probs):
    """[(output index, expected entry)]: packets keep their order within
    their chain, not across chains (one with more NFs falls behind).  An
    output packet's chain is found from its own headers, so graphs of several
    chains must not rewrite what their rules match."""
    if len(outs) != len(exp):
        probs.add('%d packets came out, %d expected' % (len(outs), len(exp)))
    if len({id(c) for c in graph.chains.values()}) == 1:
        return list(enumerate(exp[:len(outs)]))
    want = defaultdict(list)
    for e in exp:
        want[e[3]].append(e)
    nxt, pairs = Counter(), []
    for k, ofr in enumerate(outs):
        c = id(graph.chain(Pkt(ofr)))
        if nxt[c] < len(want[c]):
            pairs.append((k, want[c][nxt[c]]))
            nxt[c] += 1
        else:
            probs.add('output packet %d: more packets on its chain than expected' % (k + 1))
    return pairs


def check_packets(graph, exp, frames, outs, probs):
    """Each output packet against its expected input packet."""
    nat_of, nat_host, lb_of = {}, {}, {}
    nat_pools = [m for m in graph.models.values() if isinstance(m, Nat)]
    lbs = [m for m in graph.models.values() if isinstance(m, Lb)]
    nbad = 0
    for k, (i, mods, h, _) in in_order(graph, exp, outs, probs):
        ofr = outs[k]
        o, p = Pkt(ofr), Pkt(frames[i])
        where = 'output packet %d (input %d)' % (k + 1, i + 1)
        if not mods:
            if ofr != frames[i]:
                probs.add('%s: changed, nothing should have' % where)
            continue
        if o.bad:
            probs.add('%s: %s' % (where, o.bad))
            continue
        if not (h and not h['checksums_valid']):
            bad = bad_checksums(o)
            nbad += bool(bad)
            if bad and nbad <= 5:
                probs.add('%s: bad checksum: %s' % (where, ', '.join(bad)))
        want, got = p.fields(), o.fields()
        for m in mods:
            if m[0] == 'nat':
                key = m[1]
                pool = nat_pools[0].pool
                if ipaddress.ip_address(o.src) not in pool:
                    probs.add('%s: source %s not in the NAT pool' % (where, a2s(o.src)))
                lo, hi = nat_pools[0].ports
                if p.proto != 1 and not lo <= o.sport <= hi:
                    probs.add('%s: NAT port %d out of %d-%d' % (where, o.sport, lo, hi))
                got_map = (o.src, o.sport)
                if nat_of.setdefault(key, got_map) != got_map:
                    probs.add('%s: connection mapped to %s:%d, before to %s:%d' %
                              (where, a2s(o.src), o.sport, a2s(nat_of[key][0]), nat_of[key][1]))
                if nat_host.setdefault(p.src, o.src) != o.src:
                    probs.add('%s: inside host %s from pool address %s, before %s' %
                              (where, a2s(p.src), a2s(o.src), a2s(nat_host[p.src])))
                for d in (want, got):
                    d['src'] = d['sport'] = None
                if p.proto == 1:  # the echo identifier rides in the ICMP header
                    want['l4'] = got['l4'] = None
            elif m[0] == 'lb':
                s = lbs[0].svcs[(p.dst, p.dport, p.proto)]
                ok = [(ipaddress.ip_address(b['addr']).packed, b['port']) for b in s['backends']
                      if b.get('weight', 1) > 0]
                be = (o.dst, o.dport)
                if be not in ok:
                    probs.add('%s: destination %s:%d is no backend of %s with a weight' %
                              (where, a2s(o.dst), o.dport, s['name']))
                if lb_of.setdefault(m[1], be) != be:
                    probs.add('%s: connection sent to %s:%d, before to %s:%d' %
                              (where, a2s(o.dst), o.dport, a2s(lb_of[m[1]][0]), lb_of[m[1]][1]))
                for d in (want, got):
                    d['dst'] = d['dport'] = None
            elif m[0] == 'enc':
                n = len(got['payload'])
                if n != 16 + m[1] + 16 - m[1] % 16:
                    probs.add('%s: encrypted payload of %d bytes for %d' % (where, n, m[1]))
                want['payload'] = got['payload'] = None
            elif m[0] == 'dec':
                want['payload'] = got['payload'] = None
        for f in want:
            if want[f] != got[f]:
                probs.add('%s: %s is %r, want %r' % (where, f, got[f], want[f]))
                break
    if nat_of:
        maps = Counter(nat_of.values())
        twice = [m for m, n in maps.items() if n > 1 and True]
        # two connections of one protocol may not share an address and port
        by_proto = Counter((k[0],) + v for k, v in nat_of.items())
        twice = [k for k, n in by_proto.items() if n > 1]
        if twice:
            probs.add('NAT gave %d mappings to more than one connection, e.g. %s' % (len(twice), twice[0]))
    return {'nat_mappings': len(nat_of), 'nat_hosts': len(nat_host), 'lb_conns': len(lb_of),
            'lb_backends': Counter(lb_of.values())}


def check_decrypted(exp, frames, outs, decs, probs):
    if len(decs) != len(outs):
        probs.add('decrypted: %d packets for %d' % (len(decs), len(outs)))
    for k, ((i, mods, h, _), ofr, dfr) in enumerate(zip(exp, outs, decs)):
        o, d, p = Pkt(ofr), Pkt(dfr), Pkt(frames[i])
        if d.bad or o.bad:
            if dfr != ofr:
                probs.add('decrypted packet %d: changed' % (k + 1))
            continue
        if d.payload() != p.payload():
            probs.add('decrypted packet %d (input %d): payload of %d bytes is not the input\'s %d' %
                      (k + 1, i + 1, len(d.payload()), len(p.payload())))
        fo, fd = o.fields(), d.fields()
        fo['payload'] = fd['payload'] = None
        if fo != fd:
            probs.add('decrypted packet %d: headers changed by the decryptor' % (k + 1))
        if bad_checksums(d) and not (h and not h['checksums_valid']):
            probs.add('decrypted packet %d: bad checksum %s' % (k + 1, bad_checksums(d)))


def check_counters(graph, stats, probs):
    nfs = {n['name']: n.get('counters', {}) for n in stats['nfs']}
    for m in graph.models.values():
        have = nfs.get(m.name)
        if have is None:
            probs.add('no NF named %s in the stats' % m.name)
            continue
        for c in m.checked:
            v = have.get(c, {}).get('value') if isinstance(have.get(c), dict) else have.get(c)
            if v is None:
                continue
            if v != m.c[c]:
                probs.add('%s: counter %s is %d, the policy says %d' % (m.name, c, v, m.c[c]))


def check_alerts(graph, path, probs):
    got = Counter()
    for ln in open(path, errors='replace'):
        if ln.startswith('{"time"'):
            a = json.loads(ln)
            got[(a['sid'], a['src'], a['sport'], a['dst'], a['dport'], a['blocked'])] += 1
    want = Counter(a for m in graph.models.values() if isinstance(m, Ids) for a in m.alerts)
    if got != want:
        probs.add('alerts: %d missing (e.g. %s), %d not expected (e.g. %s)' %
                  (sum((want - got).values()), next(iter(want - got), None), sum((got - want).values()),
                   next(iter(got - want), None)))
    return sum(got.values())


def run_check(argv):
    import argparse
    ap = argparse.ArgumentParser(prog='pipeline_check.py check')
    ap.add_argument('graph')
    ap.add_argument('summary')
    ap.add_argument('inp')
    ap.add_argument('out')
    ap.add_argument('--stats')
    ap.add_argument('--alerts')
    ap.add_argument('--decrypted')
    a = ap.parse_args(argv)
    graph = Graph(a.graph)
    with open(a.summary) as f:
        summary = json.load(f)
    frames = read_pcap(a.inp)
    if len(frames) != summary['packets']:
        raise SystemExit('%s has %d packets, its summary says %d' % (a.inp, len(frames), summary['packets']))
    exp = expect(graph, summary, frames)
    outs = read_pcap(a.out)
    probs = Problems()
    info = check_packets(graph, exp, frames, outs, probs)
    for m in graph.models.values():
        print('%-8s %s' % (m.name, m.summary()))
    print('out: %d of %d packets, as the policy says%s' % (
        len(outs), len(frames), '' if not probs else ' (NOT: see below)'))
    if info['nat_mappings']:
        print('NAT: %d connections from %d inside hosts, each its own pool address and port' %
              (info['nat_mappings'], info['nat_hosts']))
    if info['lb_conns']:
        print('LB: %d connections, one backend each: %s' % (info['lb_conns'], ', '.join(
            '%s:%d %d' % (a2s(b[0]), b[1], n) for b, n in sorted(info['lb_backends'].items()))))
    if a.stats:
        with open(a.stats) as f:
            check_counters(graph, json.load(f), probs)
    if a.alerts:
        print('alerts: %d' % check_alerts(graph, a.alerts, probs))
    if a.decrypted:
        check_decrypted(exp, frames, outs, read_pcap(a.decrypted), probs)
        print('decrypted: every payload the input\'s' if not probs else 'decrypted: checked')
    return probs.report()


def run_same(argv):
    """Two runs, one-to-one NAT mappings, same decryptions."""
    o1, d1, o2, d2 = (read_pcap(x) for x in argv)
    probs = Problems()
    if not len(o1) == len(d1) == len(o2) == len(d2):
        probs.add('packet counts differ: %d %d %d %d' % (len(o1), len(d1), len(o2), len(d2)))
    fwd, back = {}, {}
    for k, (a, b, da, db) in enumerate(zip(o1, o2, d1, d2)):
        if da != db:
            pa, pb = Pkt(da), Pkt(db)
            if pa.bad or pb.bad or pa.payload() != pb.payload():
                probs.add('packet %d: decrypted payloads differ' % (k + 1))
                continue
            # ports are per protocol: TCP, UDP and ICMP identifiers apart
            m1, m2 = (pa.proto, pa.src, pa.sport), (pb.proto, pb.src, pb.sport)
            if fwd.setdefault(m1, m2) != m2 or back.setdefault(m2, m1) != m1:
                probs.add('packet %d: NAT mapping %s:%d vs %s:%d (protocol %d) is not one-to-one between the runs' %
                          (k + 1, a2s(m1[1]), m1[2], a2s(m2[1]), m2[2], m1[0]))
            fa, fb = pa.fields(), pb.fields()
            fa['src'] = fb['src'] = fa['sport'] = fb['sport'] = None
            if pa.proto == 1:
                fa['l4'] = fb['l4'] = None
            if fa != fb:
                probs.add('packet %d: differs in more than NAT\'s source' % (k + 1))
        pa, pb = Pkt(a), Pkt(b)
        if len(a) != len(b) or (not pa.bad and len(pa.payload()) != len(pb.payload())):
            probs.add('packet %d: lengths differ' % (k + 1))
    print('same: %d packets, %d NAT mappings one-to-one, decrypted alike' % (len(o1), len(fwd)))
    return probs.report()


def main():
    if len(sys.argv) > 1 and sys.argv[1] == 'check':
        sys.exit(run_check(sys.argv[2:]))
    if len(sys.argv) == 6 and sys.argv[1] == 'same':
        sys.exit(run_same(sys.argv[2:]))
    sys.exit(__doc__)


if __name__ == '__main__':
    main()
