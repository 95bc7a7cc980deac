#!/usr/bin/env python3
"""make bench's comparison of nfhost with its peers (issue 15), as a report:
the rows with "bench": "peers" of bench/results/latest.json become peers.md
(throughput per packet size and chain length, ratios nfhost/peer, latency
percentiles) and gnuplot plots beside it (peers-chain.png, peers-size.png,
peers-latency.png).  Standard library only; gnuplot draws the plots.

    bench/report.py [--in FILE] [--out DIR]

A run that gave no number, a skipped system, a modelled row and lost packets
are shown as such: a gap in a table is never silent."""
import argparse
import json
import math
import os
import shutil
import subprocess
import sys
import tempfile
import zlib

ROOT = os.path.dirname(os.path.dirname(os.path.abspath(__file__)))
# the ceiling, nfhost, then the peers from the closest data path to the farthest
ORDER = ['ref-ring', 'nfhost', 'nfhost-copy', 'memif', 'memif-stock', 'vhost', 'memif-switch', 'ovs-vhost', 'ovs-vhost-stock',
         'kernel', 'sriov', 'sriov-model']
# fixed per system so that a system looks the same in every plot and every run
COLOURS = {'ref-ring': '#000000', 'nfhost': '#d62728', 'nfhost-copy': '#e377c2', 'memif': '#1f77b4', 'memif-stock': '#17becf',
           'memif-switch': '#393b79', 'ovs-vhost': '#2ca02c', 'ovs-vhost-stock': '#98df8a', 'vhost': '#bcbd22',
           'kernel': '#7f7f7f',
           'sriov': '#ff7f0e', 'sriov-model': '#8c564b'}
# systems not in COLOURS: picked by a hash of the name (crc32, unlike hash(), is the same in every run)
SPARE_COLOURS = ['#9467bd', '#637939', '#843c39', '#7b4173', '#3182bd']
LATENCY_FIELDS = ('p50_us', 'p99_us', 'p999_us', 'latency_cdf', 'load_pct')
PLOTS = ('peers-chain.png', 'peers-size.png', 'peers-latency.png')


def note(msg):
    print('report: ' + msg, file=sys.stderr)


def num(v):
    """v as a float if it is a finite number (JSON has no NaN, but a bool is an int to Python)."""
    if isinstance(v, (int, float)) and not isinstance(v, bool) and math.isfinite(v):
        return float(v)
    return None


def whole(v):
    """v as an int if it is a whole number or a string of digits, else None."""
    if isinstance(v, str) and v.strip().isdigit():
        return int(v)
    return int(v) if num(v) is not None and num(v) == int(v) else None


def pkt_size(row):
    """64, 256, ... as an int, 'imix', another label, or None when not given."""
    v = row.get('pkt_size')
    if whole(v) is not None:
        return whole(v)
    return v.strip().lower() if isinstance(v, str) and v.strip() else None


def chain_len(row):
    return whole(row.get('chain_len'))


def errors(row):
    e = row.get('errors')
    if isinstance(e, str):
        e = [e]
    # error texts carry log tails: one line each, so a table cell holds them
    return [' '.join(str(x).split()) for x in e or [] if x]


def dropped(row):
    d = num(row.get('dropped'))
    return int(d) if d and d > 0 else 0


def skipped(row):
    """The reason a system was skipped, '' if it was not."""
    s = row.get('skipped')
    if s is None or s is False or s == '':
        return ''
    return 'skipped' if s is True else 'skipped: ' + ' '.join(str(s).split())


def roles(row):
    """{'throughput', 'latency'}: what a row measures.  Rows without "kind"
    are throughput rows unless they carry only latency fields."""
    kind = row.get('kind')
    if kind in ('throughput', 'latency'):
        return {kind}
    if kind is not None:
        return set()  # e.g. "latency-max": a maximum taken to pace by, shown through the loads
    lat = any(row.get(f) is not None for f in LATENCY_FIELDS)
    if lat and 'mpps' not in row and 'gbps' not in row:
        return {'latency'}
    return {'throughput', 'latency'} if lat else {'throughput'}


def system(row):
    s = row.get('system')
    return str(s) if s not in (None, '') else '(no system)'


