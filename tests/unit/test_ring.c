/* SPDX-License-Identifier: BSD-3-Clause */
/* SPSC descriptor ring (nfg_ring_view in nfg_abi.h): empty and full edges,
 * index wrap-around past 2^32, burst semantics against a model queue, two
 * threads hammering one ring, and indices no honest peer writes. */
#include <pthread.h>
#include <sched.h>

#include "nfhost/nfg_abi.h"
#include "unit_util.h"

/* The producer's and the consumer's views of the ring under test. */
static struct nfg_ring_view P, C;

static struct nfg_ring *ring_new(uint32_t size)
{
	size_t bytes = nfg_ring_bytes(size);
	struct nfg_ring *r = aligned_alloc(NFG_CACHE_LINE, bytes);

	ck_assert_ptr_nonnull(r);
	ck_assert_uint_eq((uintptr_t)r % NFG_CACHE_LINE, 0);
	/* garbage first: nfg_ring_init must set every index itself */
	memset(r, 0xa5, bytes);
	nfg_ring_init(r, size);
	nfg_view_init(&P, r, size);
	nfg_view_init(&C, r, size);
	return r;
}

/* Entries in the ring, by the two indices in it. */
static uint32_t ring_count(const struct nfg_ring *r)
{
	return r->head - r->tail;
}

/* Put the ring's indices and both views at @p start, as if 'start'
 * entries had already gone through it. */
static void ring_set_indices(struct nfg_ring *r, uint32_t start)
{
	r->head = r->tail = start;
	P.mine = P.seen = C.mine = C.seen = start;
}

/* An entry for sequence number @p x, with every bit of a (64-bit) entry
 * in use, so a ring that drops the high half is caught. */
static inline nfg_desc_t ent(uint32_t x)
{
	return (nfg_desc_t)x | (sizeof(nfg_desc_t) > 4 ? (nfg_desc_t)(~x ^ 0x5a5a5a5au) << 16 << 16 : 0);
}

static const uint32_t sizes[] = { 1, 2, 4, 64, 1024 };
#define NSIZES (sizeof(sizes) / sizeof(sizes[0]))

START_TEST(test_init)
{
	struct nfg_ring *r = ring_new(1024);

	ck_assert_uint_eq(r->size, 1024);
	ck_assert_uint_eq(r->mask, 1023);
	ck_assert_uint_eq(r->head, 0);
	ck_assert_uint_eq(r->tail, 0);
	ck_assert_uint_eq(r->reserved_p, 0);
	ck_assert_uint_eq(r->reserved_c, 0);
	ck_assert_uint_eq(r->enq_full, 0);
	ck_assert_uint_eq(ring_count(r), 0);
	/* the entries start right after the header, on a fresh line */
	ck_assert_uint_eq((uintptr_t)r->ring - (uintptr_t)r, sizeof(struct nfg_ring));
	ck_assert_uint_ge(nfg_ring_bytes(1024), sizeof(struct nfg_ring) + 1024 * sizeof(nfg_desc_t));
	ck_assert_uint_eq(sizeof(r->ring[0]), sizeof(nfg_desc_t));
	free(r);
}
END_TEST

START_TEST(test_empty_dequeue)
{
	for (size_t s = 0; s < NSIZES; s++) {
		struct nfg_ring *r = ring_new(sizes[s]);
		nfg_desc_t out[64], d = ent(7);

		memset(out, 0x5a, sizeof(out));
		ck_assert_uint_eq(nfg_view_dequeue(&C, out, 1), 0);
		ck_assert_uint_eq(nfg_view_dequeue(&C, out, 64), 0);
		ck_assert_uint_eq(nfg_view_dequeue(&C, out, 0), 0);
		ck_assert(out[0] == (nfg_desc_t)0x5a5a5a5a5a5a5a5aull); /* nothing written */
		ck_assert_uint_eq(r->tail, 0);
		ck_assert_uint_eq(ring_count(r), 0);
		/* one in, one out, then empty again */
		ck_assert_uint_eq(nfg_view_enqueue(&P, &d, 1), 1);
		ck_assert_uint_eq(ring_count(r), 1);
		ck_assert_uint_eq(nfg_view_dequeue(&C, out, 64), 1);
		ck_assert(out[0] == ent(7));
		ck_assert_uint_eq(nfg_view_dequeue(&C, out, 64), 0);
		ck_assert_uint_eq(ring_count(r), 0);
		ck_assert_uint_eq(r->enq_full, 0);
		free(r);
	}
}
END_TEST

