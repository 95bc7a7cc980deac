/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-monitor: per-flow counts, rates and top flows (nfs/monitor/). */
#include "nf_module.h"

int main(int argc, char **argv)
{
	return nf_module_main(argc, argv, &nf_monitor_module);
}
