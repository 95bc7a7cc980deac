/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-aes's transcoder: AES-128-CBC over the transport payload (aes_nf.h). */
#include <errno.h>
#include <string.h>

#include <openssl/err.h>
#include <openssl/rand.h>

#include "aes_nf.h"
#include "nf_csum.h"

/* Keyed contexts for @p c: CBC in its direction, ECB encrypting for IVs. */
static int keyed(const struct aes_conf *c, EVP_CIPHER_CTX **cbc, EVP_CIPHER_CTX **ivgen)
{
	/* fetched once: an EVP_aes_128_cbc() passed at each init would be
	 * looked up in the provider again each time (OpenSSL 3) */
	EVP_CIPHER *cbc_alg = EVP_CIPHER_fetch(NULL, "AES-128-CBC", NULL);
	EVP_CIPHER *ecb_alg = EVP_CIPHER_fetch(NULL, "AES-128-ECB", NULL);
	int ok;

	*cbc = EVP_CIPHER_CTX_new();
	*ivgen = EVP_CIPHER_CTX_new();
	ok = cbc_alg && ecb_alg && *cbc && *ivgen && EVP_CipherInit_ex(*cbc, cbc_alg, NULL, c->key, NULL, !c->decrypt) &&
	     EVP_EncryptInit_ex(*ivgen, ecb_alg, NULL, c->key, NULL) && EVP_CIPHER_CTX_set_padding(*ivgen, 0);
	/* the contexts hold their own references */
	EVP_CIPHER_free(cbc_alg);
	EVP_CIPHER_free(ecb_alg);
	if (ok)
		return 0;
	EVP_CIPHER_CTX_free(*cbc);
	EVP_CIPHER_CTX_free(*ivgen);
	*cbc = *ivgen = NULL;
	return -EIO;
}

int aes_nf_init(struct aes_nf *a, const struct aes_conf *c)
{
	memset(a, 0, sizeof(*a));
	a->iv_next = AES_IV_POOL;
	if (RAND_bytes((uint8_t *)&a->nonce, sizeof(a->nonce)) != 1)
		return -EIO;
	if (keyed(c, &a->cbc, &a->ivgen) < 0)
		return -EIO;
	a->conf = *c;
	return 0;
}

int aes_nf_set_conf(struct aes_nf *a, const struct aes_conf *c)
{
	EVP_CIPHER_CTX *cbc, *ivgen;

	if (keyed(c, &cbc, &ivgen) < 0)
		return -EIO;
	EVP_CIPHER_CTX_free(a->cbc);
	EVP_CIPHER_CTX_free(a->ivgen);
	a->cbc = cbc;
	a->ivgen = ivgen;
	a->conf = *c;
	/* the IVs made ahead were for the old key */
	a->iv_next = AES_IV_POOL;
	return 0;
}

void aes_nf_fini(struct aes_nf *a)
{
	EVP_CIPHER_CTX_free(a->cbc);
	EVP_CIPHER_CTX_free(a->ivgen);
	a->cbc = a->ivgen = NULL;
}

/*
 * The next IV.  CBC needs an IV the adversary cannot predict before it is
 * used (a known IV lets a chosen plaintext cancel it: the BEAST attack);
 * NIST SP 800-38A appendix C gives two ways: a random IV, or the forward
 * cipher under the same key applied to a nonce.  Derived (the default):
 * E_K(nonce || counter), a 64-bit random nonce drawn at start and a 64-bit
 * counter, so inputs never repeat within a process and two processes
 * (instances, restarts) collide with probability 2^-64; AES_IV_POOL of
 * them in one ECB call, cheaper than RAND_bytes' DRBG (compare with
 * nfh-ref-aes -i random).  Random: RAND_bytes, the same batching.
 */
