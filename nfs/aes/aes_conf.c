/* SPDX-License-Identifier: BSD-3-Clause */
/* nf-aes's configuration file (docs/nfs.md, "nf-aes"). */
#include <errno.h>
#include <stdio.h>
#include <string.h>

#include <nfhost/nfg_conf.h>

#include "aes_nf.h"

/* 32 hex digits into a key; @return 0 or -EINVAL */
static int parse_key(const char *hex, size_t n, uint8_t key[AES_KEY_LEN])
{
	if (n != 2 * AES_KEY_LEN)
		return -EINVAL;
	for (size_t i = 0; i < n; i++) {
		char c = hex[i];
		int v = c >= '0' && c <= '9' ? c - '0' : c >= 'a' && c <= 'f' ? c - 'a' + 10
			: c >= 'A' && c <= 'F' ? c - 'A' + 10 : -1;

		if (v < 0)
			return -EINVAL;
		key[i / 2] = (uint8_t)(i % 2 ? key[i / 2] | v : v << 4);
	}
	return 0;
}

/* The key in file @p name (32 hex digits, blanks around them allowed),
 * relative to the directory of configuration file @p conf. */
static int key_file(const char *conf, const char *name, uint8_t key[AES_KEY_LEN], struct nfg_conf_err *e)
{
	const char *slash = strrchr(conf, '/');
	char path[512], buf[128];
	size_t n, b = 0;
	FILE *f;

	if (name[0] != '/' && slash)
		snprintf(path, sizeof(path), "%.*s/%s", (int)(slash - conf), conf, name);
	else
		snprintf(path, sizeof(path), "%s", name);
	if (!(f = fopen(path, "r")))
		return nfg_conf_fail(e, "key_file", "%s: %s", path, strerror(errno));
	n = fread(buf, 1, sizeof(buf) - 1, f);
	fclose(f);
	while (n && strchr(" \t\r\n", buf[n - 1]))
		n--;
	while (b < n && strchr(" \t\r\n", buf[b]))
		b++;
	if (parse_key(buf + b, n - b, key) < 0)
		return nfg_conf_fail(e, "key_file", "%s: expected 32 hex digits (a 128-bit key)", path);
	return 0;
}

/* "NAME: A|B" into *@p out (0 for A, 1 for B), @p dflt when absent */
static int choice(const json_t *o, const char *key, const char *a, const char *b, int dflt, int required, int *out,
		  struct nfg_conf_err *e)
{
	char v[16];
	int rc = nfg_conf_str(o, "", key, v, sizeof(v), required, e);

	if (rc < 0)
		return rc;
	if (!v[0])
		*out = dflt;
	else if (!strcmp(v, a) || !strcmp(v, b))
		*out = !strcmp(v, b);
	else
		return nfg_conf_fail(e, key, "'%s': expected %s or %s", v, a, b);
	return 0;
}

static int protocols(const json_t *v, struct aes_conf *out, struct nfg_conf_err *e)
{
	char path[64];
	size_t i;
	json_t *x;

	if (!v) {
		out->protos = AES_SEL_TCP | AES_SEL_UDP;
		return 0;
	}
	if (!json_is_array(v) || !json_array_size(v))
		return nfg_conf_fail(e, "protocols", "expected a list of tcp, udp, icmp, icmpv6, got %s",
				     json_is_array(v) ? "an empty list" : nfg_conf_type_name(v));
	json_array_foreach(v, i, x) {
		uint8_t p;
		int rc;

		nfg_conf_element(path, sizeof(path), "protocols", i);
		if ((rc = nfg_conf_proto(x, path, &p, e)) < 0)
			return rc;
		switch (p) {
		case NF_PROTO_TCP: out->protos |= AES_SEL_TCP; break;
		case NF_PROTO_UDP: out->protos |= AES_SEL_UDP; break;
		case NF_PROTO_ICMP: out->protos |= AES_SEL_ICMP; break;
		case NF_PROTO_ICMPV6: out->protos |= AES_SEL_ICMPV6; break;
		default:
			return nfg_conf_fail(e, path, "protocol %u has no payload nf-aes transcodes "
					     "(tcp, udp, icmp or icmpv6 echo)", p);
		}
	}
	return 0;
}

