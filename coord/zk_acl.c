/*
 * zk_acl — ACL checks and fix-ups (see zk_acl.h).
 */
#include "zk_acl.h"

#include "err.h"

#include <arpa/inet.h>
#include <openssl/evp.h>
#include <openssl/sha.h>
#include <stdbool.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

/* Parses "addr" or "addr/bits" (IPv4 or IPv6) into 16 bytes + family + prefix bits. */
static bool zk_ip_parse(const char *s, unsigned char addr[16], int *family, int *bits)
{
	char buf[INET6_ADDRSTRLEN + 8];
	size_t n = strlen(s);
	if (n == 0 || n >= sizeof(buf))
		return false;
	memcpy(buf, s, n + 1);
	char *slash = strchr(buf, '/');
	int maxbits;
	if (slash)
		*slash = '\0';
	memset(addr, 0, 16);
	if (inet_pton(AF_INET, buf, addr) == 1) {
		*family = AF_INET;
		maxbits = 32;
	} else if (inet_pton(AF_INET6, buf, addr) == 1) {
		*family = AF_INET6;
		maxbits = 128;
	} else {
		return false;
	}
	*bits = maxbits;
	if (slash) {
		char *end;
		long b = strtol(slash + 1, &end, 10);
		if (*end || end == slash + 1 || b < 0 || b > maxbits)
			return false;
		*bits = (int)b;
	}
	return true;
}

/* IPAuthenticationProvider.matches: the client address within id's network. */
static bool zk_ip_matches(const char *client, const char *id)
{
	unsigned char a[16], net[16];
	int fa, fn, ba, bn;
	if (!zk_ip_parse(client, a, &fa, &ba) || !zk_ip_parse(id, net, &fn, &bn) || fa != fn)
		return false;
	for (int i = 0; i < bn; i++) {
		int byte = i / 8, bit = 7 - (i % 8);
		if (((a[byte] >> bit) & 1) != ((net[byte] >> bit) & 1))
			return false;
	}
	return true;
}

int zk_acl_check(const struct zk_acl *acl, int32_t n, int32_t perm, const struct zk_auth_id *ids, int32_t n_ids)
{
	if (!acl || n <= 0)
		return 1;
	for (int32_t k = 0; k < n_ids; k++)
		if (!strcmp(ids[k].scheme, "super"))
			return 1;
	for (int32_t i = 0; i < n; i++) {
		if (!(acl[i].perms & perm))
			continue;
		if (!strcmp(acl[i].scheme, "world") && !strcmp(acl[i].id, "anyone"))
			return 1;
		for (int32_t k = 0; k < n_ids; k++) {
			if (strcmp(ids[k].scheme, acl[i].scheme))
				continue;
			if (!strcmp(acl[i].scheme, "ip")) {
				if (zk_ip_matches(ids[k].id, acl[i].id))
					return 1;
			} else if (!strcmp(ids[k].id, acl[i].id)) {
				return 1;
			}
		}
	}
	return 0;
}

int zk_acl_digest(const uint8_t *cred, size_t len, char **out)
{
	unsigned char sha[SHA_DIGEST_LENGTH];
	unsigned char b64[4 * ((SHA_DIGEST_LENGTH + 2) / 3) + 1];
	const uint8_t *colon = memchr(cred, ':', len);
	size_t ulen = colon ? (size_t)(colon - cred) : len;
	SHA1(cred, len, sha);
	int n = EVP_EncodeBlock(b64, sha, SHA_DIGEST_LENGTH);
	*out = malloc(ulen + 1 + (size_t)n + 1);
	if (!*out)
		return ERR_NOMEM;
	memcpy(*out, cred, ulen);
	(*out)[ulen] = ':';
	memcpy(*out + ulen + 1, b64, (size_t)n);
	(*out)[ulen + 1 + (size_t)n] = '\0';
	return 0;
}