def by_order(systems):
    return sorted(systems, key=lambda s: (ORDER.index(s) if s in ORDER else len(ORDER), s))


def sort_key(v):
    """Sizes and chain lengths: numbers ascending, then labels (imix), then not given."""
    if isinstance(v, int):
        return (0, v, '')
    return (1, 0, v) if v is not None else (2, 0, '')


def size_label(s):
    if s is None:
        return 'packet size not given'
    if isinstance(s, int):
        return '%d B' % s
    return 'IMIX' if s == 'imix' else s


def fmt(x):
    """About 3 significant digits, never in exponent form (0.061, 6.91, 12.3, 358)."""
    if abs(x) >= 100:
        return '%.0f' % x
    if abs(x) >= 10:
        return '%.1f' % x
    if abs(x) >= 1:
        return '%.2f' % x
    return '%.3g' % x


def fmt_ratio(r):
    return '%.0fx' % r if r >= 10 else '%.2fx' % r


def cell_text(s):
    return s.replace('|', '\\|')


def modelled(row):
    return row.get('modelled') is True


class Footnotes:
    """Markdown footnotes for what a cell cannot say: lost packets, rounds that failed."""

    def __init__(self):
        self.n = 0
        self.pending = []

    def mark(self, where, row, shown_error):
        parts = []
        d = dropped(row)
        if d:
            parts.append('{:,} packet{} dropped'.format(d, 's' if d != 1 else ''))
        errs = errors(row)
        if shown_error:
            rest = [e for e in dict.fromkeys(errs) if e != errs[0]]
            if rest:
                parts.append('other errors: ' + '; '.join(rest))
        elif errs:
            parts.append('%d run%s gave no number: %s' % (len(errs), 's' if len(errs) != 1 else '', errs[0]))
        if not parts:
            return ''
        self.n += 1
        self.pending.append('[^%d]: %s: %s.' % (self.n, where, cell_text('; '.join(parts))))
        return ' [^%d]' % self.n

    def flush(self, lines):
        if self.pending:
            lines += [''] + self.pending
        self.pending = []


def nfhost_ratio(row, nfhost_row):
    """The row's own ratio (run-peers.sh: the median of the rounds' ratios),
    else nfhost's Mpps over the row's."""
    r = num(row.get('nfhost_ratio'))
    if r is not None or system(row) == 'nfhost' or nfhost_row is None:
        return r
    mine, theirs = num(row.get('mpps')), num(nfhost_row.get('mpps'))
    return theirs / mine if mine and theirs is not None else None


def throughput_cells(rows):
    """{size: {system: {chain: row}}}, the last row winning."""
    tput = [r for r in rows if 'throughput' in roles(r)]
    if not tput:
        return {}
    # a system skipped as a whole may not say a size or a chain length: its row stands for all of them
    broad = [r for r in tput if skipped(r) and (pkt_size(r) is None or chain_len(r) is None)]
    exact = [r for r in tput if not any(r is b for b in broad)]
    sizes = {pkt_size(r) for r in exact} | {pkt_size(r) for r in broad if pkt_size(r) is not None} or {None}
    table = {}
    for size in sizes:
        here = [(r, False) for r in broad if pkt_size(r) in (size, None)] + [(r, True) for r in exact
                                                                             if pkt_size(r) == size]
        chains = {chain_len(r) for r, ex in here if ex or chain_len(r) is not None} or {None}
        cells = table[size] = {}
        # the skipped rows first, so that a measured row wins
        for r, ex in here:
            for n in [chain_len(r)] if ex or chain_len(r) is not None else chains:
                cells.setdefault(system(r), {})[n] = r
    return table


