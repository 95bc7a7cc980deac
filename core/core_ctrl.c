/* SPDX-License-Identifier: BSD-3-Clause */
/* The control thread: registrations from the control ring, NF departures
 * (clean or not), buffer reclaim, counters.  It sleeps in poll() on the
 * pidfds of host NFs and of guests' VMMs, so a crash is seen the moment the
 * process is gone; guest NFs also have a heartbeat deadline. */
#define _GNU_SOURCE
#define _LGPL_SOURCE
#include <errno.h>
#include <limits.h>
#include <poll.h>
#include <pthread.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/syscall.h>
#include <unistd.h>

#include <urcu/urcu-qsbr.h>

#include <rte_cycles.h>
#include <rte_lcore.h>

#include "core.h"
#include "core_api.h"
#include "core_ctrl.h"
#include "core_tables.h"

#define CTRL_POLL_MS 1
#define STATS_EVERY_MS NFG_CORE_BEAT_MS /* the heartbeat goes with the counters */

/* Answer on the reply board of the region the request came from. */
static void reply_to(struct core *c, struct core_ctrl_src *src, const char *what, uint64_t token, int result,
		     uint32_t slot, const char *reason)
{
	struct nfg_reply_board *b = src->region->lay.replies;
	struct nfg_reply *r = &b->r[src->reply_next++ % NFG_REPLY_BOARD];

	__atomic_store_n(&r->token, 0, __ATOMIC_RELEASE);
	r->result = result;
	r->slot = slot;
	snprintf(r->reason, sizeof(r->reason), "%s", reason);
	__atomic_store_n(&r->token, token, __ATOMIC_RELEASE);
	b->next = src->reply_next;
	if (result < 0) {
		c->stats->ctrl_errors++;
		fprintf(stderr, "core: refused %s: %s\n", what, reason);
	}
}

static void reply(struct core *c, struct core_ctrl_src *src, uint64_t token, int result, uint32_t slot,
		  const char *reason)
{
	reply_to(c, src, "a registration", token, result, slot, reason);
}

/* Whether process @p pid maps the region file @p path: a host NF's claimed
 * PID is believed only then.  (Another NF of the region could still be
 * named; PID 1, a stranger, or the core itself cannot.) */
static int maps_region(pid_t pid, const char *path)
{
	char maps[64], line[PATH_MAX + 128]; /* a maps line: ~80 B of fields, then the path */
	size_t plen = strlen(path);
	int found = 0;
	FILE *f;

	snprintf(maps, sizeof(maps), "/proc/%d/maps", (int)pid);
	if (!(f = fopen(maps, "r")))
		return 0;
	while (!found && fgets(line, sizeof(line), f)) {
		char *at = strstr(line, path);

		found = at && (at[plen] == '\n' || at[plen] == '\0');
	}
	fclose(f);
	return found;
}

/* The core moves slot @p s to @p st: its own record, then the region's
 * copy for the NF (and, for an untrusted NF, the platform region's for
 * tools). */
/* Whether the slot is an NF's that the core still counts as alive. */
static int slot_live(const struct core_slot_info *ci)
{
	return ci->state == NFG_SLOT_ACTIVE || ci->state == NFG_SLOT_DRAINING || ci->state == NFG_SLOT_DRAINED;
}

static void set_state(struct core *c, uint32_t s, uint32_t st)
{
	c->ctrl.slot[s].state = st;
	if (st != NFG_SLOT_ACTIVE) /* only an active NF sends ACLs */
		core_acl_stage_free(&c->ctrl.acl[s]);
	__atomic_store_n(&core_slot(c, s)->state, st, __ATOMIC_RELEASE);
	if (core_slot(c, s) != core_slot_main(c, s))
		__atomic_store_n(&core_slot_main(c, s)->state, st, __ATOMIC_RELEASE);
	/* a sleeping NF sees DRAINED or DEAD now, not at its sleep's end */
	if (st != NFG_SLOT_ACTIVE && core_wake_now(&c->wake[s]))
		core_slot(c, s)->wakes++;
}

/* Whether a request naming slot @p s may come from @p src: an NF speaks
 * only in the region its slot was granted in. */
static int from_slot_region(const struct core *c, const struct core_ctrl_src *src, uint32_t s)
{
	return c->slot_iso[s] == src->iso && c->slot_sock[s] == src->sock;
}

