/* SPDX-License-Identifier: BSD-3-Clause */
/*
 * nf-aes's logic (nfs/aes/): the configuration and its refusals; the wire
 * format checked against OpenSSL decrypting on its own; encrypt -> decrypt
 * giving back every frame byte for byte (IPv4, IPv6 with an extension
 * header, 0-2 VLAN tags, TCP, UDP, ICMP echo, payloads of 0..MTU); lengths
 * and checksums recomputed here by a plain RFC 1071 loop, not the
 * toolkit's; the MTU and buffer-room limits at their boundaries; bad
 * ciphertexts; fragments by policy; every truncation of a frame; thousands
 * of random and mutated frames (test_nf_aes_asan runs them under
 * ASan/UBSan, each frame in a malloc of exactly its bytes and room); every
 * packet counted exactly once.  Also nf_csum_add() against a 16-bit
 * reference (it was rewritten for nf-aes).
 */
#include <errno.h>

#include <openssl/evp.h>

#include "unit_util.h"

#include "../../nfs/aes/aes_nf.h"
#include "nf_csum.h"

#define KEY_HEX "000102030405060708090a0b0c0d0e0f"
static const uint8_t key[16] = { 0, 1, 2, 3, 4, 5, 6, 7, 8, 9, 10, 11, 12, 13, 14, 15 };

/* ---- frames ---------------------------------------------------------- */

struct spec {
	int ipv;          /* 4 or 6 */
	int vlans;        /* 0..2 */
	int ext;          /* IPv6: a hop-by-hop header before L4 */
	uint8_t proto;    /* TCP, UDP, ICMP, ICMPv6 */
	uint8_t icmp_type;/* ICMP: 8 echo request (default), 3 unreachable ... */
	uint32_t pay;     /* payload bytes */
	uint16_t sport, dport;
	uint16_t frag;    /* IPv4 flags/offset field; IPv6: a fragment header with it */
};

static void wr16(uint8_t *p, uint16_t v)
{
	p[0] = (uint8_t)(v >> 8);
	p[1] = (uint8_t)v;
}

static uint16_t rd16(const uint8_t *p)
{
	return (uint16_t)(p[0] << 8 | p[1]);
}

/* RFC 1071, 16 bits at a time: the reference the checks below use */
static uint32_t ref_sum(uint32_t s, const uint8_t *p, size_t n)
{
	for (size_t i = 0; i + 1 < n; i += 2)
		s += (uint32_t)(p[i] << 8 | p[i + 1]);
	if (n & 1)
		s += (uint32_t)p[n - 1] << 8;
	return s;
}

static uint16_t ref_fold(uint32_t s)
{
	while (s >> 16)
		s = (s & 0xffff) + (s >> 16);
	return (uint16_t)s;
}

/* The frame @p s describes, with payload bytes from @p r, into @p f; its
 * checksums set by the reference.  @return its length */
static uint32_t build(uint8_t *f, const struct spec *s, struct unit_rng *r)
{
	uint32_t o = 12, l3, l4, hl, end;
	uint8_t proto = s->proto;
	uint32_t sum;
	uint16_t csum;

	memset(f, 0, 12);
	f[0] = 0x02;
	f[6] = 0x02;
	f[11] = 1;
	for (int v = 0; v < s->vlans; v++, o += 4) {
		wr16(f + o, v ? NF_ETH_VLAN : NF_ETH_QINQ);
		wr16(f + o + 2, (uint16_t)(100 + v));
	}
	wr16(f + o, s->ipv == 4 ? NF_ETH_IPV4 : NF_ETH_IPV6);
	l3 = o + 2;
	hl = proto == NF_PROTO_TCP ? 20 : 8;
	if (s->ipv == 4) {
		l4 = l3 + 20;
		memset(f + l3, 0, 20);
		f[l3] = 0x45;
		wr16(f + l3 + 2, (uint16_t)(20 + hl + s->pay));
		wr16(f + l3 + 4, 0x1234);
		wr16(f + l3 + 6, s->frag);
		f[l3 + 8] = 64;
		f[l3 + 9] = proto;
		memcpy(f + l3 + 12, "\x0a\x00\x00\x01\x0a\x00\x00\x02", 8);
	} else {
		uint32_t x = l3 + 40;

		memset(f + l3, 0, 40);
		f[l3] = 0x60;
		f[l3 + 7] = 64;
		f[l3 + 8] = 0x20;
		f[l3 + 9] = 0x01;
		f[l3 + 23] = 1;
		f[l3 + 24] = 0x20;
		f[l3 + 25] = 0x01;
		f[l3 + 39] = 2;
		f[l3 + 6] = proto;
		if (s->ext) {
			/* hop-by-hop, 8 bytes: PadN */
			f[l3 + 6] = 0;
			memset(f + x, 0, 8);
			f[x] = proto;
			f[x + 2] = 1;
			f[x + 3] = 4;
			x += 8;
		}
		if (s->frag) {
			f[x - (s->ext ? 8 : 40) + (s->ext ? 0 : 6)] = 44;
			memset(f + x, 0, 8);
			f[x] = proto;
			wr16(f + x + 2, s->frag);
			f[x + 7] = 9;
			x += 8;
		}
		l4 = x;
		wr16(f + l3 + 4, (uint16_t)(l4 - l3 - 40 + hl + s->pay));
	}
	end = l4 + hl + s->pay;
	memset(f + l4, 0, hl);
	if (proto == NF_PROTO_TCP || proto == NF_PROTO_UDP) {
		wr16(f + l4, s->sport);
		wr16(f + l4 + 2, s->dport);
		if (proto == NF_PROTO_UDP)
			wr16(f + l4 + 4, (uint16_t)(hl + s->pay));
		else {
			f[l4 + 12] = 5 << 4;
			f[l4 + 13] = NF_TCP_ACK | NF_TCP_PSH;
		}
	} else {
		f[l4] = s->icmp_type ? s->icmp_type : proto == NF_PROTO_ICMP ? 8 : 128;
		wr16(f + l4 + 4, 77);
	}
	for (uint32_t i = l4 + hl; i < end; i++)
		f[i] = (uint8_t)unit_rng32(r);
	if (s->ipv == 4)
		wr16(f + l3 + 10, (uint16_t)~ref_fold(ref_sum(0, f + l3, 20)));
	sum = proto == NF_PROTO_ICMP ? 0 : s->ipv == 4 ? ref_sum(0, f + l3 + 12, 8) : ref_sum(0, f + l3 + 8, 32);
	if (proto != NF_PROTO_ICMP)
		sum += proto + (end - l4);
	csum = (uint16_t)~ref_fold(ref_sum(sum, f + l4, end - l4));
	/* UDP sends a sum that comes out 0 as 0xffff (RFC 768; 0 would say
	 * "no checksum", which IPv6 forbids): the NF does, and so must the
	 * reference, or a payload whose sum is 0 fails the round trip */
	if (proto == NF_PROTO_UDP && csum == 0)
		csum = 0xffff;
	wr16(f + l4 + (proto == NF_PROTO_TCP ? 16 : proto == NF_PROTO_UDP ? 6 : 2), csum);
	return end;
}

