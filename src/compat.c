/* Naming profiles (issue 15): name, order and wait for lock nodes exactly
 * as Apache Curator or kazoo do, so zklock queues with them on one path.
 * Pure: no ZooKeeper calls. The engine (src/queue.c) creates and watches;
 * this file decides names and who must go before whom.
 *
 * Sources read: Curator at tag apache-curator-5.4.0 (the Debian 12
 * libcurator-*-java version), curator-recipes/src/main/java/org/apache/
 * curator/framework/recipes/{locks,leader}/..., plus commit 2c283bd9
 * (CURATOR-621, in 5.5.0+); kazoo 2.8.0 as installed by python3-kazoo,
 * /usr/lib/python3/dist-packages/kazoo/recipe/{lock,election}.py. Line
 * numbers below are of those files.
 *
 * NATIVE (zklock): "x-<guid>-<seq>" / "r-<guid>-<seq>", data = owner text.
 *   Order: the counter in serial arithmetic (zklock__seq_cmp, wrap-safe).
 *   A writer/exclusive waits for every earlier node, a reader for every
 *   earlier x node; each watches the nearest (src/queue.c candidates()).
 *   Downgrade: setData on the x node (version > 0 = a reader now).
 *
 * CURATOR 5.4
 *   Names: every recipe creates with withProtection(): "_c_" + UUID
 *   (36 chars) + "-" + lockName + 10-digit counter (ProtectedUtils
 *   PROTECTED_PREFIX "_c_", :54 PROTECTED_PREFIX_WITH_UUID_LENGTH).
 *   lockName: InterProcessMutex "lock-" (InterProcessMutex LOCK_NAME),
 *   InterProcessReadWriteLock "__WRIT__"/"__READ__" (:62-63), LeaderLatch
 *   "latch-" (:87), SemaphoreV2 leases "lease-" (:99).
 *   Data: the client's default data, the local IP address as text
 *   (CuratorFrameworkFactory.getLocalAddress :143, defaultData :167);
 *   LeaderLatch writes its id (LeaderLatch :585, LeaderSelector.getIdBytes).
 *   Sorting: ALL children of the path, whatever their names, sorted by
 *   String.compareTo of the text after the LAST lockName, or of the whole
 *   name when it has none (LockInternals.getSortedChildren :150-174,
 *   StandardLockInternalsDriver.standardFixForSorting :66-75). The rwlock
 *   strips "__READ__" then "__WRIT__" (InterProcessReadWriteLock
 *   SortingLockInternalsDriver.fixForSorting :68-73): readers and writers
 *   share one order. The key is the counter TEXT: string order.
 *   Mutex, writer, latch: holds when its index < maxLeases = 1, i.e. index
 *   0 of all children; otherwise watches index-1 with getData (Standard-
 *   LockInternalsDriver.getsTheLock :33-42, LockInternals.internalLockLoop
 *   :284-301; LeaderLatch.checkLeadership :608-668 the same).
 *   Reader: walks the sorted list; holds when no "__WRIT__" node comes
 *   before it, else watches the FIRST writer (InterProcessReadWriteLock
 *   ReadLock.getsTheLock :141-169); a thread owning the write lock reads
 *   at once (:147).
 *   Downgrade (5.4): the reader's node is a new sequential __READ__ node,
 *   which sorts after writers queued meanwhile, so one of them gets the
 *   lock while the downgraded reader still reads (CURATOR-621). Fixed in
 *   5.5 (2c283bd9): the read node is EPHEMERAL, not sequential, named with
 *   the write node's counter, so it sorts where the write node was. zklock
 *   does the latter in the Curator profile: it keeps 5.4 and 5.5 writers
 *   out, as both sort all children by that key.
 *   Semaphore (InterProcessSemaphoreV2): an InterProcessMutex at
 *   "<path>/locks" (:97, :129); its holder creates "<path>/leases/_c_<uuid>
 *   -lease-<seq>" and holds when the lease pool has <= maxLeases children
 *   (all children counted), else waits for a children change, still
 *   holding the mutex (internalAcquire1Lease :335-435, :395).
 *   Revocation: data "__REVOKE__" on a holder's node (LockInternals :75,
 *   checkRevocableWatcher :251-269).
 *
 * KAZOO 2.8
 *   Names: uuid4().hex (32 hex) + "__lock__" (Lock, WriteLock) or
 *   "__rlock__" (ReadLock) + the server's counter (lock.py :127, :81,
 *   WriteLock/ReadLock _NODE_NAME). Data: the identifier, UTF-8 (:118).
 *   Contenders: children whose names match
 *   "(?:<excluded names>)(-?\d{10})$" (:110-114), anything else is
 *   ignored; Lock excludes "__lock__", WriteLock "__lock__" and
 *   "__rlock__", ReadLock only "__lock__" (_EXCLUDE_NAMES).
 *   Order: sorted(matches, key=m.groups()) (:319): the counter TEXT, sign
 *   included, in string order.
 *   Holder: no contender before its own node; otherwise get() with a
 *   watch on the last contender before it (_get_predecessor :290-324,
 *   _inner_acquire :256-285).
 *   ReadLock bug in 2.8 (kazoo #649, fixed by PR #650 in 2.9): a reader's
 *   own "__rlock__" node does not match its regex, so it waits for the
 *   LAST "__lock__" node of all, even one queued after it, which waits
 *   for the reader: both wait forever. zklock readers wait for the
 *   earlier "__lock__" nodes only (the ZooKeeper shared-lock recipe); it
 *   cannot cure kazoo readers.
 *   zklock in this profile acts as WriteLock for every exclusive hold
 *   (mutex, rwlock writer, election): same "__lock__" names as Lock, and it
 *   also waits for earlier "__rlock__" nodes, so one zklock path serves
 *   kazoo Lock, WriteLock and ReadLock users at once.
 *   Election: a Lock with the identifier (election.py :27, :49).
 *   Semaphore: max_leases as decimal text in the data of <path>
 *   (_ensure_path: set if created, else compared, ValueError if it
 *   differs); a kazoo Lock at "<path>-__lock__" (lock_path); its holder
 *   lists <path> with a watch and creates its lease "<path>/<32 hex>"
 *   (EPHEMERAL, not sequential, data = identifier) only when the pool has
 *   fewer than max_leases children, holds when that node exists, else
 *   waits for a children change holding the lock (_get_lease,
 *   _inner_acquire).
 *
 * GUARANTEES A PROFILE CANNOT KEEP (zklock(3) "Interoperability"):
 *   - Wrap-safe order: both libraries compare the counter as text. Past
 *     2^31 ZooKeeper prints "-2147483648", which sorts before
 *     "0000000000"; kazoo does not even see counters in (-10^9, 0)
 *     (fewer than 10 digits). zklock follows the library's order (it must,
 *     to agree with it) and answers ZKLOCK__C_EUNSAFE when kazoo could not
 *     see a node.
 *   - The holder's own-node watch still turns a zklock hold LOST when the
 *     node is deleted, but Curator and kazoo holders do not notice that.
 *   - Fencing tokens (czxid of the node) stay increasing across zklock
 *     holders, but Curator/kazoo holders carry none: a fenced resource sees
 *     only zklock's writes fenced.
 *   - Readers and downgrade: a zklock downgrade is visible to Curator and
 *     kazoo (a non-sequential read node at the write counter); a Curator
 *     5.4 downgrade is not safe against anyone (CURATOR-621); kazoo 2.8
 *     readers may deadlock with later writers (kazoo #649).
 *   - Re-entrancy and read-while-writing stay per zklock handle; Curator's
 *     "the write owner may read" (:147) is per JVM thread.
 *   - A Curator revocation request ("__REVOKE__") is not acted on unless
 *     the engine chooses to; kazoo has none.
 *   - Foreign junk: Curator sorts every child (an unknown name can sort
 *     first and hold its writers back forever); kazoo ignores unknown names
 *     entirely. zklock refuses such paths (EFOREIGN) in every profile.
 */
