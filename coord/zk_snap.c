/*
 * zk_snap — snapshot files (see zk_snap.h).
 */
#include "zk_snap.h"

#include "buf.h"
#include "coordlog.pb-c.h"
#include "crc32c.h"
#include "err.h"
#include "log.h"
#include "zk_txnlog.h"

#include <dirent.h>
#include <errno.h>
#include <fcntl.h>
#include <inttypes.h>
#include <limits.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

static const char *const SNAP_MOD = "zk_snap";

#define ZK_SNAP_MAGIC "SMSS"
#define ZK_SNAP_VERSION 1u
#define ZK_SNAP_HEADER 16
#define ZK_SNAP_MAX_RECORD (64u << 20)

struct zk_snap_writer {
	FILE *f;
	char final[PATH_MAX + 64];
	char tmp[PATH_MAX + 80];
	char dir[PATH_MAX];
	struct wbuf rec;
	uint64_t nodes, sessions;
	int err;
};

static int zk_snap_put(struct zk_snap_writer *w, const Samsa__Coordlog__SnapRecord *r)
{
	uint8_t hdr[8];
	if (w->err)
		return w->err;
	size_t n = samsa__coordlog__snap_record__get_packed_size(r);
	wbuf_reset(&w->rec);
	uint8_t *p = wbuf_reserve(&w->rec, n);
	if (!p)
		return w->err = ERR_NOMEM;
	samsa__coordlog__snap_record__pack(r, p);
	be32_put(hdr, (uint32_t)n);
	be32_put(hdr + 4, crc32c(0, p, n));
	if (fwrite(hdr, 1, 8, w->f) != 8 || fwrite(p, 1, n, w->f) != n)
		return w->err = ERR_IO;
	return 0;
}

int zk_snap_begin(const char *dir, int64_t zxid, struct zk_snap_writer **out, char *errbuf, size_t errlen)
{
	uint8_t hdr[ZK_SNAP_HEADER];
	struct zk_snap_writer *w = calloc(1, sizeof(*w));
	*out = NULL;
	if (!w)
		return ERR_NOMEM;
	snprintf(w->dir, sizeof(w->dir), "%s/version-2", dir);
	mkdir(dir, 0755);
	mkdir(w->dir, 0755);
	snprintf(w->final, sizeof(w->final), "%s/snapshot.%" PRIx64, w->dir, (uint64_t)zxid);
	snprintf(w->tmp, sizeof(w->tmp), "%s.tmp", w->final);
	w->f = fopen(w->tmp, "wb");
	if (!w->f) {
		int e = errno;
		free(w);
		return err_set(errbuf, errlen, ERR_IO, "cannot create %s.tmp: %s", dir, strerror(e));
	}
	setvbuf(w->f, NULL, _IOFBF, 1 << 20);
	wbuf_init(&w->rec, ZK_SNAP_MAX_RECORD);
	memcpy(hdr, ZK_SNAP_MAGIC, 4);
	be32_put(hdr + 4, ZK_SNAP_VERSION);
	be32_put(hdr + 8, (uint32_t)((uint64_t)zxid >> 32));
	be32_put(hdr + 12, (uint32_t)zxid);
	if (fwrite(hdr, 1, sizeof(hdr), w->f) != sizeof(hdr)) {
		zk_snap_abort(w);
		return err_set(errbuf, errlen, ERR_IO, "cannot write a snapshot header");
	}
	*out = w;
	return 0;
}

static Samsa__Coordlog__Acl **zk_snap_acls(const struct zk_acl *acl, int32_t n, Samsa__Coordlog__Acl **store)
{
	Samsa__Coordlog__Acl *a = calloc((size_t)(n > 0 ? n : 1), sizeof(*a));
	Samsa__Coordlog__Acl **pp = calloc((size_t)(n > 0 ? n : 1), sizeof(*pp));
	if (!a || !pp) {
		free(a);
		free(pp);
		return NULL;
	}
	for (int32_t i = 0; i < n; i++) {
		samsa__coordlog__acl__init(&a[i]);
		a[i].perms = acl[i].perms;
		a[i].scheme = (char *)acl[i].scheme;
		a[i].id = (char *)acl[i].id;
		pp[i] = &a[i];
	}
	*store = a;
	return pp;
}

