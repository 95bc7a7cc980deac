#!/usr/bin/env python3
"""t_live_change's helper (stdlib only).

  live_change.py defs
      the --chain-def arguments for nf-zc-probe: every (chain, services)
      the changes below can create
  live_change.py drive NFHOST REGION PACKETS LOG [MAX_SECONDS]
      change chains and rules through the nfhost CLI, one change after the
      other, until the core has received PACKETS packets; LOG gets one JSON
      line per change: the command, CLOCK_MONOTONIC before and after it,
      and (every 4th) the core's counters right after it
  live_change.py check LOG STATS SHOW IN.pcap OUT.pcap EXPECTED.pcap MIN_CHANGES MAX_INFLIGHT NF_LOG... -- RX_LOG...
      account for every packet (see t_live_change.sh) and write the input
      less the packets that drop rules took to EXPECTED.pcap

The model below (rules, chains, the default) is what the core is expected
to do at any moment; check replays the change log through it and compares
every packet an NF saw first with what the model says for the moment the
core received it.
"""
import bisect
import collections
import ipaddress
import json
import os
import socket
import struct
import subprocess
import sys
import time

sys.path.insert(0, os.path.dirname(os.path.abspath(__file__)))
import pcaptool  # noqa: E402  (the tests' pcap reader, beside this file)

# Packets whose receive falls this close to a change may be classified
# under either side of it (the probe converts the core's TSC to
# CLOCK_MONOTONIC with the core's TSC rate).
MARGIN_NS = int(os.environ.get("LIVE_MARGIN_NS", 2_000_000))

# rule ID -> (priority, conditions, action); conditions as nfhost takes them
R_ALL = (1, -100, {}, ('chain', 1))              # everything: chain 1
R_UDP = (10, 10, {'proto': 'udp'}, ('chain', 2))
R_DROP = (20, 20, {'proto': 'tcp', 'dport': '0-20000'}, ('drop',))
R_ICMP = (30, 30, {'proto': 'icmp'}, ('port', 0))
R_PFX = (40, 5, {'src': '10.0.0.0/10'}, ('chain', 3))
R_UDPCLI = (50, 15, {'proto': 'udp', 'sport': '1024-65535'}, ('chain', 4))

SETUP = [('chain', 1, [1, 2, 3]), ('chain', 2, [4]), ('chain', 3, [3, 4]), ('rule', R_ALL)]
# 22 changes that end where they started: chains redefined, created and
# deleted, rules that move flows to another chain, out a port, or drop them
CYCLE = [
    ('chain', 1, [1, 3]),
    ('rule', R_UDP),
    ('chain', 2, [4, 1]),
    ('rule', R_DROP),
    ('rule', R_ICMP),
    ('chain', 1, [3, 2, 1]),
    ('rule', R_PFX),
    ('chain', 4, [2, 1]),
    ('rule', R_UDPCLI),
    ('chain', 3, [4, 3]),
    ('ruledel', 20),
    ('ruledel', 1),          # unmatched packets take the default: chain 0
    ('chain', 2, [2, 3, 4]),
    ('ruledel', 50),
    ('chaindel', 4),
    ('ruledel', 10),
    ('rule', R_ALL),
    ('ruledel', 30),
    ('chain', 3, [3, 4]),
    ('ruledel', 40),
    ('chain', 1, [1, 2, 3]),
    ('chain', 2, [4]),
]
CHAIN0 = [1, 2]  # the core's --chain, the default
PROTOS = {'tcp': 6, 'udp': 17, 'icmp': 1}


def chain_defs():
    defs = {(0, tuple(CHAIN0))}
    for op in SETUP + CYCLE:
        if op[0] == 'chain':
            defs.add((op[1], tuple(op[2])))
    return sorted(defs)


