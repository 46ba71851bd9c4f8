/* Reference implementations of lock path validation and node-name parsing,
 * written independently of src/names.c (table-driven UTF-8 per Unicode
 * Table 3-7, the character rules of ZooKeeper's PathUtils.validatePath),
 * for the property test and the differential fuzzer. */
#ifndef ZKLOCK_REF_NAMES_H
#define ZKLOCK_REF_NAMES_H

#include <stdint.h>
#include <stdlib.h>
#include <string.h>

/* Well-formed UTF-8 (Unicode 15, Table 3-7): first byte range, then the
 * allowed range of the second byte; later bytes are 80..BF. */
static const struct {
  unsigned char lo, hi, lo2, hi2;
  int len;
} ref_utf8_table[] = {
    {0xc2, 0xdf, 0x80, 0xbf, 2}, {0xe0, 0xe0, 0xa0, 0xbf, 3},
    {0xe1, 0xec, 0x80, 0xbf, 3}, {0xed, 0xed, 0x80, 0x9f, 3},
    {0xee, 0xef, 0x80, 0xbf, 3}, {0xf0, 0xf0, 0x90, 0xbf, 4},
    {0xf1, 0xf3, 0x80, 0xbf, 4}, {0xf4, 0xf4, 0x80, 0x8f, 4},
};

/* Decodes one code point at s; returns its length, 0 if ill-formed. */
static inline int ref_utf8(const unsigned char *s, uint32_t *cp) {
  if (s[0] < 0x80) {
    *cp = s[0];
    return 1;
  }
  for (size_t i = 0; i < sizeof ref_utf8_table / sizeof ref_utf8_table[0];
       i++) {
    if (s[0] < ref_utf8_table[i].lo || s[0] > ref_utf8_table[i].hi)
      continue;
    int n = ref_utf8_table[i].len;
    if (s[1] < ref_utf8_table[i].lo2 || s[1] > ref_utf8_table[i].hi2)
      return 0;
    for (int k = 2; k < n; k++)
      if (s[k] < 0x80 || s[k] > 0xbf)
        return 0;
    uint32_t v = s[0] & (0xff >> (n + 1));
    for (int k = 1; k < n; k++)
      v = v << 6 | (s[k] & 0x3f);
    *cp = v;
    return n;
  }
  return 0;
}

/* ZooKeeper rejects these UTF-16 units; code points above U+FFFF become
 * surrogate pairs (D800..DFFF) and so are rejected too. */
static inline int ref_zk_bad_char(uint32_t c) {
  return (c >= 0x01 && c <= 0x1f) || (c >= 0x7f && c <= 0x9f) ||
         (c >= 0xd800 && c <= 0xf8ff) || c >= 0xfff0;
}

/* 1 if path is a valid lock path (see zklock_path_validate), else 0. */
static inline int ref_path_valid(const char *path) {
  if (!path || path[0] != '/')
    return 0;
  size_t len = strlen(path);
  if (len < 2 || len > 1024 || path[len - 1] == '/')
    return 0;
  if (strcmp(path, "/zookeeper") == 0 || strncmp(path, "/zookeeper/", 11) == 0)
    return 0;
  /* components: split on '/', each non-empty and not . or .. */
  const char *p = path + 1;
  for (;;) {
    const char *e = strchr(p, '/');
    size_t n = e ? (size_t)(e - p) : strlen(p);
    if (n == 0 || (n == 1 && p[0] == '.') ||
        (n == 2 && p[0] == '.' && p[1] == '.'))
      return 0;
    if (!e)
      break;
    p = e + 1;
  }
  const unsigned char *s = (const unsigned char *)path;
  for (size_t i = 0; i < len;) {
    uint32_t cp;
    int n = ref_utf8(s + i, &cp);
    if (n == 0 || ref_zk_bad_char(cp))
      return 0;
    i += (size_t)n;
  }
  return 1;
}

typedef struct {
  char kind;
  char guid[33];
  int32_t seq;
} ref_name;

/* "<x|r>-<32 lowercase hex>-<sequence>", sequence a signed 32-bit decimal
 * of 1..10 digits (ZooKeeper's %010d, negative after the wrap). */
static inline int ref_name_parse(const char *s, ref_name *out) {
  if (!s || (s[0] != 'x' && s[0] != 'r' && s[0] != 's') || s[1] != '-')
    return -1;
  if (strspn(s + 2, "0123456789abcdef") < 32 || s[34] != '-')
    return -1;
  const char *d = s + 35;
  int neg = *d == '-';
  d += neg;
  size_t nd = strspn(d, "0123456789");
  if (nd == 0 || nd > 10 || d[nd] != '\0')
    return -1;
  long long v = strtoll(d, NULL, 10);
  if (neg)
    v = -v;
  if (v < INT32_MIN || v > INT32_MAX)
    return -1;
  if (out) {
    out->kind = s[0];
    memcpy(out->guid, s + 2, 32);
    out->guid[32] = '\0';
    out->seq = (int32_t)v;
  }
  return 0;
}

#endif