def throughput_tables(rows, notes):
    lines = []
    for size, systems in sorted(throughput_cells(rows).items(), key=lambda kv: sort_key(kv[0])):
        chains = sorted({n for cells in systems.values() for n in cells}, key=sort_key)
        heading = size_label(size) + (' packets' if size is not None else '')
        lines += ['', '## Throughput, ' + heading, '',
                  '| system | ' + ' | '.join('chain %s' % (n if n is not None else '?') for n in chains) + ' |',
                  '|---' * (len(chains) + 1) + '|']
        for s in by_order(systems):
            cells = systems[s]
            label = s + (' (modelled)' if any(modelled(r) for r in cells.values()) else '')
            out, reasons = [], set()
            for n in chains:
                r = cells.get(n)
                if r is None:
                    out.append('-')
                    continue
                where = '%s, chain %s, %s' % (s, n if n is not None else '?', size_label(size))
                mpps, errs = num(r.get('mpps')), errors(r)
                if skipped(r):
                    # the reason once a row is enough
                    text, shown = 'skipped' if skipped(r) in reasons else skipped(r), False
                    reasons.add(skipped(r))
                elif mpps is None:
                    text, shown = 'failed: ' + errs[0] if errs else 'failed', bool(errs)
                else:
                    ratio = nfhost_ratio(r, systems.get('nfhost', {}).get(n))
                    text, shown = '%s Mpps' % fmt(mpps) + (' (%s)' % fmt_ratio(ratio) if ratio else ''), False
                out.append(cell_text(text) + notes.mark(where, r, shown))
            lines.append('| %s | %s |' % (cell_text(label), ' | '.join(out)))
        notes.flush(lines)
    return lines


def latency_sorted(rows):
    order = by_order({system(r) for r in rows})
    return sorted(rows, key=lambda r: (order.index(system(r)), sort_key(pkt_size(r)), sort_key(chain_len(r)),
                                       num(r.get('load_pct')) or 0))


def latency_table(rows, notes):
    lat = [r for r in rows if 'latency' in roles(r)]
    if not lat:
        return []
    lines = ['', '## Latency', '', '| system | size | chain | load % | p50 µs | p99 µs | p99.9 µs |',
             '|---|---|---|---|---|---|---|']
    for r in latency_sorted(lat):
        s, n, load = system(r), chain_len(r), num(r.get('load_pct'))
        ps = [num(r.get(f)) for f in ('p50_us', 'p99_us', 'p999_us')]
        errs = errors(r)
        shown = False
        if skipped(r):
            ps = [skipped(r), '-', '-']
        elif all(p is None for p in ps):
            ps, shown = ['failed: ' + errs[0] if errs else 'no percentiles', '-', '-'], bool(errs)
        else:
            ps = [fmt(p) if p is not None else '-' for p in ps]
        # a load not in % of the system's own maximum: the common rate
        label = '%g' % load if load is not None else (
            '%s (%s Mpps)' % (r.get('load'), fmt(num(r.get('offered_mpps'))) if num(r.get('offered_mpps')) is not None
                              else '?') if r.get('load') else '?')
        where = '%s, chain %s, %s, %s load' % (s, n if n is not None else '?', size_label(pkt_size(r)),
                                               '%g %%' % load if load is not None else label)
        ps[-1] += notes.mark(where, r, shown)
        lines.append('| %s | %s | %s | %s | %s |' % (
            cell_text(s + (' (modelled)' if modelled(r) else '')), size_label(pkt_size(r)), n if n is not None else '?',
            label, ' | '.join(cell_text(p) for p in ps)))
    notes.flush(lines)
    return lines


def stall_table(rows):
    """The machine's own stalls (nfh-stall-probe), measured in the latency run:
    the floor under every system's tail."""
    st = [r for r in rows if r.get('kind') == 'stall-floor']
    if not st:
        return []
    lines = ['', '## The machine\'s own stalls', '',
             'A thread that never sleeps, one per CPU, for the seconds given, just before the latency runs '
             '(`nfh-stall-probe`): the share of time it did not run, its longest gap, and what a packet '
             'crossing that CPU once at a random instant waits for the machine alone (the residual of the '
             'gap it lands in) at p99 and p99.9. A packet crosses both CPUs several times in every system.',
             '', '| CPU | seconds | stalled % | gaps >= 2 µs | longest µs | residual p99 µs | residual p99.9 µs |',
             '|---|---|---|---|---|---|---|']
    for r in sorted(st, key=lambda r: num(r.get('cpu')) or 0):
        lines.append('| %s | %s |' % (r.get('cpu', '?'), ' | '.join(
            fmt(num(r.get(f))) if num(r.get(f)) is not None else '-' for f in
            ('seconds', 'stalled_pct', 'gaps', 'longest_us', 'residual_p99_us', 'residual_p999_us'))))
    return lines


