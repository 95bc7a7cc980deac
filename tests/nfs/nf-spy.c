/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-spy: a test NF for untrusted services (t_untrusted).  It forwards
 * every packet, counts those that carry MINE, and looks through every byte
 * of the region it maps (its free buffers, its rings, everything) for
 * SECRET, the marker of packets that never pass through its service: every
 * 512 packets, while the region is mapped.  An untrusted NF has a region
 * of its own, so it must never find one.  With ALSO it maps that file
 * (the platform's region) before it registers, as an NF that means to read
 * every packet would: the core must refuse it.
 *   nf-spy NFG-OPTIONS -- MINE SECRET [ALSO]
 * Prints "spy: P packets, M with MINE, S sightings of SECRET in R scans of
 * B bytes" when it stops. */
#define _GNU_SOURCE
#include <fcntl.h>
#include <stdio.h>
#include <string.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <unistd.h>

#include <nfhost/nfg.h>

struct spy {
	struct nfg_ctx *ctx;
	const char *mine, *secret;
	uint64_t pkts, mine_pkts, sightings, scans, bytes;
};

/* Count SECRET anywhere in the mapping. */
static void scan(struct spy *s)
{
	const struct nfg_region *r = nfg_ctx_region(s->ctx);
	const uint8_t *p = r->base, *end = p + r->size;
	size_t n = strlen(s->secret);

	while ((p = memmem(p, (size_t)(end - p), s->secret, n))) {
		s->sightings++;
		p += n;
	}
	s->scans++;
	s->bytes = r->size;
}

static nfg_verdict_t spy_pkt(struct nfg_pkt *pkt, uint8_t *data, void *arg)
{
	struct spy *s = arg;

	s->mine_pkts += memmem(data, pkt->len, s->mine, strlen(s->mine)) != NULL;
	if (++s->pkts % 512 == 0)
		scan(s);
	return NFG_V_NEXT;
}

/* Map @p path read-only for good, before registering. */
static int map_also(const char *path)
{
	struct stat st;
	int fd = open(path, O_RDONLY);

	if (fd < 0 || fstat(fd, &st) < 0 || mmap(NULL, (size_t)st.st_size, PROT_READ, MAP_SHARED, fd, 0) == MAP_FAILED) {
		perror(path);
		return -1;
	}
	close(fd);
	return 0;
}

int main(int argc, char **argv)
{
	static const struct nfg_ops ops = { .pkt = spy_pkt };
	struct spy s = { 0 };
	int n, rc;

	/* ALSO is mapped before libnfguest registers: find it after "--" */
	for (int i = 1; i + 3 < argc; i++)
		if (!strcmp(argv[i], "--") && i + 4 == argc && map_also(argv[i + 3]) < 0)
			return 1;
	if ((n = nfg_init(argc, argv, "spy", &s.ctx)) < 0)
		return 1;
	/* argv[n] is the program's name again (nfg_init()) */
	if (argc - n != 3 && argc - n != 4) {
		fprintf(stderr, "usage: nf-spy NFG-OPTIONS -- MINE SECRET [ALSO]\n");
		nfg_close(s.ctx);
		return 2;
	}
	s.mine = argv[n + 1];
	s.secret = argv[n + 2];
	rc = nfg_run(s.ctx, &ops, &s);
	printf("spy: %llu packets, %llu with %s, %llu sightings of %s in %llu scans of %llu bytes\n",
	       (unsigned long long)s.pkts, (unsigned long long)s.mine_pkts, s.mine, (unsigned long long)s.sightings,
	       s.secret, (unsigned long long)s.scans, (unsigned long long)s.bytes);
	fflush(stdout);
	nfg_close(s.ctx);
	return rc < 0;
}