/* The word slot @p s's NF sleeps on (nfg_abi.h, NFG_WAKE_ASLEEP): its own
 * slot's, or for a later service of one process the first's (@p first,
 * from the REGISTER), which must be a live slot of the same process in the
 * same region whose NF sleeps on its own word.  NULL for a guest (it naps:
 * no futex across the VM).  @return 0, or -EINVAL with @p why filled */
static int sleep_word(struct core *c, const struct core_ctrl_src *src, const struct nfg_ctrl_msg *m, uint32_t s,
		      uint32_t **word, char *why, size_t len)
{
	uint32_t w = m->slot;

	*word = NULL;
	if (m->flags & NFG_SLOT_F_GUEST)
		return 0;
	if (w == NFG_SLOT_NONE) {
		*word = &core_slot(c, s)->wake;
		return 0;
	}
	if (w >= c->cfg.max_nfs || !slot_live(&c->ctrl.slot[w]) || c->ctrl.slot[w].guest ||
	    c->ctrl.slot[w].pid != m->pid || !from_slot_region(c, src, w) ||
	    c->wake[w].word != &core_slot(c, w)->wake) {
		snprintf(why, len, "slot %u is not the first of PID %d", w, m->pid);
		return -EINVAL;
	}
	*word = c->wake[w].word;
	return 0;
}

/* Grant slot @p s the region of @p src: its rings there, and the slot the
 * NF sees; the data path reads these once the tables route to it. */
static void bind_slot(struct core *c, const struct core_ctrl_src *src, uint32_t s)
{
	const struct core_layout *l = &src->region->lay;

	c->slot_iso[s] = src->iso;
	c->slot_sock[s] = src->sock;
	c->slot_sh[s] = &l->slots[s];
	core_ring_reset(&c->rx[s], core_region_ring(l, s, 0), l->ring_size);
	core_ring_reset(&c->tx[s], core_region_ring(l, s, 1), l->ring_size);
}

/* Write what the core granted into slot @p sl for the NF and tools. */
static void fill_slot(struct nfg_slot *sl, const struct core_slot_info *ci)
{
	memset(&sl->heartbeat, 0, sizeof(*sl) - offsetof(struct nfg_slot, heartbeat));
	sl->service_id = ci->service_id;
	sl->flags = ci->guest ? NFG_SLOT_F_GUEST : 0;
	sl->pid = ci->pid;
	sl->guest_id = ci->guest_id;
	sl->token = ci->token;
	sl->start_tsc = rte_rdtsc();
	memcpy(sl->name, ci->name, sizeof(sl->name));
}