#define _GNU_SOURCE
#include "compat.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/random.h>

/* ---- parsing ---- */

static int is_hex(char c) {
  return (c >= '0' && c <= '9') || (c >= 'a' && c <= 'f');
}
static int is_digit(char c) { return c >= '0' && c <= '9'; }

static int all_hex(const char *s, size_t n) {
  for (size_t i = 0; i < n; i++)
    if (!is_hex(s[i]))
      return 0;
  return 1;
}

/* "-?[0-9]+" to end of string, fitting int64: 1 and *v, else 0. */
static int parse_num(const char *s, int64_t *v, int *ndigits) {
  int neg = *s == '-';
  if (neg)
    s++;
  if (!*s)
    return 0;
  int64_t x = 0;
  int d = 0;
  for (; *s; s++) {
    if (!is_digit(*s) || ++d > 18)
      return 0;
    x = x * 10 + (*s - '0');
  }
  *v = neg ? -x : x;
  if (ndigits)
    *ndigits = d;
  return 1;
}

/* Java's UUID.toString(): 8-4-4-4-12 lowercase hex. */
static int is_uuid(const char *s) {
  for (int i = 0; i < 36; i++) {
    if (i == 8 || i == 13 || i == 18 || i == 23) {
      if (s[i] != '-')
        return 0;
    } else if (!is_hex(s[i]) && !(s[i] >= 'A' && s[i] <= 'F')) {
      return 0;
    }
  }
  return 1;
}

