/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-nat's partition of the pool's ports between instances, and the port
 * allocator (nat.h). */
#include <ctype.h>
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "nat.h"

int nat_part_parse(const char *s, struct nat_part *out)
{
	unsigned long k, n;
	char *e;

	if (!isdigit((unsigned char)s[0]))
		return -EINVAL;
	k = strtoul(s, &e, 10);
	if (*e != '/' || !isdigit((unsigned char)e[1]))
		return -EINVAL;
	n = strtoul(e + 1, &e, 10);
	if (*e || n < 1 || n > 65536 || k >= n)
		return -EINVAL;
	out->k = (uint32_t)k;
	out->n = (uint32_t)n;
	return 0;
}

static uint64_t xorshift(uint64_t *s)
{
	uint64_t x = *s;

	x ^= x << 13;
	x ^= x >> 7;
	x ^= x << 17;
	return *s = x;
}

/* The partition's mask over the range, and each address's count of ports
 * in use in it (ports taken under another partition stay taken). */
static void apply_part(struct nat_pool *p)
{
	memset(p->mask, 0, p->nwords * sizeof(*p->mask));
	p->part_ports = 0;
	for (uint32_t port = p->lo; port <= p->hi; port++)
		if (nat_part_owns(p->part, port)) {
			p->mask[(port - p->lo) / 64] |= 1ull << ((port - p->lo) % 64);
			p->part_ports++;
		}
	for (unsigned int pr = 0; pr < NAT_NPROTO; pr++) {
		p->total[pr] = 0;
		for (uint32_t a = 0; a < p->naddr; a++) {
			const uint64_t *row = p->bits[pr] + (size_t)a * p->nwords;
			uint32_t u = 0;

			for (uint32_t w = 0; w < p->nwords; w++)
				u += (uint32_t)__builtin_popcountll(row[w] & p->mask[w]);
			p->used[pr][a] = u;
			p->total[pr] += u;
		}
	}
}

int nat_pool_init(struct nat_pool *p, const struct nat_conf *c, struct nat_part pt, uint64_t seed)
{
	memset(p, 0, sizeof(*p));
	if (pt.n < 1 || pt.k >= pt.n || c->npool < 1 || c->npool > NAT_POOL_MAX_ADDR || c->port_lo > c->port_hi)
		return -EINVAL;
	p->naddr = c->npool;
	memcpy(p->addr, c->pool, c->npool * sizeof(c->pool[0]));
	p->lo = c->port_lo;
	p->hi = c->port_hi;
	p->nwords = ((uint32_t)p->hi - p->lo + 1 + 63) / 64;
	p->part = pt;
	p->rng = seed | 1;
	p->mask = calloc(p->nwords, sizeof(*p->mask));
	for (unsigned int pr = 0; pr < NAT_NPROTO; pr++) {
		p->bits[pr] = calloc((size_t)p->naddr * p->nwords, sizeof(uint64_t));
		p->used[pr] = calloc(p->naddr, sizeof(uint32_t));
	}
	for (unsigned int pr = 0; pr < NAT_NPROTO; pr++)
		if (!p->bits[pr] || !p->used[pr] || !p->mask) {
			nat_pool_fini(p);
			return -ENOMEM;
		}
	apply_part(p);
	return 0;
}

void nat_pool_fini(struct nat_pool *p)
{
	free(p->mask);
	p->mask = NULL;
	for (unsigned int pr = 0; pr < NAT_NPROTO; pr++) {
		free(p->bits[pr]);
		free(p->used[pr]);
		p->bits[pr] = NULL;
		p->used[pr] = NULL;
	}
}

int nat_pool_alloc(struct nat_pool *p, unsigned int proto, uint32_t pref, uint32_t *aidx, uint16_t *port)
{
	if (nat_pool_free_ports(p, proto) == 0)
		return -ENOSPC;
	for (uint32_t i = 0; i < p->naddr; i++) {
		uint32_t a = (pref + i) % p->naddr, w = (uint32_t)(xorshift(&p->rng) % p->nwords);
		uint64_t *row = p->bits[proto] + (size_t)a * p->nwords;

		if (p->used[proto][a] == p->part_ports)
			continue;
		/* from a random word on (RFC 6056: ports hard to guess), 64 a step */
		for (uint32_t j = 0; j < p->nwords; j++, w = w + 1 == p->nwords ? 0 : w + 1) {
			uint64_t free = ~row[w] & p->mask[w];
			int b;

			if (!free)
				continue;
			b = __builtin_ctzll(free);
			row[w] |= 1ull << b;
			p->used[proto][a]++;
			p->total[proto]++;
			*aidx = a;
			*port = (uint16_t)(p->lo + w * 64 + (uint32_t)b);
			return 0;
		}
	}
	return -ENOSPC; /* not reached: the counts said there was one */
}

/* The bit of @port on address @aidx, or NULL when out of range. */
static uint64_t *port_word(struct nat_pool *p, unsigned int proto, uint32_t aidx, uint16_t port, uint64_t *bit)
{
	if (aidx >= p->naddr || port < p->lo || port > p->hi)
		return NULL;
	*bit = 1ull << ((port - p->lo) % 64);
	return p->bits[proto] + (size_t)aidx * p->nwords + (port - p->lo) / 64;
}

static int in_part(const struct nat_pool *p, uint16_t port)
{
	return !!(p->mask[(port - p->lo) / 64] & 1ull << ((port - p->lo) % 64));
}

int nat_pool_take(struct nat_pool *p, unsigned int proto, uint32_t aidx, uint16_t port)
{
	uint64_t bit, *w = port_word(p, proto, aidx, port, &bit);

	if (!w)
		return -ERANGE;
	if (*w & bit)
		return -EBUSY;
	*w |= bit;
	if (in_part(p, port)) {
		p->used[proto][aidx]++;
		p->total[proto]++;
	}
	return 0;
}

void nat_pool_free(struct nat_pool *p, unsigned int proto, uint32_t aidx, uint16_t port)
{
	uint64_t bit, *w = port_word(p, proto, aidx, port, &bit);

	if (!w || !(*w & bit))
		return;
	*w &= ~bit;
	if (in_part(p, port)) {
		p->used[proto][aidx]--;
		p->total[proto]--;
	}
}

int nat_pool_repartition(struct nat_pool *p, struct nat_part pt)
{
	if (pt.n < 1 || pt.k >= pt.n)
		return -EINVAL;
	p->part = pt;
	apply_part(p);
	return 0;
}

int nat_pool_find(const struct nat_pool *p, uint32_t a)
{
	uint32_t lo = 0, hi = p->naddr;

	while (lo < hi) {
		uint32_t mid = (lo + hi) / 2;

		if (p->addr[mid] == a)
			return (int)mid;
		if (p->addr[mid] < a)
			lo = mid + 1;
		else
			hi = mid;
	}
	return -1;
}