static void on_register(struct core *c, struct core_ctrl_src *src, const struct nfg_ctrl_msg *m)
{
	struct core_slot_info *ci;
	char why[48];
	uint32_t s;
	uint32_t *word;
	int fd = -1, rc;

	/* 0 marks an empty reply cell: nobody could tell its answer */
	if (m->token == 0) {
		c->stats->ctrl_errors++;
		fprintf(stderr, "core: refused a registration with token 0 (service %u)\n", m->service_id);
		return;
	}
	if (m->service_id == 0 || m->service_id >= NFG_MAX_SERVICES) {
		snprintf(why, sizeof(why), "service ID %u not in 1..%d", m->service_id, NFG_MAX_SERVICES - 1);
		return reply(c, src, m->token, -EINVAL, 0, why);
	}
	if (src->iso && m->service_id != src->iso->service_id) {
		snprintf(why, sizeof(why), "this region serves service %u only", src->iso->service_id);
		return reply(c, src, m->token, -EPERM, 0, why);
	}
	if (!src->iso && c->iso_of[m->service_id]) {
		snprintf(why, sizeof(why), "service %u is untrusted: attach to NAME-u%u", m->service_id,
			 m->service_id);
		return reply(c, src, m->token, -EPERM, 0, why);
	}
	if (core_tables_instances(c, m->service_id) >= NFG_MAX_INSTANCES) {
		snprintf(why, sizeof(why), "service %u has %d instances already", m->service_id, NFG_MAX_INSTANCES);
		return reply(c, src, m->token, -ENOSPC, 0, why);
	}
	for (s = 0; s < c->cfg.max_nfs; s++)
		if (c->ctrl.slot[s].state == NFG_SLOT_FREE && !core_set_has_atomic(&c->poll, s))
			break;
	if (s == c->cfg.max_nfs) {
		snprintf(why, sizeof(why), "all %u NF slots in use", c->cfg.max_nfs);
		return reply(c, src, m->token, -ENOSPC, 0, why);
	}
	if (!(m->flags & NFG_SLOT_F_GUEST)) {
		/* the pidfd is how the core sees the NF die: the PID must be the
		 * NF's, or a dead NF's slot would stay active */
		if (m->pid <= 0 || m->pid == getpid()) {
			snprintf(why, sizeof(why), "a host NF gives its own PID, not %d", m->pid);
			return reply(c, src, m->token, -EINVAL, 0, why);
		}
		fd = (int)syscall(SYS_pidfd_open, m->pid, 0);
		if (fd < 0) /* it is gone already: nobody to answer */
			return;
		if (!maps_region(m->pid, src->region->path)) {
			close(fd);
			snprintf(why, sizeof(why), "PID %d has not mapped the region", m->pid);
			return reply(c, src, m->token, -EPERM, 0, why);
		}
		/* an untrusted NF that can read every packet is no such thing */
		for (uint32_t i = 0; src->iso && i < c->nb_sock; i++)
			if (maps_region(m->pid, c->sock[i].region.path)) {
				close(fd);
				snprintf(why, sizeof(why), "PID %d maps the platform's region", m->pid);
				return reply(c, src, m->token, -EPERM, 0, why);
			}
	}
	rc = sleep_word(c, src, m, s, &word, why, sizeof(why));
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return reply(c, src, m->token, rc, 0, why);
	}
	ci = &c->ctrl.slot[s];
	ci->service_id = m->service_id;
	ci->guest = !!(m->flags & NFG_SLOT_F_GUEST);
	ci->pid = ci->guest ? 0 : m->pid;
	ci->guest_id = ci->guest ? m->guest_id : 0;
	ci->token = m->token;
	memcpy(ci->name, m->name, sizeof(ci->name));
	ci->name[sizeof(ci->name) - 1] = '\0';
	/* the NF chose it: printed in the core's log and by tools, so no
	 * control characters (a terminal escape) and ASCII only */
	for (char *ch = ci->name; *ch; ch++)
		if (*ch < 0x20 || *ch > 0x7e)
			*ch = '?';
	bind_slot(c, src, s);
	fill_slot(core_slot(c, s), ci);
	c->wake[s] = (struct core_wake){ .word = word };
	if (core_slot(c, s) != core_slot_main(c, s))
		fill_slot(core_slot_main(c, s), ci);
	c->ctrl.last_beat[s] = 0;
	c->ctrl.beat_tsc[s] = rte_rdtsc();
	/* the rings are ready before the tables route to them; the NF learns
	 * its slot from the reply, so nothing uses it until then */
	rc = core_tables_join(c, m->service_id, (uint8_t)s);
	if (rc < 0) {
		if (fd >= 0)
			close(fd);
		return reply(c, src, m->token, rc, 0, rc == -ENOSPC ? "the service is full" : "out of memory");
	}
	c->ctrl.pidfds[s] = fd;
	core_set_add_atomic(&c->poll, s);
	set_state(c, s, NFG_SLOT_ACTIVE);
	c->stats->registrations++;
	reply(c, src, m->token, 0, s, "ok");
	if (ci->guest)
		printf("core: NF '%s' (guest %u) registered for service %u in slot %u%s\n", ci->name, ci->guest_id,
		       ci->service_id, s, src->iso ? " (untrusted)" : "");
	else
		printf("core: NF '%s' (pid %d) registered for service %u in slot %u%s\n", ci->name, ci->pid,
		       ci->service_id, s, src->iso ? " (untrusted)" : "");
	fflush(stdout);
}

static void on_unregister(struct core *c, const struct core_ctrl_src *src, const struct nfg_ctrl_msg *m)
{
	const struct core_slot_info *ci;

	/* from the NF's own region, or a manager's from the platform's */
	if (m->slot >= c->cfg.max_nfs || (src->iso && !from_slot_region(c, src, m->slot)))
		goto bad;
	ci = &c->ctrl.slot[m->slot];
	if (ci->token != m->token || ci->state != NFG_SLOT_ACTIVE)
		goto bad;
	set_state(c, m->slot, NFG_SLOT_DRAINING);
	if (core_tables_leave(c, (uint8_t)m->slot) < 0)
		goto bad;
	set_state(c, m->slot, NFG_SLOT_DRAINED);
	return;
bad:
	c->stats->ctrl_errors++;
	fprintf(stderr, "core: ignored an unregister for slot %u with a wrong token or state\n", m->slot);
}

