/* Lock path validation, node names, and the random guid. */
#include "zklock_int.h"

#include <errno.h>
#include <string.h>
#include <sys/random.h>

/* Length of the UTF-8 sequence at s (1..4), or 0 if invalid. Rejects
 * overlongs, surrogates and code points above U+10FFFF. */
static int utf8_len(const unsigned char *s) {
  unsigned c = s[0];
  if (c < 0x80)
    return 1;
  int n;
  unsigned cp, min;
  if ((c & 0xe0) == 0xc0) {
    n = 2, cp = c & 0x1f, min = 0x80;
  } else if ((c & 0xf0) == 0xe0) {
    n = 3, cp = c & 0x0f, min = 0x800;
  } else if ((c & 0xf8) == 0xf0) {
    n = 4, cp = c & 0x07, min = 0x10000;
  } else {
    return 0;
  }
  for (int i = 1; i < n; i++) {
    if ((s[i] & 0xc0) != 0x80)
      return 0;
    cp = (cp << 6) | (s[i] & 0x3f);
  }
  if (cp < min || cp > 0x10ffff || (cp >= 0xd800 && cp <= 0xdfff))
    return 0;
  /* ZooKeeper rejects these too (PathUtils.validatePath). */
  if ((cp >= 0x7f && cp <= 0x9f) || (cp >= 0xe000 && cp <= 0xf8ff) ||
      cp >= 0xfff0)
    return 0;
  return n;
}

int zklock_path_validate(const char *path) {
  if (!path || path[0] != '/' || path[1] == '\0')
    return ZKLOCK_EPATH;
  size_t len = strlen(path);
  if (len > ZKLOCK_PATH_MAX || path[len - 1] == '/')
    return ZKLOCK_EPATH;
  /* /zookeeper is ZooKeeper's own subtree (quotas, config). */
  if (strncmp(path, "/zookeeper", 10) == 0 &&
      (path[10] == '\0' || path[10] == '/'))
    return ZKLOCK_EPATH;
  const unsigned char *p = (const unsigned char *)path;
  for (size_t i = 0; i < len;) {
    if (p[i] == '/') {
      const char *comp = path + i + 1;
      size_t clen = strcspn(comp, "/");
      if (clen == 0 || (clen == 1 && comp[0] == '.') ||
          (clen == 2 && comp[0] == '.' && comp[1] == '.'))
        return ZKLOCK_EPATH;
      i++;
      continue;
    }
    if (p[i] < 0x20 || p[i] == 0x7f)
      return ZKLOCK_EPATH;
    int n = utf8_len(p + i);
    if (n == 0)
      return ZKLOCK_EPATH;
    i += (size_t)n;
  }
  return ZKLOCK_OK;
}

/* Valid UTF-8 without control characters (election ids are printed). */
int zklock__text_valid(const char *s) {
  const unsigned char *p = (const unsigned char *)s;
  while (*p) {
    int n = *p < 0x20 ? 0 : utf8_len(p);
    if (n == 0)
      return 0;
    p += n;
  }
  return 1;
}

static int hexval(char ch) {
  if (ch >= '0' && ch <= '9')
    return ch - '0';
  if (ch >= 'a' && ch <= 'f')
    return ch - 'a' + 10;
  return -1;
}

int zklock__name_parse(const char *name, zklock__name *out) {
  if (!name || (name[0] != 'x' && name[0] != 'r' && name[0] != 's') ||
      name[1] != '-')
    return -1;
  const char *g = name + 2;
  for (int i = 0; i < ZKLOCK__GUID_LEN; i++)
    if (hexval(g[i]) < 0)
      return -1;
  const char *s = g + ZKLOCK__GUID_LEN;
  if (*s++ != '-')
    return -1;
  /* ZooKeeper formats the counter with %010d: after the 2^31 wrap it is
   * negative ("-2147483648"). */
  int neg = 0;
  if (*s == '-') {
    neg = 1;
    s++;
  }
  if (*s == '\0')
    return -1;
  int64_t v = 0;
  int digits = 0;
  for (; *s; s++) {
    if (*s < '0' || *s > '9' || ++digits > 10)
      return -1;
    v = v * 10 + (*s - '0');
  }
  if (neg)
    v = -v;
  if (v > INT32_MAX || v < INT32_MIN)
    return -1;
  if (out) {
    out->kind = name[0];
    memcpy(out->guid, g, ZKLOCK__GUID_LEN);
    out->guid[ZKLOCK__GUID_LEN] = '\0';
    out->seq = (int32_t)v;
  }
  return 0;
}

int zklock__guid(char out[ZKLOCK__GUID_LEN + 1]) {
  unsigned char raw[ZKLOCK__GUID_LEN / 2];
  size_t got = 0;
  while (got < sizeof raw) {
    ssize_t r = getrandom(raw + got, sizeof raw - got, 0);
    if (r < 0) {
      if (errno == EINTR)
        continue;
      return -1;
    }
    got += (size_t)r;
  }
  static const char hex[] = "0123456789abcdef";
  for (size_t i = 0; i < sizeof raw; i++) {
    out[2 * i] = hex[raw[i] >> 4];
    out[2 * i + 1] = hex[raw[i] & 15];
  }
  out[ZKLOCK__GUID_LEN] = '\0';
  return 0;
}

/* The nodes of the given kinds ahead of q[me] (idx, *k of them), nearest
 * (largest negative distance) first: insertion, as listings are short
 * next to the round trip that fetched them. */
void zklock__rule_ahead(const zklock__qent *q, int n, int me, const char *kinds,
                        int *idx, int *k) {
  *k = 0;
  for (int i = 0; i < n; i++) {
    int32_t d = zklock__seq_dist(q[i].seq, q[me].seq);
    if (i == me || d >= 0 || !strchr(kinds, q[i].kind))
      continue;
    int j = (*k)++;
    while (j > 0 && zklock__seq_dist(q[idx[j - 1]].seq, q[me].seq) < d) {
      idx[j] = idx[j - 1];
      j--;
    }
    idx[j] = i;
  }
}

int zklock__mark_has(const char *v, int vlen, const char *mark) {
  size_t m = strlen(mark);
  for (int i = 0; v && i + (int)m <= vlen; i++)
    if ((i == 0 || v[i - 1] == '\n') && memcmp(v + i, mark, m) == 0)
      return 1;
  return 0;
}
