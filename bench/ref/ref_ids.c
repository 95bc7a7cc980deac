/* SPDX-License-Identifier: BSD-3-Clause
 *
 * nfh-ref-ids: nf-ids's packet handler next to Hyperscan's streaming scan
 * alone, on the same flows' payloads, in one process, interleaved (the
 * issue's "IDS with 1,000 signatures >= 0.7x of Hyperscan's streaming scan
 * alone on the same traffic").
 *
 *   nfh-ref-ids [RULES [FLOWS [PKTS_PER_DIR [ROUNDS]]]]   (1000 300 32 10)
 *
 * It writes RULES signatures (deterministic: a fixed seed) to a temporary
 * file: contents of 6..16 bytes built from the words the traffic is made
 * of (so the literal prefilter has work), 1 in 8 nocase, 1 in 10 with a
 * second content, 1 in 20 a pcre instead.  The traffic: FLOWS TCP flows,
 * each a client and a server direction of PKTS_PER_DIR segments of 64..1460
 * payload bytes (a size mix), the flows' packets interleaved round robin,
 * the last segment of each direction with FIN; 1 packet in 200 carries a
 * whole signature.
 *
 * Each round runs both over the same packets, interleaved by batches of
 * 32 packets (copied into a buffer in cache first, untimed, as DMA into the
 * last-level cache leaves them), which of the two goes first alternating:
 *   hs   per packet: its flow direction's stream (opened on its first
 *        packet, closed after its last), hs_scan_stream of the payload, a
 *        callback that counts
 *   nf   ids_pkt() on the frame: parse, flow table, the same stream work,
 *        the rule header check, alerts (to /dev/null)
 * stdout: one JSON object: payload Gbit/s and cycles per packet of each
 * over all rounds; "ratio": nf rate / hs rate, the median of the rounds'
 * (robust to a busy machine's bursts), "ratio_total" over all rounds.  NFH_REF_IDS_VERBOSE=1: each round on
 * stderr.  Run it under the heavy lock.
 */
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>
#include <unistd.h>

#include "ids/ids.h"

static const char *const WORDS[] = {
	"GET ", "POST ", "HTTP/1.1", "Host: ", "User-Agent: ", "Mozilla/5.0", "Accept: ", "text/html",
	"Content-Length: ", "Cookie: ", "session=", "/index.html", "/api/v1/", "admin", "login", "passwd",
	"select ", "from ", "where ", "union ", "script", "alert(", "onload=", ".php", ".exe", "cmd",
	"shell", "/bin/sh", "wget ", "curl ", "base64", "eval(", "%2e%2e%2f", "../", "\r\n", "json",
};
#define NWORDS (sizeof(WORDS) / sizeof(WORDS[0]))

static uint64_t rng = 0x1d5c0ffee;

static uint32_t rnd(void)
{
	rng ^= rng << 13;
	rng ^= rng >> 7;
	rng ^= rng << 17;
	return (uint32_t)(rng >> 11);
}

static uint64_t tsc(void)
{
	return __builtin_ia32_rdtsc();
}

/* a content for signature i: words, then a unique tail */
static void sig_text(uint32_t i, char *out, size_t max)
{
	size_t n = 0;

	while (n < 6) {
		const char *w = WORDS[rnd() % NWORDS];

		n += (size_t)snprintf(out + n, max - n, "%s", w);
		if (rnd() % 2)
			break;
	}
	snprintf(out + n, max - n, "x%u", i);
}

/* the rules file: content with only [a-zA-Z0-9./ %:=(] and spaces, so no
 * escapes are needed (CR LF written as |0d 0a|) */
static void write_rules(const char *path, uint32_t n, char (*sigs)[64])
{
	FILE *f = fopen(path, "w");

	if (!f) {
		perror(path);
		exit(1);
	}
	for (uint32_t i = 0; i < n; i++) {
		char hex[160] = "";
		size_t h = 0;
		const char *ports = i % 3 == 0 ? "80" : i % 3 == 1 ? "any" : "1024:65535";

		sig_text(i, sigs[i], sizeof(sigs[i]));
		for (const char *c = sigs[i]; *c; c++)
			h += (size_t)snprintf(hex + h, sizeof(hex) - h, "%02x ", (uint8_t)*c);
		fprintf(f, "%s tcp any any -> any %s (msg:\"sig %u\"; ", i % 50 ? "alert" : "drop", ports, i);
		if (i % 20 == 7)
			fprintf(f, "pcre:\"/%s[0-9]{2,6}z%u/i\"; ", WORDS[i % NWORDS][0] == '\r' ? "q" : "w", i);
		else
			fprintf(f, "content:\"|%s|\";%s ", hex, i % 8 == 0 ? " nocase;" : "");
		if (i % 10 == 3)
			fprintf(f, "content:\"second%u\"; ", i);
		fprintf(f, "sid:%u;)\n", 100000 + i);
	}
	fclose(f);
}

