#!/usr/bin/python3
"""Checks of `nfhost serve`'s /metrics with Prometheus' own text parser
(Debian's python3-prometheus-client), not with nfhost's code.

    metrics_check.py URL STATS.json SHOW.json RULES.json   the values against
        `nfhost stats`, `nfhost graph show --json` and the API's rule.list
        taken while nothing moves
    metrics_check.py URL --up                   one scrape parses, core up

Exits 1 saying what differs."""
import json
import sys
import urllib.error
import urllib.request

from prometheus_client.parser import text_string_to_metric_families


def fail(msg):
    print("metrics_check: " + msg)
    sys.exit(1)


def scrape(url):
    with urllib.request.urlopen(url + "/metrics", timeout=10) as r:
        ctype = r.headers.get("Content-Type", "")
        text = r.read().decode()
    if not ctype.startswith("text/plain; version=0.0.4"):
        fail("/metrics Content-Type is %r, not Prometheus text 0.0.4" % ctype)
    fams = {}
    for f in text_string_to_metric_families(text):
        if f.name in fams:
            fail("family %s appears twice (its samples must be together)" % f.name)
        fams[f.name] = f
    # every family documented and typed; counters in _total, names nfhost_
    for f in fams.values():
        if not f.name.startswith("nfhost_"):
            fail("family %s lacks the nfhost_ prefix" % f.name)
        if not f.documentation:
            fail("family %s has no HELP" % f.name)
        if f.type not in ("counter", "gauge", "histogram"):
            fail("family %s has type %s (no TYPE line?)" % (f.name, f.type))
        for s in f.samples:
            if f.type == "counter" and not s.name.endswith("_total"):
                fail("counter sample %s does not end in _total" % s.name)
    return fams


def samples(fams, fam, **labels):
    """values of family FAM's samples whose labels include LABELS"""
    f = fams.get(fam)
    if f is None:
        fail("no family %s" % fam)
    return [s.value for s in f.samples if all(s.labels.get(k) == str(v) for k, v in labels.items())]


def one(fams, fam, **labels):
    v = samples(fams, fam, **labels)
    if len(v) != 1:
        fail("%s%s: %d samples, expected one" % (fam, labels, len(v)))
    return v[0]


def expect(what, got, want):
    if got != want:
        fail("%s: %s in /metrics, %s from nfhost" % (what, got, want))


def at_least(what, got, want):
    """a counter that moves with no traffic too (scraped after nfhost read it)"""
    if got < want:
        fail("%s: %s in /metrics, below the %s nfhost read before" % (what, got, want))


