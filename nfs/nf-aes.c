/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-aes: AES-128-CBC of the transport payload (nfs/aes/, docs/nfs.md). */
#include "nf_module.h"

int main(int argc, char **argv)
{
	return nf_module_main(argc, argv, &nf_aes_module);
}
