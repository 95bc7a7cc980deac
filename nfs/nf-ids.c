/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-ids: an IDS/IPS on Hyperscan's streaming mode (nfs/ids/, docs/nfs.md).
 *
 *   nf-ids [libnfguest options] -- -c CONFIG.yaml
 *   nf-ids [libnfguest options] -- -R RULES [-m inline|passive] [-o ALERTS] */
#include "nf_module.h"

int main(int argc, char **argv)
{
	return nf_module_main(argc, argv, &nf_ids_module);
}
