#!/bin/bash
# bench/run-classify.sh: the classifier and the flow table under many
# active flows.  The requirement: with 1000 wildcard rules and 100 000
# active flows, the core moves packets at no less than 0.8x its rate with a
# single default chain (no rules, flow table off).
#
# Source: net_pcap with infinite_rx=1 replays a pcap from memory, here
# 100 000 IPv4 flows of one 64 B packet each, in turn (nfh-pcapgen
# --round-robin), so every flow comes back every 100 000 packets.  The PMD
# keeps the whole pcap as mbufs of the core's pool (the region is sized for
# it) and copies each one into a fresh buffer on receive; what it sends is
# dropped (no tx stream given).
#
# One core and one nf-forward run throughout; the graph is switched live
# (nfhost graph load) between
#   default  no rules: every packet takes the default, the flow table is off
#   rules    RULES random wildcard rules (prefixes, port ranges, protocols,
#            priorities), every one of them and the default sending to the
#            same place: every flow is classified once (rte_acl), then hits
#            the flow table
#   table    one rule: the flow table on, the classifier trivial (what the
#            table itself costs)
# in rounds (default, rules, table, default, rules, table, ..., default), so
# that each run is compared with the default runs on either side of it: the
# machine's speed moves a lot from one minute to the next.  Two paths:
#   nf-forward  default chain 0 = service 1 (one nf-forward), rules -> chain 0
#   direct      default port 0, rules -> port 0 (no NF: the core alone)
#
# Rates are the core's packets out per second (`nfhost rate`); the core
# runs RX and TX on one lcore, CPU 0, the NF on CPU 1.  The machine is
# shared, so each run also takes the CPU time the core's thread (and the NF)
# really got (/proc/PID/schedstat): ratios and cycles/pkt are per second of
# the core's own CPU time (TSC cycles), which is the wall-clock figure when
# nothing else runs there, and only runs where the core and the NF had at
# least 95% of their CPUs ("clean") count when there are any.
#
# Rows ("bench": "classify"), per path: rules 0 (the default: flow_table
# false), rules 1000 and rules 1 (flow_table true), each with mpps (median,
# wall clock), mpps_per_cpu_s, cycles_per_pkt, ratio_to_default (median of
# the runs' ratios to the default runs around them), extra_cycles_per_pkt,
# ratio_runs, cache_hit_pct and rule_matched_pct (share of packets in the
# window that hit the flow table / matched a rule), clean_runs of runs;
# the flow-table rows also carry what rte_hash alone costs (nfh-ref-hash:
# rte_hash_cycles_per_key in the traffic's order, _hot, _random) and
# ratio_bound_rte_hash, the ratio a table costing only that lookup would
# reach on top of the default.
#
# Usage: bench/run-classify.sh [ROWS]
#   ROWS given (run-bench.sh does): append one JSON row per line to it.
#   No ROWS: replace the "bench": "classify" rows of
#   bench/results/latest.json, keeping the others.
# Progress goes to stderr.  Environment: BENCH_CLASSIFY_SECONDS (per run,
# default 1), BENCH_CLASSIFY_ROUNDS (5), BENCH_CLASSIFY_FLOWS (100000),
# BENCH_CLASSIFY_RULES (1000), BENCH_CLASSIFY_PATHS ("nf-forward direct"),
# BENCH_CLASSIFY_SEED (1: the rule set), BENCH_CLASSIFY_CORE_ARGS (more
# options for the core, e.g. "--flow-max 131072").
set -euo pipefail
cd "$(dirname "$0")/.."
B=$PWD/build/bin
SECS=${BENCH_CLASSIFY_SECONDS:-1}
ROUNDS=${BENCH_CLASSIFY_ROUNDS:-5}
FLOWS=${BENCH_CLASSIFY_FLOWS:-100000}
NRULES=${BENCH_CLASSIFY_RULES:-1000}
PATHS=${BENCH_CLASSIFY_PATHS:-nf-forward direct}
SEED=${BENCH_CLASSIFY_SEED:-1}
SETTLE=0.5 # after a graph change: every flow has come round many times
OUT=bench/results/latest.json
ROWS_OUT=${1:-}
NAME=nfhcls$$
REGION=/dev/hugepages/$NAME-s0
SOCK=/run/nfhost/$NAME.sock
TMP=$(mktemp -d)
CORE=
NF=

