/*
 * nfh-pcapcmp - compare the packets of two pcap files, ignoring timestamps,
 * so an NF's output capture can be checked against an expected one.
 *
 * Exit status: 0 equal (or subset), 1 different, 2 usage or read error.
 */
#include <getopt.h>
#include <inttypes.h>
#include <pcap/pcap.h>
#include <stdbool.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

struct capture {
	const char *path;
	pcap_t *pcap;
	uint64_t count; /* packets read so far */
};

static void usage(FILE *out)
{
	fputs("usage: nfh-pcapcmp [--unordered] [--expect-subset] A.pcap B.pcap\n"
	      "  (default)        same packets in the same order\n"
	      "  --unordered      same packets in any order (multiset)\n"
	      "  --expect-subset  every packet of B.pcap is in A.pcap, any order\n"
	      "Only captured bytes are compared; timestamps are ignored.\n"
	      "Exit status: 0 match, 1 mismatch, 2 usage or read error.\n",
	      out);
}

static void open_capture(struct capture *c, const char *path)
{
	char errbuf[PCAP_ERRBUF_SIZE];

	c->path = path;
	c->count = 0;
	c->pcap = pcap_open_offline(path, errbuf);
	if (!c->pcap) {
		/* libpcap names the file in some errors (fopen) but not others. */
		if (strncmp(errbuf, path, strlen(path)) == 0)
			fprintf(stderr, "nfh-pcapcmp: %s\n", errbuf);
		else
			fprintf(stderr, "nfh-pcapcmp: %s: %s\n", path, errbuf);
		exit(2);
	}
}

/* Returns false at end of file; a truncated or corrupt file is fatal. */
static bool next_packet(struct capture *c, struct pcap_pkthdr **hdr, const u_char **data)
{
	int rc = pcap_next_ex(c->pcap, hdr, data);

	if (rc == PCAP_ERROR_BREAK)
		return false;
	if (rc != 1) {
		fprintf(stderr, "nfh-pcapcmp: %s: packet #%" PRIu64 ": %s\n",
			c->path, c->count + 1, pcap_geterr(c->pcap));
		exit(2);
	}
	c->count++;
	return true;
}

static const char *linktype_name(int dlt)
{
	const char *name = pcap_datalink_val_to_name(dlt);

	return name ? name : "unknown";
}

/* Packets of different link types can never match byte for byte meaningfully. */
static void check_linktypes(struct capture *a, struct capture *b)
{
	int la = pcap_datalink(a->pcap), lb = pcap_datalink(b->pcap);

	if (la != lb) {
		printf("%s link type %s (%d) differs from %s link type %s (%d)\n",
		       a->path, linktype_name(la), la, b->path, linktype_name(lb), lb);
		exit(1);
	}
}

static int compare_ordered(struct capture *a, struct capture *b)
{
	struct pcap_pkthdr *ha, *hb;
	const u_char *da, *db;
	bool more_a, more_b;

	for (;;) {
		more_a = next_packet(a, &ha, &da);
		more_b = next_packet(b, &hb, &db);
		if (!more_a || !more_b)
			break;

		bpf_u_int32 common = ha->caplen < hb->caplen ? ha->caplen : hb->caplen;
		bpf_u_int32 k = 0;

		while (k < common && da[k] == db[k])
			k++;
		if (k < common || ha->caplen != hb->caplen) {
			printf("%s packet #%" PRIu64 " differs from %s packet #%" PRIu64
			       " at byte %u (len %u vs %u)\n",
			       a->path, a->count, b->path, b->count, k, ha->caplen, hb->caplen);
			return 1;
		}
	}
	if (more_a || more_b) {
		/* Drain the longer file so the message can give both totals. */
		struct capture *rest = more_a ? a : b;

		while (next_packet(rest, &ha, &da))
			;
		printf("%s has %" PRIu64 " packets, %s has %" PRIu64 "\n",
		       a->path, a->count, b->path, b->count);
		return 1;
	}
	printf("identical: %" PRIu64 " packets\n", a->count);
	return 0;
}

/*
 * FNV-1a over the captured bytes. With 64 bits, a collision between two
 * different packets is vanishingly unlikely at any capture size we handle,
 * and comparing hashes avoids keeping every packet in memory.
 */
