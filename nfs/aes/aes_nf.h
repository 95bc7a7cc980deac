/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * nf-aes's logic, without main (nfs/nf-aes.c) so unit tests and the bench
 * (bench/ref/ref_aes.c) link it: the configuration, and the transcoder of
 * a frame's transport payload with AES-128-CBC through OpenSSL EVP.
 *
 * On the wire (docs/nfs.md, "nf-aes"): the payload P of a selected packet
 * becomes IV || AES-128-CBC_K(P || PKCS#7 padding), 16 + 16 * (|P| / 16 + 1)
 * bytes: it grows by 17..32 bytes on encryption and shrinks back on
 * decryption.  Empty payloads are left as they are (a ciphertext is never
 * empty, so the decryptor knows them).  The IP length fields, the UDP
 * length, the IPv4 header checksum and the L4 checksum are rewritten.
 */
#ifndef NF_AES_H
#define NF_AES_H

#include <stdint.h>

#include <openssl/evp.h>

#include <nfhost/nfg.h>

#include "nf_pkt.h"

#define AES_BLOCK 16
#define AES_KEY_LEN 16
#define AES_PORTS_MAX 64   /**< port ranges in a selector */
#define AES_IV_POOL 32     /**< IVs made per refill (one EVP call) */
#define AES_FRAME_MAX 0xffff /**< struct nfg_pkt's len is 16 bits */

/** Protocols a selector may name (struct aes_conf.protos) */
#define AES_SEL_TCP 0x01
#define AES_SEL_UDP 0x02
#define AES_SEL_ICMP 0x04   /**< ICMP echo request/reply (IPv4) */
#define AES_SEL_ICMPV6 0x08 /**< ICMPv6 echo request/reply */

/** A configuration (the file's fields, checked). */
struct aes_conf {
	int decrypt;             /**< 0 encrypt, 1 decrypt */
	uint8_t key[AES_KEY_LEN];
	uint32_t mtu;            /**< largest IP packet (L3 bytes) an encryption may make */
	int frag_pass;           /**< fragments: 1 pass unchanged, 0 drop */
	int iv_random;           /**< IVs from RAND_bytes instead of derived */
	uint8_t protos;          /**< AES_SEL_* */
	uint16_t nb_ports;       /**< 0: every port */
	struct {
		uint16_t lo, hi;
	} ports[AES_PORTS_MAX];  /**< TCP/UDP: source or destination port in one */
};

/* Counters, in the order nf-aes declares them (names are the field names). */
#define AES_COUNTERS(X)                                                                                  \
	X(encrypted)      /* packets encrypted */                                                        \
	X(decrypted)      /* packets decrypted */                                                        \
	X(bytes_in)       /* payload bytes of the packets transcoded, before */                          \
	X(bytes_out)      /* ... and after */                                                            \
	X(not_selected)   /* passed unchanged: protocol or ports not selected, ICMP other than echo */   \
	X(empty)          /* passed unchanged: a selected packet with no payload */                      \
	X(too_big)        /* dropped: encrypted, the IP packet would exceed the MTU */                   \
	X(no_room)        /* dropped: encrypted, the frame would not fit its buffer */                   \
	X(bad_ciphertext) /* dropped: decrypting, not IV + whole blocks, or bad padding */                \
	X(udp_trailer)    /* dropped: bytes after the UDP length inside the IP packet */                 \
	X(bad_l4_csum)    /* dropped: the L4 checksum does not verify (rewriting it would hide that) */  \
	X(frag_passed)    /* fragments passed unchanged (fragments: pass) */                             \
	X(frag_dropped)   /* fragments dropped (fragments: drop) */                                      \
	X(crypto_error)   /* dropped: OpenSSL failed (never seen) */

/** What the transcoder counted (counters by name: AES_COUNTERS). */
struct aes_counters {
#define AES_FIELD(n) uint64_t n;
	AES_COUNTERS(AES_FIELD)
#undef AES_FIELD
	/** by nf_parse() result: not_ip passes, the other failures drop;
	 * [NF_PARSE_OK] and the fragment codes are not used */
	uint64_t parse[NF_PARSE__COUNT];
};

/** A transcoder: the configuration, its cipher contexts, the IV source. */
struct aes_nf {
	struct aes_conf conf;
	EVP_CIPHER_CTX *cbc;   /**< AES-128-CBC, key and direction set once; the IV per packet */
	EVP_CIPHER_CTX *ivgen; /**< AES-128-ECB under the same key: derived IVs */
	uint8_t ivs[AES_IV_POOL][AES_BLOCK]; /**< IVs not used yet: ivs[iv_next..] */
	unsigned int iv_next;
	uint64_t nonce;        /**< random, drawn once: this process's IV inputs differ from others' */
	uint64_t iv_ctr;       /**< IV inputs used so far */
	struct aes_counters c;
};

/**
 * Load and check configuration file @p file (YAML; docs/nfs.md) into @p out.
 * A relative key_file is taken from the configuration file's directory.
 * @return 0, or a negative errno with "FILE:LINE: PATH: message" in
 *   nfg_last_error()
 */
int aes_conf_load(const char *file, struct aes_conf *out);

/** The same from @p len bytes at @p buf; @p name stands for the file. */
int aes_conf_load_buf(const char *name, const char *buf, size_t len, struct aes_conf *out);

/**
 * Set up @p a for configuration @p c: counters zero, cipher contexts keyed.
 * @return 0, or -EIO: OpenSSL refused (its error queue says why:
 *   ERR_print_errors_fp())
 */
int aes_nf_init(struct aes_nf *a, const struct aes_conf *c);

/**
 * Switch @p a to configuration @p c (a reload): new contexts are keyed
 * first and swapped in only when that worked; counters and the IV counter
 * stay.  @return 0 or as aes_nf_init(), @p a unchanged on failure.
 */
int aes_nf_set_conf(struct aes_nf *a, const struct aes_conf *c);

/** Free @p a's contexts. */
void aes_nf_fini(struct aes_nf *a);

/**
 * Transcode frame @p d of *@p len bytes in place: encrypt or decrypt its
 * transport payload if it is selected, fix its lengths and checksums, and
 * set *@p len to the frame's new length, which ends where its IP packet
 * now does (Ethernet padding after the IP packet is not kept).
 * @param tailroom  bytes the frame may grow by at its end (nfg_pkt_tailroom())
 * @return NFG_V_NEXT (transcoded or passed unchanged) or NFG_V_DROP; every
 *   outcome counted in a->c
 */
nfg_verdict_t aes_nf_pkt(struct aes_nf *a, uint8_t *d, uint32_t *len, uint32_t tailroom);

#endif