START_TEST(test_fill_to_capacity)
{
	for (size_t s = 0; s < NSIZES; s++) {
		uint32_t size = sizes[s];
		nfg_desc_t v, out[8];
		struct nfg_ring *r = ring_new(size);

		for (uint32_t i = 0; i < size; i++) {
			v = ent(1000 + i);
			UNIT_ASSERT_MSG(nfg_view_enqueue(&P, &v, 1) == 1, "size %u: entry %u refused", size, i);
			UNIT_EQ(ring_count(r), i + 1);
		}
		ck_assert_uint_eq(r->enq_full, 0);
		/* exactly full: every further enqueue returns 0 and is counted */
		v = ent(0xdead);
		ck_assert_uint_eq(nfg_view_enqueue(&P, &v, 1), 0);
		ck_assert_uint_eq(r->enq_full, 1);
		ck_assert_uint_eq(nfg_view_enqueue(&P, &v, 1), 0);
		ck_assert_uint_eq(r->enq_full, 2);
		{
			nfg_desc_t five[5] = { 1, 2, 3, 4, 5 };

			ck_assert_uint_eq(nfg_view_enqueue(&P, five, 5), 0);
		}
		ck_assert_uint_eq(r->enq_full, 3);
		ck_assert_uint_eq(ring_count(r), size);
		/* an empty burst on a full ring is not a refusal */
		ck_assert_uint_eq(nfg_view_enqueue(&P, &v, 0), 0);
		ck_assert_uint_eq(r->enq_full, 3);

		/* one out makes room for exactly one: a burst of 3 is partial */
		ck_assert_uint_eq(nfg_view_dequeue(&C, out, 1), 1);
		ck_assert(out[0] == ent(1000));
		{
			nfg_desc_t three[3] = { ent(2000), ent(2001), ent(2002) };

			ck_assert_uint_eq(nfg_view_enqueue(&P, three, 3), 1);
		}
		ck_assert_uint_eq(r->enq_full, 4);
		ck_assert_uint_eq(ring_count(r), size);
		/* FIFO: the rest of the original entries, then the newcomer */
		for (uint32_t i = 1; i < size; i++) {
			UNIT_EQ(nfg_view_dequeue(&C, out, 1), 1);
			UNIT_ASSERT(out[0] == ent(1000 + i));
		}
		ck_assert_uint_eq(nfg_view_dequeue(&C, out, 8), 1);
		ck_assert(out[0] == ent(2000));
		ck_assert_uint_eq(ring_count(r), 0);
		free(r);
	}
}
END_TEST

START_TEST(test_burst_larger_than_ring)
{
	struct nfg_ring *r = ring_new(64);
	nfg_desc_t in[100], out[100];

	for (uint32_t i = 0; i < 100; i++)
		in[i] = ent(i * 3 + 1);
	ck_assert_uint_eq(nfg_view_enqueue(&P, in, 100), 64);
	ck_assert_uint_eq(r->enq_full, 1);
	ck_assert_uint_eq(ring_count(r), 64);
	ck_assert_uint_eq(nfg_view_dequeue(&C, out, 100), 64);
	for (uint32_t i = 0; i < 64; i++)
		UNIT_ASSERT(out[i] == in[i]);
	free(r);
}
END_TEST

/* Indices that start just below 2^32 must wrap without losing, duplicating
 * or reordering anything, full and empty detection included. */