def markdown(rows, source, plots):
    lines = ['# nfhost next to its peers', '',
             'From `%s`, the rows with `"bench": "peers"` (`bench/report.py`). Cells: Mpps out of the chain;'
             ' in brackets nfhost\'s rate over that system\'s (the median of the rounds\' ratios where the row'
             ' gives it). See docs/benchmarks.md for what each system is.' % source]
    where = []
    for field, name in (('machine', 'machine'), ('date', 'date')):
        vals = list(dict.fromkeys(str(r[field]) for r in rows if r.get(field) not in (None, '')))
        if vals:
            where.append('%s%s: %s' % (name, 's' if len(vals) > 1 else '', ', '.join(vals)))
    if where:
        text = '; '.join(where)
        lines += ['', text[0].upper() + text[1:] + '.']
    if not rows:
        lines += ['', 'No peers rows in it (make bench runs none with BENCH_PEERS=0).']
    notes = Footnotes()
    lines += throughput_tables(rows, notes) if rows else []
    lines += latency_table(rows, notes)
    lines += stall_table(rows)
    if plots:
        lines += ['', '## Plots', ''] + ['![%s](%s)' % (p[:-4], p) for p in plots]
    return '\n'.join(lines) + '\n'


def colour(s):
    return COLOURS.get(s) or SPARE_COLOURS[zlib.crc32(s.encode()) % len(SPARE_COLOURS)]


def q(s):
    """A gnuplot single-quoted string: only the quote itself is special."""
    return "'" + str(s).replace("'", "''") + "'"


def gnuplot_terminal():
    """pngcairo (antialiased, UTF-8 µ) if this gnuplot has it, else png; None without gnuplot."""
    if not shutil.which('gnuplot'):
        return None
    # gnuplot lists its terminals on stderr
    p = subprocess.run(['gnuplot', '-e', 'set terminal'], capture_output=True, text=True, timeout=30)
    return 'pngcairo' if 'pngcairo' in p.stdout + p.stderr else 'png'


class Plot:
    """One gnuplot script and its data files, in a temporary directory."""

    def __init__(self, tmp, name):
        self.tmp, self.name, self.series = tmp, name, []

    def add(self, points, style):
        path = os.path.join(self.tmp, '%s-%d.dat' % (self.name, len(self.series)))
        with open(path, 'w') as f:
            f.writelines('%r %r\n' % p for p in points)
        self.series.append('%s using 1:2 %s' % (q(path), style))

    def draw(self, term, png, settings):
        script = os.path.join(self.tmp, self.name + '.gp')
        font = " font 'sans,11'" if term == 'pngcairo' else ''
        # taller with many lines, so that the key (a line each) fits
        height = max(600, 160 + 22 * len(self.series))
        with open(script, 'w') as f:
            f.write('set terminal %s size 1000,%d%s noenhanced\nset encoding utf8\nset output %s\n'
                    % (term, height, font, q(png)))
            # the key outside the plot so that it never covers a line
            f.write('set key outside right top Left reverse\nset grid\n')
            f.write('\n'.join(settings) + '\nplot ' + ', \\\n     '.join(self.series) + '\n')
        try:
            p = subprocess.run(['gnuplot', script], capture_output=True, text=True, timeout=120)
        except subprocess.TimeoutExpired:
            note('gnuplot took over 120 s on %s' % os.path.basename(png))
            return False
        for line in filter(str.strip, p.stderr.splitlines()):
            note('gnuplot (%s): %s' % (os.path.basename(png), line))
        return p.returncode == 0 and os.path.exists(png) and os.path.getsize(png) > 0


def line_style(s, dashed, pt=7, dt=1, kind='linespoints', marks='ps 1.3'):
    """Modelled rows dashed, so that they do not pass for measured ones."""
    return 'with %s lc rgb %s lw 2 pt %d %s dt %d' % (kind, q(colour(s)), pt, marks, 2 if dashed else dt)


def title(s, rows):
    return q(s + (' (modelled)' if any(modelled(r) for r in rows) else ''))


class NoPlot(Exception):
    """Why a plot is not drawn: nothing to draw, a single point on its x axis, no gnuplot."""


