/* SPDX-License-Identifier: BSD-3-Clause */
/**
 * @file
 * Configuration files, for NFs and for graph files alike: YAML (and so
 * JSON) into jansson trees, keeping the line of every node, and typed
 * getters whose refusals name the field, so that the user is pointed at
 * their text: "fw.yaml:7: rules[2].dport: 9-3: a port range is LO-HI ...".
 *
 * An NF loads its file with nfg_conf_load(), walks the tree with jansson
 * and the nfg_conf_* getters, and on the first refusal calls
 * nfg_conf_report(), which puts "FILE:LINE: PATH: message" in
 * nfg_last_error().  Reloading on SIGHUP (struct nfg_ops.reload) is the
 * same load into a new configuration, swapped in only when all of it was
 * accepted.
 */
#ifndef NFHOST_NFG_CONF_H
#define NFHOST_NFG_CONF_H

#include <stddef.h>
#include <stdint.h>

#include <jansson.h>

#ifdef __cplusplus
extern "C" {
#endif

/** Largest input accepted, in bytes. */
#define NFG_YAML_MAX_BYTES (4u << 20)
/** Deepest nesting of mappings and sequences accepted (the root is 1). */
#define NFG_YAML_MAX_DEPTH 64
/** Most nodes in one tree, counting an alias each time it is used. */
#define NFG_YAML_MAX_NODES (1u << 20)
/** Most bytes of scalars and of their paths in one tree, counted the same
 * way: the bound on what aliases can make of a small text. */
#define NFG_YAML_MAX_EXPANDED (64u << 20)

/**
 * JSON path -> 1-based source line.  Paths: "" is the top level; an object
 * member is PARENT.KEY, or just KEY at the top level ("services",
 * "default.chain"); an array element is PARENT[INDEX] ("services[2].name",
 * "rules[0].dport").  A member's line is the line of its key.
 */
struct nfg_linemap;

/**
 * Parse @p file, one YAML 1.1 document (JSON is YAML), into a jansson tree.
 *
 * Mappings become objects (keys must be scalars, and unique), sequences
 * arrays.  Plain scalars are typed: integers (decimal or 0x hex, optional
 * sign), reals, true/false/yes/no/on/off (any case) as booleans, null, ~ and
 * nothing as null.  Every other scalar, and every quoted or block scalar, is
 * a string.  Tags are ignored.  Aliases are expanded; an alias inside the
 * node it names is refused.
 *
 * @param[out] out    the tree, owned by the caller (json_decref); NULL on error
 * @param[out] lines  if not NULL, the line map, owned by the caller
 *   (nfg_linemap_free); NULL on error
 * @param[out] err    on error, "FILE:LINE:COL: message" (or "FILE: message"
 *   when there is no position), @p errlen bytes; may be NULL
 * @return 0; -errno from opening or reading @p file; -EFBIG over
 *   NFG_YAML_MAX_BYTES; -ENOMEM; -EINVAL for anything wrong in the text
 *   (syntax, duplicate key, no document or more than one, nesting deeper than
 *   NFG_YAML_MAX_DEPTH, recursive alias, more than NFG_YAML_MAX_NODES nodes
 *   or NFG_YAML_MAX_EXPANDED bytes, a number out of range).
 */
int nfg_yaml_load(const char *file, json_t **out, struct nfg_linemap **lines, char *err, size_t errlen);

/**
 * nfg_yaml_load() from @p len bytes at @p buf (no terminating NUL needed);
 * @p name stands for the file in messages.
 */
int nfg_yaml_load_buf(const char *name, const char *buf, size_t len, json_t **out, struct nfg_linemap **lines,
		      char *err, size_t errlen);

/**
 * Line of the node at @p path, or else of its nearest ancestor that has one
 * ("services[9].name" falls back to "services[9]", "services", "").
 * @return the 1-based line, or 0 if none (or @p m is NULL).
 */
int nfg_linemap_line(const struct nfg_linemap *m, const char *path);

/** Free @p m (NULL is fine). */
void nfg_linemap_free(struct nfg_linemap *m);

/* ---- typed getters ----------------------------------------------------- */

/** A refusal: the JSON path of the field (as in struct nfg_linemap) and
 * what is wrong with it.  Both cut to fit, never inside a UTF-8 character. */
struct nfg_conf_err {
	char path[128];
	char msg[256];
};

/** Record a refusal at @p path.  @return -EINVAL */
int nfg_conf_fail(struct nfg_conf_err *err, const char *path, const char *fmt, ...)
	__attribute__((format(printf, 3, 4)));

/** PARENT.KEY into @p out, or KEY at the top level (PARENT ""). */
void nfg_conf_member(char *out, size_t len, const char *parent, const char *key);

/** PARENT[I] into @p out. */
void nfg_conf_element(char *out, size_t len, const char *parent, size_t i);

/** What @p v is, in words, for a refusal ("a list", ...; NULL: "nothing"). */
const char *nfg_conf_type_name(const json_t *v);

/**
 * Refuse a key of mapping @p o that is not in @p known (NULL-terminated):
 * a misspelt option must not be silently ignored.
 * @param expect  the keys in words, for the message ("id, name or nf")
 * @return 0 or -EINVAL
 */
int nfg_conf_keys(const json_t *o, const char *path, const char *const *known, const char *expect,
		  struct nfg_conf_err *err);

/** Marks an nfg_conf_int() member as required. */
#define NFG_CONF_REQUIRED INT64_MIN

/**
 * Integer member @p key of @p o in @p lo..@p hi; absent: *out = @p dflt, or
 * a refusal when @p dflt is NFG_CONF_REQUIRED.  @return 0 or -EINVAL
 */
int nfg_conf_int(const json_t *o, const char *path, const char *key, int64_t lo, int64_t hi, int64_t dflt,
		 int64_t *out, struct nfg_conf_err *err);

/**
 * Number member (integer or fractional) in @p lo..@p hi, e.g. a timeout in
 * seconds; absent: *out = @p dflt, or a refusal when @p required.
 */
int nfg_conf_num(const json_t *o, const char *path, const char *key, double lo, double hi, double dflt,
		 int required, double *out, struct nfg_conf_err *err);

/** Boolean member; absent: *out = @p dflt. */
int nfg_conf_bool(const json_t *o, const char *path, const char *key, int dflt, int *out,
		  struct nfg_conf_err *err);

/**
 * String member of 1..@p max - 1 bytes copied into @p out (@p max bytes);
 * absent: "" or a refusal when @p required.
 */
int nfg_conf_str(const json_t *o, const char *path, const char *key, char *out, size_t max, int required,
		 struct nfg_conf_err *err);

/**
 * A name member: 1..@p max - 1 letters, digits, '-' and '_', not starting
 * with a digit (it would read as an ID).  Absent: "" or a refusal.
 */
int nfg_conf_name(const json_t *o, const char *path, const char *key, char *out, size_t max, int required,
		  struct nfg_conf_err *err);

/** An address or prefix: IPv4 in the first 4 bytes of @p a, or IPv6. */
struct nfg_conf_prefix {
	uint8_t a[16];   /**< network order */
	uint8_t len;     /**< prefix length: 0..32 or 0..128 */
	uint8_t v6;      /**< 1: IPv6 */
};

/**
 * "ADDR" or "ADDR/LEN", IPv4 or (when @p allow_v6) IPv6, at @p path; bits
 * past the prefix length refused (a typo, usually).
 */
int nfg_conf_prefix(const json_t *v, const char *path, int allow_v6, struct nfg_conf_prefix *out,
		    struct nfg_conf_err *err);

/** A port (80) or an inclusive range ("1024-65535"), at @p path. */
int nfg_conf_range(const json_t *v, const char *path, uint16_t *lo, uint16_t *hi, struct nfg_conf_err *err);

/** tcp, udp, icmp, icmpv6, sctp, gre, esp (any case) or a number 0..255. */
int nfg_conf_proto(const json_t *v, const char *path, uint8_t *proto, struct nfg_conf_err *err);

/* ---- a configuration file ----------------------------------------------- */

/** A loaded file: its tree, the line of every node, and its name. */
struct nfg_conf {
	json_t *root;
	struct nfg_linemap *lines;
	char file[256];
};

/**
 * Load @p file into @p c (nfg_yaml_load(): bounded, aliases expanded).
 * @return 0, or a negative errno with "FILE:LINE:COL: message" in
 *   nfg_last_error()
 */
int nfg_conf_load(const char *file, struct nfg_conf *c);

/** The same from @p len bytes at @p buf; @p name stands for the file. */
int nfg_conf_load_buf(const char *name, const char *buf, size_t len, struct nfg_conf *c);

/**
 * Put refusal @p e of @p c's tree in nfg_last_error() as
 * "FILE:LINE: PATH: message" (the line of the field, or of its nearest
 * ancestor that has one).  @return -EINVAL
 */
int nfg_conf_report(const struct nfg_conf *c, const struct nfg_conf_err *e);

/** Free what nfg_conf_load() gave @p c (twice is fine). */
void nfg_conf_free(struct nfg_conf *c);

#ifdef __cplusplus
}
#endif

#endif
