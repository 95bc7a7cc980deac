/* SPDX-License-Identifier: BSD-3-Clause */
/* Region files: core_region_create (formatting, flock, stale files,
 * argument checks) and the guest side's nfg_region_check/attach, which must
 * refuse any header it cannot trust and say why; libnfguest's check of each
 * packet against its private copy of the buffer layout (nfg_pkt_check);
 * nfg_instance()'s reading of the service mirror. */
#include <errno.h>
#include <fcntl.h>
#include <pthread.h>
#include <signal.h>
#include <sys/file.h>
#include <sys/mman.h>
#include <sys/stat.h>
#include <sys/wait.h>

#include "core_region.h"
#include "nfhost/nfg.h"
#include "unit_util.h"
#include "../../guestlib/src/nfg_internal.h" /* nfg_pkt_check() */

#define MiB (1ull << 20)
#define REGION_SIZE (8 * MiB)
#define BUF_PAGE (2u * 1024 * 1024)

static char topdir[64]; /* per test case, removed even after a failure */
static char tmpdir[96]; /* per test */
static char path[128];
static char errlog[128];
static int saved_stderr = -1;

/* The core reports on stderr: catch it in a file so tests can check what
 * it said (and the run's output stays readable). */
static void setup(void)
{
	int fd;

	snprintf(tmpdir, sizeof(tmpdir), "%s/t-XXXXXX", topdir);
	ck_assert_ptr_nonnull(mkdtemp(tmpdir));
	ck_assert_int_gt(nfg_region_name(path, sizeof(path), tmpdir, "region", 0), 0);
	snprintf(errlog, sizeof(errlog), "%s/stderr.log", tmpdir);
	fflush(stderr);
	saved_stderr = dup(2);
	fd = open(errlog, O_RDWR | O_CREAT | O_TRUNC | O_APPEND, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(dup2(fd, 2), 2);
	close(fd);
}

static void teardown(void)
{
	fflush(stderr);
	if (saved_stderr >= 0) {
		dup2(saved_stderr, 2);
		close(saved_stderr);
		saved_stderr = -1;
	}
}

/* unchecked: run in the runner itself, so the directory goes even when a
 * test dies half-way */
static void top_setup(void)
{
	snprintf(topdir, sizeof(topdir), "/dev/shm/nfh-unit-region-XXXXXX");
	if (!mkdtemp(topdir)) {
		perror("mkdtemp /dev/shm");
		exit(1);
	}
}

static void top_teardown(void)
{
	char cmd[128];

	snprintf(cmd, sizeof(cmd), "rm -rf '%s'", topdir);
	if (topdir[0] && system(cmd) != 0)
		fprintf(stderr, "cannot remove %s\n", topdir);
}

/* 1 when the core wrote @p what to stderr since the test began */
static int stderr_says(const char *what)
{
	char buf[8192];
	ssize_t n;
	int fd;

	fflush(stderr);
	fd = open(errlog, O_RDONLY);
	ck_assert_int_ge(fd, 0);
	n = read(fd, buf, sizeof(buf) - 1);
	close(fd);
	ck_assert_int_ge(n, 0);
	buf[n] = '\0';
	return strstr(buf, what) != NULL;
}

static int exists(const char *p)
{
	struct stat st;

	return stat(p, &st) == 0;
}

static uint64_t file_size(const char *p)
{
	struct stat st;

	ck_assert_int_eq(stat(p, &st), 0);
	return (uint64_t)st.st_size;
}

/* What core_pool_create() publishes once the pool is up: a plausible
 * buffer layout, then READY. */
static void make_ready(struct nfg_region_hdr *h)
{
	h->buf_stride = 2240;
	h->bufs_per_page = h->buf_page_size / h->buf_stride;
	h->buf_count = (uint32_t)(h->bufs_len / h->buf_page_size) * h->bufs_per_page;
	h->buf_meta_off = 0;
	h->buf_room_off = 64;
	h->buf_room_len = 2176;
	h->nb_ports = 2;
	h->chain_len = 1;
	h->chain[0] = 1;
	__atomic_store_n(&h->state, NFG_REGION_READY, __ATOMIC_RELEASE);
}

static void create_ready(struct core_region *r)
{
	ck_assert_int_eq(core_region_create(r, path, REGION_SIZE, 8, 256, BUF_PAGE, -1), 0);
	make_ready(r->base);
}

/* attach must fail with @p err and a message containing @p what */
static void expect_refused(int err, const char *what)
{
	struct nfg_region g;
	int rc = nfg_region_attach(path, &g);

	ck_assert_msg(rc == err, "attach gave %d (%s), expected %d", rc, nfg_last_error(), err);
	ck_assert_msg(strstr(nfg_last_error(), what) != NULL, "message \"%s\" does not mention \"%s\"",
		      nfg_last_error(), what);
	/* nothing left mapped or open */
	ck_assert_ptr_null(g.base);
	ck_assert_int_eq(g.fd, -1);
}

/* ---- nfg_region_name ---------------------------------------------------- */

/* @p dir, @p core, @p socket name @p want (its length back) */
static void name_is(const char *dir, const char *core, int socket, const char *want)
{
	char out[128];
	int n;

	memset(out, 'z', sizeof(out));
	n = nfg_region_name(out, sizeof(out), dir, core, socket);
	ck_assert_msg(n == (int)strlen(want), "%s, %s, %d: %d, want %zu (%s)", dir ? dir : "NULL", core, socket, n,
		      strlen(want), want);
	ck_assert_str_eq(out, want);
}

START_TEST(test_region_name)
{
	char out[64], big[300];
	int n;

	name_is(NFG_HUGEDIR, NFG_DEFAULT_CORE, 0, "/dev/hugepages/nfhost0-s0");
	name_is(NULL, NFG_DEFAULT_CORE, 0, "nfhost0-s0");
	name_is(NULL, "edge", 1, "edge-s1");
	name_is("/mnt/huge", "a-b_c", 12, "/mnt/huge/a-b_c-s12");
	name_is("", "x", 0, "/x-s0"); /* the root directory, as an empty dir says */
	name_is("/d", "x", 2147483647, "/d/x-s2147483647");

	/* the buffer: exactly the length plus its NUL fits, one byte less does not */
	n = nfg_region_name(out, sizeof(out), NULL, "nfhost0", 0);
	ck_assert_int_eq(n, 10);
	ck_assert_int_eq(nfg_region_name(out, (size_t)n + 1, NULL, "nfhost0", 0), n);
	ck_assert_str_eq(out, "nfhost0-s0");
	ck_assert_int_eq(nfg_region_name(out, (size_t)n, NULL, "nfhost0", 0), -ENAMETOOLONG);
	ck_assert_int_eq(nfg_region_name(out, 1, NFG_HUGEDIR, "nfhost0", 0), -ENAMETOOLONG);
	ck_assert_int_eq(nfg_region_name(out, 0, NFG_HUGEDIR, "nfhost0", 0), -ENAMETOOLONG);
	/* a directory too long for the caller's buffer */
	memset(big, 'd', sizeof(big) - 1);
	big[sizeof(big) - 1] = '\0';
	ck_assert_int_eq(nfg_region_name(out, sizeof(out), big, "nfhost0", 0), -ENAMETOOLONG);

	/* no core name, or a negative socket */
	ck_assert_int_eq(nfg_region_name(out, sizeof(out), NFG_HUGEDIR, "", 0), -EINVAL);
	ck_assert_int_eq(nfg_region_name(out, sizeof(out), NFG_HUGEDIR, NULL, 0), -EINVAL);
	ck_assert_int_eq(nfg_region_name(out, sizeof(out), NFG_HUGEDIR, "nfhost0", -1), -EINVAL);
	ck_assert_int_eq(nfg_region_name(out, sizeof(out), NULL, "nfhost0", -2147483647 - 1), -EINVAL);
}
END_TEST

/* ---- core_region_create ------------------------------------------------- */

START_TEST(test_create_formats)
{
	struct core_region r;
	struct nfg_region_hdr *h;
	struct nfg_ctrl_ring *q;

	ck_assert_int_eq(core_region_create(&r, path, REGION_SIZE, 8, 256, BUF_PAGE, -1), 0);
	ck_assert_int_ge(r.fd, 0);
	ck_assert_uint_eq(r.size, REGION_SIZE);
	ck_assert_str_eq(r.path, path);
	ck_assert_uint_eq(file_size(path), REGION_SIZE);
	ck_assert_int_eq(core_is_hugetlbfs(path), 0); /* tmpfs */
	h = r.base;
	ck_assert_uint_eq(h->magic, NFG_MAGIC);
	ck_assert_uint_eq(h->abi_version, NFG_ABI_VERSION);
	ck_assert_uint_eq(h->hdr_size, sizeof(*h));
	ck_assert_uint_eq(h->region_size, REGION_SIZE);
	ck_assert_uint_eq(h->state, NFG_REGION_INIT);
	ck_assert_int_eq(h->core_pid, getpid());
	ck_assert_int_eq(h->socket_id, -1);
	/* the name a guest matches its ivshmem BARs against: the file's basename,
	 * which is the naming rule's name without the directory */
	ck_assert_str_eq(h->name, strrchr(path, '/') + 1);
	{
		char name[NFG_NAME_LEN];

		ck_assert_int_eq(nfg_region_name(name, sizeof(name), NULL, "region", 0), 9);
		ck_assert_str_eq(h->name, name);
	}
	ck_assert_uint_eq(h->max_nfs, 8);
	ck_assert_uint_eq(h->ring_size, 256);
	ck_assert_uint_eq(h->buf_page_size, BUF_PAGE);
	ck_assert_uint_eq(h->bufs_off % BUF_PAGE, 0);
	ck_assert_uint_eq(h->bufs_off + h->bufs_len, REGION_SIZE);
	/* the control ring is a Vyukov queue: cell i starts at sequence i */
	q = NFG_AT(r.base, h->ctrl_off);
	ck_assert_uint_eq(q->size, NFG_CTRL_RING_SIZE);
	ck_assert_uint_eq(q->mask, NFG_CTRL_RING_SIZE - 1);
	ck_assert_uint_eq(q->enq_pos, 0);
	ck_assert_uint_eq(q->deq_pos, 0);
	for (uint32_t i = 0; i < NFG_CTRL_RING_SIZE; i++)
		UNIT_EQ(q->cells[i].seq, i);
	for (uint32_t i = 0; i < NFG_MAX_SERVICES; i++) {
		UNIT_EQ(nfg_service_at(r.base, (uint16_t)i)->id, i);
		UNIT_EQ(nfg_service_at(r.base, (uint16_t)i)->nb_instances, 0);
	}
	for (uint32_t i = 0; i < 8; i++) {
		struct nfg_slot *s = nfg_slot_at(r.base, i);

		UNIT_EQ(s->state, NFG_SLOT_FREE);
		UNIT_EQ(s->index, i);
		UNIT_EQ(nfg_ring_at(r.base, s->rx_ring_off)->size, 256);
		UNIT_EQ(nfg_ring_at(r.base, s->tx_ring_off)->head, 0);
		UNIT_EQ(nfg_ring_at(r.base, s->tx_ring_off)->tail, 0);
	}
	ck_assert_uint_eq(nfg_core_stats(r.base)->rx_pkts, 0);
	/* boot IDs tell restarts apart */
	{
		uint64_t first = h->boot_id;
		struct core_region r2;
		char p2[160];

		snprintf(p2, sizeof(p2), "%s/other", tmpdir);
		ck_assert_int_eq(core_region_create(&r2, p2, REGION_SIZE, 8, 256, BUF_PAGE, -1), 0);
		ck_assert_uint_ne(nfg_hdr(r2.base)->boot_id, first);
		core_region_destroy(&r2);
	}
	core_region_destroy(&r);
}
END_TEST

START_TEST(test_create_bad_args)
{
	struct core_region r;

	/* not a power of two, zero, above 4 GiB: refused before touching the file */
	ck_assert_int_eq(core_region_create(&r, path, 6 * MiB, 8, 256, BUF_PAGE, -1), -EINVAL);
	ck_assert_int_eq(core_region_create(&r, path, 8 * MiB + 4096, 8, 256, BUF_PAGE, -1), -EINVAL);
	ck_assert(stderr_says("must be a power of two"));
	ck_assert_int_eq(core_region_create(&r, path, 0, 8, 256, BUF_PAGE, -1), -EINVAL);
	ck_assert_int_eq(core_region_create(&r, path, 8ull << 30, 8, 256, BUF_PAGE, -1), -EINVAL);
	/* ring size not a power of two, NF slots out of 1..NFG_MAX_NFS */
	ck_assert_int_eq(core_region_create(&r, path, REGION_SIZE, 8, 0, BUF_PAGE, -1), -EINVAL);
	ck_assert_int_eq(core_region_create(&r, path, REGION_SIZE, 8, 1000, BUF_PAGE, -1), -EINVAL);
	ck_assert_int_eq(core_region_create(&r, path, REGION_SIZE, 0, 256, BUF_PAGE, -1), -EINVAL);
	ck_assert_int_eq(core_region_create(&r, path, REGION_SIZE, NFG_MAX_NFS + 1, 256, BUF_PAGE, -1), -EINVAL);
	ck_assert_int_eq(exists(path), 0);
	ck_assert_ptr_null(r.base);
	ck_assert_int_eq(r.fd, -1);
	/* no room for a single buffer page after the tables: refused, no file left */
	ck_assert_int_eq(core_region_create(&r, path, 2 * MiB, NFG_MAX_NFS, 1024, BUF_PAGE, -1), -ENOSPC);
	ck_assert(stderr_says("no room for buffers"));
	ck_assert_int_eq(exists(path), 0);
	ck_assert_int_eq(r.fd, -1);
	/* a directory that does not exist */
	ck_assert_int_lt(core_region_create(&r, "/dev/shm/nfh-unit-no-such-dir/x", REGION_SIZE, 8, 256,
					    BUF_PAGE, -1), 0);
}
END_TEST

START_TEST(test_create_busy)
{
	struct core_region r, r2;
	struct nfg_region_hdr *h;
	uint64_t boot;

	ck_assert_int_eq(core_region_create(&r, path, REGION_SIZE, 8, 256, BUF_PAGE, -1), 0);
	h = r.base;
	boot = h->boot_id;
	/* a second core on the same file: refused, and it must not have
	 * truncated, reformatted or removed the live one */
	ck_assert(!stderr_says("in use"));
	ck_assert_int_eq(core_region_create(&r2, path, REGION_SIZE, 8, 256, BUF_PAGE, -1), -EBUSY);
	ck_assert(stderr_says("in use by another nfhost-core"));
	ck_assert_int_eq(core_region_create(&r2, path, 4 * MiB, 4, 128, BUF_PAGE, -1), -EBUSY);
	ck_assert_int_eq(r2.fd, -1);
	ck_assert_int_eq(exists(path), 1);
	ck_assert_uint_eq(file_size(path), REGION_SIZE);
	ck_assert_uint_eq(h->magic, NFG_MAGIC);
	ck_assert_uint_eq(h->boot_id, boot);
	ck_assert_uint_eq(h->max_nfs, 8);
	/* the lock is really held on the file: a plain flock fails too */
	{
		int fd = open(path, O_RDWR);

		ck_assert_int_ge(fd, 0);
		ck_assert_int_eq(flock(fd, LOCK_EX | LOCK_NB), -1);
		ck_assert_int_eq(errno, EWOULDBLOCK);
		close(fd);
	}
	/* destroy removes the file; then the name is free again */
	core_region_destroy(&r);
	ck_assert_int_eq(exists(path), 0);
	ck_assert_ptr_null(r.base);
	ck_assert_int_eq(r.fd, -1);
	ck_assert_int_eq(core_region_create(&r2, path, REGION_SIZE, 8, 256, BUF_PAGE, -1), 0);
	core_region_destroy(&r2);
	ck_assert_int_eq(exists(path), 0);
}
END_TEST

/* A core that died (its process, hence its lock, gone) leaves a stale
 * file: the next core replaces it. */
START_TEST(test_create_after_core_died)
{
	struct core_region r;
	int pfd[2], status;
	char c;
	pid_t pid;

	ck_assert_int_eq(pipe(pfd), 0);
	pid = fork();
	ck_assert_int_ge(pid, 0);
	if (pid == 0) {
		struct core_region cr;
		int rc = core_region_create(&cr, path, REGION_SIZE, 8, 256, BUF_PAGE, -1);

		c = rc == 0 ? 'y' : 'n';
		if (write(pfd[1], &c, 1) != 1)
			_exit(2);
		alarm(30); /* never outlive a failed test */
		pause();   /* a live core, until killed */
		_exit(0);
	}
	close(pfd[1]);
	ck_assert_int_eq(read(pfd[0], &c, 1), 1);
	close(pfd[0]);
	ck_assert_int_eq(c, 'y');
	/* alive: busy */
	ck_assert_int_eq(core_region_create(&r, path, REGION_SIZE, 8, 256, BUF_PAGE, -1), -EBUSY);
	ck_assert_int_eq(kill(pid, SIGKILL), 0);
	ck_assert_int_eq(waitpid(pid, &status, 0), pid);
	ck_assert_int_eq(exists(path), 1); /* it never cleaned up */
	ck_assert_int_eq(core_region_create(&r, path, REGION_SIZE, 8, 256, BUF_PAGE, -1), 0);
	ck_assert_int_eq(nfg_hdr(r.base)->core_pid, getpid());
	core_region_destroy(&r);
}
END_TEST

START_TEST(test_create_replaces_stale)
{
	struct core_region r;
	uint8_t junk[4096];
	uint8_t *base;
	int fd;

	/* a stale file of the wrong size full of junk, nobody holding a lock */
	memset(junk, 0xab, sizeof(junk));
	fd = open(path, O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	for (int i = 0; i < 768; i++) /* 3 MiB */
		ck_assert_int_eq(write(fd, junk, sizeof(junk)), sizeof(junk));
	close(fd);
	ck_assert_uint_eq(file_size(path), 3 * MiB);

	ck_assert(!stderr_says("stale"));
	ck_assert_int_eq(core_region_create(&r, path, REGION_SIZE, 8, 256, BUF_PAGE, -1), 0);
	ck_assert(stderr_says("replacing stale region"));
	ck_assert_uint_eq(file_size(path), REGION_SIZE);
	base = r.base;
	ck_assert_uint_eq(nfg_hdr(base)->magic, NFG_MAGIC);
	ck_assert_msg(nfg_region_check(base, REGION_SIZE) == 0, "%s", nfg_last_error());
	/* nothing of the old contents survives, tables or buffers */
	for (uint64_t off = sizeof(struct nfg_region_hdr); off < 3 * MiB; off += 4096 - 8)
		UNIT_ASSERT_MSG(base[off] != 0xab, "stale byte at offset %llu", (unsigned long long)off);
	for (uint64_t off = nfg_hdr(base)->bufs_off; off < REGION_SIZE; off += 4093)
		UNIT_EQ(base[off], 0);
	core_region_destroy(&r);
	ck_assert_int_eq(exists(path), 0);
}
END_TEST

/* A core that died leaves its file with NFs still mapping it: a new core
 * of the same size formats it again in place (same inode: the NFs' mapping
 * sees INIT, then a new boot_id), never shrinking it under them; of another
 * size it makes a new file and leaves the old pages to their mappers. */
/* An NF's own mapping of the file at @p path (no lock: only a core holds one). */
static struct nfg_region_hdr *nf_map(void)
{
	int fd = open(path, O_RDWR);
	void *base;

	ck_assert_int_ge(fd, 0);
	base = mmap(NULL, REGION_SIZE, PROT_READ | PROT_WRITE, MAP_SHARED, fd, 0);
	close(fd);
	ck_assert_ptr_ne(base, MAP_FAILED);
	return base;
}

/* The core dies: its mapping and lock go, its file stays. */
static void core_dies(struct core_region *c)
{
	munmap(c->base, c->size);
	close(c->fd);
}

START_TEST(test_create_reformats_in_place)
{
	struct core_region dead, r;
	struct nfg_region_hdr *old;
	struct stat a, b;
	uint64_t boot;

	ck_assert_int_eq(core_region_create(&dead, path, REGION_SIZE, 8, 256, BUF_PAGE, -1), 0);
	make_ready(dead.base);
	old = nf_map();
	boot = old->boot_id;
	old->core_beat = 77;
	nfg_slot_at(old, 3)->state = NFG_SLOT_ACTIVE;
	ck_assert_int_eq(stat(path, &a), 0);
	core_dies(&dead);

	ck_assert_int_eq(core_region_create(&r, path, REGION_SIZE, 8, 256, BUF_PAGE, -1), 0);
	ck_assert(stderr_says("formatting stale region"));
	ck_assert_int_eq(stat(path, &b), 0);
	ck_assert_uint_eq(a.st_ino, b.st_ino);
	/* what the waiting NF sees through its old mapping */
	ck_assert_uint_eq(__atomic_load_n(&old->state, __ATOMIC_ACQUIRE), NFG_REGION_INIT);
	ck_assert_uint_ne(old->boot_id, boot);
	ck_assert_uint_eq(old->boot_id, nfg_hdr(r.base)->boot_id);
	ck_assert_uint_eq(old->core_beat, 0);
	ck_assert_uint_eq(nfg_slot_at(old, 3)->state, NFG_SLOT_FREE);
	ck_assert_msg(nfg_region_check(old, REGION_SIZE) == 0, "%s", nfg_last_error());
	munmap(old, REGION_SIZE);
	core_region_destroy(&r);

	/* another size: a new file; the old mapping stays readable */
	ck_assert_int_eq(core_region_create(&dead, path, REGION_SIZE, 8, 256, BUF_PAGE, -1), 0);
	old = nf_map();
	boot = old->boot_id;
	ck_assert_int_eq(stat(path, &a), 0);
	core_dies(&dead);
	ck_assert_int_eq(core_region_create(&r, path, 2 * REGION_SIZE, 8, 256, BUF_PAGE, -1), 0);
	ck_assert(stderr_says("replacing stale region"));
	ck_assert_int_eq(stat(path, &b), 0);
	ck_assert_uint_ne(a.st_ino, b.st_ino);
	ck_assert_uint_eq(old->boot_id, boot);
	ck_assert_uint_eq(old->magic, NFG_MAGIC);
	munmap(old, REGION_SIZE);
	core_region_destroy(&r);
}
END_TEST

/* ---- nfg_pkt_check: what libnfguest checks before a handler ------------- */

/* The packet at @p desc: in room at @p off from the room's start, @p len
 * bytes, @p path_len; then nfg_pkt_check()'s verdict. */
static int check_pkt(const struct nfg_bufmap *m, void *base, uint32_t desc, int64_t off, uint32_t len,
		     uint8_t path_len)
{
	const struct nfg_region_hdr *h = base;
	struct nfg_pkt *p = nfg_pkt_at(base, desc);

	p->data_off = (uint32_t)((int64_t)desc - h->buf_meta_off + h->buf_room_off + off);
	p->len = (uint16_t)len;
	p->path_len = path_len;
	return nfg_pkt_check(m, base, desc);
}

START_TEST(test_pkt_check)
{
	/* stride, meta_off, room_off, room_len: the pool's layout, and odd ones */
	static const uint32_t layouts[][4] = { { 2240, 0, 64, 2176 }, { 2432, 128, 192, 2176 },
					       { 4160, 4096, 0, 4096 }, { 192, 64, 128, 64 } };
	struct core_region r;
	struct nfg_region_hdr *h;
	struct nfg_bufmap m;

	create_ready(&r);
	h = r.base;
	for (size_t l = 0; l < sizeof(layouts) / sizeof(layouts[0]); l++) {
		uint32_t room_len = layouts[l][3], desc;

		h->buf_stride = layouts[l][0];
		h->buf_meta_off = layouts[l][1];
		h->buf_room_off = layouts[l][2];
		h->buf_room_len = room_len;
		h->bufs_per_page = h->buf_page_size / h->buf_stride;
		h->buf_count = (uint32_t)(h->bufs_len / h->buf_page_size) * h->bufs_per_page - 3;
		ck_assert_msg(nfg_region_check(h, REGION_SIZE) == 0, "layout %zu: %s", l, nfg_last_error());
		nfg_bufmap_init(&m, h);
		/* descriptors: exactly nfg_desc_index()'s, every offset of the first
		 * page and around every buffer */
		for (uint64_t d = 0; d < h->bufs_off + h->buf_page_size + 4096; d++)
			UNIT_ASSERT_MSG((nfg_pkt_check(&m, h, (uint32_t)d) == NFG_PKT_BAD_DESC) ==
						(nfg_desc_index(h, (uint32_t)d) < 0),
					"layout %zu: desc %llu", l, (unsigned long long)d);
		for (uint32_t i = 0; i < h->buf_count + 3; i++) {
			desc = nfg_desc_of_index(h, i);
			for (int64_t delta = -65; delta <= 65; delta++)
				UNIT_ASSERT_MSG((nfg_pkt_check(&m, h, (uint32_t)(desc + delta)) == NFG_PKT_BAD_DESC) ==
							(nfg_desc_index(h, (uint32_t)(desc + delta)) < 0),
						"layout %zu: buffer %u %+lld", l, i, (long long)delta);
		}
		ck_assert_int_eq(nfg_pkt_check(&m, h, UINT32_MAX), NFG_PKT_BAD_DESC);
		/* the packet: inside its room, to the byte */
		desc = nfg_desc_of_index(h, h->buf_count - 1);
		ck_assert_int_eq(check_pkt(&m, h, desc, 0, room_len, NFG_MAX_CHAIN), 0);
		ck_assert_int_eq(check_pkt(&m, h, desc, 0, 1, 0), 0);
		ck_assert_int_eq(check_pkt(&m, h, desc, room_len, 0, 1), 0);
		ck_assert_int_eq(check_pkt(&m, h, desc, -1, 60, 1), NFG_PKT_BAD_ROOM);
		ck_assert_int_eq(check_pkt(&m, h, desc, 0, room_len + 1, 1), NFG_PKT_BAD_ROOM);
		ck_assert_int_eq(check_pkt(&m, h, desc, 1, room_len, 1), NFG_PKT_BAD_ROOM);
		ck_assert_int_eq(check_pkt(&m, h, desc, room_len - 10, 0xffff, 1), NFG_PKT_BAD_ROOM);
		ck_assert_int_eq(check_pkt(&m, h, desc, 0, 64, NFG_MAX_CHAIN + 1), NFG_PKT_BAD_PATH);
		ck_assert_int_eq(check_pkt(&m, h, desc, 0, 64, 255), NFG_PKT_BAD_PATH);
		nfg_pkt_at(h, desc)->data_off = UINT32_MAX;
		ck_assert_int_eq(nfg_pkt_check(&m, h, desc), NFG_PKT_BAD_ROOM);
		nfg_pkt_at(h, desc)->data_off = 0;
		ck_assert_int_eq(nfg_pkt_check(&m, h, desc), NFG_PKT_BAD_ROOM);
		/* the private copy holds: the header's room raised afterwards
		 * (by a hostile NF) changes nothing */
		ck_assert_int_eq(check_pkt(&m, h, desc, 0, room_len + 100, 1), NFG_PKT_BAD_ROOM);
		h->buf_room_len += 1000;
		ck_assert_int_eq(check_pkt(&m, h, desc, 0, room_len + 100, 1), NFG_PKT_BAD_ROOM);
		h->buf_count += 3;
		ck_assert_int_eq(nfg_pkt_check(&m, h, nfg_desc_of_index(h, h->buf_count - 1)), NFG_PKT_BAD_DESC);
	}
	core_region_destroy(&r);
}
END_TEST

/* ---- nfg_region_check / nfg_region_attach --------------------------------- */

START_TEST(test_check_init_state)
{
	struct core_region r;
	struct nfg_region_hdr *h;
	struct nfg_region g;

	ck_assert_int_eq(core_region_create(&r, path, REGION_SIZE, 8, 256, BUF_PAGE, -1), 0);
	h = r.base;
	/* while INIT the buffer area is not laid out: the check passes
	 * (tables are sound) but attach says to come back later */
	ck_assert_uint_eq(h->buf_count, 0);
	ck_assert_msg(nfg_region_check(r.base, REGION_SIZE) == 0, "%s", nfg_last_error());
	ck_assert_int_eq(nfg_region_attach(path, &g), -EAGAIN);
	ck_assert_ptr_nonnull(strstr(nfg_last_error(), "setting the region up"));
	ck_assert_ptr_null(g.base);
	/* READY without a buffer layout is refused */
	h->state = NFG_REGION_READY;
	ck_assert_int_eq(nfg_region_check(r.base, REGION_SIZE), -EPROTO);
	ck_assert_ptr_nonnull(strstr(nfg_last_error(), "buffer area"));
	core_region_destroy(&r);
}
END_TEST

START_TEST(test_attach_ready)
{
	struct core_region r;
	struct nfg_region g;

	create_ready(&r);
	ck_assert_msg(nfg_region_attach(path, &g) == 0, "attach: %s", nfg_last_error());
	ck_assert_ptr_nonnull(g.base);
	ck_assert_ptr_eq(g.hdr, g.base);
	ck_assert_uint_eq(g.size, REGION_SIZE);
	ck_assert_int_ge(g.fd, 0);
	ck_assert_str_eq(g.path, path);
	/* the same shared memory: a write on one side shows on the other */
	ck_assert_uint_eq(g.hdr->boot_id, nfg_hdr(r.base)->boot_id);
	nfg_core_stats(r.base)->rx_pkts = 12345;
	ck_assert_uint_eq(nfg_core_stats(g.base)->rx_pkts, 12345);
	nfg_slot_at(g.base, 3)->heartbeat = 77;
	ck_assert_uint_eq(nfg_slot_at(r.base, 3)->heartbeat, 77);
	nfg_region_detach(&g);
	ck_assert_ptr_null(g.base);
	ck_assert_int_eq(g.fd, -1);
	/* a closed region is refused */
	nfg_hdr(r.base)->state = NFG_REGION_CLOSED;
	expect_refused(-ESHUTDOWN, "shutting down");
	core_region_destroy(&r);
	/* and a removed one */
	expect_refused(-ENOENT, "cannot open");
}
END_TEST

START_TEST(test_attach_bad_magic)
{
	struct core_region r;

	create_ready(&r);
	nfg_hdr(r.base)->magic ^= 1;
	expect_refused(-EPROTO, "bad magic");
	nfg_hdr(r.base)->magic = 0;
	expect_refused(-EPROTO, "bad magic");
	/* the message names the file */
	ck_assert_ptr_nonnull(strstr(nfg_last_error(), path));
	core_region_destroy(&r);
}
END_TEST

START_TEST(test_attach_bad_version)
{
	struct core_region r;

	create_ready(&r);
	nfg_hdr(r.base)->abi_version = NFG_ABI_VERSION + 1;
	expect_refused(-EPROTO, "ABI version");
	nfg_hdr(r.base)->abi_version = 0;
	expect_refused(-EPROTO, "ABI version");
	nfg_hdr(r.base)->abi_version = NFG_ABI_VERSION;
	nfg_hdr(r.base)->hdr_size = sizeof(struct nfg_region_hdr) - 64;
	expect_refused(-EPROTO, "header size");
	core_region_destroy(&r);
}
END_TEST

START_TEST(test_attach_bad_size)
{
	struct core_region r;
	struct nfg_region_hdr *h;

	create_ready(&r);
	h = r.base;
	h->region_size = REGION_SIZE / 2;
	expect_refused(-EPROTO, "header says");
	h->region_size = REGION_SIZE * 2;
	expect_refused(-EPROTO, "header says");
	h->region_size = REGION_SIZE + 4096;
	expect_refused(-EPROTO, "header says");
	h->region_size = REGION_SIZE;
	/* smaller than a header */
	ck_assert_int_eq(nfg_region_check(r.base, sizeof(*h) - 1), -EPROTO);
	ck_assert_ptr_nonnull(strstr(nfg_last_error(), "smaller than its header"));
	core_region_destroy(&r);
}
END_TEST

/* A self-consistent header on a file whose size is not a power of two. */
START_TEST(test_attach_non_pow2_file)
{
	struct core_region r;
	char p2[160];
	int fd;

	create_ready(&r);
	snprintf(p2, sizeof(p2), "%s/odd", tmpdir);
	fd = open(p2, O_RDWR | O_CREAT, 0600);
	ck_assert_int_ge(fd, 0);
	ck_assert_int_eq(ftruncate(fd, 6 * MiB), 0);
	nfg_hdr(r.base)->region_size = 6 * MiB;
	nfg_hdr(r.base)->bufs_len = 4 * MiB;
	ck_assert_int_eq(pwrite(fd, r.base, 2 * MiB, 0), 2 * MiB);
	close(fd);
	ck_assert_int_eq(nfg_region_check(r.base, 6 * MiB), -EPROTO);
	ck_assert_ptr_nonnull(strstr(nfg_last_error(), "power of two"));
	{
		struct nfg_region g;

		ck_assert_int_eq(nfg_region_attach(p2, &g), -EPROTO);
		ck_assert_ptr_nonnull(strstr(nfg_last_error(), "power of two"));
	}
	/* an empty file */
	fd = open(p2, O_RDWR | O_TRUNC);
	ck_assert_int_ge(fd, 0);
	close(fd);
	{
		struct nfg_region g;

		ck_assert_int_eq(nfg_region_attach(p2, &g), -EPROTO);
		ck_assert_ptr_nonnull(strstr(nfg_last_error(), "empty"));
	}
	core_region_destroy(&r);
}
END_TEST

/* Every area offset, pushed outside the region, misaligned, onto the
 * header or to a huge value: refused, and the message names the field. */
START_TEST(test_attach_bad_offsets)
{
	struct core_region r;
	struct nfg_region_hdr *h;
	struct {
		const char *name;
		uint64_t *off;
		uint64_t one; /* one element of the area (a slot, a ring...) */
	} f[8];

	create_ready(&r);
	h = r.base;
	f[0].name = "ctrl_off", f[0].off = &h->ctrl_off, f[0].one = sizeof(struct nfg_ctrl_ring);
	f[1].name = "replies_off", f[1].off = &h->replies_off, f[1].one = sizeof(struct nfg_reply_board);
	f[2].name = "slots_off", f[2].off = &h->slots_off, f[2].one = sizeof(struct nfg_slot);
	f[3].name = "services_off", f[3].off = &h->services_off, f[3].one = sizeof(struct nfg_service);
	f[4].name = "ports_off", f[4].off = &h->ports_off, f[4].one = sizeof(struct nfg_port);
	f[5].name = "stats_off", f[5].off = &h->stats_off, f[5].one = sizeof(struct nfg_core_stats);
	f[6].name = "rings_off", f[6].off = &h->rings_off, f[6].one = h->ring_bytes;
	f[7].name = "lat_off", f[7].off = &h->lat_off, f[7].one = sizeof(struct nfg_lat);
	for (int i = 0; i < 8; i++) {
		const uint64_t good = *f[i].off;
		const uint64_t bad[] = {
			REGION_SIZE,              /* just past the end */
			REGION_SIZE - 64,         /* starts inside, does not fit */
			REGION_SIZE - f[i].one,   /* room for one element, not for all */
			REGION_SIZE + 4096,
			good + 8,                 /* not cache-line aligned */
			good + 1,
			0,                        /* on top of the header */
			64,
			1ull << 63,               /* wraps when a length is added */
			UINT64_MAX - 63,
		};

		for (size_t b = 0; b < sizeof(bad) / sizeof(bad[0]); b++) {
			if (i == 0 || i == 1 || i == 5) /* single-object areas */
				if (bad[b] == REGION_SIZE - f[i].one)
					continue;
			*f[i].off = bad[b];
			expect_refused(-EPROTO, f[i].name);
		}
		*f[i].off = good;
		ck_assert_msg(nfg_region_check(r.base, REGION_SIZE) == 0, "restored %s: %s", f[i].name,
			      nfg_last_error());
	}
	/* the buffer area: outside, or overrunning the region */
	h->bufs_off = REGION_SIZE;
	expect_refused(-EPROTO, "buffer area");
	h->bufs_off = BUF_PAGE;
	h->bufs_len = REGION_SIZE;
	expect_refused(-EPROTO, "buffer area");
	core_region_destroy(&r);
}
END_TEST

/* Every other field the check covers: NF count, rings, buffer layout,
 * ports, chain. */
START_TEST(test_attach_bad_fields)
{
	struct core_region r;
	struct nfg_region_hdr *h, saved;

	create_ready(&r);
	h = r.base;
	saved = *h;
#define REFUSE(stmt, what) \
	do { \
		stmt; \
		expect_refused(-EPROTO, what); \
		*h = saved; \
		ck_assert_int_eq(nfg_region_check(r.base, REGION_SIZE), 0); \
	} while (0)
	REFUSE(h->max_nfs = 0, "max_nfs");
	REFUSE(h->max_nfs = NFG_MAX_NFS + 1, "max_nfs");
	REFUSE(h->ring_size = 0, "ring_size");
	REFUSE(h->ring_size = 300, "ring_size");
	REFUSE(h->ring_bytes += 64, "ring_bytes");
	/* more NFs' rings than the ring area can hold */
	REFUSE((h->ring_size = 1u << 20, h->ring_bytes = nfg_ring_bytes(1u << 20)), "rings_off");
	REFUSE(h->buf_page_size = 0, "buffer area");
	REFUSE(h->buf_stride = 0, "buffer area");
	REFUSE(h->bufs_per_page = 0, "buffer area");
	REFUSE(h->bufs_per_page += 1, "buffer area");       /* page overflows */
	REFUSE(h->buf_meta_off = h->buf_stride - 32, "buffer area"); /* nfg_pkt overruns */
	REFUSE(h->buf_room_len += 1, "buffer area");        /* room overruns the stride */
	REFUSE(h->buf_room_off = h->buf_stride, "buffer area");
	REFUSE(h->buf_count += h->bufs_per_page, "buffer area"); /* more buffers than pages */
	REFUSE(h->nb_ports = NFG_MAX_PORTS + 1, "nb_ports");
	REFUSE(h->chain_len = NFG_MAX_CHAIN + 1, "chain_len");
#undef REFUSE
	/* the limits themselves are fine */
	h->nb_ports = NFG_MAX_PORTS;
	h->chain_len = NFG_MAX_CHAIN;
	h->max_nfs = 8;
	ck_assert_msg(nfg_region_check(r.base, REGION_SIZE) == 0, "%s", nfg_last_error());
	core_region_destroy(&r);
}
END_TEST

/* Header fields whose sums overflow 32 bits must not slip through
 * nfg_region_check (it once did that arithmetic in uint32_t). */
START_TEST(test_check_overflow)
{
	struct core_region r;
	struct nfg_region_hdr *h;

	create_ready(&r);
	h = r.base;
	/* buf_count + bufs_per_page - 1 wraps to a tiny page count, so a
	 * buf_count of ~4 billion passes as fitting a 6 MiB area */
	h->buf_count = UINT32_MAX - h->bufs_per_page + 2;
	ck_assert_int_eq(nfg_region_check(r.base, REGION_SIZE), -EPROTO);
	core_region_destroy(&r);
}
END_TEST

/* nfg_ring_bytes() of a ring of 2^29 entries wraps 32 bits to 192: a
 * header saying so passed, and the NF indexed 4 GiB of ring entries past
 * a 192-byte ring (found by fuzz_nfcheck) */
START_TEST(test_check_overflow_ring)
{
	struct core_region r;
	struct nfg_region_hdr *h;

	create_ready(&r);
	h = r.base;
	for (uint32_t size = 1u << 29; size; size <<= 1) {
		h->ring_size = size;
		h->ring_bytes = nfg_ring_bytes(size);
		ck_assert_msg(nfg_region_check(r.base, REGION_SIZE) == -EPROTO, "ring_size %u, ring_bytes %u passed",
			      size, h->ring_bytes);
	}
	core_region_destroy(&r);
}
END_TEST

/* An nfg_pkt off its cache line (found by fuzz_nfcheck): a buffer
 * stride or metadata offset that is not a multiple of 64 is refused. */
START_TEST(test_check_misaligned_meta)
{
	struct core_region r;
	struct nfg_region_hdr *h;
	uint32_t stride;

	create_ready(&r);
	h = r.base;
	stride = h->buf_stride;
	ck_assert_int_eq(nfg_region_check(r.base, REGION_SIZE), 0);
	h->buf_stride = stride + 1;
	ck_assert_int_eq(nfg_region_check(r.base, REGION_SIZE), -EPROTO);
	h->buf_stride = stride;
	h->buf_meta_off = 1;
	ck_assert_int_eq(nfg_region_check(r.base, REGION_SIZE), -EPROTO);
	core_region_destroy(&r);
}
END_TEST

START_TEST(test_check_overflow_room)
{
	struct core_region r;
	struct nfg_region_hdr *h;

	create_ready(&r);
	h = r.base;
	/* buf_room_off + buf_room_len wraps below the stride */
	h->buf_room_off = 0xFFFFFF00u;
	h->buf_room_len = 0x200;
	ck_assert_int_eq(nfg_region_check(r.base, REGION_SIZE), -EPROTO);
	core_region_destroy(&r);
}
END_TEST

/* ---- nfg_instance(): the service mirror, read under its sequence -------- */

/* A process serving service 7 from slot 5, its mirror entry @p m. */
static struct nfg_ctx *instance_ctx(struct nfg_service *m)
{
	static struct nfg_ctx ctx;

	memset(&ctx, 0, sizeof(ctx));
	memset(m, 0, sizeof(*m));
	ctx.svc[0].id = 7;
	ctx.svc[0].index = 5;
	ctx.svc[0].route = m;
	ctx.local[7] = 1;
	ctx.nb_svc = 1;
	return &ctx;
}

static void mirror_set(struct nfg_service *m, uint32_t seq, uint16_t nb, const uint16_t *slots)
{
	m->seq = seq;
	m->nb_instances = nb;
	memcpy(m->slots, slots, sizeof(m->slots));
}

/* What it answers, and what it refuses: a mirror being rewritten, an
 * impossible count, a slot listed twice, this slot not listed (not routed
 * to yet), a service it does not serve; k and n untouched then. */
START_TEST(test_instance)
{
	static struct nfg_service m;
	struct nfg_ctx *ctx = instance_ctx(&m);
	uint16_t sl[NFG_MAX_INSTANCES] = { 9, 5, 11 };
	uint32_t k = 99, n = 99;

	mirror_set(&m, 2, 3, sl);
	ck_assert_int_eq(nfg_instance(ctx, 7, &k, &n), 0);
	ck_assert_uint_eq(k, 1);
	ck_assert_uint_eq(n, 3);
	k = n = 99;
	ck_assert_int_eq(nfg_instance(ctx, 0, &k, &n), 0); /* 0: the first service */
	ck_assert_uint_eq(k, 1);
	for (uint16_t i = 0; i < NFG_MAX_INSTANCES; i++)
		sl[i] = (uint16_t)(40 + i);
	sl[15] = 5;
	mirror_set(&m, 0, NFG_MAX_INSTANCES, sl);
	ck_assert_int_eq(nfg_instance(ctx, 7, &k, &n), 0);
	ck_assert_uint_eq(k, 15);
	ck_assert_uint_eq(n, NFG_MAX_INSTANCES);

	k = n = 99;
	ck_assert_int_eq(nfg_instance(ctx, 8, &k, &n), -ENOENT);
	ck_assert_int_eq(nfg_instance(ctx, 300, &k, &n), -ENOENT);
	ctx->svc[0].done = 1;
	ck_assert_int_eq(nfg_instance(ctx, 7, &k, &n), -ENOENT);
	ctx->svc[0].done = 0;
	mirror_set(&m, 3, 3, (const uint16_t[NFG_MAX_INSTANCES]){ 9, 5, 11 }); /* being written */
	ck_assert_int_eq(nfg_instance(ctx, 7, &k, &n), -EAGAIN);
	ck_assert_ptr_nonnull(strstr(nfg_last_error(), "service 7"));
	mirror_set(&m, 4, 0, (const uint16_t[NFG_MAX_INSTANCES]){ 5 });
	ck_assert_int_eq(nfg_instance(ctx, 7, &k, &n), -EAGAIN);
	mirror_set(&m, 4, NFG_MAX_INSTANCES + 1, (const uint16_t[NFG_MAX_INSTANCES]){ 5 });
	ck_assert_int_eq(nfg_instance(ctx, 7, &k, &n), -EAGAIN);
	mirror_set(&m, 4, 0xffff, (const uint16_t[NFG_MAX_INSTANCES]){ 5 });
	ck_assert_int_eq(nfg_instance(ctx, 7, &k, &n), -EAGAIN);
	mirror_set(&m, 4, 3, (const uint16_t[NFG_MAX_INSTANCES]){ 5, 9, 5 });
	ck_assert_int_eq(nfg_instance(ctx, 7, &k, &n), -EAGAIN);
	mirror_set(&m, 4, 3, (const uint16_t[NFG_MAX_INSTANCES]){ 9, 9, 5 });
	ck_assert_int_eq(nfg_instance(ctx, 7, &k, &n), -EAGAIN);
	mirror_set(&m, 4, 2, (const uint16_t[NFG_MAX_INSTANCES]){ 9, 11, 5 }); /* 5 past the count */
	ck_assert_int_eq(nfg_instance(ctx, 7, &k, &n), -EAGAIN);
	ck_assert_uint_eq(k, 99);
	ck_assert_uint_eq(n, 99);
}
END_TEST

/* A writer rewriting the mirror the way the core does (core_route_mirror())
 * between two lists: a reader gets one of them whole, or -EAGAIN, never a
 * mix (slot 5 is 1 of 2 in one, 2 of 3 in the other). */
struct flip {
	struct nfg_service *m;
	volatile int stop;
};

static void *flipper(void *arg)
{
	struct flip *f = arg;
	static const uint16_t a[] = { 6, 5 }, b[] = { 6, 7, 5 };
	uint32_t seq = 0;

	while (!f->stop) {
		const uint16_t *s = seq & 2 ? b : a;
		uint16_t nb = seq & 2 ? 3 : 2;

		__atomic_store_n(&f->m->seq, ++seq, __ATOMIC_RELAXED);
		__atomic_thread_fence(__ATOMIC_RELEASE);
		for (uint16_t i = 0; i < nb; i++)
			__atomic_store_n(&f->m->slots[i], s[i], __ATOMIC_RELAXED);
		__atomic_store_n(&f->m->nb_instances, nb, __ATOMIC_RELEASE);
		__atomic_store_n(&f->m->seq, ++seq, __ATOMIC_RELEASE);
	}
	return NULL;
}

START_TEST(test_instance_racing)
{
	static struct nfg_service m;
	struct nfg_ctx *ctx = instance_ctx(&m);
	struct flip f = { .m = &m };
	uint64_t seen[3] = { 0 };
	pthread_t th;

	mirror_set(&m, 0, 2, (const uint16_t[NFG_MAX_INSTANCES]){ 6, 5 });
	ck_assert_int_eq(pthread_create(&th, NULL, flipper, &f), 0);
	for (int i = 0; i < 200000; i++) {
		uint32_t k, n;
		int rc = nfg_instance(ctx, 7, &k, &n);

		if (rc == -EAGAIN) {
			seen[2]++;
			continue;
		}
		UNIT_EQ(rc, 0);
		UNIT_ASSERT_MSG((k == 1 && n == 2) || (k == 2 && n == 3), "a mixed list: k %u of %u", k, n);
		seen[n - 2]++;
	}
	f.stop = 1;
	pthread_join(th, NULL);
	printf("instance racing: %llu of 2, %llu of 3, %llu EAGAIN\n", (unsigned long long)seen[0],
	       (unsigned long long)seen[1], (unsigned long long)seen[2]);
}
END_TEST

static Suite *region_suite(void)
{
	Suite *s = suite_create("region");
	TCase *cr = tcase_create("create");
	TCase *at = tcase_create("attach");
	TCase *nm = tcase_create("name");

	tcase_add_unchecked_fixture(cr, top_setup, top_teardown);
	tcase_add_checked_fixture(cr, setup, teardown);
	tcase_add_test(cr, test_create_formats);
	tcase_add_test(cr, test_create_bad_args);
	tcase_add_test(cr, test_create_busy);
	tcase_add_test(cr, test_create_after_core_died);
	tcase_add_test(cr, test_create_replaces_stale);
	tcase_add_test(cr, test_create_reformats_in_place);
	tcase_set_timeout(cr, 20);
	tcase_add_unchecked_fixture(at, top_setup, top_teardown);
	tcase_add_checked_fixture(at, setup, teardown);
	tcase_add_test(at, test_check_init_state);
	tcase_add_test(at, test_attach_ready);
	tcase_add_test(at, test_attach_bad_magic);
	tcase_add_test(at, test_attach_bad_version);
	tcase_add_test(at, test_attach_bad_size);
	tcase_add_test(at, test_attach_non_pow2_file);
	tcase_add_test(at, test_attach_bad_offsets);
	tcase_add_test(at, test_attach_bad_fields);
	tcase_add_test(at, test_pkt_check);
	tcase_set_timeout(at, 20);
	tcase_add_test(nm, test_region_name);
	tcase_add_test(nm, test_instance);
	tcase_add_test(nm, test_instance_racing);
	suite_add_tcase(s, nm);
	suite_add_tcase(s, cr);
	suite_add_tcase(s, at);
	{
		TCase *ov = tcase_create("overflow");

		tcase_add_checked_fixture(ov, setup, teardown);
		tcase_add_unchecked_fixture(ov, top_setup, top_teardown);
		tcase_add_test(ov, test_check_overflow);
		tcase_add_test(ov, test_check_overflow_room);
		tcase_add_test(ov, test_check_overflow_ring);
		tcase_add_test(ov, test_check_misaligned_meta);
		suite_add_tcase(s, ov);
	}
	return s;
}

int main(void)
{
	unit_seed_init("test_region");
	return unit_run(region_suite());
}