START_TEST(test_wraparound)
{
	static const uint32_t starts[] = { 0xFFFFFF00u, 0xFFFFFFFFu, 0xFFFFFFC0u, 0x7FFFFFF0u };

	for (size_t st = 0; st < sizeof(starts) / sizeof(starts[0]); st++) {
		for (size_t s = 0; s < NSIZES; s++) {
			uint32_t size = sizes[s], start = starts[st];
			struct nfg_ring *r = ring_new(size);
			nfg_desc_t in[2048], out[2048];
			uint32_t next_in = 0, next_out = 0, n;

			ring_set_indices(r, start);
			ck_assert_uint_eq(ring_count(r), 0);
			ck_assert_uint_eq(nfg_view_dequeue(&C, out, 4), 0);
			/* fill to exactly full across the wrap point */
			for (uint32_t i = 0; i < size; i++)
				in[i] = ent(next_in++);
			ck_assert_uint_eq(nfg_view_enqueue(&P, in, size), size);
			ck_assert_uint_eq(ring_count(r), size);
			in[0] = ent(next_in);
			ck_assert_uint_eq(nfg_view_enqueue(&P, in, 1), 0);
			ck_assert_uint_eq(r->enq_full, 1);
			n = nfg_view_dequeue(&C, out, 2048);
			ck_assert_uint_eq(n, size);
			for (uint32_t i = 0; i < n; i++)
				UNIT_ASSERT(out[i] == ent(next_out++));
			/* then push at least 5 ring-fulls (and 600 entries, so every
			 * start near 2^32 wraps) through in uneven steps */
			while (next_out < 6 * size || next_out < 600) {
				uint32_t want = (next_in * 7 + 3) % (size + 1) + 1, got;
				uint32_t room = size - (next_in - next_out);

				for (uint32_t i = 0; i < want; i++)
					in[i] = ent(next_in + i);
				got = nfg_view_enqueue(&P, in, want);
				UNIT_ASSERT_MSG(got == (want < room ? want : room),
						"start 0x%x size %u: %u of %u enqueued with room for %u", start, size,
						got, want, room);
				next_in += got;
				UNIT_EQ(ring_count(r), next_in - next_out);
				n = nfg_view_dequeue(&C, out, (next_out % 5) + 1);
				UNIT_EQ(n, (next_out % 5) + 1 < next_in - next_out ? (next_out % 5) + 1 : next_in - next_out);
				for (uint32_t i = 0; i < n; i++)
					UNIT_ASSERT_MSG(out[i] == ent(next_out + i), "start 0x%x size %u: got %u want %u",
						      start, size, NFG_D_OFF(out[i]), next_out + i);
				next_out += n;
				UNIT_EQ(ring_count(r), next_in - next_out);
			}
			n = nfg_view_dequeue(&C, out, 2048);
			for (uint32_t i = 0; i < n; i++)
				UNIT_ASSERT(out[i] == ent(next_out + i));
			next_out += n;
			ck_assert_uint_eq(next_out, next_in);
			/* the indices really did cross 2^32 */
			ck_assert_uint_eq(r->head, (uint32_t)(start + next_in));
			ck_assert_uint_eq(r->tail, r->head);
			if (start >= 0xFFFFFF00u) {
				ck_assert_uint_gt((uint64_t)start + next_in, UINT32_MAX);
				ck_assert_uint_lt(r->head, start);
			}
			free(r);
		}
	}
}
END_TEST

/* Random bursts of odd sizes against a model FIFO: every call must move
 * exactly min(n, room) / min(n, count) entries, in order. */
START_TEST(test_odd_bursts_model)
{
	const uint32_t size = 64;
	struct nfg_ring *r = ring_new(size);
	struct unit_rng rng;
	nfg_desc_t in[80], out[80];
	uint32_t next_in = 0, next_out = 0;
	uint64_t full_calls = 0, wraps = 0, ops = unit_iters(400000, 40000);

	unit_rng_init(&rng, 1);
	ring_set_indices(r, 0xFFFFF000u); /* wraps early in the run */
	for (uint64_t op = 0; op < ops; op++) {
		uint32_t n = 2 * unit_rng_range(&rng, 0, 37) + 1; /* odd: 1..75 */
		uint32_t count = next_in - next_out, got;

		if (unit_rng_next(&rng) & 1) {
			uint32_t expect = n < size - count ? n : size - count;

			for (uint32_t i = 0; i < n; i++)
				in[i] = ent(next_in + i);
			got = nfg_view_enqueue(&P, in, n);
			UNIT_ASSERT_MSG(got == expect, "op %llu: enqueue %u with %u queued gave %u (seed 0x%llx)",
				      (unsigned long long)op, n, count, got, (unsigned long long)unit_seed());
			full_calls += expect < n;
			next_in += got;
		} else {
			uint32_t expect = n < count ? n : count;

			got = nfg_view_dequeue(&C, out, n);
			UNIT_ASSERT_MSG(got == expect, "op %llu: dequeue %u with %u queued gave %u (seed 0x%llx)",
				      (unsigned long long)op, n, count, got, (unsigned long long)unit_seed());
			for (uint32_t i = 0; i < got; i++)
				UNIT_ASSERT_MSG(out[i] == ent(next_out + i), "op %llu: FIFO order broken: %u != %u",
					      (unsigned long long)op, NFG_D_OFF(out[i]), next_out + i);
			next_out += got;
		}
		UNIT_EQ(ring_count(r), next_in - next_out);
		/* now and then an empty ring jumps to just below 2^32, so the run
		 * wraps the indices many times, with every fill level */
		if (next_in == next_out && (unit_rng_next(&rng) & 3) == 0) {
			ring_set_indices(r, UINT32_MAX - unit_rng_range(&rng, 0, 2 * size));
			wraps++;
		}
	}
	ck_assert_uint_gt(wraps, 10);
	ck_assert_uint_eq(r->enq_full, full_calls);
	ck_assert_uint_gt(full_calls, 0);  /* the run did hit full */
	ck_assert_uint_gt(next_out, 2 * size);
	free(r);
}
END_TEST