static const uint8_t *next_iv(struct aes_nf *a)
{
	if (a->iv_next == AES_IV_POOL) {
		int n;

		if (a->conf.iv_random) {
			if (RAND_bytes(&a->ivs[0][0], sizeof(a->ivs)) != 1)
				return NULL;
		} else {
			for (unsigned int i = 0; i < AES_IV_POOL; i++) {
				nf_wr32(a->ivs[i], (uint32_t)(a->nonce >> 32));
				nf_wr32(a->ivs[i] + 4, (uint32_t)a->nonce);
				nf_wr32(a->ivs[i] + 8, (uint32_t)(a->iv_ctr >> 32));
				nf_wr32(a->ivs[i] + 12, (uint32_t)a->iv_ctr);
				a->iv_ctr++;
			}
			if (!EVP_EncryptUpdate(a->ivgen, &a->ivs[0][0], &n, &a->ivs[0][0], (int)sizeof(a->ivs)) ||
			    n != (int)sizeof(a->ivs))
				return NULL;
		}
		a->iv_next = 0;
	}
	return a->ivs[a->iv_next++];
}

static int port_selected(const struct aes_conf *c, uint16_t sp, uint16_t dp)
{
	if (!c->nb_ports)
		return 1;
	for (unsigned int i = 0; i < c->nb_ports; i++)
		if ((sp >= c->ports[i].lo && sp <= c->ports[i].hi) || (dp >= c->ports[i].lo && dp <= c->ports[i].hi))
			return 1;
	return 0;
}

/* Is the payload of parsed packet @p p one this configuration transcodes? */
static int selected(const struct aes_conf *c, const uint8_t *d, const struct nf_pkt *p)
{
	if (!(p->flags & NF_PKT_F_L4))
		return 0;
	switch (p->proto) {
	case NF_PROTO_TCP:
		return (c->protos & AES_SEL_TCP) && port_selected(c, nf_pkt_sport(d, p), nf_pkt_dport(d, p));
	case NF_PROTO_UDP:
		return (c->protos & AES_SEL_UDP) && port_selected(c, nf_pkt_sport(d, p), nf_pkt_dport(d, p));
	case NF_PROTO_ICMP:
		return (c->protos & AES_SEL_ICMP) && nf_icmp_echo_kind(d, p);
	case NF_PROTO_ICMPV6:
		return (c->protos & AES_SEL_ICMPV6) && nf_icmp_echo_kind(d, p);
	}
	return 0;
}

/* Does the packet's L4 checksum verify?  0 and 0xffff are the same one's
 * complement number; a UDP/IPv4 checksum of 0 is none. */
static int l4_csum_ok(const uint8_t *d, const struct nf_pkt *p)
{
	uint16_t have = nf_rd16(d + p->l4_off + (p->proto == NF_PROTO_TCP ? 16 : p->proto == NF_PROTO_UDP ? 6 : 2));
	int want = nf_pkt_l4_csum(d, p);

	if (p->proto == NF_PROTO_UDP && p->ipv == 4 && have == 0)
		return 1;
	return want >= 0 && (have == want || ((uint16_t)(have + 1) <= 1 && (uint16_t)(want + 1) <= 1));
}

/* The packet's payload is @p n bytes at d + p->pay_off now: make the IP
 * packet and the frame end with it, lengths and checksums right. */
static void finish(struct aes_nf *a, uint8_t *d, struct nf_pkt *p, uint32_t n, uint32_t *len)
{
	uint32_t end = p->pay_off + n;

	a->c.bytes_in += p->pay_end - p->pay_off;
	a->c.bytes_out += n;
	/* cannot fail: an unfragmented L4 packet, the end checked against
	 * the field's limit (encrypt) or shorter than it was (decrypt) */
	nf_pkt_set_l3_end(d, p, end);
	nf_pkt_fix_l4_csum(d, p);
	*len = end;
}

