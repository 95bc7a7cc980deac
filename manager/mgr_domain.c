/* SPDX-License-Identifier: BSD-3-Clause */
/* Domain XML for an nfhost guest, the metadata that makes a domain ours,
 * and finding our domains again: `nfhost vm` keeps no state files, so list,
 * stop and log read everything they need back from libvirt. */
#define _GNU_SOURCE
#include <errno.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>
#include <unistd.h>

#include <libvirt/virterror.h>

#include "mgr.h"
#include "mgr_domain.h"
#include "mgr_libvirt.h"
#include "mgr_place.h"

/* Text and attribute values: everything user-supplied goes through here. */
static void put_esc(FILE *f, const char *s)
{
	for (; *s; s++) {
		switch (*s) {
		case '&': fputs("&amp;", f); break;
		case '<': fputs("&lt;", f); break;
		case '>': fputs("&gt;", f); break;
		case '\'': fputs("&apos;", f); break;
		case '"': fputs("&quot;", f); break;
		default: fputc(*s, f);
		}
	}
}

static void put_elem(FILE *f, const char *indent, const char *tag, const char *text)
{
	fprintf(f, "%s<%s>", indent, tag);
	put_esc(f, text);
	fprintf(f, "</%s>\n", tag);
}

static void put_meta(FILE *f, const struct mgr_vm_meta *m)
{
	static const char ind[] = "      ";
	char num[64];

	fprintf(f, "    <" MGR_VM_NS_PREFIX ":vm xmlns:" MGR_VM_NS_PREFIX "='" MGR_VM_NS_URI "'>\n");
	snprintf(num, sizeof(num), "%u", m->guest_id);
	put_elem(f, ind, MGR_VM_NS_PREFIX ":guest", num);
	put_elem(f, ind, MGR_VM_NS_PREFIX ":nf", m->nf);
	snprintf(num, sizeof(num), "%d", m->service);
	put_elem(f, ind, MGR_VM_NS_PREFIX ":service", num);
	snprintf(num, sizeof(num), "%d", m->socket);
	put_elem(f, ind, MGR_VM_NS_PREFIX ":socket", num);
	put_elem(f, ind, MGR_VM_NS_PREFIX ":core", m->core);
	put_elem(f, ind, MGR_VM_NS_PREFIX ":accel", m->accel);
	snprintf(num, sizeof(num), "%.3f", m->started);
	put_elem(f, ind, MGR_VM_NS_PREFIX ":started", num);
	put_elem(f, ind, MGR_VM_NS_PREFIX ":log", m->log);
	put_elem(f, ind, MGR_VM_NS_PREFIX ":shm", m->shm);
	fprintf(f, "    </" MGR_VM_NS_PREFIX ":vm>\n");
}

/* The i-th CPU of a cpulist ("0-3,6"), or -1. */
static int nth_cpu(const char *list, int i)
{
	cpu_set_t set;

	if (mgr_parse_cpulist(list, &set) < 0)
		return -1;
	for (int c = 0; c < CPU_SETSIZE; c++)
		if (CPU_ISSET(c, &set) && i-- == 0)
			return c;
	return -1;
}

