/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-firewall: a stateful firewall (nfs/firewall/; docs/nfs.md, "nf-firewall"). */
#include "nf_module.h"

int main(int argc, char **argv)
{
	return nf_module_main(argc, argv, &nf_firewall_module);
}
