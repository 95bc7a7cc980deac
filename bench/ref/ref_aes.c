/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nfh-ref-aes: nf-aes's handler next to OpenSSL EVP alone, in one process,
 * on the same payloads, interleaved (the "AES at 1500 B >= 0.8x of
 * EVP alone", bytes/s of payload).
 *
 *   nfh-ref-aes [-s FRAME_BYTES]... [-t SECONDS] [-p tcp|udp] [-i derived|random]
 *
 * For each frame size (default 64 and 1500): a batch of BATCH Ethernet/IPv4
 * frames of that size with random payloads.  Each round copies the batch
 * into work buffers (not timed), then times the NF's handler on it
 * (aes_nf_pkt(): parse, IV, EVP, lengths, checksums) and EVP alone on the
 * same payloads (per payload: EVP_EncryptInit_ex with a new IV, Update,
 * Final, out of place), in alternating order; then the same for decryption
 * of what the NF encrypted.  The MTU is 9000 so 1500-byte frames may grow.
 * Prints payload Gbit/s, cycles per packet and the ratio, one line per size
 * and direction, and a JSON line each.
 */
#include <getopt.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <time.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "../../nfs/aes/aes_nf.h"
#include "nf_csum.h"

#define BATCH 64
#define ROOM 2048
#define SIZES_MAX 8

static const uint8_t key[AES_KEY_LEN] = { 0x2b, 0x7e, 0x15, 0x16, 0x28, 0xae, 0xd2, 0xa6,
					  0xab, 0xf7, 0x15, 0x88, 0x09, 0xcf, 0x4f, 0x3c };

static double now(void)
{
	struct timespec t;

	clock_gettime(CLOCK_MONOTONIC, &t);
	return (double)t.tv_sec + (double)t.tv_nsec * 1e-9;
}

/* An Ethernet/IPv4/@p proto frame of @p size bytes, random payload. */
static uint32_t make_frame(uint8_t *f, uint32_t size, int udp, int i)
{
	uint32_t l4 = udp ? 8 : 20, ip = size - 14;
	struct nf_pkt p;

	memset(f, 0, 14 + 20 + l4);
	nf_wr16(f + 12, NF_ETH_IPV4);
	f[14] = 0x45;
	nf_wr16(f + 16, (uint16_t)ip);
	f[22] = 64;
	f[23] = udp ? NF_PROTO_UDP : NF_PROTO_TCP;
	nf_wr32(f + 26, 0x0a000001);
	nf_wr32(f + 30, 0x0a000002);
	nf_wr16(f + 34, (uint16_t)(1024 + i));
	nf_wr16(f + 36, 443);
	if (udp)
		nf_wr16(f + 38, (uint16_t)(ip - 20));
	else
		f[46] = 5 << 4;
	RAND_bytes(f + 34 + l4, (int)(size - 34 - l4));
	if (nf_parse(f, size, &p) != NF_PARSE_OK) {
		fprintf(stderr, "nfh-ref-aes: frame of %u bytes does not parse\n", size);
		exit(2);
	}
	nf_pkt_fix_ip_csum(f, &p);
	nf_pkt_fix_l4_csum(f, &p);
	return p.pay_off;
}

struct run {
	double nf_s, evp_s;       /* seconds */
	uint64_t nf_tsc, evp_tsc; /* cycles */
	uint64_t pkts, bytes;     /* packets and payload bytes, each side */
};

/* one direction at one size for @p secs: @p in are the frames the NF gets
 * (@p lens long, payload at @p pay_off, @p pay_len bytes: what EVP gets) */
static int measure(struct aes_nf *nf, EVP_CIPHER_CTX *ref, uint8_t (*in)[ROOM], const uint32_t *lens,
		   uint32_t pay_off, const uint32_t *pay_len, double secs, struct run *r)
{
	static uint8_t work[BATCH][ROOM], out[BATCH][ROOM];
	static const uint8_t iv[AES_BLOCK];
	double t_end = now() + secs;
	int dec = nf->conf.decrypt;

	memset(r, 0, sizeof(*r));
	for (int round = 0; now() < t_end; round++) {
		for (int side = 0; side < 2; side++) {
			int nf_side = (round + side) % 2 == 0;
			double t0;
			uint64_t c0;

			if (nf_side)
				memcpy(work, in, sizeof(work));
			t0 = now();
			c0 = nfg_tsc();
			for (int i = 0; i < BATCH; i++) {
				if (nf_side) {
					uint32_t len = lens[i];

					if (aes_nf_pkt(nf, work[i], &len, ROOM - len) != NFG_V_NEXT)
						return -1;
				} else {
					/* decrypting, the IV is the payload's first block */
					const uint8_t *p = in[i] + pay_off + (dec ? AES_BLOCK : 0);
					int n1, n2;

					if (!EVP_CipherInit_ex(ref, NULL, NULL, NULL, dec ? p - AES_BLOCK : iv, -1) ||
					    !EVP_CipherUpdate(ref, out[i], &n1, p, (int)pay_len[i] - (dec ? AES_BLOCK : 0)) ||
					    !EVP_CipherFinal_ex(ref, out[i] + n1, &n2))
						return -1;
				}
			}
			if (nf_side) {
				r->nf_tsc += nfg_tsc() - c0;
				r->nf_s += now() - t0;
			} else {
				r->evp_tsc += nfg_tsc() - c0;
				r->evp_s += now() - t0;
			}
		}
		r->pkts += BATCH;
		for (int i = 0; i < BATCH; i++)
			r->bytes += pay_len[i];
	}
	return 0;
}

static void report(const char *dir, uint32_t size, const char *proto, const struct run *r)
{
	double nf_gbps = (double)r->bytes * 8 / r->nf_s / 1e9, evp_gbps = (double)r->bytes * 8 / r->evp_s / 1e9;

	printf("  %-7s %4u B %s: nf-aes %6.2f Gbit/s %7.0f cycles/pkt | EVP alone %6.2f Gbit/s %7.0f cycles/pkt | "
	       "ratio %.3f\n",
	       dir, size, proto, nf_gbps, (double)r->nf_tsc / (double)r->pkts, evp_gbps,
	       (double)r->evp_tsc / (double)r->pkts, nf_gbps / evp_gbps);
	printf("{\"bench\": \"aes\", \"dir\": \"%s\", \"frame\": %u, \"proto\": \"%s\", \"pkts\": %llu, "
	       "\"payload_bytes\": %llu, \"nf_gbps\": %.3f, \"evp_gbps\": %.3f, \"nf_cycles_per_pkt\": %.1f, "
	       "\"evp_cycles_per_pkt\": %.1f, \"ratio\": %.3f}\n",
	       dir, size, proto, (unsigned long long)r->pkts, (unsigned long long)r->bytes, nf_gbps, evp_gbps,
	       (double)r->nf_tsc / (double)r->pkts, (double)r->evp_tsc / (double)r->pkts, nf_gbps / evp_gbps);
}

static int bench_size(uint32_t size, int udp, int iv_random, double secs)
{
	static uint8_t plain[BATCH][ROOM], cipher[BATCH][ROOM];
	uint32_t lens[BATCH], clens[BATCH], pay_len[BATCH], cpay_len[BATCH], pay_off = 0;
	struct aes_conf c = { .mtu = 9000, .iv_random = iv_random, .protos = AES_SEL_TCP | AES_SEL_UDP };
	EVP_CIPHER *alg = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
	EVP_CIPHER_CTX *ref[2] = { EVP_CIPHER_CTX_new(), EVP_CIPHER_CTX_new() };
	struct aes_nf nf[2];
	struct run r;
	int rc = -1;

	memcpy(c.key, key, sizeof(key));
	if (aes_nf_init(&nf[0], &c) < 0 || (c.decrypt = 1, aes_nf_init(&nf[1], &c)) < 0 || !alg || !ref[0] ||
	    !ref[1] || !EVP_CipherInit_ex(ref[0], alg, NULL, key, NULL, 1) ||
	    !EVP_CipherInit_ex(ref[1], alg, NULL, key, NULL, 0))
		goto out;
	for (int i = 0; i < BATCH; i++) {
		pay_off = make_frame(plain[i], size, udp, i);
		lens[i] = clens[i] = size;
		pay_len[i] = size - pay_off;
		memcpy(cipher[i], plain[i], size);
		if (aes_nf_pkt(&nf[0], cipher[i], &clens[i], ROOM - size) != NFG_V_NEXT)
			goto out;
		cpay_len[i] = clens[i] - pay_off;
	}
	if (measure(&nf[0], ref[0], plain, lens, pay_off, pay_len, secs, &r) < 0)
		goto out;
	report("encrypt", size, udp ? "udp" : "tcp", &r);
	if (measure(&nf[1], ref[1], cipher, clens, pay_off, cpay_len, secs, &r) < 0)
		goto out;
	report("decrypt", size, udp ? "udp" : "tcp", &r);
	rc = 0;
out:
	if (rc < 0) {
		fprintf(stderr, "nfh-ref-aes: failed at %u bytes\n", size);
		ERR_print_errors_fp(stderr);
	}
	EVP_CIPHER_CTX_free(ref[0]);
	EVP_CIPHER_CTX_free(ref[1]);
	EVP_CIPHER_free(alg);
	aes_nf_fini(&nf[0]);
	aes_nf_fini(&nf[1]);
	return rc;
}

int main(int argc, char **argv)
{
	uint32_t sizes[SIZES_MAX];
	int nb = 0, udp = 0, iv_random = 0, opt;
	double secs = 2;

	while ((opt = getopt(argc, argv, "s:t:p:i:")) != -1) {
		switch (opt) {
		case 's':
			if (nb == SIZES_MAX || (sizes[nb] = (uint32_t)atoi(optarg)) < 60 || sizes[nb] > 1900)
				return fprintf(stderr, "nfh-ref-aes: -s: up to %d sizes of 60..1900 bytes\n", SIZES_MAX), 2;
			nb++;
			break;
		case 't':
			secs = atof(optarg);
			break;
		case 'p':
			udp = !strcmp(optarg, "udp");
			break;
		case 'i':
			iv_random = !strcmp(optarg, "random");
			break;
		default:
			fprintf(stderr, "usage: nfh-ref-aes [-s FRAME_BYTES]... [-t SECONDS] [-p tcp|udp] "
				"[-i derived|random]\n");
			return 2;
		}
	}
	if (!nb) {
		sizes[nb++] = 64;
		sizes[nb++] = 1500;
	}
	printf("nfh-ref-aes: nf-aes handler vs EVP alone, %s, IVs %s, CPU AES-NI %s%s, %.1f s per size and "
	       "direction\n",
	       OpenSSL_version(OPENSSL_VERSION), iv_random ? "random" : "derived",
	       __builtin_cpu_supports("aes") ? "yes" : "no",
	       getenv("OPENSSL_ia32cap") ? " (OPENSSL_ia32cap set)" : "", secs);
	for (int i = 0; i < nb; i++)
		if (bench_size(sizes[i], udp, iv_random, secs) < 0)
			return 1;
	return 0;
}