char *mgr_domain_xml(const struct mgr_vm_spec *sp)
{
	int kvm = !strcmp(sp->meta.accel, "kvm");
	char *buf = NULL;
	size_t len = 0;
	FILE *f = open_memstream(&buf, &len);

	if (!f)
		return NULL;
	fprintf(f, "<domain type='%s'>\n  <name>", kvm ? "kvm" : "qemu");
	put_esc(f, sp->name);
	fprintf(f, "</name>\n  <metadata>\n");
	put_meta(f, &sp->meta);
	fprintf(f, "  </metadata>\n");
	fprintf(f, "  <memory unit='MiB'>%lu</memory>\n", sp->memory_mib);
	fprintf(f, "  <vcpu placement='static'>%d</vcpu>\n", sp->vcpus);
	/* The emulator thread goes with the vCPUs: all of QEMU stays on the
	 * region's node. */
	fprintf(f, "  <cputune>\n");
	for (int i = 0; i < sp->vcpus; i++) {
		if (sp->pin_one_to_one)
			fprintf(f, "    <vcpupin vcpu='%d' cpuset='%d'/>\n", i, nth_cpu(sp->cpuset, i));
		else
			fprintf(f, "    <vcpupin vcpu='%d' cpuset='%s'/>\n", i, sp->cpuset);
	}
	fprintf(f, "    <emulatorpin cpuset='%s'/>\n  </cputune>\n", sp->cpuset);
	if (sp->bind_memory)
		fprintf(f, "  <numatune>\n    <memory mode='strict' nodeset='%d'/>\n  </numatune>\n", sp->meta.socket);
	fprintf(f, "  <os>\n    <type arch='x86_64' machine='pc'>hvm</type>\n"
		   "    <loader type='rom'>/usr/share/qemu/qboot.rom</loader>\n");
	put_elem(f, "    ", "kernel", sp->kernel);
	put_elem(f, "    ", "initrd", sp->initrd);
	put_elem(f, "    ", "cmdline", sp->cmdline);
	fprintf(f, "  </os>\n");
	/* ACPI: the guest's poweroff must end QEMU. */
	fprintf(f, "  <features>\n    <acpi/>\n  </features>\n");
	fprintf(f, "  <cpu mode='%s'/>\n", kvm ? "host-passthrough" : "maximum");
	fprintf(f, "  <clock offset='utc'/>\n");
	/* A guest that reboots (panic=-1) or crashes is finished: a transient
	 * domain then disappears and the core reclaims its NFs. */
	fprintf(f, "  <on_poweroff>destroy</on_poweroff>\n  <on_reboot>destroy</on_reboot>\n"
		   "  <on_crash>destroy</on_crash>\n");
	fprintf(f, "  <devices>\n    <controller type='usb' model='none'/>\n");
	fprintf(f, "    <serial type='file'>\n      <source path='");
	put_esc(f, sp->meta.log);
	fprintf(f, "'/>\n      <target port='0'/>\n    </serial>\n");
	fprintf(f, "    <console type='file'>\n      <source path='");
	put_esc(f, sp->meta.log);
	fprintf(f, "'/>\n      <target type='serial' port='0'/>\n    </console>\n");
	fprintf(f, "    <shmem name='");
	put_esc(f, sp->shm_name);
	fprintf(f, "'>\n      <model type='ivshmem-plain'/>\n      <size unit='M'>%lu</size>\n    </shmem>\n",
		sp->shm_mib);
	fprintf(f, "    <memballoon model='none'/>\n  </devices>\n</domain>\n");
	if (fclose(f) != 0) {
		free(buf);
		return NULL;
	}
	return buf;
}

/* Text of element @p tag (any namespace prefix) in @p xml, unescaped. */
static int get_elem(const char *xml, const char *tag, char *out, size_t len)
{
	size_t tl = strlen(tag);

	for (const char *p = strchr(xml, '<'); p; p = strchr(p + 1, '<')) {
		const char *name = p + 1, *colon, *gt = strchr(name, '>');
		size_t n = 0;

		if (!gt || *name == '/')
			continue;
		colon = memchr(name, ':', (size_t)(gt - name));
		if (colon)
			name = colon + 1;
		if ((size_t)(gt - name) != tl || strncmp(name, tag, tl))
			continue;
		for (const char *q = gt + 1; *q && *q != '<'; q++) {
			char c = *q;

			if (c == '&') {
				static const struct {
					const char *ent;
					char c;
				} ents[] = { { "&amp;", '&' }, { "&lt;", '<' }, { "&gt;", '>' },
					     { "&apos;", '\'' }, { "&quot;", '"' } };
				size_t e;

				for (e = 0; e < sizeof(ents) / sizeof(ents[0]); e++)
					if (!strncmp(q, ents[e].ent, strlen(ents[e].ent)))
						break;
				if (e == sizeof(ents) / sizeof(ents[0]))
					return -EPROTO;
				c = ents[e].c;
				q += strlen(ents[e].ent) - 1;
			}
			if (n + 1 >= len)
				return -ENAMETOOLONG;
			out[n++] = c;
		}
		out[n] = '\0';
		return 0;
	}
	return -ENOENT;
}

static int get_long(const char *xml, const char *tag, long min, long max, long *v)
{
	char buf[32];
	long long n;
	int rc = get_elem(xml, tag, buf, sizeof(buf));

	if (rc < 0)
		return rc;
	if (mgr_parse_num(NULL, NULL, buf, min, max, &n) < 0)
		return -EPROTO;
	*v = (long)n;
	return 0;
}

int mgr_domain_meta(virDomainPtr dom, struct mgr_vm_meta *m)
{
	char *xml = virDomainGetMetadata(dom, VIR_DOMAIN_METADATA_ELEMENT, MGR_VM_NS_URI, 0);
	char started[32], *end;
	long guest, service, socket;
	int rc = 0;

	memset(m, 0, sizeof(*m));
	if (!xml) {
		int code = virGetLastErrorCode();

		return code == VIR_ERR_NO_DOMAIN_METADATA || code == VIR_ERR_NO_DOMAIN ? -ENOENT : -EIO;
	}
	if (get_long(xml, "guest", 1, 0x7fffffff, &guest) < 0 || get_long(xml, "service", 1, 255, &service) < 0 ||
	    get_long(xml, "socket", 0, 1023, &socket) < 0 || get_elem(xml, "nf", m->nf, sizeof(m->nf)) < 0 ||
	    get_elem(xml, "core", m->core, sizeof(m->core)) < 0 ||
	    get_elem(xml, "accel", m->accel, sizeof(m->accel)) < 0 ||
	    get_elem(xml, "log", m->log, sizeof(m->log)) < 0 || get_elem(xml, "shm", m->shm, sizeof(m->shm)) < 0 ||
	    get_elem(xml, "started", started, sizeof(started)) < 0) {
		rc = -EPROTO;
	} else {
		m->guest_id = (uint32_t)guest;
		m->service = (int)service;
		m->socket = (int)socket;
		m->started = strtod(started, &end);
		if (end == started || *end)
			rc = -EPROTO;
	}
	free(xml);
	return rc;
}