static nfg_verdict_t encrypt(struct aes_nf *a, uint8_t *d, struct nf_pkt *p, uint32_t *len, uint32_t tailroom)
{
	uint32_t n = p->pay_end - p->pay_off, out = AES_BLOCK + (n / AES_BLOCK + 1) * AES_BLOCK;
	uint32_t end = p->pay_off + out;
	uint8_t *pay = d + p->pay_off;
	const uint8_t *iv;
	int n1, n2;

	/* IPv6's payload length counts after the fixed header */
	if (end - p->l3_off > a->conf.mtu || end - p->l3_off - (p->ipv == 6 ? 40 : 0) > 0xffff)
		return a->c.too_big++, NFG_V_DROP;
	if (end > AES_FRAME_MAX || (end > *len && end - *len > tailroom))
		return a->c.no_room++, NFG_V_DROP;
	if (!(iv = next_iv(a)))
		return a->c.crypto_error++, NFG_V_DROP;
	memmove(pay + AES_BLOCK, pay, n);
	memcpy(pay, iv, AES_BLOCK);
	/* in place (the same pointer, which EVP allows) */
	if (!EVP_CipherInit_ex(a->cbc, NULL, NULL, NULL, iv, -1) ||
	    !EVP_CipherUpdate(a->cbc, pay + AES_BLOCK, &n1, pay + AES_BLOCK, (int)n) ||
	    !EVP_CipherFinal_ex(a->cbc, pay + AES_BLOCK + n1, &n2) || (uint32_t)(AES_BLOCK + n1 + n2) != out)
		return ERR_clear_error(), a->c.crypto_error++, NFG_V_DROP;
	finish(a, d, p, out, len);
	a->c.encrypted++;
	return NFG_V_NEXT;
}

static nfg_verdict_t decrypt(struct aes_nf *a, uint8_t *d, struct nf_pkt *p, uint32_t *len)
{
	uint32_t n = p->pay_end - p->pay_off;
	uint8_t *pay = d + p->pay_off;
	int n1, n2;

	if (n < 2 * AES_BLOCK || n % AES_BLOCK)
		return a->c.bad_ciphertext++, NFG_V_DROP;
	/* in place, then down over the IV: EVP refuses an output that
	 * overlaps its input other than exactly */
	if (!EVP_CipherInit_ex(a->cbc, NULL, NULL, NULL, pay, -1) ||
	    !EVP_CipherUpdate(a->cbc, pay + AES_BLOCK, &n1, pay + AES_BLOCK, (int)(n - AES_BLOCK)))
		return ERR_clear_error(), a->c.crypto_error++, NFG_V_DROP;
	/* bad padding: OpenSSL queues an error, which is ours to clear */
	if (!EVP_CipherFinal_ex(a->cbc, pay + AES_BLOCK + n1, &n2))
		return ERR_clear_error(), a->c.bad_ciphertext++, NFG_V_DROP;
	memmove(pay, pay + AES_BLOCK, (size_t)(n1 + n2));
	finish(a, d, p, (uint32_t)(n1 + n2), len);
	a->c.decrypted++;
	return NFG_V_NEXT;
}

nfg_verdict_t aes_nf_pkt(struct aes_nf *a, uint8_t *d, uint32_t *len, uint32_t tailroom)
{
	struct nf_pkt p;
	enum nf_parse_res r = nf_parse(d, *len, &p);

	if (r == NF_PARSE_FRAG_FIRST || r == NF_PARSE_FRAG_LATER) {
		/* a later fragment has no L4 header, a first one only part of
		 * the payload: neither can be transcoded on its own */
		if (a->conf.frag_pass)
			return a->c.frag_passed++, NFG_V_NEXT;
		return a->c.frag_dropped++, NFG_V_DROP;
	}
	if (r != NF_PARSE_OK) {
		a->c.parse[r]++;
		return r == NF_PARSE_NOT_IP ? NFG_V_NEXT : NFG_V_DROP;
	}
	if (!selected(&a->conf, d, &p))
		return a->c.not_selected++, NFG_V_NEXT;
	if (p.pay_end == p.pay_off)
		return a->c.empty++, NFG_V_NEXT;
	/* bytes after the UDP length would be lost when the payload moves */
	if (p.pay_end != p.l3_end)
		return a->c.udp_trailer++, NFG_V_DROP;
	/* the checksum is computed afresh after: a corrupt packet would leave
	 * with a good one, its damage hidden from the receiver */
	if (!l4_csum_ok(d, &p))
		return a->c.bad_l4_csum++, NFG_V_DROP;
	return a->conf.decrypt ? decrypt(a, d, &p, len) : encrypt(a, d, &p, len, tailroom);
}