static void set_id(zklock__cname *o, const char *s, size_t n) {
  if (n >= sizeof o->id)
    n = 0;
  memcpy(o->id, s, n);
  o->id[n] = '\0';
}

static void clear(zklock__cname *o) {
  memset(o, 0, sizeof *o);
  o->profile = -1;
  o->key_off = -1;
}

static int parse_native(const char *name, zklock__cname *o) {
  zklock__name nm;
  if (zklock__name_parse(name, &nm))
    return -1;
  o->profile = ZKLOCK__P_NATIVE;
  o->kind = nm.kind;
  set_id(o, nm.guid, ZKLOCK__GUID_LEN);
  o->seq = nm.seq;
  o->seq_ok = 1;
  o->key_off = 2 + ZKLOCK__GUID_LEN + 1;
  return 0;
}

/* Curator's words after "_c_<uuid>-", and the kind each stands for. */
static const struct {
  const char *word;
  char kind;
} curator_words[] = {
    {"lock-", 'x'},    /* InterProcessMutex (also SemaphoreV2's locks) */
    {"__WRIT__", 'x'}, /* InterProcessReadWriteLock writer */
    {"__READ__", 'r'}, /* InterProcessReadWriteLock reader */
    {"latch-", 'e'},   /* LeaderLatch */
    {"lease-", 'l'},   /* InterProcessSemaphoreV2 lease */
};

/* Returns the word index of a Curator name, or -1. */
static int curator_word(const char *name) {
  if (strncmp(name, "_c_", 3) || strlen(name) < 3 + 36 + 1 ||
      !is_uuid(name + 3) || name[39] != '-')
    return -2; /* not Curator at all */
  const char *rest = name + 40;
  for (size_t i = 0; i < sizeof curator_words / sizeof curator_words[0]; i++)
    if (strncmp(rest, curator_words[i].word, strlen(curator_words[i].word)) ==
        0)
      return (int)i;
  return -1; /* Curator's protection, unknown recipe */
}

static int parse_curator(const char *name, zklock__cname *o) {
  if (strcmp(name, "locks") == 0 || strcmp(name, "leases") == 0) {
    /* InterProcessSemaphoreV2 LOCK_PARENT / LEASE_PARENT (:97-98) */
    o->profile = ZKLOCK__P_CURATOR;
    o->kind = 's';
    return 0;
  }
  int w = curator_word(name);
  if (w == -2)
    return -1;
  o->profile = ZKLOCK__P_CURATOR;
  set_id(o, name + 3, 36);
  if (w < 0)
    return 0;
  const char *word = curator_words[w].word;
  o->kind = curator_words[w].kind;
  /* standardFixForSorting: the text after the LAST occurrence of the
   * word (the uuid cannot hold one, so it is right after it). */
  const char *key = name + 40, *p;
  while ((p = strstr(key, word)))
    key = p + strlen(word);
  o->key_off = (int)(key - name);
  o->seq_ok = parse_num(key, &o->seq, NULL);
  return 0;
}

/* kazoo: "<anything>(__lock__|__rlock__)(-?\d{10})$" (lock.py :110-114).
 * Counters kazoo's regex misses (after the wrap, "-000000005") are still
 * kazoo nodes here, with seq_ok = 0. */