/* The core is done with the NF in slot @p s (@p why: "vanished", or what
 * it did): route around it, then let the TX loop reclaim what it held. */
static void give_up(struct core *c, uint8_t s, const char *why)
{
	struct core_slot_info *ci = &c->ctrl.slot[s];

	if (slot_live(ci)) {
		set_state(c, s, NFG_SLOT_DEAD);
		core_tables_leave(c, s);
		printf("core: NF '%s' (%s %d, slot %u) %s; reclaiming its buffers\n", ci->name,
		       ci->guest ? "guest" : "pid", ci->guest ? (int)ci->guest_id : ci->pid, s, why);
		fflush(stdout);
	}
	if (ci->state == NFG_SLOT_DEAD)
		core_set_add_atomic(&c->reclaim_req, s);
}

/* The one word the core takes from an NF's slot: the NF has finished
 * with it (DONE). */
static void take_done(struct core *c, uint8_t s)
{
	struct core_slot_info *ci = &c->ctrl.slot[s];

	if ((slot_live(ci) || ci->state == NFG_SLOT_DEAD) &&
	    __atomic_load_n(&core_slot(c, s)->state, __ATOMIC_ACQUIRE) == NFG_SLOT_DONE) {
		if (ci->state != NFG_SLOT_DRAINED && ci->state != NFG_SLOT_DEAD)
			core_tables_leave(c, s); /* it did not ask to leave first */
		ci->state = NFG_SLOT_DONE;
	}
}

/* The NF's process is gone: without leaving, unless it said DONE just
 * before it ended.  A slot kept for it after the
 * core gave up on it (quarantine) has nobody left to wait for. */
static void on_death(struct core *c, uint8_t s)
{
	take_done(c, s);
	give_up(c, s, "vanished");
	if (c->ctrl.pidfds[s] >= 0)
		close(c->ctrl.pidfds[s]);
	c->ctrl.pidfds[s] = -1;
	core_set_del(&c->ctrl.quarantine, s);
}

static int guest_slot_live(const struct core_slot_info *ci)
{
	return ci->guest && slot_live(ci);
}

/* Guest @p id's VMM ended: all its NFs are gone with it. */
static void on_guest_gone(struct core *c, struct core_guest_bind *g)
{
	printf("core: guest %u (host process %d) ended\n", g->id, (int)g->pid);
	fflush(stdout);
	for (uint8_t s = 0; s < c->cfg.max_nfs; s++) {
		const struct core_slot_info *ci = &c->ctrl.slot[s];

		if (ci->guest_id != g->id || !ci->guest)
			continue;
		if (guest_slot_live(ci))
			give_up(c, s, "vanished");
		/* nobody left to wake up: a slot kept for it is free now */
		if (core_set_has(&c->ctrl.quarantine, s) && !core_set_has_atomic(&c->reclaim_req, s)) {
			set_state(c, s, NFG_SLOT_FREE);
			printf("core: slot %u free again\n", s);
		}
		core_set_del(&c->ctrl.quarantine, s);
	}
	close(g->pidfd);
	memset(g, 0, sizeof(*g));
	g->pidfd = -1;
}

static void on_guest_bind(struct core *c, const struct core_ctrl_src *src, const struct nfg_ctrl_msg *m)
{
	struct core_guest_bind *g = NULL;
	int fd;

	/* the manager's, from the platform's region: an untrusted NF naming
	 * a guest's VMM could end that guest's NFs with any process */
	if (src->iso || m->guest_id == 0 || m->pid <= 0) {
		c->stats->ctrl_errors++;
		fprintf(stderr, "core: ignored a guest binding with guest %u, pid %d\n", m->guest_id, m->pid);
		return;
	}
	fd = (int)syscall(SYS_pidfd_open, m->pid, 0);
	if (fd < 0) {
		c->stats->ctrl_errors++;
		fprintf(stderr, "core: guest %u: host process %d: %s\n", m->guest_id, m->pid, strerror(errno));
		return;
	}
	for (uint32_t i = 0; i < NFG_MAX_NFS && !g; i++)
		if (c->ctrl.guests[i].id == m->guest_id)
			g = &c->ctrl.guests[i]; /* rebound: the newest VMM counts */
	for (uint32_t i = 0; i < NFG_MAX_NFS && !g; i++)
		if (c->ctrl.guests[i].id == 0)
			g = &c->ctrl.guests[i];
	if (!g) {
		close(fd);
		c->stats->ctrl_errors++;
		fprintf(stderr, "core: guest %u: already %d guests bound\n", m->guest_id, NFG_MAX_NFS);
		return;
	}
	if (g->id)
		close(g->pidfd);
	g->id = m->guest_id;
	g->pid = m->pid;
	g->pidfd = fd;
	printf("core: guest %u runs in host process %d\n", g->id, (int)g->pid);
	fflush(stdout);
}