/* The frame's lengths and checksums, recomputed by the reference: "" or
 * what is wrong */
static const char *check_frame(const uint8_t *f, uint32_t len, int ip_csum)
{
	struct nf_pkt p;
	uint32_t sum, l4len;

	if (nf_parse(f, len, &p) != NF_PARSE_OK || !(p.flags & NF_PKT_F_L4))
		return "does not parse";
	if (p.l3_end != len)
		return "frame does not end with the IP packet";
	if (ip_csum && p.ipv == 4 && ref_fold(ref_sum(0, f + p.l3_off, 20)) != 0xffff)
		return "bad IPv4 header checksum";
	l4len = p.l3_end - p.l4_off;
	if (p.proto == NF_PROTO_UDP && rd16(f + p.l4_off + 4) != l4len)
		return "UDP length is not the packet's";
	/* UDP over IPv4 with checksum 0 carries none (RFC 768): the NF keeps it 0 */
	if (p.proto == NF_PROTO_UDP && p.ipv == 4 && rd16(f + p.l4_off + 6) == 0)
		return "";
	sum = p.proto == NF_PROTO_ICMP ? 0
	      : p.ipv == 4	       ? ref_sum(0, f + p.l3_off + 12, 8) + p.proto + l4len
				       : ref_sum(0, f + p.l3_off + 8, 32) + p.proto + l4len;
	if (ref_fold(ref_sum(sum, f + p.l4_off, l4len)) != 0xffff)
		return "bad L4 checksum";
	return "";
}

/* ---- the transcoder's setup ---------------------------------------------- */

static struct aes_conf conf(int decrypt)
{
	struct aes_conf c = { .decrypt = decrypt, .mtu = 1500, .protos = AES_SEL_TCP | AES_SEL_UDP };

	memcpy(c.key, key, 16);
	return c;
}

static void nf_init(struct aes_nf *a, const struct aes_conf *c)
{
	ck_assert_int_eq(aes_nf_init(a, c), 0);
}

/* every outcome counter: each packet lands in exactly one */
static uint64_t counted(const struct aes_nf *a)
{
	const struct aes_counters *c = &a->c;
	uint64_t n = c->encrypted + c->decrypted + c->not_selected + c->empty + c->too_big + c->no_room +
		     c->bad_ciphertext + c->udp_trailer + c->bad_l4_csum + c->frag_passed + c->frag_dropped + c->crypto_error;

	for (int r = 0; r < NF_PARSE__COUNT; r++)
		n += c->parse[r];
	return n;
}

#define ROOM 2048

/* ---- configuration --------------------------------------------------- */

static int load_as(const char *name, const char *text, struct aes_conf *c)
{
	return aes_conf_load_buf(name, text, strlen(text), c);
}

static int load(const char *text, struct aes_conf *c)
{
	return load_as("t.yaml", text, c);
}

START_TEST(test_conf_good)
{
	struct aes_conf c;

	ck_assert_int_eq(load("mode: encrypt\nkey: \"" KEY_HEX "\"\n", &c), 0);
	ck_assert(!c.decrypt && c.mtu == 1500 && !c.frag_pass && !c.iv_random && c.nb_ports == 0);
	ck_assert_uint_eq(c.protos, AES_SEL_TCP | AES_SEL_UDP);
	ck_assert_mem_eq(c.key, key, 16);
	ck_assert_int_eq(load("mode: decrypt\nkey: 000102030405060708090A0B0C0D0E0F\nmtu: 9000\n"
			      "fragments: pass\niv: random\nprotocols: [udp, icmp, icmpv6]\n"
			      "ports: [443, 8000-8100]\n", &c), 0);
	ck_assert(c.decrypt && c.mtu == 9000 && c.frag_pass && c.iv_random);
	ck_assert_uint_eq(c.protos, AES_SEL_UDP | AES_SEL_ICMP | AES_SEL_ICMPV6);
	ck_assert(c.nb_ports == 2 && c.ports[0].lo == 443 && c.ports[0].hi == 443 && c.ports[1].lo == 8000 &&
		  c.ports[1].hi == 8100);
	ck_assert_mem_eq(c.key, key, 16);
}
END_TEST