static int parse_kazoo(const char *name, zklock__cname *o) {
  size_t len = strlen(name);
  if (len == 32 && all_hex(name, 32)) { /* a Semaphore lease */
    o->profile = ZKLOCK__P_KAZOO;
    o->kind = 'l';
    set_id(o, name, 32);
    return 0;
  }
  size_t end = len; /* digits [d, len) */
  while (end > 0 && is_digit(name[end - 1]))
    end--;
  if (end == len)
    return -1;
  size_t d = end;
  if (end > 0 && name[end - 1] == '-')
    end--;
  static const char *const words[] = {"__lock__", "__rlock__"};
  for (int i = 0; i < 2; i++) {
    size_t wl = strlen(words[i]);
    if (end < wl || strncmp(name + end - wl, words[i], wl))
      continue;
    o->profile = ZKLOCK__P_KAZOO;
    o->kind = i == 0 ? 'x' : 'r';
    size_t idlen = end - wl;
    if (idlen == 32 && all_hex(name, 32))
      set_id(o, name, 32);
    o->key_off = (int)end;
    o->seq_ok = parse_num(name + end, &o->seq, NULL) && len - d == 10;
    return 0;
  }
  return -1;
}

/* org.apache.zookeeper.recipes.lock.WriteLock: "x-<session id>-<seq>". */
static int parse_zkrecipes(const char *name, zklock__cname *o) {
  if (name[0] != 'x' || name[1] != '-' || !is_digit(name[2]))
    return -1;
  const char *dash = strchr(name + 2, '-');
  if (!dash)
    return -1;
  for (const char *p = name + 2; p < dash; p++)
    if (!is_digit(*p))
      return -1;
  int64_t v;
  if (!parse_num(dash + 1, &v, NULL))
    return -1;
  o->profile = ZKLOCK__P_ZKRECIPES;
  o->kind = 'x';
  set_id(o, name + 2, (size_t)(dash - name - 2));
  o->seq = v;
  o->seq_ok = 1;
  o->key_off = (int)(dash + 1 - name);
  return 0;
}

int zklock__cname_parse(int profile_hint, const char *name,
                        zklock__cname *out) {
  clear(out);
  if (!name)
    return -1;
  static int (*const parsers[])(const char *, zklock__cname *) = {
      parse_native, parse_curator, parse_kazoo, parse_zkrecipes};
  if (profile_hint >= 0 && profile_hint < 4 &&
      parsers[profile_hint](name, out) == 0)
    return 0;
  for (int p = 0; p < 4; p++) {
    if (p == profile_hint)
      continue;
    clear(out);
    if (parsers[p](name, out) == 0)
      return 0;
  }
  clear(out);
  return -1;
}

const char *zklock__cname_library(int profile) {
  switch (profile) {
  case ZKLOCK__P_NATIVE:
    return "zklock";
  case ZKLOCK__P_CURATOR:
    return "Curator";
  case ZKLOCK__P_KAZOO:
    return "kazoo";
  case ZKLOCK__P_ZKRECIPES:
    return "ZooKeeper recipes";
  default:
    return "unknown";
  }
}

/* ---- names of our nodes ---- */

static int random_bytes(unsigned char *b, size_t n) {
  size_t got = 0;
  while (got < n) {
    ssize_t r = getrandom(b + got, n - got, 0);
    if (r < 0)
      return -1;
    got += (size_t)r;
  }
  return 0;
}

int zklock__profile_id(int profile, char *buf, size_t len) {
  static const char hex[] = "0123456789abcdef";
  if (!buf)
    return -1;
  if (profile == ZKLOCK__P_NATIVE) {
    if (len < ZKLOCK__GUID_LEN + 1 || zklock__guid(buf))
      return -1;
    return ZKLOCK__GUID_LEN;
  }
  if (profile != ZKLOCK__P_CURATOR && profile != ZKLOCK__P_KAZOO)
    return -1;
  unsigned char r[16];
  if (random_bytes(r, sizeof r))
    return -1;
  r[6] = (unsigned char)((r[6] & 0x0f) | 0x40); /* version 4 */
  r[8] = (unsigned char)((r[8] & 0x3f) | 0x80); /* RFC 4122 variant */
  size_t need = profile == ZKLOCK__P_CURATOR ? 36 : 32;
  if (len < need + 1)
    return -1;
  size_t k = 0;
  for (int i = 0; i < 16; i++) {
    if (profile == ZKLOCK__P_CURATOR && (i == 4 || i == 6 || i == 8 || i == 10))
      buf[k++] = '-';
    buf[k++] = hex[r[i] >> 4];
    buf[k++] = hex[r[i] & 15];
  }
  buf[k] = '\0';
  return (int)k;
}