def argv_of(op):
    if op[0] == 'chain':
        return ['chain', 'set', str(op[1]), ','.join(map(str, op[2]))]
    if op[0] == 'chaindel':
        return ['chain', 'del', str(op[1])]
    if op[0] == 'ruledel':
        return ['rule', 'del', str(op[1])]
    rid, prio, cond, act = op[1]
    a = ['rule', 'add', '--id', str(rid), '--priority', str(prio)]
    for k, v in cond.items():
        a += ['--' + k, v]
    if act[0] == 'drop':
        return a + ['--drop']
    return a + ['--' + act[0], str(act[1])]


class State:
    def __init__(self):
        self.rules = {}
        self.chains = {0: tuple(CHAIN0)}

    def apply(self, op):
        s = State()
        s.rules = dict(self.rules)
        s.chains = dict(self.chains)
        if op[0] == 'chain':
            s.chains[op[1]] = tuple(op[2])
        elif op[0] == 'chaindel':
            del s.chains[op[1]]
        elif op[0] == 'ruledel':
            del s.rules[op[1]]
        else:
            s.rules[op[1][0]] = op[1]
        s.order = sorted(s.rules.values(), key=lambda r: (-r[1], r[0]))
        return s

    order = []

    def action(self, pkt):
        """What a packet gets: ('chain', id, path), ('port', p) or ('drop',)."""
        act = ('chain', 0)
        for rule in self.order:
            if matches(rule[2], pkt):
                act = rule[3]
                break
        if act[0] == 'chain':
            return ('chain', act[1], self.chains[act[1]])
        return act


_compiled = {}


def compile_cond(cond):
    """A rule's conditions as (proto, (src net, mask), (dst net, mask),
    (sport lo, hi), (dport lo, hi)), None where it has none."""
    key = json.dumps(cond, sort_keys=True)
    if key not in _compiled:
        def pfx(v):
            if v is None:
                return None
            net = ipaddress.ip_network(v)
            return int(net.network_address), int(net.netmask)

        def rng(v):
            return None if v is None else tuple(int(x) for x in v.split('-'))

        _compiled[key] = (PROTOS[cond['proto']] if 'proto' in cond else None, pfx(cond.get('src')),
                          pfx(cond.get('dst')), rng(cond.get('sport')), rng(cond.get('dport')), not cond)
    return _compiled[key]


def matches(cond, pkt):
    """pkt: None (not IPv4: only rules without conditions match it) or
    (proto, src, dst, sport, dport) with addresses as ints."""
    proto, src, dst, sp, dp, empty = compile_cond(cond)
    if empty:
        return True
    if pkt is None:
        return False
    return ((proto is None or pkt[0] == proto) and (src is None or pkt[1] & src[1] == src[0]) and
            (dst is None or pkt[2] & dst[1] == dst[0]) and (sp is None or sp[0] <= pkt[3] <= sp[1]) and
            (dp is None or dp[0] <= pkt[4] <= dp[1]))


def ip4(text):
    return struct.unpack('!I', socket.inet_aton(text))[0]


def drive(nfhost, region, packets, log, max_s=60.0):
    nfh = [nfhost, '-r', region]
    t_end = time.monotonic() + max_s
    with open(log, 'w') as out:
        i = 0
        while True:
            op = (SETUP + CYCLE)[i] if i < len(SETUP) else CYCLE[(i - len(SETUP)) % len(CYCLE)]
            t0 = time.monotonic_ns()
            r = subprocess.run(nfh + argv_of(op), capture_output=True, text=True)
            t1 = time.monotonic_ns()
            if r.returncode != 0:
                sys.exit('change %d (nfhost %s) failed: %s' % (i, ' '.join(argv_of(op)), r.stderr + r.stdout))
            rec = {'i': i, 'op': op, 't0': t0, 't1': t1}
            # the counters after every 4th change only: a command costs
            # tens of ms on a loaded machine
            if i % 4 == 3:
                st = json.loads(subprocess.run(nfh + ['stats'], capture_output=True, text=True,
                                               check=True).stdout)
                rec.update(rx=st['rx_pkts'], in_flight=st['in_flight'])
            out.write(json.dumps(rec) + '\n')
            out.flush()
            i += 1
            # a moment between changes, longer than the margins, so that
            # packets come in under each state alone too
            time.sleep((2 * MARGIN_NS + 5_000_000) / 1e9)
            if rec.get('rx', 0) >= packets:
                return
            if time.monotonic() > t_end:
                sys.exit('the input was not received in %.0f s (%d changes)' % (max_s, i))