/* the example files (examples/nfs/aes-*.yaml) load, and agree */
START_TEST(test_conf_examples)
{
	struct aes_conf e, d;

	ck_assert_msg(aes_conf_load(AES_EXAMPLES "/aes-encrypt.yaml", &e) == 0, "%s", nfg_last_error());
	ck_assert_msg(aes_conf_load(AES_EXAMPLES "/aes-decrypt.yaml", &d) == 0, "%s", nfg_last_error());
	ck_assert(!e.decrypt && d.decrypt);
	ck_assert_mem_eq(e.key, d.key, 16);
	ck_assert(e.protos == d.protos && e.nb_ports == d.nb_ports && e.nb_ports == 2);
}
END_TEST

/* key_file, relative to the configuration file's directory */
START_TEST(test_conf_key_file)
{
	char path[128], name[160];
	struct aes_conf c;
	FILE *f;

	snprintf(path, sizeof(path), "%s/k.hex", unit_tmpdir);
	ck_assert_ptr_nonnull(f = fopen(path, "w"));
	fprintf(f, "  %s\n", KEY_HEX);
	fclose(f);
	snprintf(name, sizeof(name), "%s/aes.yaml", unit_tmpdir);
	ck_assert_int_eq(load_as(name, "mode: encrypt\nkey_file: k.hex\n", &c), 0);
	ck_assert_mem_eq(c.key, key, 16);
	ck_assert_int_eq(load_as(name, "mode: encrypt\nkey_file: nope.hex\n", &c), -EINVAL);
	ck_assert_msg(strstr(nfg_last_error(), "aes.yaml:2: key_file: ") &&
			      strstr(nfg_last_error(), "nope.hex: No such file"),
		      "%s", nfg_last_error());
	f = fopen(path, "w");
	fprintf(f, "%s0\n", KEY_HEX);
	fclose(f);
	ck_assert_int_eq(load_as(name, "mode: encrypt\nkey_file: k.hex\n", &c), -EINVAL);
	ck_assert_msg(strstr(nfg_last_error(), "k.hex: expected 32 hex digits"), "%s", nfg_last_error());
}
END_TEST

START_TEST(test_conf_refusals)
{
	static const struct {
		const char *text, *msg;
	} bad[] = {
		{ "key: \"" KEY_HEX "\"\n", "t.yaml:1: mode: " },
		{ "mode: scramble\nkey: \"" KEY_HEX "\"\n", "t.yaml:1: mode: 'scramble': expected encrypt or decrypt" },
		{ "mode: encrypt\n", "t.yaml:1: give the key as key (32 hex digits) or as key_file, one of them" },
		{ "mode: encrypt\nkey: \"" KEY_HEX "\"\nkey_file: k\n", "t.yaml:3: key_file: give the key as key" },
		{ "mode: encrypt\nkey: \"0011\"\n", "t.yaml:2: key: expected 32 hex digits (a 128-bit key), got 4 characters" },
		{ "mode: encrypt\nkey: \"000102030405060708090a0b0c0d0e0g\"\n", "32 characters that are not all hex" },
		{ "mode: encrypt\nkey: 12345678\n", "t.yaml:2: key: expected 32 hex digits in quotes, got " },
		{ "mode: encrypt\nkey: \"" KEY_HEX "\"\nmtu: 40\n", "t.yaml:3: mtu: 40 is out of range" },
		{ "mode: encrypt\nkey: \"" KEY_HEX "\"\nprotocols: [tcp, gre]\n",
		  "t.yaml:3: protocols[1]: protocol 47 has no payload nf-aes transcodes" },
		{ "mode: encrypt\nkey: \"" KEY_HEX "\"\nprotocols: []\n", "t.yaml:3: protocols: expected a list" },
		{ "mode: encrypt\nkey: \"" KEY_HEX "\"\nports: [80, 90-70]\n", "t.yaml:3: ports[1]: " },
		{ "mode: encrypt\nkey: \"" KEY_HEX "\"\nfragments: maybe\n",
		  "t.yaml:3: fragments: 'maybe': expected drop or pass" },
		{ "mode: encrypt\nkey: \"" KEY_HEX "\"\niv: zero\n", "t.yaml:3: iv: 'zero': expected derived or random" },
		{ "mode: encrypt\nkey: \"" KEY_HEX "\"\nmtus: 9000\n", "t.yaml:3: mtus: unknown key 'mtus'" },
		{ "- mode\n", "t.yaml:1: expected a mapping, got a list" },
	};
	struct aes_conf c;

	for (size_t i = 0; i < sizeof(bad) / sizeof(bad[0]); i++) {
		ck_assert_int_eq(load(bad[i].text, &c), -EINVAL);
		ck_assert_msg(strstr(nfg_last_error(), bad[i].msg), "case %zu: '%s' does not say '%s'", i,
			      nfg_last_error(), bad[i].msg);
	}
}
END_TEST

/* ---- the wire format, by OpenSSL alone ---------------------------------- */