/* snprintf's answer n into a buffer of len: the length, or -1 if cut. */
static int fit(size_t len, int n) { return n < 0 || (size_t)n >= len ? -1 : n; }

int zklock__cname_prefix(int profile, int recipe, char kind, const char *id,
                         char *buf, size_t len) {
  if (!id || !buf)
    return -1;
  switch (profile) {
  case ZKLOCK__P_NATIVE:
    if ((kind != 'x' && kind != 'r') || strlen(id) != ZKLOCK__GUID_LEN)
      return -1;
    return fit(len, snprintf(buf, len, "%c-%s-", kind, id));
  case ZKLOCK__P_CURATOR: {
    const char *word = NULL;
    if (strlen(id) != 36 || !is_uuid(id))
      return -1;
    if (kind == 'l')
      word = "lease-";
    else if (recipe == ZKLOCK__R_RWLOCK && (kind == 'x' || kind == 'r'))
      word = kind == 'x' ? "__WRIT__" : "__READ__";
    else if (recipe == ZKLOCK__R_ELECTION && (kind == 'x' || kind == 'e'))
      word = "latch-";
    else if ((recipe == ZKLOCK__R_MUTEX || recipe == ZKLOCK__R_SEMLOCK) &&
             kind == 'x')
      word = "lock-";
    if (!word)
      return -1;
    return fit(len, snprintf(buf, len, "_c_%s-%s", id, word));
  }
  case ZKLOCK__P_KAZOO:
    if (strlen(id) != 32 || !all_hex(id, 32))
      return -1;
    if (kind == 'l')
      return fit(len, snprintf(buf, len, "%s", id));
    if (kind == 'r' && recipe == ZKLOCK__R_RWLOCK)
      return fit(len, snprintf(buf, len, "%s__rlock__", id));
    if (kind == 'x' || (kind == 'e' && recipe == ZKLOCK__R_ELECTION))
      return fit(len, snprintf(buf, len, "%s__lock__", id));
    return -1;
  default:
    return -1;
  }
}

int zklock__cname_sequential(int profile, char kind) {
  return !(profile == ZKLOCK__P_KAZOO && kind == 'l');
}

int zklock__cname_downgrade(int profile, const char *newid, const char *myname,
                            char *buf, size_t len) {
  zklock__cname me;
  if (!newid || !myname || !buf || zklock__cname_parse(profile, myname, &me) ||
      me.profile != profile || me.kind != 'x' || me.key_off < 0)
    return -1;
  const char *seq = myname + me.key_off;
  if (profile == ZKLOCK__P_CURATOR) {
    /* only a __WRIT__ node has a read side */
    if (strlen(newid) != 36 || !is_uuid(newid) || !strstr(myname, "__WRIT__"))
      return -1;
    return fit(len, snprintf(buf, len, "_c_%s-__READ__%s", newid, seq));
  }
  if (profile == ZKLOCK__P_KAZOO) {
    if (strlen(newid) != 32 || !all_hex(newid, 32) || !me.seq_ok)
      return -1;
    return fit(len, snprintf(buf, len, "%s__rlock__%s", newid, seq));
  }
  return -1;
}

/* ---- the rule ---- */

