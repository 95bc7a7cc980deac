/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-nat: source NAT from an address and port pool (nfs/nat/). */
#include "nf_module.h"

int main(int argc, char **argv)
{
	return nf_module_main(argc, argv, &nf_nat_module);
}
