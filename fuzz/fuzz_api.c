/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the core's control API (core/core_api.c) without a
 * socket and without ports.  The input is what a client sends: lines, each
 * parsed as the API's reader parses it (jansson, flags 0) and answered by
 * core_api_handle_request(), in order, so that one input can apply a graph
 * and then change its chains and rules.  The core behind it is real but
 * for its data path: routing tables from core_tables_init() (as
 * nfhost-core builds them, --chain 1,2 on 2 ports), two NFs joined
 * (services 1 and 2), rules through the real classifier (rte_acl, on an
 * EAL started without hugepages), a region header with the areas the API
 * reads (service mirror, slots, stats) in plain memory.  Untrusted
 * services' regions (service.untrust, trust: untrusted) are real, small
 * files in a directory of its own under /dev/shm, removed with it at exit.
 * Every input starts from that state again.
 *
 * Every reply must be an object with a boolean "ok" and, when false, an
 * "error" string, and must be writable as JSON (valid UTF-8): a client
 * gets an answer to everything. */
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <rte_eal.h>
#include <rte_errno.h>

#include "fuzz_util.h"
#include "core.h"

static struct core core;
static struct nfg_core_stats stats;

/* A region with what the control thread reads and writes in it: the
 * header's offsets, the service mirror, the slots; and the core's private
 * layout of it and record of its grants. */
static void *fake_region(void)
{
	size_t hdr = sizeof(struct nfg_region_hdr);
	size_t svc = NFG_MAX_SERVICES * sizeof(struct nfg_service);
	size_t slots = NFG_MAX_NFS * sizeof(struct nfg_slot);
	struct nfg_region_hdr *h = aligned_alloc(NFG_CACHE_LINE, hdr + svc + slots);

	if (!h)
		abort();
	memset(h, 0, hdr + svc + slots);
	h->services_off = hdr;
	h->slots_off = hdr + svc;
	h->max_nfs = NFG_MAX_NFS;
	for (uint32_t i = 0; i < NFG_MAX_NFS; i++) {
		struct nfg_slot *s = nfg_slot_at(h, i);

		s->index = (uint16_t)i;
		snprintf(s->name, sizeof(s->name), "nf%u", i);
		s->pid = 1000 + (int32_t)i;
		memcpy(core.ctrl.slot[i].name, s->name, sizeof(s->name));
		core.ctrl.slot[i].pid = s->pid;
	}
	core.nb_sock = 1;
	core.region = &core.sock[0].region;
	core.region->lay.services = nfg_service_at(h, 0);
	core.region->lay.slots = nfg_slot_at(h, 0);
	core.region->lay.max_nfs = NFG_MAX_NFS;
	return h;
}

/* The core as it is after start-up with --chain 1,2 and an NF on each. */
static void core_fresh(void)
{
	core_iso_destroy_all(&core);
	if (core_tables_init(&core) < 0 || core_tables_join(&core, 1, 0) < 0 || core_tables_join(&core, 2, 1) < 0)
		abort();
}

static void remove_hugedir(void)
{
	core_iso_destroy_all(&core);
	rmdir(core.cfg.hugedir);
}

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerInitialize(int *argc, char ***argv)
{
	char *eal_argv[] = { "fuzz_api", "-l", "0", "--no-huge", "-m", "128", "--no-pci", "--no-shconf",
			     "--no-telemetry", "--log-level=error", NULL };

	(void)argc;
	(void)argv;
	if (rte_eal_init((int)(sizeof(eal_argv) / sizeof(eal_argv[0])) - 1, eal_argv) < 0) {
		fprintf(stderr, "fuzz_api: rte_eal_init: %s\n", rte_strerror(rte_errno));
		exit(1);
	}
	snprintf(core.cfg.name, sizeof(core.cfg.name), "fuzz");
	snprintf(core.cfg.hugedir, sizeof(core.cfg.hugedir), "/dev/shm/fuzz_api.XXXXXX");
	if (!mkdtemp(core.cfg.hugedir)) {
		perror("fuzz_api: mkdtemp");
		exit(1);
	}
	atexit(remove_hugedir);
	/* small regions for untrusted services: a page of tables, one of buffers */
	core.cfg.max_nfs = NFG_MAX_NFS;
	core.cfg.ring_size = 64;
	core.cfg.max_inflight = 64;
	core.cfg.chain[0] = 1;
	core.cfg.chain[1] = 2;
	core.cfg.chain_len = 2;
	core.cfg.flow_learn_ms = 100;
	core.nb_ports = 2;
	core.socket_id = 0;
	core.base = fake_region();
	core.hdr = core.base;
	core.stats = &stats;
	return 0;
}

static void check_reply(json_t *resp, const char *req, size_t len)
{
	json_t *ok;
	char *s;

	CHECK(resp, "no reply (it becomes \"out of memory\") to: %.*s", (int)len, req);
	ok = json_object_get(resp, "ok");
	CHECK(json_is_object(resp) && json_is_boolean(ok), "a reply without \"ok\" to: %.*s", (int)len, req);
	if (json_is_false(ok))
		CHECK(json_is_string(json_object_get(resp, "error")), "a refusal without \"error\" to: %.*s", (int)len,
		      req);
	s = json_dumps(resp, JSON_COMPACT);
	CHECK(s, "a reply that cannot be written to: %.*s", (int)len, req);
	free(s);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	const char *p = (const char *)data, *end = p + len;

	core_fresh();
	while (p < end) {
		const char *nl = memchr(p, '\n', (size_t)(end - p));
		size_t line = nl ? (size_t)(nl - p) : (size_t)(end - p);
		json_error_t je;
		json_t *req = json_loadb(p, line, 0, &je);

		if (req) {
			json_t *resp = core_api_handle_request(&core, req);

			check_reply(resp, p, line);
			json_decref(resp);
			json_decref(req);
		}
		p += line + 1;
	}
	core_tables_fini(&core);
	return 0;
}