/* A guest NF whose heartbeat stood still too long is treated as dead. */
static void check_heartbeats(struct core *c)
{
	uint64_t now = rte_rdtsc(), limit = rte_get_tsc_hz() / 1000 * c->cfg.guest_timeout_ms;

	for (uint8_t s = 0; s < c->cfg.max_nfs; s++) {
		uint64_t beat;

		if (!guest_slot_live(&c->ctrl.slot[s]))
			continue;
		beat = __atomic_load_n(&core_slot(c, s)->heartbeat, __ATOMIC_RELAXED);
		if (beat != c->ctrl.last_beat[s]) {
			c->ctrl.last_beat[s] = beat;
			c->ctrl.beat_tsc[s] = now;
		} else if (now - c->ctrl.beat_tsc[s] > limit) {
			printf("core: guest NF '%s' (slot %u) silent for %u ms\n", c->ctrl.slot[s].name, s,
			       c->cfg.guest_timeout_ms);
			core_set_add(&c->ctrl.quarantine, s);
			give_up(c, s, "silent");
		}
	}
}

/* An NF ring whose NF index no honest NF could have written (core_ring.h):
 * the core has stopped using it; the NF is given up on, and its slot kept
 * until the NF says it saw that (DONE) or its process ends, so it cannot
 * scribble on a ring granted to someone else meanwhile. */
static void check_rings(struct core *c)
{
	for (uint8_t s = 0; s < c->cfg.max_nfs; s++) {
		int rx = core_ring_corrupt(&c->rx[s]), tx = core_ring_corrupt(&c->tx[s]);
		char why[96];

		if (!(rx | tx) || !slot_live(&c->ctrl.slot[s]))
			continue;
		snprintf(why, sizeof(why), "wrote an impossible index on its %s ring (%s %u)", rx ? "rx" : "tx",
			 rx ? "tail" : "head", rx ? c->rx[s].v.r->tail : c->tx[s].v.r->head);
		c->stats->nfs_retired++;
		core_set_add(&c->ctrl.quarantine, s);
		give_up(c, s, why);
	}
}

/* Move slots along: DONE/DEAD -> reclaim -> FREE. */
static void advance_slots(struct core *c)
{
	for (uint8_t s = 0; s < c->cfg.max_nfs; s++) {
		struct core_slot_info *ci = &c->ctrl.slot[s];
		const struct nfg_slot *sl = core_slot(c, s);
		uint32_t st;

		take_done(c, s);
		st = ci->state;
		if (st == NFG_SLOT_DONE && !core_set_has_atomic(&c->reclaim_req, s))
			core_set_add_atomic(&c->reclaim_req, s);
		if (core_set_has_atomic(&c->reclaim_req, s) && core_set_has_atomic(&c->reclaim_done, s)) {
			core_set_del_atomic(&c->reclaim_req, s);
			core_set_del_atomic(&c->reclaim_done, s);
			/* a host NF's pidfd stays while its slot is kept: its exit
			 * ends the wait (on_death) */
			if (st == NFG_SLOT_DEAD && core_set_has(&c->ctrl.quarantine, s)) {
				printf("core: slot %u: %llu buffers reclaimed; kept until its NF acknowledges or ends\n", s,
				       (unsigned long long)sl->reclaimed);
				fflush(stdout);
				continue;
			}
			if (c->ctrl.pidfds[s] >= 0) {
				close(c->ctrl.pidfds[s]);
				c->ctrl.pidfds[s] = -1;
			}
			if (core_set_has(&c->ctrl.quarantine, s))
				printf("core: NF '%s' (slot %u) saw it was given up on; slot free again\n", ci->name, s);
			else if (st == NFG_SLOT_DONE && sl->reclaimed == 0)
				printf("core: NF '%s' (slot %u) left cleanly after %llu packets\n", ci->name, s,
				       (unsigned long long)sl->tx_pkts);
			else if (st == NFG_SLOT_DONE) /* said it was done, kept buffers */
				printf("core: NF '%s' (slot %u) left after %llu packets, holding %llu buffers (reclaimed)\n",
				       ci->name, s, (unsigned long long)sl->tx_pkts, (unsigned long long)sl->reclaimed);
			else
				printf("core: slot %u free again, %llu buffers reclaimed\n", s,
				       (unsigned long long)sl->reclaimed);
			fflush(stdout);
			core_set_del(&c->ctrl.quarantine, s);
			set_state(c, s, NFG_SLOT_FREE);
		}
	}
}