/* ---- two threads ---------------------------------------------------- */

struct hammer {
	struct nfg_ring *r;
	struct nfg_ring_view p, c;
	uint32_t total;
	/* producer's view */
	uint64_t p_sum NFG_ALIGNED, p_xor;
	uint64_t p_calls;
	/* consumer's view, on its own line */
	uint64_t c_sum NFG_ALIGNED, c_xor;
	uint32_t c_got;
	uint32_t first_bad;     /* position of the first out-of-order entry */
	uint32_t first_bad_val;
	int bad;
};

static void relax(unsigned *spins)
{
	if (++*spins > 64) {
		sched_yield();
		*spins = 0;
	} else {
		__builtin_ia32_pause();
	}
}

static void *producer(void *arg)
{
	struct hammer *h = arg;
	struct unit_rng rng;
	nfg_desc_t buf[64];
	uint32_t seq = 0;
	unsigned spins = 0;

	unit_rng_init(&rng, 2);
	while (seq < h->total) {
		uint32_t n = unit_rng_range(&rng, 1, 64), got;

		if (n > h->total - seq)
			n = h->total - seq;
		for (uint32_t i = 0; i < n; i++)
			buf[i] = ent(seq + i);
		got = nfg_view_enqueue(&h->p, buf, n);
		h->p_calls++;
		for (uint32_t i = 0; i < got; i++) {
			h->p_sum += seq + i;
			h->p_xor ^= buf[i];
		}
		seq += got;
		if (got == 0)
			relax(&spins);
	}
	return NULL;
}

static void *consumer(void *arg)
{
	struct hammer *h = arg;
	struct unit_rng rng;
	nfg_desc_t buf[64];
	unsigned spins = 0;

	unit_rng_init(&rng, 3);
	while (h->c_got < h->total) {
		uint32_t n = unit_rng_range(&rng, 1, 64), got;

		got = nfg_view_dequeue(&h->c, buf, n);
		for (uint32_t i = 0; i < got; i++) {
			if (buf[i] != ent(h->c_got + i) && !h->bad) {
				h->bad = 1;
				h->first_bad = h->c_got + i;
				h->first_bad_val = NFG_D_OFF(buf[i]);
			}
			h->c_sum += NFG_D_OFF(buf[i]);
			h->c_xor ^= buf[i];
		}
		h->c_got += got;
		if (got == 0)
			relax(&spins);
	}
	return NULL;
}

START_TEST(test_two_threads)
{
	struct hammer h = { 0 };
	pthread_t tp, tc;
	uint64_t n, want_sum, want_xor = 0;

	h.r = ring_new(1024);
	h.p = P;
	h.c = C;
	h.total = (uint32_t)unit_iters(10000000, 200000);
	n = h.total;
	want_sum = n * (n - 1) / 2;
	for (uint64_t i = 0; i < n; i++)
		want_xor ^= ent((uint32_t)i);
	ck_assert_int_eq(pthread_create(&tc, NULL, consumer, &h), 0);
	ck_assert_int_eq(pthread_create(&tp, NULL, producer, &h), 0);
	pthread_join(tp, NULL);
	pthread_join(tc, NULL);

	ck_assert_msg(!h.bad, "entry %u arrived as %u (seed 0x%llx)", h.first_bad, h.first_bad_val,
		      (unsigned long long)unit_seed());
	ck_assert_uint_eq(h.c_got, h.total);
	ck_assert_uint_eq(h.p_sum, want_sum);
	ck_assert_uint_eq(h.c_sum, want_sum);
	ck_assert_uint_eq(h.p_xor, want_xor);
	ck_assert_uint_eq(h.c_xor, want_xor);
	ck_assert_uint_eq(ring_count(h.r), 0);
	ck_assert_uint_eq(h.p.bad + h.c.bad, 0);
	ck_assert_uint_eq(h.r->head, h.total);
	ck_assert_uint_eq(h.r->tail, h.total);
	/* every refusal was one producer call */
	ck_assert_uint_le(h.r->enq_full, h.p_calls);
	free(h.r);
}
END_TEST