def plot_chain(rows, tmp):
    """Mpps against chain length at 64 B, log y: the kernel's path is ~50x below the rest."""
    plot = Plot(tmp, 'chain')
    tput = [r for r in rows if 'throughput' in roles(r) and pkt_size(r) == 64 and not skipped(r)
            and chain_len(r) is not None and (num(r.get('mpps')) or 0) > 0]
    chains = sorted({chain_len(r) for r in tput})
    if len(chains) < 2:
        raise NoPlot('no 64 B throughput' if not chains else 'a single chain length (%d)' % chains[0])
    for s in by_order({system(r) for r in tput}):
        mine = [r for r in tput if system(r) == s]
        plot.add(sorted((chain_len(r), num(r['mpps'])) for r in mine),
                 line_style(s, any(modelled(r) for r in mine)) + ' title ' + title(s, mine))
    return plot, ['set title "Throughput against chain length, 64 B packets"',
                  'set xlabel "chain length (NFs)"', 'set ylabel "Mpps (log scale)"',
                  'set logscale y', "set format y '%g'", 'set xtics (%s)' % ', '.join(map(str, chains)),
                  'set xrange [%g:%g]' % (min(chains) - 0.5, max(chains) + 0.5)]


def gbps(row):
    """The row's Gbps, else from Mpps as run-peers.sh computes it (frame bytes, no preamble or gap)."""
    g = num(row.get('gbps'))
    if g is None and isinstance(pkt_size(row), int) and num(row.get('mpps')) is not None:
        g = num(row['mpps']) * pkt_size(row) * 8 / 1e3
    return g


def plot_size(rows, tmp):
    """Gbps against packet size, chain of 1.  IMIX has no single size: its
    points stand apart, right of the largest size, unjoined, under an IMIX tic."""
    plot = Plot(tmp, 'size')
    tput = [r for r in rows if 'throughput' in roles(r) and chain_len(r) == 1 and not skipped(r)
            and (gbps(r) or 0) > 0 and (isinstance(pkt_size(r), int) or pkt_size(r) == 'imix')]
    sizes = sorted({pkt_size(r) for r in tput if isinstance(pkt_size(r), int)})
    has_imix = any(pkt_size(r) == 'imix' for r in tput)
    if len(sizes) + has_imix < 2:
        raise NoPlot('no throughput at chain 1' if not tput else 'a single packet size')
    imix_x = max(sizes or [1500]) * 2.5
    for s in by_order({system(r) for r in tput}):
        mine = [r for r in tput if system(r) == s]
        sized = {pkt_size(r): gbps(r) for r in mine if isinstance(pkt_size(r), int)}
        imix = [gbps(r) for r in mine if pkt_size(r) == 'imix']
        dashed = any(modelled(r) for r in mine)
        if sized:
            plot.add(sorted(sized.items()), line_style(s, dashed) + ' title ' + title(s, mine))
        if imix:
            plot.add([(imix_x, imix[-1])], line_style(s, dashed, kind='points')
                     + (' notitle' if sized else ' title ' + title(s, mine)))
    tics = ['%d' % x for x in sizes] + (['"IMIX" %g' % imix_x] if has_imix else [])
    xs = sizes + ([imix_x] if has_imix else [])
    settings = ['set title "Throughput against packet size, chain of 1 NF"',
                'set xlabel "packet size (B, log scale)"', 'set ylabel "Gbps (log scale)"',
                'set logscale xy', "set format y '%g'", 'set xtics (%s)' % ', '.join(tics),
                'set xrange [%g:%g]' % (min(xs) / 1.5, max(xs) * 1.5)]
    if has_imix:
        # a dotted line keeps IMIX off the size axis
        gap = (max(sizes or [imix_x]) * imix_x) ** 0.5
        settings.append('set arrow from %g, graph 0 to %g, graph 1 nohead dt 3 lc rgb "gray"' % (gap, gap))
    return plot, settings


def cdf_points(row):
    """The row's CDF as (µs, fraction) pairs that a log x axis can show."""
    pts = []
    for p in row.get('latency_cdf') or []:
        if isinstance(p, (list, tuple)) and len(p) == 2 and (num(p[0]) or 0) > 0 and num(p[1]) is not None:
            pts.append((num(p[0]), num(p[1])))
    return pts