/* Whether a parsed child takes part in (profile, recipe)'s queue. */
static int accepted(int profile, int recipe, const char *name,
                    const zklock__cname *c) {
  if (c->profile != profile)
    return 0;
  switch (profile) {
  case ZKLOCK__P_NATIVE:
    return c->kind == 'x' || c->kind == 'r';
  case ZKLOCK__P_CURATOR: {
    int w = curator_word(name);
    if (w < 0)
      return 0;
    const char *word = curator_words[w].word;
    if (recipe == ZKLOCK__R_RWLOCK)
      return !strcmp(word, "__WRIT__") || !strcmp(word, "__READ__");
    if (recipe == ZKLOCK__R_ELECTION)
      return !strcmp(word, "latch-");
    return !strcmp(word, "lock-");
  }
  case ZKLOCK__P_KAZOO:
    /* zklock's exclusive node is a kazoo WriteLock's in every recipe: the
     * same "__lock__" name as Lock (so Lock holders and zklock exclude each
     * other), and it also outlasts earlier "__rlock__" nodes, as WriteLock
     * does (a plain Lock ignores them; waiting for them is never unsafe). */
    return c->kind == 'x' || c->kind == 'r';
  default:
    return 0;
  }
}

int zklock__first_foreign(int profile, int recipe, const char *const *children,
                          int n) {
  zklock__cname c;
  for (int i = 0; i < n; i++) {
    zklock__cname_parse(profile, children[i], &c);
    if (!accepted(profile, recipe, children[i], &c))
      return i;
  }
  return -1;
}

typedef struct {
  int idx;
  int32_t dist;    /* native: serial distance to our counter (< 0) */
  const char *key; /* Curator, kazoo: the library's sort key */
} ahead;

static int by_dist_nearest(const void *a, const void *b) {
  int32_t x = ((const ahead *)a)->dist, y = ((const ahead *)b)->dist;
  return (x < y) - (x > y);
}
/* Java String.compareTo and Python str order agree with strcmp on the
 * keys accepted here: ASCII sign and digits. */
static int by_key_nearest(const void *a, const void *b) {
  return -strcmp(((const ahead *)a)->key, ((const ahead *)b)->key);
}
static int by_key_first(const void *a, const void *b) {
  return strcmp(((const ahead *)a)->key, ((const ahead *)b)->key);
}

int zklock__must_outlast(int profile, int recipe, char mykind,
                         const char *myname, const char *const *children, int n,
                         int *out_idx, int *out_n, int *foreign_idx) {
  if (foreign_idx)
    *foreign_idx = -1;
  if (out_n)
    *out_n = 0;
  if (profile < 0 || profile >= ZKLOCK__P_COUNT || recipe < 0 || recipe > 3 ||
      !myname || (n > 0 && (!children || !out_idx)) || n < 0 || !out_n)
    return ZKLOCK__C_EINVAL;
  zklock__cname me;
  if (zklock__cname_parse(profile, myname, &me) ||
      !accepted(profile, recipe, myname, &me))
    return ZKLOCK__C_EINVAL;
  char kind = me.kind == 'r' ? 'r' : 'x'; /* latch 'e' waits as 'x' */
  if ((mykind == 'r') != (kind == 'r'))
    return ZKLOCK__C_EINVAL;
  ahead *av = malloc(sizeof *av * (size_t)(n > 0 ? n : 1));
  if (!av)
    return ZKLOCK__C_EINVAL;
  int found = 0, k = 0, unsafe = profile == ZKLOCK__P_KAZOO && !me.seq_ok;
  const char *mykey = me.key_off >= 0 ? myname + me.key_off : myname;
  for (int i = 0; i < n; i++) {
    const char *name = children[i];
    if (strcmp(name, myname) == 0) {
      found = 1;
      continue;
    }
    zklock__cname c;
    zklock__cname_parse(profile, name, &c);
    if (!accepted(profile, recipe, name, &c)) {
      if (foreign_idx)
        *foreign_idx = i;
      free(av);
      return ZKLOCK__C_EFOREIGN;
    }
    /* A second node of ours (a lost create that landed): never ahead.
     * Not so for a Curator/kazoo downgrade read node: it gets a fresh id. */
    if (me.id[0] && strcmp(c.id, me.id) == 0)
      continue;
    if (kind == 'r' && c.kind == 'r')
      continue; /* readers never wait for readers, in every library */
    if (profile == ZKLOCK__P_NATIVE) {
      int32_t d = zklock__seq_dist((int32_t)c.seq, (int32_t)me.seq);
      if (d >= 0)
        continue;
      av[k].dist = d;
    } else {
      if (profile == ZKLOCK__P_KAZOO && !c.seq_ok) {
        unsafe = 1; /* kazoo cannot order it: neither can we */
        continue;
      }
      const char *key = name + c.key_off;
      /* A tie is only a downgrade read node next to its write node:
       * count it as ahead (whichever order the library's stable sort of
       * the server's listing gives). */
      if (strcmp(key, mykey) > 0)
        continue;
      av[k].key = key;
    }
    av[k].idx = i;
    k++;
  }
  if (!found) {
    free(av);
    return ZKLOCK__C_ENOTME;
  }
  if (unsafe) {
    free(av);
    return ZKLOCK__C_EUNSAFE;
  }
  if (profile == ZKLOCK__P_NATIVE)
    qsort(av, (size_t)k, sizeof *av, by_dist_nearest);
  else if (profile == ZKLOCK__P_CURATOR && kind == 'r')
    /* ReadLock.getsTheLock watches the first writer (:168) */
    qsort(av, (size_t)k, sizeof *av, by_key_first);
  else
    /* index-1 (Curator), the predecessor (kazoo): the nearest */
    qsort(av, (size_t)k, sizeof *av, by_key_nearest);
  for (int i = 0; i < k; i++)
    out_idx[i] = av[i].idx;
  *out_n = k;
  free(av);
  return ZKLOCK__C_OK;
}