def pcap_packets(path):
    """(pcap file header, [(record header, frame)])"""
    recs = [(rec, pkt) for _, rec, pkt in pcaptool.packets(path)]
    with open(path, 'rb') as f:
        return f.read(24), recs


def five_tuple(pkt):
    """As the core's classifier sees it: None for anything but IPv4."""
    et, off = struct.unpack('!H', pkt[12:14])[0], 14
    if et in (0x8100, 0x88a8):
        et, off = struct.unpack('!H', pkt[16:18])[0], 18
    if et != 0x0800:
        return None
    ihl = (pkt[off] & 0xf) * 4
    proto = pkt[off + 9]
    src = int.from_bytes(pkt[off + 12:off + 16], 'big')
    dst = int.from_bytes(pkt[off + 16:off + 20], 'big')
    frag = struct.unpack('!H', pkt[off + 6:off + 8])[0] & 0x3fff
    sp = dp = 0
    if proto in (6, 17) and not frag:
        sp, dp = struct.unpack('!HH', pkt[off + ihl:off + ihl + 4])
    return proto, src, dst, sp, dp


def check(argv):
    log, stats, show, inp, outp, expected, min_changes, max_inflight = argv[:8]
    min_changes, max_inflight = int(min_changes), int(max_inflight)
    sep = argv.index('--')
    nf_logs, rx_logs = argv[8:sep], argv[sep + 1:]
    errors = []

    changes = [json.loads(l) for l in open(log)]
    st = json.load(open(stats))
    status = json.load(open(show))['status']
    n_in = st['rx_pkts']

    # -- the changes, and the state of the tables after each
    states = [State()]
    for c in changes:
        op = c['op']
        states.append(states[-1].apply((op[0], op[1], op[2]) if op[0] == 'chain' else
                                       (op[0], tuple(op[1][:3]) + (tuple(op[1][3]),)) if op[0] == 'rule' else
                                       tuple(op)))
    # a change was made under traffic if a later look at the counters
    # found packets still to come
    last = max((c['i'] for c in changes if c.get('rx', n_in) < n_in), default=-1)
    under = last + 1
    inflight = sorted(c['in_flight'] for c in changes if c.get('rx', n_in) < n_in)
    kinds = collections.Counter(c['op'][0] for c in changes[:under])
    print('%d changes while packets were coming in (%s), %.1f ms each; in flight after a change: median %d, '
          'min %d of %d' %
          (under, ', '.join('%d %s' % (n, k) for k, n in sorted(kinds.items())),
           sum((c['t1'] - c['t0']) for c in changes) / 1e6 / max(len(changes), 1),
           inflight[len(inflight) // 2] if inflight else -1, inflight[0] if inflight else -1, max_inflight))
    if under < min_changes:
        errors.append('only %d changes while packets were coming in, want %d' % (under, min_changes))
    # full load: the NFs are the bottleneck, the core holds all it may
    if not inflight or inflight[len(inflight) // 2] < max_inflight // 2:
        errors.append('not under full load: median in flight %s of %d' %
                      (inflight[len(inflight) // 2] if inflight else None, max_inflight))

    # -- the core's counters: in == out + policy drops, nothing else dropped
    policy = status['rx_policy_drop']
    others = ['rx_multiseg', 'rx_no_instance', 'rx_ring_full', 'nf_drops', 'bad_meta', 'bad_dest', 'tx_no_instance',
              'tx_ring_full', 'tx_drops', 'reclaimed', 'bad_desc', 'ctrl_errors']
    print('in %d = out %d + policy drops %d; other drops %s' %
          (n_in, st['tx_pkts'], policy, ', '.join('%s %d' % (k, st[k]) for k in others if st[k]) or 'none'))
    if st['tx_pkts'] + policy != n_in:
        errors.append('in %d != out %d + policy drops %d' % (n_in, st['tx_pkts'], policy))
    for k in others:
        if st[k]:
            errors.append('%s = %d' % (k, st[k]))
    if st['drops'] != policy or st['in_flight'] != 0:
        errors.append('drops %d (policy %d), in flight %d' % (st['drops'], policy, st['in_flight']))

    # -- the output: the input less exactly the packets drop rules took
    hdr, pin = pcap_packets(inp)
    _, pout = pcap_packets(outp)
    cin = collections.Counter(p for _, p in pin)
    cout = collections.Counter(p for _, p in pout)
    extra = cout - cin
    missing = cin - cout
    n_missing = sum(missing.values())
    drop_conds = [op[1][2] for op in SETUP + CYCLE if op[0] == 'rule' and op[1][3][0] == 'drop']
    port_conds = [op[1][2] for op in SETUP + CYCLE if op[0] == 'rule' and op[1][3][0] == 'port']
    wrongly = [p for p in missing if not any(matches(c, five_tuple(p)) for c in drop_conds)]
    print('input %d packets, output %d; missing from the output %d (policy drops %d), '
          'none of them outside a drop rule: %s; not in the input %d' %
          (len(pin), len(pout), n_missing, policy, 'yes' if not wrongly else 'NO (%d)' % len(wrongly),
           sum(extra.values())))
    if len(pin) != n_in or len(pout) != st['tx_pkts']:
        errors.append('pcaps: %d in, %d out; core: rx %d, tx %d' % (len(pin), len(pout), n_in, st['tx_pkts']))
    if extra:
        errors.append('%d output packets are not input packets (or come out twice)' % sum(extra.values()))
    if n_missing != policy:
        errors.append('%d input packets missing from the output, %d policy drops' % (n_missing, policy))
    if wrongly:
        errors.append('%d missing packets match no drop rule, e.g. %s' % (len(wrongly), five_tuple(wrongly[0])))
    if policy == 0:
        errors.append('no packet was dropped by a rule: the drop rule never took')
    with open(expected, 'wb') as f:
        f.write(hdr)
        left = collections.Counter(missing)
        for rec, p in pin:
            if left[p]:
                left[p] -= 1
                continue
            f.write(rec + p)

    # -- the NFs: every hop on the packet's own path, every path complete
    bad = unknown = first = 0
    lasts = collections.Counter()
    for path in nf_logs:
        seen = False
        for l in open(path):
            f = l.split()
            if len(f) >= 12 and f[1] == 'path:' and f[3] == 'checked,':
                seen = True
                bad += int(f[4])
                unknown += int(f[7])
                first += int(f[10])
            elif len(f) == 7 and f[1] == 'path:' and f[2] == 'chain':
                lasts[int(f[3].rstrip(':'))] += int(f[4])
        if not seen:
            errors.append('%s: no path report' % path)
    chain_pkts = {c['id']: c['pkts'] for c in status['chains']}
    print('NFs: %d bad hops, %d paths of no chain; chains %s' %
          (bad, unknown, ', '.join('%d: %d in, %d through' % (k, chain_pkts.get(k, 0), lasts[k])
                                   for k in sorted(set(chain_pkts) | set(lasts)))))
    if bad or unknown:
        errors.append('%d packets off their path, %d on a path that was never a chain' % (bad, unknown))
    for k in set(chain_pkts) | set(lasts):
        if chain_pkts.get(k, 0) != lasts[k]:
            errors.append('chain %d: %d packets entered it, %d reached the end of their path' %
                          (k, chain_pkts.get(k, 0), lasts[k]))

    # -- each packet took what the rules and chains of its receive time say
    t1s = [c['t1'] + MARGIN_NS for c in changes]
    t0s = [c['t0'] - MARGIN_NS for c in changes]
    nrec = amb = wrong = 0
    portish_first = 0    # first hops of packets a port rule could have sent out
    sure = set()         # states some packet was checked against alone
    paths = collections.Counter()
    port_routed = n_in - policy - sum(chain_pkts.values())
    examples = []
    for path in rx_logs:
        for l in open(path):
            f = l.split()
            t, cid, p = int(f[0]), int(f[1]), tuple(int(x) for x in f[2].split(','))
            pkt = None
            if f[3] != '-':
                pkt = (int(f[3]), ip4(f[4]), ip4(f[5]), int(f[6]), int(f[7]))
            nrec += 1
            lo = bisect.bisect_left(t1s, t)    # changes surely done before it came in
            hi = bisect.bisect_left(t0s, t)    # changes that had begun
            amb += hi > lo
            if hi == lo:
                sure.add(lo)
            paths[(cid, p)] += 1
            portish_first += any(matches(c, pkt) for c in port_conds)
            if not any(states[k].action(pkt) == ('chain', cid, p) for k in range(lo, hi + 1)):
                wrong += 1
                if len(examples) < 5:
                    examples.append('%s got chain %d %s, expected %s' %
                                    (f[3:], cid, p, ' or '.join(str(states[k].action(pkt))
                                                                for k in range(lo, hi + 1))))
    # every packet a port rule could have sent out went down a chain, was
    # dropped, or went out the port: their count pins down the last
    def portish(p):
        return any(matches(c, five_tuple(p)) for c in port_conds)
    portish_in = sum(1 for _, p in pin if portish(p))
    portish_missing = sum(n for p, n in missing.items() if portish(p))
    print('first hops: %d packets checked against the tables of their receive time, %d of them within '
          '%.0f ms of a change; %d of the %d states met by a packet outside that margin; %d wrong' %
          (nrec, amb, MARGIN_NS / 1e6, len(sure), len(states), wrong))
    unseen = [d for d in chain_defs() if paths[d] == 0]
    print('packets per chain and path: %s' % ', '.join('%d:%s %d' % (d[0], ','.join(map(str, d[1])), paths[d])
                                                      for d in chain_defs()))
    if unseen:
        errors.append('no packet took chain %s: the changes did not reach the traffic' %
                      ', '.join('%d:%s' % (d[0], ','.join(map(str, d[1]))) for d in unseen))
    print('straight out the port: %d packets (of %d that a port rule matches: %d went down a chain, %d dropped)' %
          (port_routed, portish_in, portish_first, portish_missing))
    if nrec != first or nrec != sum(chain_pkts.values()):
        errors.append('%d first-hop records, %d first hops, %d packets entered chains' %
                      (nrec, first, sum(chain_pkts.values())))
    if wrong:
        errors.append('%d packets took a chain their receive time does not give them: %s' %
                      (wrong, '; '.join(examples)))
    if port_routed != portish_in - portish_first - portish_missing:
        errors.append('%d packets went straight out, but %d that a port rule matches went down no chain' %
                      (port_routed, portish_in - portish_first - portish_missing))
    if port_routed == 0:
        errors.append('no packet went straight out the port: the port rule never took')
    for e in errors:
        print('error: ' + e)
    return 1 if errors else 0


def main():
    cmd = sys.argv[1] if len(sys.argv) > 1 else ''
    if cmd == 'defs':
        print(' '.join('--chain-def %d:%s' % (cid, ','.join(map(str, svcs))) for cid, svcs in chain_defs()))
    elif cmd == 'drive':
        drive(sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5], float(sys.argv[6]) if len(sys.argv) > 6 else 60)
    elif cmd == 'check':
        sys.exit(check(sys.argv[2:]))
    else:
        sys.exit(__doc__)


if __name__ == '__main__':
    main()