/* A flow rule from an NF: checked here, applied by the RX lcore (the one
 * that owns the flow table).  Not answered; refusals are counted. */
static void on_flow_rule(struct core *c, const struct core_ctrl_src *src, const struct nfg_ctrl_msg *m)
{
	const struct core_tables *t = c->tables;
	struct core_flow_cmd cmd = { .key = m->flow.key, .action = m->flow.action, .dest = m->flow.dest };
	const struct core_slot_info *ci = m->slot < c->cfg.max_nfs ? &c->ctrl.slot[m->slot] : NULL;
	int ok;

	/* a flow rule acts on any flow of the platform: not an untrusted NF's
	 * to give */
	if (!ci || ci->token != m->token || ci->state != NFG_SLOT_ACTIVE || src->iso) {
		c->stats->ctrl_errors++;
		if (src->iso)
			fprintf(stderr, "core: refused a flow rule from untrusted slot %u\n", m->slot);
		return;
	}
	switch (m->flow.action) {
	case NFG_FLOW_SKIP: ok = m->flow.dest > 0 && m->flow.dest < NFG_MAX_SERVICES; break;
	case NFG_FLOW_DROP: ok = 1; break;
	case NFG_FLOW_OUT: ok = m->flow.dest < c->nb_ports; break;
	case NFG_FLOW_CHAIN: ok = m->flow.dest < GRAPH_MAX_CHAINS && t->chain[m->flow.dest].len; break;
	default: ok = 0;
	}
	ok = ok && m->flow.key.in_port < c->nb_ports;
	if (!ok) {
		c->stats->ctrl_errors++;
		fprintf(stderr, "core: refused a flow rule from slot %u (action %u, dest %u)\n", m->slot,
			m->flow.action, m->flow.dest);
		return;
	}
	if (core_tables_nf_rules_on(c) < 0)
		return;
	if (core_flows_post(&c->flows, &cmd) < 0)
		c->stats->ctrl_errors++;
}

/* The slot an ACL request names, when the sender holds it (its token)
 * and it serves the service the request is for; NULL otherwise. */
static const struct core_slot_info *acl_sender(const struct core *c, const struct core_ctrl_src *src,
					       const struct nfg_ctrl_msg *m)
{
	const struct core_slot_info *ci = m->slot < c->cfg.max_nfs ? &c->ctrl.slot[m->slot] : NULL;

	if (!ci || ci->token != m->token || ci->state != NFG_SLOT_ACTIVE || ci->service_id != m->service_id ||
	    !from_slot_region(c, src, m->slot))
		return NULL;
	return ci;
}

/* One rule of an NF's ACL: staged; what is wrong with it is told at the
 * commit, and counted now. */
static void on_acl_rule(struct core *c, const struct core_ctrl_src *src, const struct nfg_ctrl_msg *m)
{
	if (!acl_sender(c, src, m)) {
		c->stats->ctrl_errors++;
		fprintf(stderr, "core: ignored an ACL rule for slot %u, service %u: wrong token, state or service\n",
			m->slot, m->service_id);
		return;
	}
	if (core_acl_stage_rule(&c->ctrl.acl[m->slot], &m->acl) < 0)
		c->stats->ctrl_errors++;
}

