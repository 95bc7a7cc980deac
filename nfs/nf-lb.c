/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-lb: an L4 load balancer, Maglev over weighted backends (nfs/lb/). */
#include "nf_module.h"

int main(int argc, char **argv)
{
	return nf_module_main(argc, argv, &nf_lb_module);
}