def plot_latency(rows, tmp):
    """One CDF a system, chain and load: colour by system, dashes by load, marks by chain."""
    plot = Plot(tmp, 'latency')
    lat = [r for r in rows if 'latency' in roles(r) and cdf_points(r)]
    loads = sorted({num(r.get('load_pct')) for r in lat}, key=lambda x: (x is None, x or 0))
    chains = sorted({chain_len(r) for r in lat}, key=sort_key)
    sizes = {pkt_size(r) for r in lat}
    for r in latency_sorted(lat):
        s, n, load, pts = system(r), chain_len(r), num(r.get('load_pct')), cdf_points(r)
        name = '%s, chain %s' % (s, n if n is not None else '?')
        name += ', %s' % size_label(pkt_size(r)) if len(sizes) > 1 else ''
        name += ', %g %% load' % load if load is not None else ''
        name += ' (modelled)' if modelled(r) else ''
        # about 8 marks a line: enough to tell chains apart without hiding the curve
        style = line_style(s, modelled(r), pt=(5, 7, 9, 11, 13, 4, 6, 8)[chains.index(n) % 8],
                           dt=1 + loads.index(load) % 5, marks='ps 1 pi %d' % max(1, len(pts) // 8))
        plot.add(pts, style + ' title ' + q(name))
    if not plot.series:
        raise NoPlot('no latency CDFs')
    return plot, ['set title "Latency CDF (one line a system, chain length and load)"',
                  'set xlabel "latency (µs, log scale)"', 'set ylabel "fraction of packets (≤ x)"',
                  'set logscale x', "set format x '%g'", 'set yrange [0:1]', 'set ytics 0.1']


def plots(rows, out, term):
    """Draws the plots there are data for; returns those written and whether gnuplot failed."""
    written, failed = [], False
    with tempfile.TemporaryDirectory(prefix='nfh-report.') as tmp:
        for png, make in zip(PLOTS, (plot_chain, plot_size, plot_latency)):
            path = os.path.join(out, png)
            try:
                plot, settings = make(rows, tmp)
                if term is None:
                    raise NoPlot('gnuplot not found (tools/deps.sh --bench installs it)')
                if plot.draw(term, path, settings):
                    written.append(png)
                    note('wrote %s' % path)
                    continue
                note('gnuplot failed on %s' % png)
                failed = True
            except NoPlot as why:
                note('%s not drawn: %s' % (png, why))
            # an old plot of an earlier run must not pass for this one's
            if os.path.exists(path):
                os.remove(path)
                note('removed the stale %s' % path)
    return written, failed


def load_rows(path):
    try:
        with open(path) as f:
            data = json.load(f)
    except OSError as e:
        sys.exit('report: cannot read %s: %s' % (path, e.strerror))
    except (json.JSONDecodeError, UnicodeDecodeError) as e:
        sys.exit('report: %s is not JSON: %s' % (path, e))
    if not isinstance(data, list):
        sys.exit('report: %s is not a JSON array of rows' % path)
    return [r for r in data if isinstance(r, dict) and r.get('bench') == 'peers']


def shown_path(path):
    """Inside the repository, relative to it: peers.md may be committed."""
    rel = os.path.relpath(os.path.abspath(path), ROOT)
    return path if rel.startswith('..') else rel


def main():
    ap = argparse.ArgumentParser(description=__doc__.split('\n\n')[0])
    ap.add_argument('--in', dest='src', metavar='FILE', default=os.path.join(ROOT, 'bench/results/latest.json'),
                    help='the rows (default: bench/results/latest.json)')
    ap.add_argument('--out', metavar='DIR', default=os.path.join(ROOT, 'bench/results'),
                    help='where peers.md and the plots go (default: bench/results/)')
    args = ap.parse_args()
    rows = load_rows(args.src)
    note('%d peers rows in %s' % (len(rows), args.src))
    try:
        os.makedirs(args.out, exist_ok=True)
        written, failed = plots(rows, args.out, gnuplot_terminal())
        md = os.path.join(args.out, 'peers.md')
        with open(md, 'w') as f:
            f.write(markdown(rows, shown_path(args.src), written))
    except OSError as e:
        sys.exit('report: %s: %s' % (e.filename or args.out, e.strerror))
    note('wrote %s' % md)
    return 1 if failed else 0


if __name__ == '__main__':
    sys.exit(main())
