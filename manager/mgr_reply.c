/* SPDX-License-Identifier: BSD-3-Clause */
/* Reading the core's answers.  They come from another program, so nothing
 * in them is taken for granted: a missing or mistyped member reads as a
 * default, never as a crash. */
#include <errno.h>
#include <stdio.h>

#include "mgr_reply.h"

long long mgr_reply_int(const json_t *o, const char *key, long long dflt)
{
	json_t *v = json_object_get(o, key);

	return json_is_integer(v) ? (long long)json_integer_value(v) : dflt;
}

void mgr_reply_scalar(const json_t *v, char *buf, size_t len)
{
	if (json_is_integer(v))
		snprintf(buf, len, "%lld", (long long)json_integer_value(v));
	else if (json_is_string(v))
		snprintf(buf, len, "%s", json_string_value(v));
	else
		snprintf(buf, len, "*");
}

const char *mgr_reply_name(const json_t *graph, const char *list, long long id)
{
	json_t *s;
	size_t i;

	json_array_foreach(json_object_get(graph, list), i, s)
		if (mgr_reply_int(s, "id", 0) == id)
			return json_string_value(json_object_get(s, "name"));
	return NULL;
}

int mgr_reply_services(const json_t *graph, struct graph *g, json_t **doc)
{
	struct nfg_conf_err e;
	int rc;

	*doc = json_pack("{s:O*, s:{s:b}}", "services", json_object_get(graph, "services"), "default", "drop", 1);
	if (!*doc)
		return -ENOMEM;
	if ((rc = graph_parse(*doc, 0, g, &e)) < 0)
		fprintf(stderr, "nfhost: the applied graph's services do not parse: %s: %s\n", e.path, e.msg);
	return rc;
}