START_TEST(test_format)
{
	struct aes_conf c = conf(0);
	struct aes_nf a;
	struct unit_rng r;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	uint8_t f[ROOM], in[ROOM], plain[ROOM];

	unit_rng_init(&r, 1);
	nf_init(&a, &c);
	for (uint32_t pay = 1; pay <= 80; pay++) {
		struct spec s = { .ipv = 4, .proto = NF_PROTO_UDP, .pay = pay, .sport = 1, .dport = 2 };
		uint32_t len = build(f, &s, &r), n0 = len, pad = 16 - pay % 16;
		int n1, n2;

		memcpy(in, f, len);
		EVP_CIPHER_CTX_set_padding(x, 1);
		ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), NFG_V_NEXT);
		/* IV, then the payload and its padding in whole blocks */
		ck_assert_uint_eq(len, n0 + 16 + pad);
		/* L2, IP version to TOS, addresses and ports as they were */
		ck_assert_mem_eq(f, in, 16);
		ck_assert_mem_eq(f + 26, in + 26, 12);
		ck_assert_str_eq(check_frame(f, len, 1), "");
		ck_assert(EVP_DecryptInit_ex(x, EVP_aes_128_cbc(), NULL, key, f + 42));
		ck_assert(EVP_DecryptUpdate(x, plain, &n1, f + 58, (int)(len - 58)));
		ck_assert(EVP_DecryptFinal_ex(x, plain + n1, &n2));
		ck_assert_uint_eq((uint32_t)(n1 + n2), pay);
		ck_assert_mem_eq(plain, in + 42, pay);
		/* ... and the padding was PKCS#7: raw CBC shows it */
		ck_assert(EVP_DecryptInit_ex(x, EVP_aes_128_cbc(), NULL, key, f + 42));
		EVP_CIPHER_CTX_set_padding(x, 0);
		ck_assert(EVP_DecryptUpdate(x, plain, &n1, f + 58, (int)(len - 58)));
		for (uint32_t i = 0; i < pad; i++)
			ck_assert_uint_eq(plain[pay + i], pad);
	}
	ck_assert_uint_eq(a.c.encrypted, 80);
	EVP_CIPHER_CTX_free(x);
	aes_nf_fini(&a);
}
END_TEST

/* IVs: never the same twice, derived or random */
START_TEST(test_iv_unique)
{
	struct aes_conf c = conf(0);
	static uint8_t ivs[2000][16];
	struct unit_rng r;

	unit_rng_init(&r, 2);
	for (int random = 0; random < 2; random++) {
		struct aes_nf a;

		c.iv_random = random;
		nf_init(&a, &c);
		for (int i = 0; i < 1000; i++) {
			struct spec s = { .ipv = 4, .proto = NF_PROTO_TCP, .pay = 5, .sport = 1, .dport = 2 };
			uint8_t f[ROOM];
			uint32_t len = build(f, &s, &r);

			ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), NFG_V_NEXT);
			memcpy(ivs[random * 1000 + i], f + 54, 16);
		}
		aes_nf_fini(&a);
	}
	for (int i = 0; i < 2000; i++)
		for (int j = 0; j < i; j++)
			UNIT_ASSERT_MSG(memcmp(ivs[i], ivs[j], 16), "IV %d repeats IV %d", i, j);
}
END_TEST

/* ---- encrypt -> decrypt, byte for byte -------------------------------------- */

START_TEST(test_roundtrip)
{
	static const uint32_t pays[] = { 1, 2, 15, 16, 17, 31, 32, 33, 100, 255, 256, 1000, 1400 };
	static const uint8_t protos[] = { NF_PROTO_TCP, NF_PROTO_UDP, NF_PROTO_ICMP };
	struct aes_conf ce = conf(0), cd = conf(1);
	struct aes_nf e, d;
	struct unit_rng r;
	uint64_t n = 0;

	ce.protos = cd.protos = AES_SEL_TCP | AES_SEL_UDP | AES_SEL_ICMP | AES_SEL_ICMPV6;
	unit_rng_init(&r, 3);
	nf_init(&e, &ce);
	nf_init(&d, &cd);
	for (int ipv = 4; ipv <= 6; ipv += 2)
		for (int ext = 0; ext <= (ipv == 6); ext++)
			for (int vlans = 0; vlans <= 2; vlans++)
				for (size_t pi = 0; pi < sizeof(protos); pi++)
					for (size_t k = 0; k < sizeof(pays) / sizeof(pays[0]); k++) {
						struct spec s = { .ipv = ipv, .vlans = vlans, .ext = ext, .proto = protos[pi],
								  .pay = pays[k], .sport = 4000, .dport = 443 };
						uint8_t f[ROOM], in[ROOM];
						uint32_t len, n0;

						if (s.proto == NF_PROTO_ICMP && ipv == 6)
							s.proto = NF_PROTO_ICMPV6;
						n0 = len = build(f, &s, &r);
						memcpy(in, f, len);
						ck_assert_str_eq(check_frame(f, len, 1), "");
						ck_assert_uint_eq(aes_nf_pkt(&e, f, &len, ROOM - len), NFG_V_NEXT);
						ck_assert_uint_eq(len, n0 + 16 + (16 - pays[k] % 16));
						ck_assert_msg(!*check_frame(f, len, 1), "encrypted: %s (ipv %d vlans %d proto %u pay %u)",
							      check_frame(f, len, 1), ipv, vlans, s.proto, pays[k]);
						ck_assert_uint_eq(aes_nf_pkt(&d, f, &len, ROOM - len), NFG_V_NEXT);
						ck_assert_uint_eq(len, n0);
						ck_assert_mem_eq(f, in, n0);
						n++;
					}
	ck_assert_uint_eq(e.c.encrypted, n);
	ck_assert_uint_eq(d.c.decrypted, n);
	ck_assert_uint_eq(e.c.bytes_out, d.c.bytes_in);
	ck_assert_uint_eq(e.c.bytes_in, d.c.bytes_out);
	aes_nf_fini(&e);
	aes_nf_fini(&d);
}
END_TEST