/* Another party wrote the producer's head: the consumer takes nothing
 * until the producer writes its own index again, counts it, and never
 * reads outside the ring or a stale entry. */
START_TEST(test_impossible_head)
{
	static const uint32_t bogus[] = { 5, 0x80000000u, 0xffffffffu, 1040 };

	for (size_t b = 0; b < sizeof(bogus) / sizeof(bogus[0]); b++) {
		struct nfg_ring *r = ring_new(1024);
		nfg_desc_t in[8], out[64];

		for (uint32_t i = 0; i < 8; i++)
			in[i] = ent(i);
		ring_set_indices(r, 100);
		ck_assert_uint_eq(nfg_view_enqueue(&P, in, 8), 8);
		ck_assert_uint_eq(nfg_view_dequeue(&C, out, 3), 3);
		/* behind what the consumer saw, or more than a ring ahead */
		r->head = b == 0 ? 100 + bogus[b] - 10 : 100 + 3 + bogus[b];
		ck_assert_uint_eq(nfg_view_dequeue(&C, out, 64), 5); /* what it had believed */
		ck_assert_uint_eq(nfg_view_dequeue(&C, out, 64), 0);
		ck_assert_uint_ge(C.bad, 1);
		/* the producer writes its own index on its next enqueue */
		ck_assert_uint_eq(nfg_view_enqueue(&P, in, 2), 2);
		ck_assert_uint_eq(nfg_view_dequeue(&C, out, 64), 2);
		ck_assert(out[0] == ent(0) && out[1] == ent(1));
		ck_assert_uint_eq(r->tail, r->head);
		free(r);
	}
}
END_TEST

/* Another party wrote the consumer's tail past the producer's head, or
 * behind what the producer saw: the producer believes neither (no free
 * entries appear that the consumer has not freed) and counts them. */
START_TEST(test_impossible_tail)
{
	struct nfg_ring *r = ring_new(4);
	nfg_desc_t in[4] = { ent(1), ent(2), ent(3), ent(4) }, out[4];

	ck_assert_uint_eq(nfg_view_enqueue(&P, in, 4), 4);
	r->tail = 1000; /* past the head */
	ck_assert_uint_eq(nfg_view_enqueue(&P, in, 1), 0);
	ck_assert_uint_eq(P.bad, 1);
	ck_assert_uint_eq(nfg_view_dequeue(&C, out, 2), 2); /* the consumer writes its own tail */
	ck_assert_uint_eq(nfg_view_enqueue(&P, in, 4), 2);
	r->tail = 0; /* behind what the producer saw */
	ck_assert_uint_eq(nfg_view_enqueue(&P, in, 1), 0);
	ck_assert_uint_eq(P.bad, 2);
	free(r);
}
END_TEST

static Suite *ring_suite(void)
{
	Suite *s = suite_create("ring");
	TCase *tc = tcase_create("spsc");
	TCase *mt = tcase_create("threads");

	tcase_add_test(tc, test_init);
	tcase_add_test(tc, test_empty_dequeue);
	tcase_add_test(tc, test_fill_to_capacity);
	tcase_add_test(tc, test_burst_larger_than_ring);
	tcase_add_test(tc, test_wraparound);
	tcase_add_test(tc, test_odd_bursts_model);
	tcase_add_test(tc, test_impossible_head);
	tcase_add_test(tc, test_impossible_tail);
	tcase_set_timeout(tc, 30);
	tcase_add_test(mt, test_two_threads);
	tcase_set_timeout(mt, 60);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, mt);
	return s;
}

int main(void)
{
	unit_seed_init("test_ring");
	return unit_run(ring_suite());
}