/* ---- semaphores ---- */

int zklock__sem_paths(int profile, const char *path, char *lock_path,
                      size_t lock_len, char *pool_path, size_t pool_len) {
  if (!path || !lock_path || !pool_path)
    return -1;
  if (profile == ZKLOCK__P_CURATOR) {
    if (fit(lock_len, snprintf(lock_path, lock_len, "%s/locks", path)) < 0 ||
        fit(pool_len, snprintf(pool_path, pool_len, "%s/leases", path)) < 0)
      return -1;
    return 0;
  }
  if (profile == ZKLOCK__P_KAZOO) {
    if (fit(lock_len, snprintf(lock_path, lock_len, "%s-__lock__", path)) < 0 ||
        fit(pool_len, snprintf(pool_path, pool_len, "%s", path)) < 0)
      return -1;
    return 0;
  }
  return -1;
}

int zklock__sem_rule(int profile, const char *mine, const char *const *children,
                     int n, int max_leases) {
  if (max_leases < 1 || n < 0 || (n > 0 && !children))
    return ZKLOCK__C_EINVAL;
  int listed = 0;
  for (int i = 0; mine && i < n; i++)
    if (strcmp(children[i], mine) == 0)
      listed = 1;
  if (profile == ZKLOCK__P_CURATOR) {
    if (!mine)
      return 1; /* internalAcquire1Lease creates before it counts */
    if (!listed)
      return ZKLOCK__C_ENOTME; /* RETRY_DUE_TO_MISSING_NODE */
    return n <= max_leases ? 2 : 0;
  }
  if (profile == ZKLOCK__P_KAZOO) {
    if (!mine)
      return n < max_leases ? 1 : 0; /* _get_lease */
    return listed ? 2 : ZKLOCK__C_ENOTME;
  }
  return ZKLOCK__C_EINVAL;
}

int zklock__kazoo_max_leases(const char *data, int len, int *out) {
  /* int(data.decode("utf-8")): surrounding whitespace, a sign, digits */
  if (!data || len <= 0)
    return 0;
  int i = 0, end = len;
  while (i < end && (data[i] == ' ' || (data[i] >= '\t' && data[i] <= '\r')))
    i++;
  while (end > i && (data[end - 1] == ' ' ||
                     (data[end - 1] >= '\t' && data[end - 1] <= '\r')))
    end--;
  int neg = 0;
  if (i < end && (data[i] == '+' || data[i] == '-'))
    neg = data[i++] == '-';
  if (i == end)
    return 0;
  long v = 0;
  for (; i < end; i++) {
    if (!is_digit(data[i]) || v > 100000000)
      return 0;
    v = v * 10 + (data[i] - '0');
  }
  if (out)
    *out = (int)(neg ? -v : v);
  return 1;
}

int zklock__curator_is_revoke(const char *data, int len) {
  return data && len == 10 && memcmp(data, "__REVOKE__", 10) == 0;
}