static uint64_t fnv1a(const u_char *p, bpf_u_int32 len)
{
	uint64_t h = 0xcbf29ce484222325ULL;

	for (bpf_u_int32 i = 0; i < len; i++)
		h = (h ^ p[i]) * 0x100000001b3ULL;
	return h;
}

static int cmp_u64(const void *x, const void *y)
{
	uint64_t a = *(const uint64_t *)x, b = *(const uint64_t *)y;

	return (a > b) - (a < b);
}

/* Returns the sorted packet hashes of c; c->count holds how many. */
static uint64_t *read_hashes(struct capture *c)
{
	struct pcap_pkthdr *hdr;
	const u_char *data;
	uint64_t *hashes = NULL;
	size_t cap = 0;

	while (next_packet(c, &hdr, &data)) {
		if (c->count > cap) {
			cap = cap ? cap * 2 : 4096;
			hashes = realloc(hashes, cap * sizeof(*hashes));
			if (!hashes) {
				fprintf(stderr, "nfh-pcapcmp: %s: out of memory at packet #%" PRIu64 "\n",
					c->path, c->count);
				exit(2);
			}
		}
		hashes[c->count - 1] = fnv1a(data, hdr->caplen);
	}
	if (c->count > 0)
		qsort(hashes, c->count, sizeof(*hashes), cmp_u64);
	return hashes;
}

static int compare_unordered(struct capture *a, struct capture *b, bool subset)
{
	uint64_t *ha = read_hashes(a), *hb = read_hashes(b);
	uint64_t i = 0, j = 0, only_a = 0, only_b = 0;

	/* Merge walk of two sorted lists counts multiset differences both ways. */
	while (i < a->count && j < b->count) {
		if (ha[i] < hb[j]) {
			only_a++;
			i++;
		} else if (ha[i] > hb[j]) {
			only_b++;
			j++;
		} else {
			i++;
			j++;
		}
	}
	only_a += a->count - i;
	only_b += b->count - j;
	free(ha);
	free(hb);

	if (subset) {
		if (only_b) {
			printf("%s: %" PRIu64 " of %" PRIu64 " packets are not in %s\n",
			       b->path, only_b, b->count, a->path);
			return 1;
		}
		printf("subset: %" PRIu64 " of %" PRIu64 " packets\n", b->count, a->count);
		return 0;
	}
	if (only_a || only_b) {
		printf("%s (%" PRIu64 " packets) and %s (%" PRIu64 " packets) differ: %" PRIu64
		       " packets only in %s, %" PRIu64 " only in %s\n",
		       a->path, a->count, b->path, b->count, only_a, a->path, only_b, b->path);
		return 1;
	}
	printf("same multiset: %" PRIu64 " packets\n", a->count);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct option longopts[] = {
		{ "unordered", no_argument, NULL, 'u' },
		{ "expect-subset", no_argument, NULL, 's' },
		{ "help", no_argument, NULL, 'h' },
		{ NULL, 0, NULL, 0 },
	};
	bool unordered = false, subset = false;
	struct capture a, b;
	int c, rc;

	while ((c = getopt_long(argc, argv, "h", longopts, NULL)) != -1) {
		switch (c) {
		case 'u':
			unordered = true;
			break;
		case 's':
			subset = true;
			break;
		case 'h':
			usage(stdout);
			return 0;
		default: /* getopt_long has already named the bad option */
			usage(stderr);
			return 2;
		}
	}
	if (argc - optind != 2) {
		if (argc - optind > 2)
			fprintf(stderr, "nfh-pcapcmp: unexpected argument '%s'\n", argv[optind + 2]);
		else
			fprintf(stderr, "nfh-pcapcmp: missing %s\n", optind == argc ? "A.pcap and B.pcap" : "B.pcap");
		usage(stderr);
		return 2;
	}

	open_capture(&a, argv[optind]);
	open_capture(&b, argv[optind + 1]);
	check_linktypes(&a, &b);
	if (unordered || subset)
		rc = compare_unordered(&a, &b, subset);
	else
		rc = compare_ordered(&a, &b);
	pcap_close(a.pcap);
	pcap_close(b.pcap);
	return rc;
}