int mgr_domain_list(virConnectPtr conn, virDomainPtr **doms_out, struct mgr_vm_meta **metas_out)
{
	virDomainPtr *all = NULL, *doms;
	struct mgr_vm_meta *metas;
	int n = virConnectListAllDomains(conn, &all, VIR_CONNECT_LIST_DOMAINS_ACTIVE), k = 0;

	*doms_out = NULL;
	*metas_out = NULL;
	if (n < 0) {
		fprintf(stderr, "nfhost vm: cannot list domains: %s\n", mgr_virt_error());
		return -EIO;
	}
	doms = calloc((size_t)n + 1, sizeof(*doms));
	metas = calloc((size_t)n + 1, sizeof(*metas));
	if (!doms || !metas) {
		for (int i = 0; i < n; i++)
			virDomainFree(all[i]);
		free(all);
		free(doms);
		free(metas);
		fprintf(stderr, "nfhost vm: out of memory\n");
		return -ENOMEM;
	}
	for (int i = 0; i < n; i++) {
		int rc = mgr_domain_meta(all[i], &metas[k]);

		if (rc == -EPROTO)
			fprintf(stderr, "nfhost vm: domain %s has unreadable nfhost metadata; ignoring it\n",
				virDomainGetName(all[i]));
		if (rc < 0) {
			virDomainFree(all[i]);
			continue;
		}
		doms[k++] = all[i];
	}
	free(all);
	*doms_out = doms;
	*metas_out = metas;
	return k;
}

int mgr_domain_gone(virDomainPtr dom)
{
	return virDomainIsActive(dom) != 1;
}

int mgr_domain_find(virConnectPtr conn, const char *name, virDomainPtr *dom, struct mgr_vm_meta *meta)
{
	int rc;

	if (!(*dom = virDomainLookupByName(conn, name))) {
		if (virGetLastErrorCode() == VIR_ERR_NO_DOMAIN)
			fprintf(stderr, "nfhost vm: no VM named '%s' is running (see nfhost vm list)\n", name);
		else
			fprintf(stderr, "nfhost vm: cannot look up '%s': %s\n", name, mgr_virt_error());
		return -ENOENT;
	}
	if ((rc = mgr_domain_meta(*dom, meta)) < 0) {
		if (rc == -ENOENT)
			fprintf(stderr, "nfhost vm: domain '%s' is not an nfhost VM (no nfhost metadata)\n", name);
		else
			fprintf(stderr, "nfhost vm: domain '%s' has unreadable nfhost metadata\n", name);
		virDomainFree(*dom);
		*dom = NULL;
		return rc;
	}
	return 0;
}

int mgr_domain_exists(virConnectPtr conn, const char *name)
{
	virDomainPtr d = virDomainLookupByName(conn, name);

	if (!d)
		return 0;
	virDomainFree(d);
	return 1;
}

int mgr_domain_new_guest_id(virConnectPtr conn, uint32_t *id)
{
	virDomainPtr *doms = NULL;
	struct mgr_vm_meta *metas = NULL;
	int n = conn ? mgr_domain_list(conn, &doms, &metas) : 0;

	if (n < 0)
		return n;
	for (int tries = 0; tries < 100; tries++) {
		int clash = 0;

		if (getrandom(id, sizeof(*id), 0) != sizeof(*id))
			*id = (uint32_t)rand() ^ (uint32_t)getpid();
		*id &= 0x7fffffff;
		for (int i = 0; i < n; i++)
			clash |= metas[i].guest_id == *id;
		if (*id && !clash)
			break;
	}
	mgr_domain_list_free(doms, metas, n);
	return 0;
}

void mgr_domain_list_free(virDomainPtr *doms, struct mgr_vm_meta *metas, int n)
{
	for (int i = 0; i < n; i++)
		virDomainFree(doms[i]);
	free(doms);
	free(metas);
}

const char *mgr_domain_state_name(int state)
{
	switch (state) {
	case VIR_DOMAIN_RUNNING: return "running";
	case VIR_DOMAIN_BLOCKED: return "blocked";
	case VIR_DOMAIN_PAUSED: return "paused";
	case VIR_DOMAIN_SHUTDOWN: return "shutting-down";
	case VIR_DOMAIN_SHUTOFF: return "shut-off";
	case VIR_DOMAIN_CRASHED: return "crashed";
	case VIR_DOMAIN_PMSUSPENDED: return "suspended";
	default: return "unknown";
	}
}