/* Empty payloads, unselected protocols and ports, ICMP other than echo,
 * non-IP: passed as they are. */
START_TEST(test_pass_unchanged)
{
	struct aes_conf c = conf(0);
	struct aes_nf a;
	struct unit_rng r;
	struct spec s[] = {
		{ .ipv = 4, .proto = NF_PROTO_TCP, .pay = 0, .sport = 1, .dport = 443 },    /* empty */
		{ .ipv = 6, .proto = NF_PROTO_UDP, .pay = 0, .sport = 1, .dport = 443 },    /* empty */
		{ .ipv = 4, .proto = NF_PROTO_TCP, .pay = 9, .sport = 1, .dport = 80 },     /* port */
		{ .ipv = 4, .proto = NF_PROTO_ICMP, .pay = 9 },                             /* protocol */
		{ .ipv = 4, .proto = NF_PROTO_UDP, .pay = 9, .sport = 8080, .dport = 53 }, /* port, either */
	};
	uint8_t f[ROOM], in[ROOM];

	unit_rng_init(&r, 4);
	c.nb_ports = 1;
	c.ports[0].lo = 443;
	c.ports[0].hi = 8080;
	nf_init(&a, &c);
	for (size_t i = 0; i < 5; i++) {
		uint32_t len = build(f, &s[i], &r), n0 = len;

		memcpy(in, f, len);
		ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), NFG_V_NEXT);
		if (i == 4)
			ck_assert_uint_gt(len, n0); /* sport 8080 is in 443-8080 */
		else {
			ck_assert_uint_eq(len, n0);
			ck_assert_mem_eq(f, in, n0);
		}
	}
	ck_assert(a.c.empty == 2 && a.c.not_selected == 2 && a.c.encrypted == 1);
	/* ICMP selected: echo yes, an unreachable no */
	a.conf.protos |= AES_SEL_ICMP;
	s[3].icmp_type = 3;
	{
		uint32_t len = build(f, &s[3], &r), n0 = len;

		ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), NFG_V_NEXT);
		ck_assert_uint_eq(len, n0);
		ck_assert_uint_eq(a.c.not_selected, 3);
	}
	/* ARP: passes, counted not_ip */
	memset(f, 0, 60);
	wr16(f + 12, 0x0806);
	{
		uint32_t len = 60;

		ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), NFG_V_NEXT);
		ck_assert_uint_eq(len, 60);
		ck_assert_uint_eq(a.c.parse[NF_PARSE_NOT_IP], 1);
	}
	ck_assert_uint_eq(counted(&a), 7);
	aes_nf_fini(&a);
}
END_TEST

/* The MTU and the buffer's room, at their boundaries; nothing changed on a drop */
START_TEST(test_too_big)
{
	struct aes_conf c = conf(0);
	struct aes_nf a;
	struct unit_rng r;
	uint8_t f[ROOM], in[ROOM];

	unit_rng_init(&r, 5);
	nf_init(&a, &c);
	for (int ipv = 4; ipv <= 6; ipv += 2) {
		uint32_t hdr = (ipv == 4 ? 20 : 40) + 20, fit = 1, len, n0, grow;
		struct spec s = { .ipv = ipv, .proto = NF_PROTO_TCP, .sport = 5, .dport = 6 };

		/* the largest payload that fits: growth rounds up to blocks */
		while (hdr + fit + 1 + 16 + (16 - (fit + 1) % 16) <= 1500)
			fit++;
		s.pay = fit;
		n0 = len = build(f, &s, &r);
		grow = 16 + (16 - fit % 16);
		ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, grow), NFG_V_NEXT);
		ck_assert_uint_le(len - 14, 1500);
		/* one more byte: too big for the MTU */
		s.pay = fit + 1;
		n0 = len = build(f, &s, &r);
		memcpy(in, f, len);
		ck_assert_uint_gt(hdr + s.pay + 16 + (16 - s.pay % 16), 1500);
		ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), NFG_V_DROP);
		ck_assert_uint_eq(len, n0);
		ck_assert_mem_eq(f, in, n0);
		/* fits the MTU, one byte short of room */
		s.pay = 100;
		n0 = len = build(f, &s, &r);
		memcpy(in, f, len);
		ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, 16 + 12 - 1), NFG_V_DROP);
		ck_assert_mem_eq(f, in, n0);
		len = n0;
		ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, 16 + 12), NFG_V_NEXT);
	}
	ck_assert(a.c.too_big == 2 && a.c.no_room == 2 && a.c.encrypted == 4);
	aes_nf_fini(&a);
}
END_TEST

