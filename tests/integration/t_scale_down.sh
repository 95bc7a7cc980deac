#!/bin/bash
# Affinity under scale down: `nfhost graph load` starts 3 instances of a
# service, many flows (both directions of each) run through them under
# continuous traffic, and `nfhost service scale 1 2` retires one mid-run.
# From each instance's log of the flow key of every packet it handled:
#  - the flows of the instances that stay never move (one instance each for
#    the whole run);
#  - only the retired instance's flows move, each to one survivor, in one
#    clean cut: every packet it handled came in before every packet of its
#    flows that a survivor handled;
#  - both directions of a flow reach the same instance, before and after;
#  - the flows that stay put leave in order (how many packets of the moved
#    flows left out of order, overtaken at the move, is printed);
#  - every input packet was handled exactly once, out.pcap is in.pcap
#    (unordered), and the core counts no drop;
#  - the retired instance drained and exited 0, and the core logged that it
#    left cleanly after as many packets as it logged.
. "$(dirname "$0")/lib.sh"
# the instances' logs (NFHOST_STATE_DIR/logs/NAME.log) go in $T, where a
# failed test shows them
export NFHOST_STATE_DIR=$T/state
mkdir -p "$T/state"
ln -s "$T" "$T/state/logs"
nfh() { "$B"/nfhost -r "$REGION" "$@"; }

# 36000 packets of 600 flows through 3 instances sharing one CPU, each
# spinning 70 us a packet: 2.5 s of traffic; the scale down comes after a
# quarter of it, so nearly every flow of the retired instance lives on
N=36000
FLOWS=600
SPIN=70000
gen_pcap -n $N -f $FLOWS -s 11 --size 64-200 "$T/in.pcap"

