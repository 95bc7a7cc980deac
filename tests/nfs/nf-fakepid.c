/* SPDX-License-Identifier: BSD-3-Clause */
/* A test NF that registers claiming a PID that is not its own (issue 13,
 * item 6): nf-fakepid REGION SERVICE PID.  Prints the core's answer; exits
 * 0 when registered, 3 when refused, 1 on any other error. */
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <time.h>
#include <unistd.h>

#include <nfhost/nfg.h>

int main(int argc, char **argv)
{
	struct nfg_ctrl_msg m = { .type = NFG_CTRL_REGISTER };
	struct nfg_region r;
	uint32_t slot;
	int rc;

	if (argc != 4) {
		fprintf(stderr, "usage: nf-fakepid REGION SERVICE PID\n");
		return 1;
	}
	if (nfg_region_attach(argv[1], &r) < 0) {
		fprintf(stderr, "nf-fakepid: %s\n", nfg_last_error());
		return 1;
	}
	m.token = ((uint64_t)getpid() << 32) | (uint32_t)time(NULL) | 1;
	m.service_id = (uint16_t)atoi(argv[2]);
	m.pid = atoi(argv[3]);
	snprintf(m.name, sizeof(m.name), "fakepid");
	if (nfg_ctrl_post(r.base, &m) < 0) {
		fprintf(stderr, "nf-fakepid: %s\n", nfg_last_error());
		return 1;
	}
	rc = nfg_ctrl_wait_reply(r.base, m.token, &slot, 5);
	if (rc == 0)
		printf("registered in slot %u as PID %d\n", slot, m.pid);
	else
		printf("refused: %s\n", nfg_last_error());
	nfg_region_detach(&r);
	return rc == 0 ? 0 : rc == -ETIMEDOUT ? 1 : 3;
}