START_TEST(test_bad_ciphertext)
{
	struct aes_conf c = conf(1);
	struct aes_nf a;
	struct unit_rng r;
	EVP_CIPHER_CTX *x = EVP_CIPHER_CTX_new();
	uint8_t f[ROOM];
	int n;

	unit_rng_init(&r, 6);
	nf_init(&a, &c);
	/* not IV + whole blocks */
	for (uint32_t pay = 1; pay <= 64; pay++) {
		struct spec s = { .ipv = 4, .proto = NF_PROTO_UDP, .pay = pay, .sport = 1, .dport = 2 };
		uint32_t len = build(f, &s, &r);

		if (pay >= 32 && pay % 16 == 0)
			continue;
		ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), NFG_V_DROP);
	}
	ck_assert_uint_eq(a.c.bad_ciphertext, 64 - 3);
	/* whole blocks whose last plaintext byte is not a PKCS#7 pad (0, 17) */
	for (int last = 0; last < 2; last++) {
		struct spec s = { .ipv = 4, .proto = NF_PROTO_UDP, .pay = 48, .sport = 1, .dport = 2 };
		uint32_t len = build(f, &s, &r);
		uint8_t plain[32];

		memset(plain, 'p', 32);
		plain[31] = last ? 17 : 0;
		ck_assert(EVP_EncryptInit_ex(x, EVP_aes_128_cbc(), NULL, key, f + 42));
		EVP_CIPHER_CTX_set_padding(x, 0);
		ck_assert(EVP_EncryptUpdate(x, f + 58, &n, plain, 32) && n == 32);
		wr16(f + 40, 0); /* no UDP checksum */
		ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), NFG_V_DROP);
	}
	ck_assert_uint_eq(a.c.bad_ciphertext, 64 - 3 + 2);
	/* and a good one after them: the context recovers */
	{
		struct spec s = { .ipv = 4, .proto = NF_PROTO_UDP, .pay = 32, .sport = 1, .dport = 2 };
		uint32_t len = build(f, &s, &r);
		uint8_t plain[16];

		memset(plain, 16, 16);
		ck_assert(EVP_EncryptInit_ex(x, EVP_aes_128_cbc(), NULL, key, f + 42));
		EVP_CIPHER_CTX_set_padding(x, 0);
		ck_assert(EVP_EncryptUpdate(x, f + 58, &n, plain, 16) && n == 16);
		wr16(f + 40, 0);
		ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), NFG_V_NEXT);
		ck_assert_uint_eq(len, 42); /* an empty payload was encrypted */
		ck_assert_uint_eq(a.c.decrypted, 1);
	}
	EVP_CIPHER_CTX_free(x);
	aes_nf_fini(&a);
}
END_TEST

/* Fragments: IPv4 first and later, IPv6 by its fragment header; pass or drop */
START_TEST(test_fragments)
{
	struct spec s[] = {
		{ .ipv = 4, .proto = NF_PROTO_UDP, .pay = 40, .sport = 1, .dport = 2, .frag = 0x2000 },
		{ .ipv = 4, .proto = NF_PROTO_UDP, .pay = 40, .sport = 1, .dport = 2, .frag = 0x0010 },
		{ .ipv = 6, .proto = NF_PROTO_TCP, .pay = 40, .sport = 1, .dport = 2, .frag = 0x0001 },
		{ .ipv = 6, .ext = 1, .proto = NF_PROTO_TCP, .pay = 40, .sport = 1, .dport = 2, .frag = 0x0081 },
	};
	struct unit_rng r;

	unit_rng_init(&r, 7);
	for (int pass = 0; pass < 2; pass++) {
		struct aes_conf c = conf(pass);
		struct aes_nf a;

		c.frag_pass = pass;
		nf_init(&a, &c);
		for (size_t i = 0; i < 4; i++) {
			uint8_t f[ROOM], in[ROOM];
			uint32_t len = build(f, &s[i], &r), n0 = len;

			memcpy(in, f, len);
			ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), pass ? NFG_V_NEXT : NFG_V_DROP);
			ck_assert_uint_eq(len, n0);
			ck_assert_mem_eq(f, in, n0);
		}
		ck_assert_uint_eq(pass ? a.c.frag_passed : a.c.frag_dropped, 4);
		ck_assert_uint_eq(counted(&a), 4);
		aes_nf_fini(&a);
	}
}
END_TEST

/* UDP whose length ends before the IP packet: the bytes after it would be
 * lost; a checksum that does not verify (none is fine) */
START_TEST(test_udp_trailer)
{
	struct aes_conf c = conf(0);
	struct spec s = { .ipv = 4, .proto = NF_PROTO_UDP, .pay = 40, .sport = 1, .dport = 2 };
	struct aes_nf a;
	struct unit_rng r;
	uint8_t f[ROOM];
	uint32_t len;

	unit_rng_init(&r, 8);
	nf_init(&a, &c);
	len = build(f, &s, &r);
	wr16(f + 38, 8 + 30);
	ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), NFG_V_DROP);
	ck_assert_uint_eq(a.c.udp_trailer, 1);
	/* a payload byte changed on the way: the checksum does not verify */
	len = build(f, &s, &r);
	f[50] ^= 0x40;
	ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), NFG_V_DROP);
	ck_assert_uint_eq(a.c.bad_l4_csum, 1);
	/* ... but no checksum (0, UDP over IPv4) is fine */
	wr16(f + 40, 0);
	ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), NFG_V_NEXT);
	ck_assert_uint_eq(rd16(f + 40), 0);
	ck_assert_uint_eq(a.c.encrypted, 1);
	aes_nf_fini(&a);
}
END_TEST

/* Every truncation of every kind of frame: counted by reason, nothing read
 * past the end (the ASan build: each in a malloc of exactly its size) */