void zk_acl_list_free(struct zk_acl *acl, int32_t n)
{
	if (!acl)
		return;
	for (int32_t i = 0; i < n; i++) {
		free((char *)acl[i].scheme);
		free((char *)acl[i].id);
	}
	free(acl);
}

static int zk_acl_push(struct zk_acl **v, int32_t *n, int32_t *cap, int32_t perms, const char *scheme,
		       const char *id)
{
	for (int32_t i = 0; i < *n; i++)
		if ((*v)[i].perms == perms && !strcmp((*v)[i].scheme, scheme) && !strcmp((*v)[i].id, id))
			return 0; /* duplicates removed, as ZooKeeper's fixupACL does */
	if (*n == *cap) {
		int32_t nc = *cap ? *cap * 2 : 4;
		struct zk_acl *nv = realloc(*v, (size_t)nc * sizeof(*nv));
		if (!nv)
			return ERR_NOMEM;
		*v = nv;
		*cap = nc;
	}
	char *s = strdup(scheme), *i = strdup(id);
	if (!s || !i) {
		free(s);
		free(i);
		return ERR_NOMEM;
	}
	(*v)[*n].perms = perms;
	(*v)[*n].scheme = s;
	(*v)[*n].id = i;
	(*n)++;
	return 0;
}

int32_t zk_acl_fixup(const struct zk_acl *in, int32_t n, const struct zk_auth_id *ids, int32_t n_ids,
		     struct zk_acl **out, int32_t *n_out)
{
	struct zk_acl *v = NULL;
	int32_t nv = 0, cap = 0;
	*out = NULL;
	*n_out = 0;
	if (!in || n <= 0)
		return ZK_EINVALIDACL;
	for (int32_t i = 0; i < n; i++) {
		const struct zk_acl *a = &in[i];
		int rc = 0;
		if (!a->scheme || !a->id)
			goto invalid;
		if (!strcmp(a->scheme, "world")) {
			if (strcmp(a->id, "anyone"))
				goto invalid;
			rc = zk_acl_push(&v, &nv, &cap, a->perms, "world", "anyone");
		} else if (!strcmp(a->scheme, "auth")) {
			bool any = false;
			for (int32_t k = 0; k < n_ids && !rc; k++) {
				if (!strcmp(ids[k].scheme, "ip") || !strcmp(ids[k].scheme, "world"))
					continue;
				any = true;
				rc = zk_acl_push(&v, &nv, &cap, a->perms, ids[k].scheme, ids[k].id);
			}
			if (!any)
				goto invalid;
		} else if (!strcmp(a->scheme, "digest")) {
			const char *colon = strchr(a->id, ':');
			if (!colon || colon == a->id || strchr(colon + 1, ':'))
				goto invalid;
			rc = zk_acl_push(&v, &nv, &cap, a->perms, "digest", a->id);
		} else if (!strcmp(a->scheme, "sasl")) {
			/* a SASL-authenticated name (SASLAuthenticationProvider.isValid accepts any id) */
			if (!a->id[0])
				goto invalid;
			rc = zk_acl_push(&v, &nv, &cap, a->perms, "sasl", a->id);
		} else if (!strcmp(a->scheme, "x509")) {
			/* a certificate subject (X509AuthenticationProvider.isValid accepts any id) */
			if (!a->id[0])
				goto invalid;
			rc = zk_acl_push(&v, &nv, &cap, a->perms, "x509", a->id);
		} else if (!strcmp(a->scheme, "ip")) {
			unsigned char addr[16];
			int fam, bits;
			if (!zk_ip_parse(a->id, addr, &fam, &bits))
				goto invalid;
			rc = zk_acl_push(&v, &nv, &cap, a->perms, "ip", a->id);
		} else {
			goto invalid;
		}
		if (rc) {
			zk_acl_list_free(v, nv);
			return ZK_ESYSTEMERROR;
		}
	}
	*out = v;
	*n_out = nv;
	return ZK_OK;
invalid:
	zk_acl_list_free(v, nv);
	return ZK_EINVALIDACL;
}