# The graph runs nf-zc-probe by name from NFHOST_NF_DIR: there a wrapper
# gives each instance a flow log of its own, $T/flows-NAME.txt, and execs
# the probe (same PID, as the manager waits for that PID to register)
mkdir -p "$T/nf"
cat > "$T/nf/nf-zc-probe" << EOF
#!/bin/bash
name=x
for ((i = 1; i < \$#; i++)); do
	[[ \${!i} == -n ]] && { j=\$((i + 1)); name=\${!j}; }
done
exec "$B/nf-zc-probe" "\$@" --log "$T/flows-\$name.txt"
EOF
chmod +x "$T/nf/nf-zc-probe"
export NFHOST_NF_DIR=$T/nf

# The instances are not our children (nfhost starts them in sessions of
# their own), so their exit status is out of reach of `wait`.  A subreaper
# runs `graph load`: the instances it leaves behind become its children,
# and it writes "PID EXIT" for each as it ends (EXIT: the code, or -SIGNAL)
cat > "$T/reaper.py" << 'EOF'
import ctypes, os, sys
if ctypes.CDLL(None, use_errno=True).prctl(36, 1, 0, 0, 0) != 0:  # PR_SET_CHILD_SUBREAPER
    sys.exit("reaper: prctl: %s" % os.strerror(ctypes.get_errno()))
log = open(sys.argv[1], 'w', buffering=1)
cmd = os.posix_spawn(sys.argv[3], sys.argv[3:], os.environ,
                     file_actions=[(os.POSIX_SPAWN_OPEN, 1, sys.argv[2], os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644),
                                   (os.POSIX_SPAWN_DUP2, 1, 2)])
log.write("spawned %d\n" % cmd)
while True:
    try:
        pid, st = os.wait()
    except ChildProcessError:
        break
    log.write("%s %d %d\n" % ("cmd" if pid == cmd else "nf", pid, os.waitstatus_to_exitcode(st)))
EOF

# NFs nfhost started (lib.sh), and `graph load` itself if it is still
# starting them
ON_CLEANUP+=('[[ -f $T/load.txt ]] && track "$T/load.txt"')
ON_CLEANUP+=('p=$(sed -n "s/^spawned //p" "$T/reaped.txt" 2> /dev/null); [[ -n $p ]] && grep -qF -- "$REGION" "/proc/$p/cmdline" 2> /dev/null && PIDS+=("$p")')
# the exit status the reaper saw for PID, or nothing yet
reaped() {
	sed -n "s/^nf $1 \(-\{0,1\}[0-9]*\)$/\1/p" "$T/reaped.txt"
}
# wait up to 10 s for NAME (pid PID) to exit, and insist on status 0
exited_0() {
	local _ rc
	for _ in $(seq 1 500); do
		rc=$(reaped "$2")
		[[ -n $rc ]] && break
		sleep 0.02
	done
	[[ -n $rc ]] || fail "$1 (pid $2) is still running after 10 s"
	((rc == 0)) || fail "$1 (pid $2) exited with status $rc (negative: killed by that signal)"
}
instances() {
	nfh graph show --json | python3 -c "import json,sys; s=json.load(sys.stdin)['status']['services']
print(sum(len(x['instances']) for x in s if x['id'] == $1))"
}

# no --chain: the port holds the traffic until the graph is applied, and
# graph load applies it once all 3 instances have registered
start_core "net_pcap0,rx_pcap=$T/in.pcap,tx_pcap=$T/out.pcap" --
cat > "$T/graph.yaml" << EOF
services:
  - {id: 1, name: probe, nf: nf-zc-probe, instances: 3, cores: "$NF_CPU", args: [--spin-ns, $SPIN]}
chains:
  - {id: 1, name: main, services: [probe]}
# the same chain as the default, so that the flow table is on
rules:
  - {id: 10, proto: tcp, chain: main}
default: {chain: main}
EOF
python3 "$T/reaper.py" "$T/reaped.txt" "$T/load.txt" "$B/nfhost" -r "$REGION" graph load "$T/graph.yaml" &
PIDS+=($!)
for _ in $(seq 1 2000); do
	grep -q '^cmd ' "$T/reaped.txt" 2> /dev/null && break
	sleep 0.02
done
track "$T/load.txt"
grep -q '^cmd [0-9]* 0$' "$T/reaped.txt" || fail "graph load failed: $(cat "$T/load.txt")"
grep -q "started 3 instances, retired 0" "$T/load.txt" || fail "graph load: $(cat "$T/load.txt")"
[[ $(instances 1) == 3 ]] || fail "service 1 has $(instances 1) instances after graph load"

# a quarter of the way through, retire one instance
wait_tx $((N / 4))
tx_before=$(stat_field tx_pkts)
t0=$(date +%s.%N)
nfh service scale 1 2 > "$T/scale.txt" 2>&1 || fail "service scale 1 2: $(cat "$T/scale.txt")"
scale_s=$(echo "$(date +%s.%N) - $t0" | bc)
tx_after=$(stat_field tx_pkts)
read -r gone_name gone_pid < <(sed -n 's/^service 1: retired \([^ ]*\) (pid \([0-9]*\)): it drained and left in .*/\1 \2/p' "$T/scale.txt") || true
[[ -n ${gone_pid:-} ]] || fail "scale down: $(cat "$T/scale.txt")"
grep -q "^service 1: 2 instances (started 0, retired 1)" "$T/scale.txt" || fail "scale down: $(cat "$T/scale.txt")"
[[ $(instances 1) == 2 ]] || fail "service 1 has $(instances 1) instances after scale 1 2"
printf 'retired %s (pid %s) in %.2f s, while %d..%d of %d packets had left\n' "$gone_name" "$gone_pid" "$scale_s" \
	"$tx_before" "$tx_after" "$N"
exited_0 "$gone_name" "$gone_pid"

wait_drained 60
stats_json > "$T/stats.json"
nfh graph show --json > "$T/show.json"
python3 - "$T/stats.json" "$T/show.json" "$N" << 'PY' || fail "packets lost or dropped"
import json, sys
st, show, n = json.load(open(sys.argv[1])), json.load(open(sys.argv[2])), int(sys.argv[3])
fl = show['status']['flows']
print("core: rx %d tx %d drops %d (no instance %d, ring full %d/%d); flow table: %d flows created, %d hits" %
      (st['rx_pkts'], st['tx_pkts'], st['drops'], st['rx_no_instance'], st['rx_ring_full'], st['tx_ring_full'],
       fl['created'], fl['hits']))
if st['rx_pkts'] != n or st['tx_pkts'] != n or st['drops'] or st['rx_no_instance']:
    sys.exit("%d packets in the input, the core received %d, sent %d, dropped %d" %
             (n, st['rx_pkts'], st['tx_pkts'], st['drops']))
if not fl['on'] or not fl['created']:
    sys.exit("the flow table was not on")
PY

# the survivors leave on SIGTERM, then the core, every buffer back
survivors=$(nfh graph show --json | python3 -c "import json,sys; s=json.load(sys.stdin)['status']['services']
print(' '.join('%s:%d' % (i['name'], i['pid']) for x in s if x['id'] == 1 for i in x['instances']))")
for s in $survivors; do kill -TERM "${s#*:}"; done
for s in $survivors; do exited_0 "${s%:*}" "${s#*:}"; done
PIDS=() # all reaped, the reaper with them
stop_all

gone_pkts=$(sed -n "s/^core: NF '$gone_name' (slot [0-9]*) left cleanly after \([0-9]*\) packets$/\1/p" "$T/core.log")
[[ -n $gone_pkts ]] || fail "the core did not log that $gone_name left cleanly"
grep -q "^$gone_name: .*asked to leave by the manager" "$T/$gone_name.log" ||
	fail "$gone_name did not leave at the manager's request: $(cat "$T/$gone_name.log")"
! grep -q "vanished" "$T/core.log" || fail "an instance vanished: $(grep vanished "$T/core.log")"
"$B"/nfh-pcapcmp --unordered "$T/in.pcap" "$T/out.pcap" || fail "output is not the input"

python3 "$ROOT"/tests/integration/pcaptool.py dirs "$T/in.pcap" > "$T/dirs.txt"
python3 "$ROOT"/tests/integration/pcaptool.py order "$T/in.pcap" "$T/out.pcap" > "$T/order.txt"
python3 - "$T/dirs.txt" "$T/order.txt" "$gone_name" "$gone_pkts" "$T"/flows-*.txt << 'PY' || fail "flow affinity broken by the scale down"
import collections, os, sys
dirs, order, gone, gone_pkts, logs = sys.argv[1], sys.argv[2], sys.argv[3], int(sys.argv[4]), sys.argv[5:]
name = lambda p: os.path.basename(p)[len('flows-'):-len('.txt')]
# input packets by byte hash: their index (receive order) and direction
index, pkt_dir, dup = {}, [], set()
for i, l in enumerate(open(dirs)):
    h, d = l.split()
    if h in index:
        dup.add(h)
    index[h] = i
    pkt_dir.append(d)
seen = collections.Counter()
flows = collections.defaultdict(list)  # key -> [(index, instance, direction)]
flow_of = {}                           # index -> key
count = {}
for path in logs:
    inst, count[name(path)] = name(path), 0
    for l in open(path):
        f = l.split()
        count[inst] += 1
        seen[f[2]] += 1
        if f[2] not in index or len(f) < 4:
            sys.exit("%s handled a packet that is not in the input: %s" % (inst, l.strip()))
        if f[2] not in dup:
            flows[f[3]].append((index[f[2]], inst, pkt_dir[index[f[2]]]))
            flow_of[index[f[2]]] = f[3]
insts = sorted(count)
if len(insts) != 3 or gone not in insts:
    sys.exit("flow logs of %s, retired %s" % (insts, gone))
stay = [i for i in insts if i != gone]
print("packets handled: %s; %d of them by the retired %s (the core says %d)" %
      (", ".join("%s %d" % (i, count[i]) for i in insts), count[gone], gone, gone_pkts))
if count[gone] != gone_pkts:
    sys.exit("%s logged %d packets, the core says it handed back %d" % (gone, count[gone], gone_pkts))
total = sum(1 for _ in open(dirs))
twice = [h for h, c in seen.items() if c > 1 and h not in dup]
if sum(seen.values()) != total or twice or set(seen) != set(index):
    sys.exit("packets handled %d times for %d in the input (%d more than once, %d never)" %
             (sum(seen.values()), total, len(twice), len(set(index) - set(seen))))
# the retired instance handled only packets received before it was taken
# out of the tables; its flows went on, each on one survivor
cut = max(i for k in flows for i, inst, _ in flows[k] if inst == gone)
bad, moved, kept_on_gone = [], collections.Counter(), 0
stayed = collections.Counter()
both = after_both = 0
for k, pk in flows.items():
    pk.sort()
    on = [inst for _, inst, _ in pk]
    first = on[0]
    both += len(set(d for _, _, d in pk)) == 2
    if first != gone:
        if set(on) != {first}:
            bad.append("flow %s of %s, which stays, moved: %s" % (k, first, collections.Counter(on)))
        stayed[first] += 1
        continue
    n_gone = on.count(gone)
    rest = on[n_gone:]
    if gone in rest:
        runs = [[on[0], 0]]
        for inst in on:
            if inst != runs[-1][0]:
                runs.append([inst, 0])
            runs[-1][1] += 1
        bad.append("flow %s: the retired %s handled packets after a survivor did: %s" %
                   (k, gone, ", ".join("%s x%d" % (i, c) for i, c in runs)))
    elif len(set(rest)) > 1:
        bad.append("flow %s split after the move: %s" % (k, collections.Counter(rest)))
    elif rest:
        moved[rest[0]] += 1
        if pk[n_gone][0] <= cut:
            bad.append("flow %s reached %s at packet %d, before the retired instance's last %d" %
                       (k, rest[0], pk[n_gone][0], cut))
        after_both += len(set(d for _, _, d in pk[n_gone:])) == 2
    else:
        kept_on_gone += 1
first_on = collections.Counter(pk[0][1] for pk in flows.values())
first_after = min([i for pk in flows.values() if pk[0][1] == gone for i, inst, _ in pk if inst != gone] or [-1])
print("flows: %d, %d with both directions; first on %s; never moved: %s" %
      (len(flows), both, ", ".join("%s %d" % (i, first_on[i]) for i in insts),
       ", ".join("%s %d" % (i, stayed[i]) for i in stay)))
print("retired %s: its last packet was #%d, the first of its flows on a survivor #%d; its flows: %d moved "
      "(%s; %d with both directions after the move), %d had no packet after it" %
      (gone, cut, first_after, sum(moved.values()), ", ".join("to %s %d" % (i, moved[i]) for i in stay),
       after_both, kept_on_gone))
# the order the packets left in: a flow that stayed put leaves in order; a
# moved flow may not, as the survivor starts on its packets while the
# retired instance still works through its ring
last, late = {}, collections.Counter()
for l in open(order):
    i = int(l)
    k = flow_of.get(i)
    if k is None:
        continue
    if i < last.get(k, -1):
        late[k] += 1
        if flows[k][0][1] != gone:
            bad.append("flow %s, which stayed on %s, left out of order (packet #%d after #%d)" %
                       (k, flows[k][0][1], i, last[k]))
    last[k] = max(last.get(k, -1), i)
print("left out of order: %d packets of %d moved flows (overtaken while the retired instance drained), "
      "%d of the flows that stayed put" % (sum(v for k, v in late.items() if flows[k][0][1] == gone),
                                          sum(1 for k in late if flows[k][0][1] == gone),
                                          sum(1 for k in late if flows[k][0][1] != gone)))
if dup:
    print("%d input packets have the bytes of another: left out of the flow checks" % len(dup))
for b in bad[:10]:
    print(b)
if bad:
    sys.exit("%d flows broke affinity" % len(bad))
if not all(stayed[i] for i in stay) or sum(moved.values()) < first_on[gone] // 2:
    sys.exit("too little to test: every instance needs flows, and most of the retired one's must go on after it")
if both < len(flows) // 2 or after_both < sum(moved.values()) // 2:
    sys.exit("too few flows with both directions to test that they stay together")
PY
echo "ok: scale down moved only the retired instance's flows, each to one survivor; both directions together; no loss"