START_TEST(test_truncated)
{
	struct spec kinds[] = {
		{ .ipv = 4, .vlans = 1, .proto = NF_PROTO_TCP, .pay = 20, .sport = 1, .dport = 2 },
		{ .ipv = 6, .ext = 1, .vlans = 2, .proto = NF_PROTO_UDP, .pay = 20, .sport = 1, .dport = 2 },
	};
	struct unit_rng r;

	unit_rng_init(&r, 9);
	for (int dec = 0; dec < 2; dec++) {
		struct aes_conf c = conf(dec);
		struct aes_nf a;
		uint64_t n = 0;

		nf_init(&a, &c);
		for (size_t k = 0; k < 2; k++) {
			uint8_t f[ROOM];
			uint32_t full = build(f, &kinds[k], &r);

			for (uint32_t cut = 0; cut < full; cut++) {
				uint8_t *m = malloc(cut ? cut : 1);
				uint32_t len = cut;

				memcpy(m, f, cut);
				ck_assert_uint_eq(aes_nf_pkt(&a, m, &len, 0), NFG_V_DROP);
				free(m);
				n++;
			}
		}
		ck_assert_uint_eq(counted(&a), n);
		ck_assert_uint_eq(a.c.parse[NF_PARSE_TRUNC_L2] + a.c.parse[NF_PARSE_TRUNC_L3] +
					  a.c.parse[NF_PARSE_TRUNC_L4] + a.c.bad_ciphertext + a.c.no_room,
				  n);
		ck_assert_uint_gt(a.c.parse[NF_PARSE_TRUNC_L2], 0);
		ck_assert_uint_gt(a.c.parse[NF_PARSE_TRUNC_L3], 0);
		aes_nf_fini(&a);
	}
}
END_TEST

/* Random frames and mutated good ones, in buffers of exactly their size
 * plus a random room, through both directions: no crash, each counted
 * once, and what passes transcoded is a well-formed packet. */
START_TEST(test_hostile)
{
	uint64_t iters = unit_iters(20000, 2000);
	struct aes_conf ce = conf(0), cd = conf(1);
	struct aes_nf e, d;
	struct unit_rng r;

	unit_rng_init(&r, 10);
	ce.protos = cd.protos = AES_SEL_TCP | AES_SEL_UDP | AES_SEL_ICMP | AES_SEL_ICMPV6;
	nf_init(&e, &ce);
	nf_init(&d, &cd);
	for (uint64_t i = 0; i < iters; i++) {
		uint8_t f[ROOM];
		struct spec s = { .ipv = unit_rng32(&r) & 1 ? 4 : 6,
				  .vlans = (int)unit_rng_range(&r, 0, 3) % 3,
				  .ext = (int)(unit_rng32(&r) & 1),
				  .proto = (const uint8_t[]){ NF_PROTO_TCP, NF_PROTO_UDP, NF_PROTO_ICMP,
							     NF_PROTO_ICMPV6 }[unit_rng32(&r) % 4],
				  .pay = unit_rng_range(&r, 0, 600),
				  .sport = 1,
				  .dport = 2 };
		uint32_t len, len0, room = unit_rng_range(&r, 0, 64);
		uint64_t before, done;
		struct aes_nf *a = (i & 1) ? &d : &e;
		uint8_t *m;
		nfg_verdict_t v;

		if (s.ipv == 4)
			s.ext = 0;
		if (unit_rng32(&r) % 4 == 0) {
			len = unit_rng_range(&r, 0, 200);
			for (uint32_t j = 0; j < len; j++)
				f[j] = (uint8_t)unit_rng32(&r);
			/* often an IP ethertype, so the parser goes deeper */
			if (len >= 14 && (unit_rng32(&r) & 1))
				wr16(f + 12, unit_rng32(&r) & 1 ? NF_ETH_IPV4 : NF_ETH_IPV6);
		} else {
			len = build(f, &s, &r);
			if (a == &d && unit_rng32(&r) % 3) {
				/* a real ciphertext, then maybe mutated */
				ck_assert_uint_eq(aes_nf_pkt(&e, f, &len, ROOM - len), NFG_V_NEXT);
			}
			/* half of them mutated, a quarter cut short */
			for (int k = unit_rng32(&r) & 1 ? (int)unit_rng_range(&r, 1, 4) : 0; k > 0; k--)
				f[unit_rng_range(&r, 0, len - 1)] = (uint8_t)unit_rng32(&r);
			if (unit_rng32(&r) % 4 == 0)
				len = unit_rng_range(&r, len > 40 ? len - 40 : 0, len);
		}
		m = malloc(len + room + 1);
		memcpy(m, f, len);
		before = counted(a);
		done = a->c.encrypted + a->c.decrypted;
		len0 = len;
		v = aes_nf_pkt(a, m, &len, room);
		UNIT_EQ(counted(a), before + 1);
		UNIT_ASSERT(v == NFG_V_NEXT || v == NFG_V_DROP);
		UNIT_ASSERT(len <= len0 + room);
		/* what was transcoded is a packet with lengths and an L4
		 * checksum that hold (a mutated IPv4 header checksum stays
		 * as wrong as it came) */
		if (a->c.encrypted + a->c.decrypted != done)
			UNIT_ASSERT_MSG(!*check_frame(m, len, 0), "transcoded: %s", check_frame(m, len, 0));
		else
			UNIT_ASSERT(len == len0);
		free(m);
	}
	/* the mix reached every part: both directions transcoded, and
	 * dropped for each reason the frames can give */
	ck_assert_msg(e.c.encrypted > iters / 10 && d.c.decrypted > iters / 20 && d.c.bad_ciphertext > iters / 100 &&
			      e.c.bad_l4_csum + d.c.bad_l4_csum > iters / 100 &&
			      e.c.parse[NF_PARSE_TRUNC_L3] + d.c.parse[NF_PARSE_TRUNC_L3] > iters / 100 &&
			      e.c.parse[NF_PARSE_NOT_IP] > 0 && e.c.no_room > 0,
		      "encrypted %llu decrypted %llu bad_ciphertext %llu bad_l4_csum %llu+%llu trunc_l3 %llu no_room %llu",
		      (unsigned long long)e.c.encrypted, (unsigned long long)d.c.decrypted,
		      (unsigned long long)d.c.bad_ciphertext, (unsigned long long)e.c.bad_l4_csum,
		      (unsigned long long)d.c.bad_l4_csum, (unsigned long long)e.c.parse[NF_PARSE_TRUNC_L3],
		      (unsigned long long)e.c.no_room);
	aes_nf_fini(&e);
	aes_nf_fini(&d);
}
END_TEST