cleanup() {
	local rc=$?
	set +e
	[[ -n $NF ]] && kill -KILL "$NF" 2>/dev/null
	[[ -n $CORE ]] && kill -KILL "$CORE" 2>/dev/null
	wait 2>/dev/null
	# a core that exits cleanly removes these itself
	[[ -n $CORE ]] && rm -f "$REGION" "$SOCK"
	rm -rf "$TMP"
	exit $rc
}
trap cleanup EXIT
trap 'exit 130' INT
trap 'exit 143' TERM

for b in nfhost-core nfhost nf-forward nfh-pcapgen nfh-ref-hash; do
	[[ -x $B/$b ]] || { echo "bench: $B/$b missing: make all" >&2; exit 1; }
done

# ---- traffic and graphs ------------------------------------------------------
"$B"/nfh-pcapgen -n "$FLOWS" -f "$FLOWS" --fixed 64 --round-robin --ipv4 -s 7 "$TMP/flows.pcap" > /dev/null
python3 - "$TMP" "$NRULES" "$SEED" <<'PY'
import json, random, sys
tmp, n, seed = sys.argv[1], int(sys.argv[2]), int(sys.argv[3])
rnd = random.Random(seed)

# nfh-pcapgen's clients are in 10.0.0.0/8, its servers in 172.16.0.0/12:
# prefixes are drawn inside those, so rules overlap the traffic and each
# other the way a real policy does
def prefix(base, base_len):
    ln = rnd.randint(base_len, 28)
    a = (base | rnd.getrandbits(32 - base_len)) & ((0xffffffff << (32 - ln)) & 0xffffffff)
    return "%d.%d.%d.%d/%d" % (a >> 24, a >> 16 & 255, a >> 8 & 255, a & 255, ln)

def ports():
    r = rnd.random()
    if r < 0.4:
        return None
    if r < 0.7:
        return rnd.choice([22, 25, 53, 80, 123, 443, 5060, 8080])
    lo = rnd.randint(0, 65535)
    return "%d-%d" % (lo, min(65535, lo + rnd.choice([0, 15, 255, 1023, 4095, 32767])))

rules = []
for i in range(n):
    r = {"id": i + 1, "priority": rnd.randint(-1000, 1000)}
    p = rnd.random()
    if p < 0.45:
        r["proto"] = "tcp"
    elif p < 0.75:
        r["proto"] = "udp"
    elif p < 0.8:
        r["proto"] = "icmp"
    if rnd.random() < 0.6:
        r["src"] = prefix(0x0A000000, 8)
    if rnd.random() < 0.6:
        r["dst"] = prefix(0xAC100000, 12)
    if r.get("proto") != "icmp":
        for k in ("sport", "dport"):
            v = ports()
            if v is not None:
                r[k] = v
    rules.append(r)
# the table's own cost: one rule, which about half of the packets match
one = [{"id": 1, "proto": "tcp", "dst": "172.16.0.0/12", "dport": "0-32767"}]
for path, act in (("nf-forward", {"chain": 0}), ("direct", {"port": 0})):
    for cfg, rs in (("default", []), ("rules", rules), ("table", one)):
        g = {"rules": [dict(r, **act) for r in rs], "default": act}
        json.dump(g, open("%s/%s-%s.json" % (tmp, path, cfg), "w"))
PY