struct pkt {
	uint8_t *frame;
	uint32_t len, pay_off, flow; /* flow: flow * 2 + direction */
	uint8_t first, last;
};

static uint32_t mk_frame(uint8_t *b, uint32_t flow, int dir, uint32_t seq, uint8_t flags, const uint8_t *pay,
			 uint32_t plen)
{
	uint8_t cli[4] = { 10, 1, (uint8_t)(flow >> 8), (uint8_t)flow }, srv[4] = { 10, 2, 0, 1 };
	uint16_t cport = (uint16_t)(20000 + flow % 40000), sport = flow % 3 ? 80 : 8443;

	memset(b, 0, 54);
	nf_wr16(b + 12, NF_ETH_IPV4);
	b[14] = 0x45;
	nf_wr16(b + 16, (uint16_t)(40 + plen));
	b[22] = 64;
	b[23] = NF_PROTO_TCP;
	memcpy(b + 26, dir ? srv : cli, 4);
	memcpy(b + 30, dir ? cli : srv, 4);
	nf_wr16(b + 34, dir ? sport : cport);
	nf_wr16(b + 36, dir ? cport : sport);
	nf_wr32(b + 38, seq);
	b[46] = 5 << 4;
	b[47] = flags;
	memcpy(b + 54, pay, plen);
	return 54 + plen;
}

static uint64_t hs_matches;

static int count(unsigned int id, unsigned long long from, unsigned long long to, unsigned int fl, void *c)
{
	(void)id, (void)from, (void)to, (void)fl, (void)c;
	hs_matches++;
	return 0;
}

#define BATCH 32

static int cmp_double(const void *a, const void *b)
{
	double x = *(const double *)a, y = *(const double *)b;

	return (x > y) - (x < y);
}

/* Hyperscan alone on packets b0..b1: each payload into its flow
 * direction's stream, opened at its first packet, closed after its last */
static void hs_batch(const struct pkt *pk, uint32_t b0, uint32_t b1, hs_stream_t **st, const hs_database_t *db,
		     hs_scratch_t *scratch)
{
	for (uint32_t k = b0; k < b1; k++) {
		const struct pkt *p = &pk[k];

		if (p->first && hs_open_stream(db, 0, &st[p->flow]) != HS_SUCCESS)
			abort();
		hs_scan_stream(st[p->flow], (const char *)p->frame + p->pay_off, p->len - p->pay_off, 0, scratch, count,
			       NULL);
		if (p->last)
			hs_close_stream(st[p->flow], scratch, NULL, NULL);
	}
}