static int ports(const json_t *v, struct aes_conf *out, struct nfg_conf_err *e)
{
	char path[64];
	size_t i;
	json_t *x;

	if (!v)
		return 0;
	if (!json_is_array(v) || !json_array_size(v) || json_array_size(v) > AES_PORTS_MAX)
		return nfg_conf_fail(e, "ports", "expected a list of 1..%d ports or LO-HI ranges, got %s",
				     AES_PORTS_MAX, json_is_array(v) ? "more" : nfg_conf_type_name(v));
	json_array_foreach(v, i, x) {
		int rc;

		nfg_conf_element(path, sizeof(path), "ports", i);
		if ((rc = nfg_conf_range(x, path, &out->ports[i].lo, &out->ports[i].hi, e)) < 0)
			return rc;
	}
	out->nb_ports = (uint16_t)i;
	return 0;
}

static int parse(const struct nfg_conf *c, struct aes_conf *out, struct nfg_conf_err *e)
{
	static const char *const keys[] = { "mode", "key", "key_file", "protocols", "ports", "mtu", "fragments", "iv",
					    NULL };
	const json_t *r = c->root, *k;
	char name[256];
	int64_t mtu;
	int rc;

	memset(out, 0, sizeof(*out));
	if (!json_is_object(r))
		return nfg_conf_fail(e, "", "expected a mapping, got %s", nfg_conf_type_name(r));
	if ((rc = nfg_conf_keys(r, "", keys, "mode, key, key_file, protocols, ports, mtu, fragments or iv", e)) < 0 ||
	    (rc = choice(r, "mode", "encrypt", "decrypt", 0, 1, &out->decrypt, e)) < 0 ||
	    (rc = choice(r, "fragments", "drop", "pass", 0, 0, &out->frag_pass, e)) < 0 ||
	    (rc = choice(r, "iv", "derived", "random", 0, 0, &out->iv_random, e)) < 0 ||
	    (rc = nfg_conf_int(r, "", "mtu", 68, 65535, 1500, &mtu, e)) < 0 ||
	    (rc = protocols(json_object_get(r, "protocols"), out, e)) < 0 ||
	    (rc = ports(json_object_get(r, "ports"), out, e)) < 0)
		return rc;
	out->mtu = (uint32_t)mtu;
	k = json_object_get(r, "key");
	if (!k == !json_object_get(r, "key_file"))
		return nfg_conf_fail(e, k ? "key_file" : "", "give the key as key (32 hex digits) or as key_file, "
				     "one of them");
	if (!k) {
		if ((rc = nfg_conf_str(r, "", "key_file", name, sizeof(name), 1, e)) < 0)
			return rc;
		return key_file(c->file, name, out->key, e);
	}
	/* an all-digit key would read as a number: it has to be quoted */
	if (!json_is_string(k))
		return nfg_conf_fail(e, "key", "expected 32 hex digits in quotes, got %s", nfg_conf_type_name(k));
	if (parse_key(json_string_value(k), json_string_length(k), out->key) < 0)
		return nfg_conf_fail(e, "key", "expected 32 hex digits (a 128-bit key), got %zu characters%s",
				     json_string_length(k), json_string_length(k) == 32 ? " that are not all hex" : "");
	return 0;
}

/* @p c loaded (or not: @p rc): parse it, report, free it */
static int finish(struct nfg_conf *c, int rc, struct aes_conf *out)
{
	struct nfg_conf_err e;

	if (rc < 0)
		return rc;
	if ((rc = parse(c, out, &e)) < 0)
		rc = nfg_conf_report(c, &e);
	nfg_conf_free(c);
	return rc;
}

int aes_conf_load(const char *file, struct aes_conf *out)
{
	struct nfg_conf c;

	return finish(&c, nfg_conf_load(file, &c), out);
}

int aes_conf_load_buf(const char *name, const char *buf, size_t len, struct aes_conf *out)
{
	struct nfg_conf c;

	return finish(&c, nfg_conf_load_buf(name, buf, len, &c), out);
}
