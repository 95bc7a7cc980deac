/* SPDX-License-Identifier: BSD-3-Clause */
/* The system call behind core_wake.h.  The regions are shared file
 * mappings, so the futex is a shared one (no FUTEX_PRIVATE_FLAG): the
 * kernel finds the NF's waiter by the file page, wherever each process
 * mapped it. */
#include <limits.h>
#include <linux/futex.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <rte_cycles.h>

#include "core_wake.h"

static int swap_and_wake(uint32_t *word)
{
	uint32_t asleep = NFG_WAKE_ASLEEP;

	/* only the one who swaps it calls the kernel: one wake-up per sleep */
	if (!__atomic_compare_exchange_n(word, &asleep, NFG_WAKE_AWAKE, 0, __ATOMIC_SEQ_CST, __ATOMIC_RELAXED))
		return 0;
	syscall(SYS_futex, word, FUTEX_WAKE, INT_MAX, NULL, NULL, 0);
	return 1;
}

int core_wake_slow(struct core_wake *w, uint64_t gap_tsc)
{
	uint64_t now = rte_rdtsc();

	/* an NF that keeps its word ASLEEP must not turn every burst into a
	 * system call; an honest one sleeps again only after NFG_IDLE_SLEEP_US
	 * idle, longer than the gap, and until then the next burst wakes it */
	if (now < w->next_tsc)
		return 0;
	if (!swap_and_wake(w->word))
		return 0;
	w->next_tsc = now + gap_tsc;
	return 1;
}

int core_wake_now(struct core_wake *w)
{
	if (w->word == NULL)
		return 0;
	rte_atomic_thread_fence(__ATOMIC_SEQ_CST);
	if (__atomic_load_n(w->word, __ATOMIC_RELAXED) != NFG_WAKE_ASLEEP)
		return 0;
	return swap_and_wake(w->word);
}