# region: the pcap's mbufs stay in the pool for good, plus what is in flight
# (about 930 buffers per 2 MB page, some pages for the tables)
RSIZE=$(python3 -c "
need = ($FLOWS + 16384) * 2240 + (8 << 20)
s = 64 << 20
while s < need: s *= 2
print('%dM' % (s >> 20))")

# ---- the core and the NF -----------------------------------------------------
"$B"/nfhost-core -l 0 --no-pci --in-memory --no-telemetry --file-prefix "$NAME" \
	--vdev "net_pcap0,rx_pcap=$TMP/flows.pcap,infinite_rx=1" \
	-- --name "$NAME" --region-size "$RSIZE" --chain 1 --api "$SOCK" ${BENCH_CLASSIFY_CORE_ARGS:-} \
	> "$TMP/core.log" 2>&1 &
CORE=$!
if ! "$B"/nfhost -r "$REGION" --wait 30 status > /dev/null 2>&1; then
	echo "bench: the core did not come up:" >&2
	cat "$TMP/core.log" >&2
	exit 1
fi
taskset -c 1 "$B"/nf-forward -r "$REGION" -s 1 -q > /dev/null 2>&1 &
NF=$!
for _ in $(seq 1 100); do
	"$B"/nfhost -r "$REGION" status 2>/dev/null | grep -q " active " && break
	sleep 0.1
done

# measure PATH CFG: one window of `nfhost rate`, plus around it the CPU time
# of the core's data-path thread (the main thread: lcore 0) and of the NF
# from /proc/PID/schedstat, and the flow table's and rules' counters from
# the API.  The machine is shared: another process on CPU 0 takes time
# slices from the core, which the wall-clock rate counts against it and the
# core's own CPU time does not.
measure() {
	python3 - "$1" "$2" "$SOCK" "$REGION" "$B/nfhost" "$SECS" "$CORE" "$NF" <<'PY'
import json, socket, subprocess, sys, time
path, cfg, sock, region, nfhost, secs, core, nf = sys.argv[1:9]

def api():
    s = socket.socket(socket.AF_UNIX)
    s.connect(sock)
    f = s.makefile("rw")
    out = []
    for req in ({"cmd": "status"}, {"cmd": "rule.list"}):
        f.write(json.dumps(req) + "\n")
        f.flush()
        out.append(json.loads(f.readline()))
    s.close()
    fl = out[0].get("flows", {})
    return {"on": fl.get("on"), "live": fl.get("live", 0), "full": fl.get("full", 0), "hits": fl.get("hits", 0),
            "misses": fl.get("misses", 0), "rule_pkts": sum(r.get("pkts", 0) for r in out[1].get("rules", []))}

def cpu_ns(pid):
    with open("/proc/%s/task/%s/schedstat" % (pid, pid)) as f:
        return int(f.read().split()[0])

a = api()
c0, n0, t0 = cpu_ns(core), cpu_ns(nf), time.monotonic_ns()
r = json.loads(subprocess.run([nfhost, "-r", region, "rate", "-c", secs], check=True, capture_output=True,
                              text=True).stdout)
c1, n1, t1 = cpu_ns(core), cpu_ns(nf), time.monotonic_ns()
b = api()
look = (b["hits"] - a["hits"]) + (b["misses"] - a["misses"])
share = (c1 - c0) / (t1 - t0)
print(json.dumps({"path": path, "cfg": cfg, "mpps": r["mpps_out"], "tsc_hz": r["tsc_hz"],
                  "core_cpu": round(share, 4), "nf_cpu": round((n1 - n0) / (t1 - t0), 4),
                  # the rate per second of the core's own CPU time
                  "mpps_cpu": r["mpps_out"] / share if share > 0 else 0.0,
                  "table_on": bool(b["on"]), "live": b["live"], "full": b["full"],
                  "hit_pct": round(100.0 * (b["hits"] - a["hits"]) / look, 3) if look else None,
                  "matched_pct": min(100.0, round(100.0 * (b["rule_pkts"] - a["rule_pkts"]) / look, 1)) if look else None}))
PY
}

# run PATH CFG: apply the graph, let it settle, measure; prints one JSON line
run() {
	local out
	if ! out=$("$B"/nfhost -r "$REGION" graph load "$TMP/$1-$2.json" 2>&1); then
		echo "bench: graph load $1-$2 failed: $out" >&2
		exit 1
	fi
	sleep "$SETTLE"
	measure "$1" "$2"
}

echo "bench: classifier: $FLOWS flows (64 B, net_pcap infinite_rx), $NRULES rules, ${SECS} s per run," \
	"$ROUNDS rounds, each run against the default runs around it" >&2
RUNS=$TMP/runs
: > "$RUNS"
progress() {
	python3 -c "
import json, sys
r = json.loads(sys.argv[1])
what = {'default': 'default, no rules', 'rules': '$NRULES rules', 'table': '1 rule (table on)'}[r['cfg']]
extra = '' if r['cfg'] == 'default' else ', %.2f%% cache hits, %.1f%% matched a rule' % (r['hit_pct'] or 0, r['matched_pct'] or 0)
print('  %-10s %-18s %7.2f Mpps  %6.1f cycles/pkt  (core %3.0f%% of a CPU: %5.2f Mpps per CPU-second; NF %3.0f%%%s)' % (
      r['path'], what, r['mpps'], r['tsc_hz'] / (r['mpps_cpu'] * 1e6), 100 * r['core_cpu'], r['mpps_cpu'],
      100 * r['nf_cpu'], extra))
" "$1" >&2
}
for path in $PATHS; do
	for ((i = 0; i < ROUNDS; i++)); do
		for cfg in default rules table; do
			j=$(run "$path" "$cfg")
			echo "$j" >> "$RUNS"
			progress "$j"
		done
	done
	j=$(run "$path" default)
	echo "$j" >> "$RUNS"
	progress "$j"
done

kill -TERM "$NF"
wait "$NF" || true
NF=
kill -TERM "$CORE"
if ! wait "$CORE"; then
	echo "bench: core exited with an error" >&2
	cat "$TMP/core.log" >&2
	exit 1
fi
CORE=

# ---- rte_hash alone -----------------------------------------------------------
# what the flow table's library costs per lookup with as many keys, in a
# table of the core's size (default --flow-max), with nothing else running
ENTRIES=262144
[[ ${BENCH_CLASSIFY_CORE_ARGS:-} =~ --flow-max[=\ ]([0-9]+) ]] && ENTRIES=${BASH_REMATCH[1]}
HASHREF=$("$B"/nfh-ref-hash --no-huge -m 512 --no-pci --no-shconf --no-telemetry -l 0 --log-level=error \
	-- "$FLOWS" "$ENTRIES")

# ---- rows --------------------------------------------------------------------
python3 - "$RUNS" "$FLOWS" "$NRULES" "$ROWS_OUT" "$OUT" "$HASHREF" <<'PY'
import json, os, statistics, sys
runs = [json.loads(l) for l in open(sys.argv[1])]
href = json.loads(sys.argv[6])
core_args = os.environ.get("BENCH_CLASSIFY_CORE_ARGS", "").strip()
flows, nrules, rows_out, out = int(sys.argv[2]), int(sys.argv[3]), sys.argv[4], sys.argv[5]
rows = []
warn = []
# A run is clean when the core (and, on the nf-forward path, the NF) had
# its CPU to itself; ratios come from clean runs between clean default
# runs when there are any (the machine is shared), else from all of them.
def clean(r):
    return r["core_cpu"] >= 0.95 and (r["path"] != "nf-forward" or r["nf_cpu"] >= 0.95)
for path in dict.fromkeys(r["path"] for r in runs):
    seq = [r for r in runs if r["path"] == path]
    hz = seq[0]["tsc_hz"]
    res = {}
    for i, r in enumerate(seq):
        if r["cfg"] == "default":
            continue
        # the default runs just before and just after this one
        prev = next(x for x in reversed(seq[:i]) if x["cfg"] == "default")
        nxt = next(x for x in seq[i + 1:] if x["cfg"] == "default")
        d_cpu = (prev["mpps_cpu"] + nxt["mpps_cpu"]) / 2
        d_wall = (prev["mpps"] + nxt["mpps"]) / 2
        e = res.setdefault(r["cfg"], {"all": [], "clean": []})
        m = {"run": r, "ratio": r["mpps_cpu"] / d_cpu, "ratio_wall": r["mpps"] / d_wall,
             # the cycles it adds to each packet, against the default's then
             "extra": hz / (r["mpps_cpu"] * 1e6) - hz / (d_cpu * 1e6)}
        e["all"].append(m)
        if clean(r) and clean(prev) and clean(nxt):
            e["clean"].append(m)
    low_core = min(r["core_cpu"] for r in seq)
    low_nf = min(r["nf_cpu"] for r in seq) if path == "nf-forward" else 1.0
    if low_core < 0.95 or low_nf < 0.95:
        warn.append("%s: the core had as little as %.0f%% of its CPU%s; %d of %d comparisons clean" % (
            path, 100 * low_core, ", the NF %.0f%%" % (100 * low_nf) if path == "nf-forward" else "",
            sum(len(e["clean"]) for e in res.values()), sum(len(e["all"]) for e in res.values())))

    def row(cfg, runs_, **kw):
        m_cpu = statistics.median(x["mpps_cpu"] for x in runs_)
        return dict({"system": "nfhost", "bench": "classify", "path": path,
                     "chain_len": 1 if path == "nf-forward" else 0, "pkt_size": 64, "flows": flows,
                     "source": "net_pcap infinite_rx"}, **({"core_args": core_args} if core_args else {}), **kw,
                    mpps=round(statistics.median(x["mpps"] for x in runs_), 3),
                    mpps_per_cpu_s=round(m_cpu, 3),
                    # cycles of the core's own CPU time (TSC rate) per packet
                    cycles_per_pkt=round(hz / (m_cpu * 1e6), 1),
                    core_cpu_min=round(min(x["core_cpu"] for x in runs_), 3),
                    nf_cpu_min=round(min(x["nf_cpu"] for x in runs_), 3),
                    mpps_runs=[round(x["mpps"], 3) for x in runs_],
                    mpps_per_cpu_s_runs=[round(x["mpps_cpu"], 3) for x in runs_])
    dflt = [r for r in seq if r["cfg"] == "default"]
    rows.append(row("default", [r for r in dflt if clean(r)] or dflt, rules=0, flow_table=False,
                    ratio_to_default=1.0, clean_runs=sum(map(clean, dflt)), runs=len(dflt)))
    # the best a flow table could do that cost only rte_hash's lookup (in
    # the traffic's order) on top of the default
    d_cyc = rows[-1]["cycles_per_pkt"]
    bound = dict(rte_hash_cycles_per_key=href["cycles_per_key_round_robin"],
                 rte_hash_cycles_per_key_hot=href["cycles_per_key_hot"],
                 rte_hash_cycles_per_key_random=href["cycles_per_key_random"],
                 ratio_bound_rte_hash=round(d_cyc / (d_cyc + href["cycles_per_key_round_robin"]), 3))
    for cfg, n in (("rules", nrules), ("table", 1)):
        use = res[cfg]["clean"] or res[cfg]["all"]
        rows.append(row(cfg, [m["run"] for m in use], rules=n, flow_table=True,
                        ratio_to_default=round(statistics.median(m["ratio"] for m in use), 3),
                        ratio_to_default_wall=round(statistics.median(m["ratio_wall"] for m in use), 3),
                        extra_cycles_per_pkt=round(statistics.median(m["extra"] for m in use), 1),
                        ratio_runs=[round(m["ratio"], 3) for m in use],
                        clean_runs=len(res[cfg]["clean"]), runs=len(res[cfg]["all"]),
                        cache_hit_pct=min(m["run"]["hit_pct"] for m in use),
                        rule_matched_pct=statistics.median(m["run"]["matched_pct"] for m in use),
                        table_full=max(m["run"]["full"] for m in use), **bound))
for r in rows:
    if r["rules"] == 0:
        continue
    what = "%d rules" % r["rules"] if r["rules"] > 1 else "1 rule (table on)"
    verdict = ""
    if r["rules"] > 1:
        verdict = "  (requirement >= 0.80x: %s)" % ("met" if r["ratio_to_default"] >= 0.8 else "NOT met")
    print("  %-10s %-18s %.3fx the default (%s runs: %s; wall clock %.3fx), %+.1f cycles/pkt%s" % (
        r["path"], what, r["ratio_to_default"], "%d clean" % r["clean_runs"] if r["clean_runs"] else "all %d" % r["runs"],
        " ".join("%.2f" % x for x in r["ratio_runs"]), r["ratio_to_default_wall"], r["extra_cycles_per_pkt"], verdict),
        file=sys.stderr)
print("  rte_hash alone (nfh-ref-hash, %d keys): %.1f cycles/key in the traffic's order (%.1f hot, %.1f random);"
      " on top of the default that alone allows at most %s" % (
          flows, href["cycles_per_key_round_robin"], href["cycles_per_key_hot"], href["cycles_per_key_random"],
          ", ".join("%.3fx (%s)" % (r["ratio_bound_rte_hash"], r["path"]) for r in rows if r["rules"] > 1)),
      file=sys.stderr)
for w in warn:
    print("bench: warning: CPUs shared with other processes (%s)" % w, file=sys.stderr)
if rows_out:
    with open(rows_out, "a") as f:
        for r in rows:
            f.write(json.dumps(r) + "\n")
else:
    try:
        old = [r for r in json.load(open(out)) if r.get("bench") != "classify"]
    except (OSError, ValueError):
        old = []
    json.dump(old + rows, open(out, "w"), indent=1)
    print("bench: wrote %d classifier rows to %s" % (len(rows), out), file=sys.stderr)
PY