/* An NF's ACL is complete: build it and make it its service's. */
static void on_acl_commit(struct core *c, struct core_ctrl_src *src, const struct nfg_ctrl_msg *m)
{
	struct core_acl *acl;
	char why[48] = "";
	int rc;

	uint64_t token = m->acl_commit.reply;

	if (token == 0) { /* nobody could read the answer */
		c->stats->ctrl_errors++;
		fprintf(stderr, "core: ignored an ACL commit with reply token 0 (slot %u)\n", m->slot);
		return;
	}
	if (!acl_sender(c, src, m)) {
		snprintf(why, sizeof(why), "slot %u: not yours, or not serving service %u", m->slot, m->service_id);
		return reply_to(c, src, "an ACL", token, -EPERM, m->slot, why);
	}
	rc = core_acl_commit(&c->ctrl.acl[m->slot], m->acl_commit.count, c->socket_id, &acl, why, sizeof(why));
	if (rc == 0)
		rc = core_tables_acl_set(c, m->service_id, acl);
	if (rc < 0)
		return reply_to(c, src, "an ACL", token, rc, m->slot, rc == -ENOMEM && !why[0] ? "out of memory" : why);
	reply_to(c, src, "an ACL", token, 0, m->slot, "ok");
	printf("core: service %u: ACL of %u rules from slot %u\n", m->service_id, m->acl_commit.count, m->slot);
	fflush(stdout);
}

static void drain_ctrl_ring(struct core *c, struct core_ctrl_src *src)
{
	struct nfg_ctrl_ring *q = src->region->lay.ctrl;

	for (;;) {
		uint64_t pos = src->deq;
		struct nfg_ctrl_msg *cell = &q->cells[pos & (NFG_CTRL_RING_SIZE - 1)];
		struct nfg_ctrl_msg m;

		if (__atomic_load_n(&cell->seq, __ATOMIC_ACQUIRE) != pos + 1)
			return;
		m = *cell;
		__atomic_store_n(&cell->seq, pos + NFG_CTRL_RING_SIZE, __ATOMIC_RELEASE);
		src->deq = pos + 1;
		q->deq_pos = pos + 1; /* for producers' view, never read back */
		switch (m.type) {
		case NFG_CTRL_REGISTER:
			on_register(c, src, &m);
			break;
		case NFG_CTRL_UNREGISTER:
			on_unregister(c, src, &m);
			break;
		case NFG_CTRL_GUEST_BIND:
			on_guest_bind(c, src, &m);
			break;
		case NFG_CTRL_FLOW_RULE:
			on_flow_rule(c, src, &m);
			break;
		case NFG_CTRL_ACL_RULE:
			on_acl_rule(c, src, &m);
			break;
		case NFG_CTRL_ACL_COMMIT:
			on_acl_commit(c, src, &m);
			break;
		default:
			c->stats->ctrl_errors++;
			fprintf(stderr, "core: unknown control request type %u\n", m.type);
		}
	}
}

/* What an NF of another region (an untrusted service's, another socket's)
 * writes in its own slot, copied to its slot in the platform's region
 * where tools read every NF's: its counters and, as one consistent
 * version, its report. */
static void mirror_slot(struct core *c, uint32_t s)
{
	const struct nfg_slot *from = core_slot(c, s);
	struct nfg_slot *to = core_slot_main(c, s);
	static char report[NFG_REPORT_LEN + 1];
	int n;

	memcpy(&to->heartbeat, &from->heartbeat, offsetof(struct nfg_slot, report_seq) -
		offsetof(struct nfg_slot, heartbeat));
	n = nfg_slot_report(from, report, sizeof(report));
	if (n < 0)
		return;
	__atomic_store_n(&to->report_seq, to->report_seq | 1, __ATOMIC_RELEASE);
	memcpy(to->report, report, (size_t)n);
	to->report_len = (uint32_t)n;
	__atomic_store_n(&to->report_seq, (to->report_seq | 1) + 1, __ATOMIC_RELEASE);
}

