/* SPDX-License-Identifier: BSD-3-Clause */
/* libFuzzer target: the graph library (graph/) on any text.
 *
 * The input is read twice: as a YAML graph file, the way the manager
 * loads one (nfg_yaml_load_buf(), with the line map it uses to point at
 * an error), and as the JSON an API client sends (jansson, as the core's
 * API does).  Each tree goes through the validator, graph_parse().  A
 * graph it accepts must round-trip: its canonical form (graph_json())
 * validates again and gives the same canonical form.  A refusal must name
 * a path and say something. */
#include <errno.h>
#include <stdlib.h>
#include <string.h>

#include "fuzz_util.h"
#include "graph.h"
#include "nfhost/nfg_conf.h"

static struct graph *g1, *g2;

/* Validate @p root with @p nb_ports ports; round-trip what passes. */
static void validate(const json_t *root, uint16_t nb_ports, const struct nfg_linemap *lines)
{
	struct nfg_conf_err err;
	json_t *c1, *c2;
	char *s1, *s2;
	int rc;

	memset(&err, 0, sizeof(err));
	rc = graph_parse(root, nb_ports, g1, &err);
	if (rc == -ENOMEM)
		return;
	if (rc < 0) {
		CHECK(rc == -EINVAL, "rc %d", rc);
		CHECK(err.msg[0] != '\0', "a refusal at '%s' without a message", err.path);
		CHECK(memchr(err.path, '\0', sizeof(err.path)) && memchr(err.msg, '\0', sizeof(err.msg)),
		      "unterminated error");
		/* the manager turns the path into a line of the file */
		if (lines)
			(void)nfg_linemap_line(lines, err.path);
		return;
	}
	CHECK(rc == 0, "rc %d", rc);
	c1 = graph_json(g1);
	if (!c1) {
		graph_release(g1);
		return;
	}
	rc = graph_parse(c1, nb_ports, g2, &err);
	CHECK(rc == 0 || rc == -ENOMEM, "the canonical form is refused at '%s': %s", err.path, err.msg);
	if (rc == 0) {
		c2 = graph_json(g2);
		if (c2) {
			s1 = json_dumps(c1, JSON_COMPACT | JSON_SORT_KEYS);
			s2 = json_dumps(c2, JSON_COMPACT | JSON_SORT_KEYS);
			CHECK(s1 && s2, "canonical form not writable (invalid UTF-8?)");
			CHECK(json_equal(c1, c2), "the canonical form changed on a round trip:\n%s\n%s", s1, s2);
			CHECK(g1->nsvc == g2->nsvc && g1->nchain == g2->nchain && g1->nrule == g2->nrule,
			      "counts changed on a round trip");
			free(s1);
			free(s2);
			json_decref(c2);
		}
		graph_release(g2);
	}
	json_decref(c1);
	graph_release(g1);
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len);

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t len)
{
	struct nfg_linemap *lines = NULL;
	json_error_t je;
	json_t *root = NULL;
	char err[256];
	int rc;

	if (!g1) {
		/* big (every service and chain inline): once, not per input */
		g1 = malloc(sizeof(*g1));
		g2 = malloc(sizeof(*g2));
		if (!g1 || !g2)
			abort();
	}
	err[0] = '\0';
	rc = nfg_yaml_load_buf("fuzz.yaml", (const char *)data, len, &root, &lines, err, sizeof(err));
	if (rc == 0) {
		CHECK(root != NULL, "loaded without a tree");
		validate(root, 0, lines);
		validate(root, 4, lines);
		json_decref(root);
		nfg_linemap_free(lines);
	} else {
		CHECK(rc == -EINVAL || rc == -ENOMEM || rc == -EFBIG, "rc %d", rc);
		CHECK(root == NULL && lines == NULL, "a tree left on error");
		CHECK(err[0] != '\0', "a refusal without a message");
	}

	root = json_loadb((const char *)data, len, JSON_REJECT_DUPLICATES, &je);
	if (root) {
		validate(root, 2, NULL);
		json_decref(root);
	}
	return 0;
}