int main(int argc, char **argv)
{
	uint32_t nrules = argc > 1 ? (uint32_t)atoi(argv[1]) : 1000, nflows = argc > 2 ? (uint32_t)atoi(argv[2]) : 300;
	uint32_t per = argc > 3 ? (uint32_t)atoi(argv[3]) : 32, rounds = argc > 4 ? (uint32_t)atoi(argv[4]) : 10;
	char (*sigs)[64] = calloc(nrules, sizeof(*sigs));
	uint32_t npk = nflows * 2 * per, k = 0;
	struct pkt *pk = calloc(npk, sizeof(*pk));
	hs_stream_t **st = calloc(nflows * 2, sizeof(*st));
	uint64_t sum_hs = 0, sum_nf = 0, bytes = 0, hz;
	static uint8_t hot[BATCH][54 + 1460];
	struct pkt hp[BATCH];
	double *ratios = calloc(rounds ? rounds : 1, sizeof(*ratios));
	char path[] = "/tmp/nfh-ref-ids.XXXXXX", err[512];
	hs_scratch_t *scratch = NULL;
	struct ids_conf c;
	struct ids s;
	int fd = mkstemp(path);

	if (fd < 0 || !sigs || !pk || !st || !nrules || !nflows || !per || !rounds) {
		fprintf(stderr, "usage: nfh-ref-ids [RULES [FLOWS [PKTS_PER_DIR [ROUNDS]]]]\n");
		return 2;
	}
	close(fd);
	write_rules(path, nrules, sigs);
	/* the traffic, interleaved: round robin over flows and directions */
	{
		uint32_t *seq = calloc(nflows * 2, sizeof(*seq));

		for (uint32_t i = 0; i < per; i++)
			for (uint32_t f = 0; f < nflows; f++)
				for (int d = 0; d < 2; d++) {
					uint32_t plen = i % 4 == 0 ? 64 + rnd() % 200 : 536 + rnd() % 925, n = 0;
					struct pkt *p = &pk[k++];
					uint8_t pay[1460];
					/* 1 packet in 200: a signature, at a word boundary */
					uint32_t at = rnd() % 200 == 0 ? rnd() % plen : UINT32_MAX;

					while (n < plen) {
						const char *w = WORDS[rnd() % NWORDS];

						if (n >= at) {
							w = sigs[rnd() % nrules];
							at = UINT32_MAX;
						}
						size_t wl = strlen(w);

						if (n + wl > plen)
							wl = plen - n;
						memcpy(pay + n, w, wl);
						n += (uint32_t)wl;
					}
					p->flow = f * 2 + (uint32_t)d;
					p->first = i == 0;
					p->last = i == per - 1;
					if (!(p->frame = malloc(54 + plen)))
						return 1;
					p->len = mk_frame(p->frame, f, d, 1000 + seq[p->flow],
							  NF_TCP_ACK | NF_TCP_PSH | (p->last ? NF_TCP_FIN : 0), pay, plen);
					p->pay_off = 54;
					seq[p->flow] += plen;
					bytes += plen;
				}
		free(seq);
	}
	ids_conf_default(&c);
	snprintf(c.rules, sizeof(c.rules), "%s", path);
	snprintf(c.alerts, sizeof(c.alerts), "/dev/null");
	c.inline_mode = 0; /* passive: every packet scanned, as hs alone does */
	hz = 1000000000;
	{
		uint64_t t0 = tsc();

		if (ids_init(&s, &c, hz, NULL, NULL, err, sizeof(err)) < 0) {
			fprintf(stderr, "nfh-ref-ids: %s\n", err);
			return 1;
		}
		fprintf(stderr, "nfh-ref-ids: %u rules compiled in %.2f Gcycles; %u packets, %.1f MB payload\n",
			nrules, (double)(tsc() - t0) / 1e9, npk, (double)bytes / 1e6);
	}
	unlink(path);
	if (hs_alloc_scratch(s.db->hs, &scratch) != HS_SUCCESS)
		return 1;
	/* interleaved by batches of BATCH packets, in turn which goes first:
	 * both see the same noise (a busy machine) and, on average, the same
	 * cache state of the frames; the per-round totals' best is kept */
	for (uint32_t r = 0; r < rounds; r++) {
		uint64_t t_hs = 0, t_nf = 0;

		for (uint32_t b0 = 0; b0 < npk; b0 += BATCH) {
			uint32_t b1 = b0 + BATCH < npk ? b0 + BATCH : npk;

			/* the batch's frames copied into a buffer in cache first, untimed,
			 * as a NIC's DMA into the last-level cache leaves them: both
			 * measure their work, not DRAM */
			for (k = b0; k < b1; k++) {
				memcpy(hot[k - b0], pk[k].frame, pk[k].len);
				hp[k - b0] = pk[k];
				hp[k - b0].frame = hot[k - b0];
			}
			for (int w = 0; w < 2; w++) {
				uint64_t t0 = tsc();

				if ((w ^ (int)(b0 / BATCH + r)) & 1) {
					hs_batch(hp, 0, b1 - b0, st, s.db->hs, scratch);
					t_hs += tsc() - t0;
				} else {
					for (k = 0; k < b1 - b0; k++)
						ids_pkt(&s, hp[k].frame, hp[k].len, t0, NULL);
					t_nf += tsc() - t0;
				}
			}
		}
		sum_hs += t_hs;
		sum_nf += t_nf;
		ratios[r] = (double)t_hs / (double)t_nf;
		if (getenv("NFH_REF_IDS_VERBOSE"))
			fprintf(stderr, "round %u: hs %.0f nf %.0f cycles/pkt, ratio %.3f\n", r, (double)t_hs / npk,
				(double)t_nf / npk, ratios[r]);
	}
	qsort(ratios, rounds, sizeof(*ratios), cmp_double);
	{
		double ghz;
		struct timespec a, b;
		uint64_t x0 = tsc();

		clock_gettime(CLOCK_MONOTONIC_RAW, &a);
		do
			clock_gettime(CLOCK_MONOTONIC_RAW, &b);
		while ((b.tv_sec - a.tv_sec) * 1000000000L + (b.tv_nsec - a.tv_nsec) < 50000000L);
		ghz = (double)(tsc() - x0) / 5e7;
		printf("{\"rules\": %u, \"flows\": %u, \"packets\": %u, \"payload_bytes\": %lu, "
		       "\"hs_gbps\": %.3f, \"nf_gbps\": %.3f, \"hs_cycles_per_pkt\": %.0f, \"nf_cycles_per_pkt\": %.0f, "
		       "\"ratio\": %.3f, \"ratio_total\": %.3f, \"alerts_per_round\": %lu, "
		       "\"streams_open_after\": %lu}\n",
		       nrules, nflows, npk, (unsigned long)bytes, (double)bytes * rounds * 8 * ghz / (double)sum_hs,
		       (double)bytes * rounds * 8 * ghz / (double)sum_nf, (double)sum_hs / npk / rounds,
		       (double)sum_nf / npk / rounds, ratios[rounds / 2], (double)sum_hs / (double)sum_nf,
		       (unsigned long)(s.c.alerts / rounds),
		       (unsigned long)s.c.streams_open);
	}
	ids_fini(&s);
	hs_free_scratch(scratch);
	for (k = 0; k < npk; k++)
		free(pk[k].frame);
	free(pk);
	free(st);
	free(sigs);
	free(ratios);
	return 0;
}