/* A reload: new key and direction; counters stay */
START_TEST(test_set_conf)
{
	struct aes_conf c = conf(0), c2 = conf(1);
	struct spec s = { .ipv = 4, .proto = NF_PROTO_TCP, .pay = 33, .sport = 1, .dport = 2 };
	struct aes_nf a, b;
	struct unit_rng r;
	uint8_t f[ROOM], in[ROOM];
	uint32_t len, n0;

	unit_rng_init(&r, 11);
	c2.key[0] ^= 1;
	nf_init(&a, &c);
	nf_init(&b, &c);
	n0 = len = build(f, &s, &r);
	memcpy(in, f, len);
	ck_assert_uint_eq(aes_nf_pkt(&a, f, &len, ROOM - len), NFG_V_NEXT);
	/* b decrypts with another key: the padding check refuses it (or, 1
	 * in 256, finds a valid pad and gives other bytes) */
	ck_assert_int_eq(aes_nf_set_conf(&b, &c2), 0);
	{
		uint8_t g[ROOM];
		uint32_t l = len;

		memcpy(g, f, len);
		if (aes_nf_pkt(&b, g, &l, ROOM - l) == NFG_V_NEXT)
			ck_assert(l != n0 || memcmp(g, in, n0));
	}
	c2.key[0] ^= 1;
	ck_assert_int_eq(aes_nf_set_conf(&b, &c2), 0);
	ck_assert_uint_eq(aes_nf_pkt(&b, f, &len, ROOM - len), NFG_V_NEXT);
	ck_assert_mem_eq(f, in, n0);
	ck_assert_uint_eq(counted(&b), 2);
	aes_nf_fini(&a);
	aes_nf_fini(&b);
}
END_TEST

/* nf_csum_add() (vector lanes, one swap) against the 16-bit reference:
 * every length and alignment, an initial sum, all-ones data */
START_TEST(test_csum_add)
{
	static uint8_t b[70000];
	struct unit_rng r;

	unit_rng_init(&r, 12);
	for (int t = 0; t < 3000; t++) {
		size_t len = t < 50 ? unit_rng_range(&r, 0, 69000) : unit_rng_range(&r, 0, 300);
		size_t off = unit_rng_range(&r, 0, 7);
		uint32_t sum = unit_rng32(&r) % (t & 1 ? 0x1ffff : 0xffff);

		for (size_t i = 0; i < len + off; i++)
			b[i] = t % 7 == 0 ? 0xff : (uint8_t)unit_rng32(&r);
		UNIT_ASSERT_MSG(ref_fold(nf_csum_add(sum, b + off, len)) == ref_fold(ref_sum(sum, b + off, len)),
				"len %zu off %zu sum 0x%x", len, off, sum);
	}
}
END_TEST

static Suite *aes_suite(void)
{
	Suite *s = suite_create("nf_aes");
	TCase *tc = tcase_create("conf"), *tx = tcase_create("transcode"), *th = tcase_create("hostile");

	tcase_add_test(tc, test_conf_good);
	tcase_add_test(tc, test_conf_examples);
	tcase_add_test(tc, test_conf_key_file);
	tcase_add_test(tc, test_conf_refusals);
	tcase_add_test(tx, test_format);
	tcase_add_test(tx, test_iv_unique);
	tcase_add_test(tx, test_roundtrip);
	tcase_add_test(tx, test_pass_unchanged);
	tcase_add_test(tx, test_too_big);
	tcase_add_test(tx, test_bad_ciphertext);
	tcase_add_test(tx, test_fragments);
	tcase_add_test(tx, test_udp_trailer);
	tcase_add_test(tx, test_set_conf);
	tcase_add_test(tx, test_csum_add);
	tcase_add_test(th, test_truncated);
	tcase_add_test(th, test_hostile);
	tcase_set_timeout(th, 120);
	tcase_add_unchecked_fixture(tc, unit_tmpdir_setup, unit_tmpdir_teardown);
	suite_add_tcase(s, tc);
	suite_add_tcase(s, tx);
	suite_add_tcase(s, th);
	return s;
}

int main(void)
{
	unit_seed_init("test_nf_aes");
	return unit_run(aes_suite());
}
