/* SPDX-License-Identifier: BSD-3-Clause */
/* YAML (and so JSON) files into jansson trees, keeping the line of every
 * node so that whoever validates the tree can point at the user's text:
 * "graph.yaml:7: services[2].name: ...". */
#ifndef NFH_GRAPH_LOAD_H
#define NFH_GRAPH_LOAD_H

#include <stddef.h>

#include <jansson.h>

/** Largest input accepted, in bytes. */
#define GRAPH_YAML_MAX_BYTES (4u << 20)
/** Deepest nesting of mappings and sequences accepted (the root is 1). */
#define GRAPH_YAML_MAX_DEPTH 64
/** Most nodes in one tree, counting an alias each time it is used. */
#define GRAPH_YAML_MAX_NODES (1u << 20)
/** Most bytes of scalars and of their paths in one tree, counted the same
 * way: the bound on what aliases can make of a small text. */
#define GRAPH_YAML_MAX_EXPANDED (64u << 20)

/**
 * JSON path -> 1-based source line.  Paths: "" is the top level; an object
 * member is PARENT.KEY, or just KEY at the top level ("services",
 * "default.chain"); an array element is PARENT[INDEX] ("services[2].name",
 * "rules[0].dport").  A member's line is the line of its key.
 */
struct graph_linemap;

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
 *   (graph_linemap_free); NULL on error
 * @param[out] err    on error, "FILE:LINE:COL: message" (or "FILE: message"
 *   when there is no position), @p errlen bytes; may be NULL
 * @return 0; -errno from opening or reading @p file; -EFBIG over
 *   GRAPH_YAML_MAX_BYTES; -ENOMEM; -EINVAL for anything wrong in the text
 *   (syntax, duplicate key, no document or more than one, nesting deeper than
 *   GRAPH_YAML_MAX_DEPTH, recursive alias, more than GRAPH_YAML_MAX_NODES nodes
 *   or GRAPH_YAML_MAX_EXPANDED bytes, a number out of range).
 */
int graph_yaml_load(const char *file, json_t **out, struct graph_linemap **lines, char *err, size_t errlen);

/**
 * graph_yaml_load() from @p len bytes at @p buf (no terminating NUL needed);
 * @p name stands for the file in messages.
 */
int graph_yaml_load_buf(const char *name, const char *buf, size_t len, json_t **out, struct graph_linemap **lines,
		      char *err, size_t errlen);

/**
 * Line of the node at @p path, or else of its nearest ancestor that has one
 * ("services[9].name" falls back to "services[9]", "services", "").
 * @return the 1-based line, or 0 if none (or @p m is NULL).
 */
int graph_linemap_line(const struct graph_linemap *m, const char *path);

/** Free @p m (NULL is fine). */
void graph_linemap_free(struct graph_linemap *m);

#endif