int zk_snap_add_node(struct zk_snap_writer *w, const char *path, const uint8_t *data, int32_t data_len,
		     const struct zk_stat *st, const struct zk_acl *acl, int32_t n_acl)
{
	Samsa__Coordlog__SnapRecord r = SAMSA__COORDLOG__SNAP_RECORD__INIT;
	Samsa__Coordlog__SnapNode node = SAMSA__COORDLOG__SNAP_NODE__INIT;
	Samsa__Coordlog__Acl *store = NULL;
	Samsa__Coordlog__Acl **pp = zk_snap_acls(acl, n_acl, &store);
	if (!pp)
		return w->err = ERR_NOMEM;
	node.path = (char *)path;
	node.data_null = !data || data_len < 0;
	node.data.data = (uint8_t *)(node.data_null ? NULL : data);
	node.data.len = node.data_null ? 0 : (size_t)data_len;
	node.czxid = st->czxid;
	node.mzxid = st->mzxid;
	node.ctime = st->ctime;
	node.mtime = st->mtime;
	node.version = st->version;
	node.cversion = st->cversion;
	node.aversion = st->aversion;
	node.ephemeral_owner = st->ephemeral_owner;
	node.pzxid = st->pzxid;
	node.n_acl = n_acl > 0 ? (size_t)n_acl : 0;
	node.acl = pp;
	r.rec_case = SAMSA__COORDLOG__SNAP_RECORD__REC_NODE;
	r.node = &node;
	int rc = zk_snap_put(w, &r);
	free(store);
	free(pp);
	if (!rc)
		w->nodes++;
	return rc;
}

int zk_snap_add_session(struct zk_snap_writer *w, int64_t id, int32_t timeout_ms, const uint8_t passwd[16])
{
	Samsa__Coordlog__SnapRecord r = SAMSA__COORDLOG__SNAP_RECORD__INIT;
	Samsa__Coordlog__SnapSession s = SAMSA__COORDLOG__SNAP_SESSION__INIT;
	s.id = id;
	s.timeout_ms = timeout_ms;
	s.passwd.data = (uint8_t *)passwd;
	s.passwd.len = ZK_PASSWD_LEN;
	r.rec_case = SAMSA__COORDLOG__SNAP_RECORD__REC_SESSION;
	r.session = &s;
	int rc = zk_snap_put(w, &r);
	if (!rc)
		w->sessions++;
	return rc;
}

static int zk_snap_fsync_path(const char *path, int flags)
{
	int fd = open(path, flags | O_CLOEXEC);
	if (fd < 0)
		return ERR_IO;
	int rc = fsync(fd) ? ERR_IO : 0;
	close(fd);
	return rc;
}

int zk_snap_finish(struct zk_snap_writer *w)
{
	Samsa__Coordlog__SnapRecord r = SAMSA__COORDLOG__SNAP_RECORD__INIT;
	Samsa__Coordlog__SnapTrailer t = SAMSA__COORDLOG__SNAP_TRAILER__INIT;
	t.nodes = w->nodes;
	t.sessions = w->sessions;
	r.rec_case = SAMSA__COORDLOG__SNAP_RECORD__REC_TRAILER;
	r.trailer = &t;
	int rc = zk_snap_put(w, &r);
	if (!rc && (fflush(w->f) || fsync(fileno(w->f))))
		rc = ERR_IO;
	if (fclose(w->f) && !rc)
		rc = ERR_IO;
	w->f = NULL;
	if (!rc && rename(w->tmp, w->final))
		rc = ERR_IO;
	if (!rc)
		rc = zk_snap_fsync_path(w->dir, O_RDONLY | O_DIRECTORY);
	if (rc) {
		log_error(SNAP_MOD, "snapshot %s failed: %s", w->final, strerror(errno));
		unlink(w->tmp);
	}
	wbuf_free(&w->rec);
	free(w);
	return rc;
}

void zk_snap_abort(struct zk_snap_writer *w)
{
	if (!w)
		return;
	if (w->f)
		fclose(w->f);
	unlink(w->tmp);
	wbuf_free(&w->rec);
	free(w);
}

/* ---- loading ---- */