static void update_stats(struct core *c)
{
	uint32_t active = 0;

	for (uint32_t s = 0; s < c->cfg.max_nfs; s++)
		if (core_slot(c, s) != core_slot_main(c, s) && c->ctrl.slot[s].state != NFG_SLOT_FREE)
			mirror_slot(c, s);
	for (uint32_t i = 0; i < c->nb_iso; i++)
		__atomic_store_n(&((struct nfg_region_hdr *)c->iso[i]->region.base)->core_beat, c->ctrl.beats + 1,
				 __ATOMIC_RELAXED);
	/* every socket region's own pool, and its heartbeat; the platform's
	 * counts them all */
	for (uint32_t i = 1; i < c->nb_sock; i++) {
		struct core_sock *sk = &c->sock[i];

		sk->region.lay.stats->pool_avail = rte_mempool_avail_count(sk->pool);
		__atomic_store_n(&((struct nfg_region_hdr *)sk->region.base)->core_beat, c->ctrl.beats + 1,
				 __ATOMIC_RELAXED);
	}

	for (uint32_t s = 0; s < c->cfg.max_nfs; s++)
		active += c->ctrl.slot[s].state == NFG_SLOT_ACTIVE;
	c->stats->nfs_active = active;
	c->stats->pool_avail = core_pool_avail(c);
	core_ports_stats(c);
	c->stats->updated_tsc = rte_rdtsc();
	/* NFs and tools tell a live core from a dead one's region by this */
	__atomic_store_n(&c->hdr->core_beat, ++c->ctrl.beats, __ATOMIC_RELAXED);
}

static void *ctrl_main(void *arg)
{
	struct core *c = arg;
	uint64_t hz = rte_get_tsc_hz(), next_stats = 0;

	while (!c->ctrl.stop) {
		struct pollfd pfd[3 * NFG_MAX_NFS];
		int who[2 * NFG_MAX_NFS]; /* slot, or -1 - guest index */
		int n = 0, napi, prc;

		for (uint8_t s = 0; s < c->cfg.max_nfs; s++)
			if (c->ctrl.pidfds[s] >= 0) {
				pfd[n].fd = c->ctrl.pidfds[s];
				pfd[n].events = POLLIN;
				who[n++] = s;
			}
		for (int g = 0; g < NFG_MAX_NFS; g++)
			if (c->ctrl.guests[g].id) {
				pfd[n].fd = c->ctrl.guests[g].pidfd;
				pfd[n].events = POLLIN;
				who[n++] = -1 - g;
			}
		napi = core_api_pollfds(&c->api, pfd + n, NFG_MAX_NFS);
		prc = poll(pfd, (nfds_t)(n + napi), CTRL_POLL_MS);
		for (int i = 0; prc > 0 && i < n; i++)
			if (pfd[i].revents)
				who[i] >= 0 ? on_death(c, (uint8_t)who[i]) : on_guest_gone(c, &c->ctrl.guests[-1 - who[i]]);
		core_api_handle(c, pfd + n, prc > 0 ? napi : 0);
		for (uint32_t i = 0; i < c->nb_sock; i++)
			drain_ctrl_ring(c, &c->sock[i].src);
		for (uint32_t i = 0; i < __atomic_load_n(&c->nb_iso, __ATOMIC_ACQUIRE); i++)
			drain_ctrl_ring(c, &c->iso[i]->src);
		check_heartbeats(c);
		check_rings(c);
		advance_slots(c);
		core_tables_tick(c);
		if (rte_rdtsc() >= next_stats) {
			update_stats(c);
			next_stats = rte_rdtsc() + hz * STATS_EVERY_MS / 1000;
		}
	}
	update_stats(c);
	return NULL;
}

int core_ctrl_start(struct core *c)
{
	int rc;

	for (int s = 0; s < NFG_MAX_NFS; s++) {
		c->ctrl.pidfds[s] = -1;
		c->ctrl.guests[s].pidfd = -1;
	}
	c->ctrl.stop = 0;
	rc = rte_ctrl_thread_create(&c->ctrl.thread, "nfh-ctrl", NULL, ctrl_main, c);
	if (rc != 0)
		fprintf(stderr, "core: cannot start the control thread: %s\n", strerror(rc));
	return -rc;
}

void core_ctrl_stop(struct core *c)
{
	c->ctrl.stop = 1;
	pthread_join(c->ctrl.thread, NULL);
	core_api_close(&c->api);
	for (int s = 0; s < NFG_MAX_NFS; s++) {
		core_acl_stage_free(&c->ctrl.acl[s]);
		if (c->ctrl.pidfds[s] >= 0)
			close(c->ctrl.pidfds[s]);
		if (c->ctrl.guests[s].id)
			close(c->ctrl.guests[s].pidfd);
		c->ctrl.pidfds[s] = -1;
		memset(&c->ctrl.guests[s], 0, sizeof(c->ctrl.guests[s]));
		c->ctrl.guests[s].pidfd = -1;
	}
}
