/* SPDX-License-Identifier: BSD-3-Clause */
/* The control thread: registrations and departures of NFs, guests'
 * VMMs, heartbeats, buffer reclaim, counters, and the API's requests. */
#ifndef CORE_CTRL_H
#define CORE_CTRL_H

#include <pthread.h>
#include <stdint.h>
#include <sys/types.h>

#include "core_acl.h"
#include "core_region.h"
#include "core_slotset.h"
#include "nfhost/nfg_abi.h"

struct core;

/* A guest's VMM process on the host (bound by the manager): when it ends,
 * every NF of that guest is gone. */
struct core_guest_bind {
	uint32_t id;  /* 0: unused */
	pid_t pid;
	int pidfd;
};

/* What the core granted a slot, in its own memory: the slot in the region
 * carries a copy for NFs and tools, which any NF can rewrite.  The core
 * decides by this one and reads from the region only the NF's own word:
 * its state once it sets DONE. */
struct core_slot_info {
	uint32_t state;          /* enum nfg_slot_state as the core set it last */
	uint32_t guest_id;       /* with guest */
	int32_t pid;             /* host NF's PID, 0 for a guest */
	uint16_t service_id;
	uint8_t guest;           /* runs in a guest */
	uint8_t pad;
	uint64_t token;
	char name[NFG_NAME_LEN];
};

/* Where control requests come from: a socket's region (core_sock.h), or an
 * untrusted service's own (core_iso.h).  An NF's requests are believed only
 * from the region its slot was granted in. */
struct core_sock;
struct core_ctrl_src {
	struct core_region *region;  /* whose control ring and reply board */
	struct core_iso *iso;        /* an untrusted service's region, or NULL */
	struct core_sock *sock;      /* a socket's region, or NULL */
	uint64_t deq;                /* the control ring's consumer index, mirrored to the region */
	uint32_t reply_next;         /* the reply board cell written next, likewise */
};

struct core_ctrl {
	pthread_t thread;
	volatile int stop;
	int pidfds[NFG_MAX_NFS];                      /* host NFs' processes, -1: none */
	struct core_guest_bind guests[NFG_MAX_NFS];
	/* Guest NFs have no pidfd of their own; a heartbeat that stops moving
	 * for cfg.guest_timeout_ms means the guest hung or vanished unbound. */
	uint64_t last_beat[NFG_MAX_NFS], beat_tsc[NFG_MAX_NFS];
	/* Slots of guest NFs given up on by heartbeat: the NF may only be
	 * frozen and wake up believing it owns the slot, so after the reclaim
	 * the slot is kept (DEAD) until the NF acknowledges (DONE) or its
	 * guest's VMM ends. */
	struct core_slotset quarantine;
	struct core_slot_info slot[NFG_MAX_NFS];
	struct core_acl_stage acl[NFG_MAX_NFS];       /* ACL rules each NF is sending */
	uint64_t beats;          /* the heartbeat, likewise (nfg_region_hdr.core_beat) */
};

/** Start the control thread (the API must be open).
 * @return 0 or a negative errno */
int core_ctrl_start(struct core *c);

/** Stop the control thread, close the API and every pidfd. */
void core_ctrl_stop(struct core *c);

#endif