/* One pass over a snapshot image: validate only (deliver == false) or deliver. */
static int zk_snap_pass(const uint8_t *buf, size_t len, bool deliver, zk_snap_node_cb node_cb,
			zk_snap_session_cb session_cb, void *arg, const char **why, size_t *at)
{
	uint64_t nodes = 0, sessions = 0;
	bool trailer = false;
	size_t off = ZK_SNAP_HEADER;
	int rc = 0;
	struct zk_acl small[8];

	*why = NULL;
	while (off < len && !rc) {
		*at = off;
		if (trailer) {
			*why = "data after the trailer";
			return ERR_CORRUPT;
		}
		if (len - off < 8) {
			*why = "record header cut short";
			return ERR_CORRUPT;
		}
		uint32_t rlen = be32_get(buf + off);
		uint32_t crc = be32_get(buf + off + 4);
		if (rlen > ZK_SNAP_MAX_RECORD || len - off - 8 < rlen) {
			*why = "record cut short";
			return ERR_CORRUPT;
		}
		const uint8_t *p = buf + off + 8;
		if (crc32c(0, p, rlen) != crc) {
			*why = "CRC mismatch";
			return ERR_CORRUPT;
		}
		Samsa__Coordlog__SnapRecord *r = samsa__coordlog__snap_record__unpack(NULL, rlen, p);
		if (!r) {
			*why = "record does not decode";
			return ERR_CORRUPT;
		}
		switch (r->rec_case) {
		case SAMSA__COORDLOG__SNAP_RECORD__REC_NODE: {
			Samsa__Coordlog__SnapNode *n = r->node;
			if (!n->path || n->path[0] != '/' || n->data.len > INT32_MAX ||
			    (nodes == 0 && strcmp(n->path, "/"))) {
				*why = "bad node record";
				rc = ERR_CORRUPT;
				break;
			}
			nodes++;
			if (!deliver)
				break;
			struct zk_acl *acl = n->n_acl <= 8 ? small : calloc(n->n_acl, sizeof(*acl));
			if (!acl) {
				rc = ERR_NOMEM;
				break;
			}
			for (size_t i = 0; i < n->n_acl; i++) {
				acl[i].perms = n->acl[i]->perms;
				acl[i].scheme = n->acl[i]->scheme ? n->acl[i]->scheme : "";
				acl[i].id = n->acl[i]->id ? n->acl[i]->id : "";
			}
			struct zk_stat st = { n->czxid, n->mzxid, n->ctime, n->mtime, n->version, n->cversion,
					      n->aversion, n->ephemeral_owner, 0, 0, n->pzxid };
			const uint8_t *data = n->data_null ? NULL : (n->data.data ? n->data.data : (const uint8_t *)"");
			rc = node_cb ? node_cb(n->path, data, n->data_null ? -1 : (int32_t)n->data.len, &st, acl,
					       (int32_t)n->n_acl, arg)
				     : 0;
			if (acl != small)
				free(acl);
			if (rc)
				*why = "node does not load";
			break;
		}
		case SAMSA__COORDLOG__SNAP_RECORD__REC_SESSION:
			if (r->session->passwd.len != ZK_PASSWD_LEN || r->session->timeout_ms <= 0) {
				*why = "bad session record";
				rc = ERR_CORRUPT;
				break;
			}
			sessions++;
			if (deliver && session_cb)
				rc = session_cb(r->session->id, r->session->timeout_ms, r->session->passwd.data, arg);
			break;
		case SAMSA__COORDLOG__SNAP_RECORD__REC_TRAILER:
			if (r->trailer->nodes != nodes || r->trailer->sessions != sessions) {
				*why = "trailer counts do not match";
				rc = ERR_CORRUPT;
			}
			trailer = true;
			break;
		default:
			*why = "unexpected record";
			rc = ERR_CORRUPT;
			break;
		}
		samsa__coordlog__snap_record__free_unpacked(r, NULL);
		off += 8 + (size_t)rlen;
	}
	if (!rc && !trailer) {
		*why = "no trailer";
		*at = off;
		rc = ERR_CORRUPT;
	}
	return rc;
}