def check_values(url, stats, show, rules):
    fams = scrape(url)
    expect("nfhost_up", one(fams, "nfhost_up"), 1)
    expect("nfhost_api_up", one(fams, "nfhost_api_up"), 1)
    for m, k in (("nfhost_received_packets", "rx_pkts"), ("nfhost_transmitted_packets", "tx_pkts"),
                 ("nfhost_done_packets", "done_pkts")):
        expect(m, one(fams, m), stats[k])
    expect("nfhost_pool_free_buffers", one(fams, "nfhost_pool_free_buffers"), stats["pool_avail"])
    drops = samples(fams, "nfhost_dropped_packets")
    expect("sum of nfhost_dropped_packets_total by reason", sum(drops), stats["drops"])
    for p in stats["ports"]:
        for m, k in (("nfhost_port_received_packets", "rx_pkts"), ("nfhost_port_received_bytes", "rx_bytes"),
                     ("nfhost_port_transmitted_packets", "tx_pkts"), ("nfhost_port_transmitted_bytes", "tx_bytes")):
            expect("%s port %d" % (m, p["id"]), one(fams, m, port=p["id"], name=p["name"]), p[k])
    names = {s["id"]: s["name"] for s in show["graph"]["services"]}
    sockets = {i["slot"]: i.get("socket", "") for s in show["status"]["services"] for i in s["instances"]}
    for nf in stats["nfs"]:
        lab = {"slot": nf["slot"], "name": nf["name"], "service": nf["service"],
               "service_name": names.get(nf["service"], ""), "socket": sockets.get(nf["slot"], "")}
        for m, k in (("nfhost_nf_received_packets", "rx_pkts"), ("nfhost_nf_transmitted_packets", "tx_pkts"),
                     ("nfhost_nf_dropped_packets", "drop_pkts"), ("nfhost_nf_enqueued_packets", "enq_pkts")):
            expect("%s of NF %s" % (m, nf["name"]), one(fams, m, **lab), nf[k])
        # an idle NF wakes at the end of each longest sleep and sleeps again
        for m, k in (("nfhost_nf_sleeps", "sleeps"), ("nfhost_nf_wakeups", "wakes")):
            at_least("%s of NF %s" % (m, nf["name"]), one(fams, m, **lab), nf[k])
        for c, v in nf["counters"].items():
            fam = "nfhost_nf_counter" if v["kind"] == "total" else "nfhost_nf_gauge"
            expect("%s %s of NF %s" % (fam, c, nf["name"]), one(fams, fam, counter=c, **lab), v["value"])
        if one(fams, "nfhost_nf_cpu_seconds", **lab) < 0:
            fail("negative CPU for NF %s" % nf["name"])
        expect("nfhost_nf_state of %s" % nf["name"], one(fams, "nfhost_nf_state", state=nf["state"], **lab), 1)
    chains = {c["id"]: c["name"] for c in show["graph"]["chains"]}
    for c in show["status"]["chains"]:
        expect("nfhost_chain_packets_total chain %d" % c["id"],
               one(fams, "nfhost_chain_packets", chain=c["id"], chain_name=chains.get(c["id"], "")), c["pkts"])
    if not rules["rules"]:
        fail("the test's graph has no rule to check")
    for r in rules["rules"]:
        expect("nfhost_rule_packets_total rule %d" % r["id"], one(fams, "nfhost_rule_packets", rule=r["id"]), r["pkts"])
    if sum(r["pkts"] for r in rules["rules"]) == 0:
        fail("no rule matched a packet: the check compared zeros")
    fl = show["status"]["flows"]
    for m, k in (("nfhost_flows_capacity", "capacity"), ("nfhost_flows_created", "created")):
        expect(m, one(fams, m), fl[k])
    # flows may expire between the two reads
    at_least("nfhost_flows_expired", one(fams, "nfhost_flows_expired"), fl["expired"])
    if one(fams, "nfhost_flows") > fl["live"]:
        fail("nfhost_flows: %s in /metrics, above the %s live before" % (one(fams, "nfhost_flows"), fl["live"]))
    expect("flow hits", one(fams, "nfhost_flow_lookups", result="hit"), fl["hits"])
    # receive-to-transmit latency: a Prometheus histogram per chain, its
    # count what `nfhost stats` measured, its buckets cumulative
    lat = {l["chain"]: l for l in stats["latency"]}
    if not lat:
        fail("nfhost stats measured no chain's latency")
    hist = fams.get("nfhost_chain_latency_seconds")
    if hist is None or hist.type != "histogram":
        fail("no histogram nfhost_chain_latency_seconds")
    for cid, l in lat.items():
        if not l["p50_ns"] <= l["p99_ns"] <= l["p999_ns"] or l["p50_ns"] <= 0 or l["max_ns"] < l["p999_ns"]:
            fail("chain %d: p50 %d, p99 %d, p99.9 %d, max %d ns out of order" % (
                cid, l["p50_ns"], l["p99_ns"], l["p999_ns"], l["max_ns"]))
        if sum(b[1] for b in l["buckets"]) != l["count"]:
            fail("chain %d: buckets add up to %d, count %d" % (cid, sum(b[1] for b in l["buckets"]), l["count"]))
        mine = [x for x in hist.samples if x.labels.get("chain") == str(cid)]
        bk = [(float(x.labels["le"]), x.value) for x in mine if x.name.endswith("_bucket")]
        if [v for _, v in bk] != sorted(v for _, v in bk) or bk[-1] != (float("inf"), l["count"]):
            fail("chain %d: buckets %s not cumulative up to +Inf = %d" % (cid, bk, l["count"]))
        expect("chain %d latency count" % cid, [x.value for x in mine if x.name.endswith("_count")], [l["count"]])
        # the median from the histogram's bounds agrees with nfhost's
        half = next(le for le, v in bk if v >= l["count"] / 2)
        if not (half / 2 <= (l["p50_ns"] + 1) / 1e9 <= half):
            fail("chain %d: p50 %d ns is not within the histogram's bucket up to %g s" % (cid, l["p50_ns"], half))
    n = sum(len(f.samples) for f in fams.values())
    print("metrics_check: %d families, %d samples, all as nfhost says (rx %d, %d NFs, %d chains)" % (
        len(fams), n, stats["rx_pkts"], len(stats["nfs"]), len(show["status"]["chains"])))


def main():
    url = sys.argv[1]
    if sys.argv[2] == "--up":
        fams = scrape(url)
        expect("nfhost_up", one(fams, "nfhost_up"), 1)
        print("metrics_check: scrape ok, %d packets received so far" % one(fams, "nfhost_received_packets"))
        return
    check_values(url, json.load(open(sys.argv[2])), json.load(open(sys.argv[3])), json.load(open(sys.argv[4])))
    # what is not there: a clear status, never a hang or a crash
    for path, method, code in (("/metrics", "POST", 405), ("/nope", "GET", 404)):
        try:
            urllib.request.urlopen(urllib.request.Request(url + path, method=method, data=b"" if method == "POST"
                                                          else None), timeout=10)
            fail("%s %s answered 200" % (method, path))
        except urllib.error.HTTPError as e:
            expect("%s %s status" % (method, path), e.code, code)


main()