int zk_snap_load_file(const char *path, zk_snap_node_cb node_cb, zk_snap_session_cb session_cb, void *arg,
		      int64_t *zxid, char *errbuf, size_t errlen)
{
	FILE *f = fopen(path, "rb");
	struct stat st;
	if (!f)
		return err_set(errbuf, errlen, ERR_IO, "cannot open %s: %s", path, strerror(errno));
	if (fstat(fileno(f), &st) || st.st_size < ZK_SNAP_HEADER) {
		fclose(f);
		return err_set(errbuf, errlen, ERR_CORRUPT, "%s: too short", path);
	}
	size_t len = (size_t)st.st_size;
	uint8_t *buf = malloc(len);
	if (!buf) {
		fclose(f);
		return ERR_NOMEM;
	}
	size_t got = fread(buf, 1, len, f);
	fclose(f);
	int rc = 0;
	const char *why = NULL;
	size_t at = 0;
	if (got != len) {
		rc = err_set(errbuf, errlen, ERR_IO, "%s: short read", path);
	} else if (memcmp(buf, ZK_SNAP_MAGIC, 4) || be32_get(buf + 4) != ZK_SNAP_VERSION) {
		rc = err_set(errbuf, errlen, ERR_VERSION,
			     "%s is not a samsa snapshot of version %u (foreign or damaged header)", path,
			     ZK_SNAP_VERSION);
	} else {
		rc = zk_snap_pass(buf, len, false, NULL, NULL, NULL, &why, &at);
		if (!rc)
			rc = zk_snap_pass(buf, len, true, node_cb, session_cb, arg, &why, &at);
		if (rc)
			err_set(errbuf, errlen, rc, "%s: %s at offset %zu", path, why ? why : err_str(rc), at);
		else
			*zxid = (int64_t)(((uint64_t)be32_get(buf + 8) << 32) | be32_get(buf + 12));
	}
	free(buf);
	return rc;
}

static int zk_snap_list(const char *dir, int64_t **out, size_t *n)
{
	return zk_txnlog_list(dir, "snapshot.", out, n);
}

int zk_snap_load_latest(const char *dir, zk_snap_node_cb node_cb, zk_snap_session_cb session_cb, void *arg,
			int64_t *zxid, char *errbuf, size_t errlen)
{
	int64_t *z = NULL;
	size_t n = 0;
	*zxid = 0;
	int rc = zk_snap_list(dir, &z, &n);
	if (rc) {
		free(z);
		return err_set(errbuf, errlen, rc, "cannot list %s/version-2", dir);
	}
	for (size_t i = n; i-- > 0;) {
		char path[PATH_MAX + 64];
		char eb[512] = "";
		snprintf(path, sizeof(path), "%s/version-2/snapshot.%" PRIx64, dir, (uint64_t)z[i]);
		rc = zk_snap_load_file(path, node_cb, session_cb, arg, zxid, eb, sizeof(eb));
		if (!rc) {
			log_info(SNAP_MOD, "loaded snapshot %s", path);
			break;
		}
		if (rc != ERR_CORRUPT && rc != ERR_IO) {
			/* a foreign file (e.g. a real ZooKeeper's snapshot): starting from an older or
			 * empty state would silently drop its data; or a callback refused a node and
			 * the state is half-built. Either way: give up. */
			err_set(errbuf, errlen, rc, "%s", eb);
			break;
		}
		log_warn(SNAP_MOD, "skipping invalid snapshot: %s", eb);
		rc = 0;
	}
	free(z);
	return rc;
}

int zk_snap_purge(const char *snap_dir, const char *log_dir, int retain_count)
{
	int64_t *z = NULL, *logs = NULL;
	size_t n = 0, nl = 0;
	char path[PATH_MAX + 64];
	if (retain_count < 3)
		retain_count = 3;
	int rc = zk_snap_list(snap_dir, &z, &n);
	if (rc || n <= (size_t)retain_count) {
		free(z);
		return rc;
	}
	int64_t oldest_kept = z[n - (size_t)retain_count];
	for (size_t i = 0; i + (size_t)retain_count < n; i++) {
		snprintf(path, sizeof(path), "%s/version-2/snapshot.%" PRIx64, snap_dir, (uint64_t)z[i]);
		if (unlink(path) == 0)
			log_info(SNAP_MOD, "purged %s", path);
	}
	rc = zk_txnlog_files(log_dir, &logs, &nl);
	/* a log file holds zxids [start, next start): removable when next start <= oldest kept */
	for (size_t i = 0; !rc && i + 1 < nl; i++) {
		if (logs[i + 1] > oldest_kept)
			break;
		snprintf(path, sizeof(path), "%s/version-2/log.%" PRIx64, log_dir, (uint64_t)logs[i]);
		if (unlink(path) == 0)
			log_info(SNAP_MOD, "purged %s", path);
	}
	free(z);
	free(logs);
	return rc;
}
