/* zklock's queue protocol (src/queue.c) against one linearizable
 * ZooKeeper store, for spin. See tests/model/README.md.
 *
 * Configured with -D (tests/model/run.sh sets them per model):
 *   NC        clients (3-4)
 *   NP        lock paths (2 for the multi-lock, else 1)
 *   PERMITS   semaphore permits
 *   PROFILE   0 native, 1 Curator, 2 kazoo (naming profile rules)
 *   RECIPE    a profile's node layout (src/compat.h ZKLOCK__R_*)
 *   ROLES     init code giving each client its role (kind, budgets)
 *   MUT_*     the Promela-side mutants of tests/model/mutants.sh
 * The decisions are the C rule functions the engine asks (recipes/,
 * src/names.c, src/compat.c), called from c_code (rule() below). */

#ifndef NC
#define NC 3
#endif
#ifndef NP
#define NP 1
#endif
#ifndef PERMITS
#define PERMITS 1
#endif
#ifndef PROFILE
#define PROFILE 0
#endif
#ifndef RECIPE
#define RECIPE 1 /* a profile's layout: 0 mutex, 1 read-write lock */
#endif
#ifndef MAXN
#define MAXN 6
#endif
#ifdef DEEP /* ./scripts/test.sh --model-deep: one more acquisition each */
#undef MAXN
#define MAXN 8
#endif
#ifndef FOREVER
#define FOREVER 0 /* holders that may keep their hold for ever */
#endif
#define NONE 255

/* node kinds */
#define K_X 0
#define K_R 1
#define K_S 2

/* client states: the engine's, collapsed to what a server round trip
 * separates. ENQ: create to be applied; RECOVER: after a lost create
 * answer, the listing that looks for our guid; LISTQ: getChildren to be
 * applied; WATCHQ: getData+watch to be applied; WAIT: for an event. */
#define IDLE 0
#define ENQ 1
#define RECOVER 2
#define LISTQ 3
#define WATCHQ 4
#define WAIT 5
#define HOLD 6
#define KEEP 7 /* holds for ever (never releases) */
#define DONE 8

#define W_CHAIN 1
#define W_ANY 2
#define W_TURN 3
#define W_PAIR 4 /* a writer watching its two nearest nodes */
#define W_ALL(m) ((m) == W_ANY || (m) == W_PAIR)

/* ---- the server: one path family per path index ---- */
byte nn;              /* slots used; slot order is creation order */
byte alive[MAXN];
byte nown[MAXN];      /* owner client */
byte nsess[MAXN];     /* owner's session number at create */
byte nkind[MAXN];
byte nseq[MAXN];      /* sequence: the slot, except a profile's read node */
byte npath[MAXN];
byte nmark[MAXN];     /* read mark ("mode=r", a native downgrade) */
byte nturn[MAXN];     /* version > 0 (a semaphore turn mark) */
byte wbits[NC];       /* server-side data watches, one bit per slot */
byte evd[NC];         /* delivered, unprocessed NodeDeleted events */
byte evc[NC];         /* ... NodeDataChanged events */

/* ---- the clients ---- */
byte role[NC];        /* kind the client asks for */
byte st[NC];
byte cpath[NC];       /* path of the attempt in flight */
byte mine[NC];        /* our node, NONE while unknown */
byte wn[NC * MAXN];   /* nodes to outlast, nearest first */
byte nw[NC];
byte wtot[NC];
byte wmode[NC];
byte widx[NC];
byte armed[NC];       /* client-side watch entries (slot bits) */
byte wset[NC];        /* ... whose server watch our answered get set and
                         whose event has not come (set, not fired) */
byte wkeep[NC];       /* ... that a listing kept instead of reading again */
byte waited[NC];
byte markpend[NC];    /* a turn mark sent behind the grant, not applied */
byte retried[NC];
byte lostc[NC];
byte sess[NC];
byte hold[NC * NP];   /* slot held per path, NONE */
byte down[NC];        /* downgrade: 1 done (native) / 1 read node made,
                         2 write node gone (profile) */
byte rnode[NC];       /* profile downgrade: the read node */
/* budgets (the environment's choices) */
byte iters[NC];
byte giveup[NC];
byte crash[NC];
byte lostb[NC];
byte candown[NC];
byte keep[NC];        /* keeps its (first) hold for ever */
/* multi-lock */
byte member[NC];      /* member being acquired (path index) */
byte multiok[NC];     /* reported held */
/* properties */
byte lastterm = NONE; /* election: term (seq) of the last leader */
hidden byte hn, hb, hx; /* herd count and bound of one change */

/* Scratch of the atomic steps: hidden (not in the state vector), as no
 * step reads a value an earlier step left. */
hidden byte cur;
hidden byte vg, vm, vt, vn, vmark;
hidden byte i, j, k, n, p, s;

c_decl {
\#include "glue.h"
}

#define waiting(c) (st[c] >= ENQ && st[c] <= WAIT)
#define bit(j) (1 << (j))

/* The herd bound of a change to slot j: the nodes behind it up to and
 * including the first writer that has not downgraded (readers watch the
 * nearest writer; a writer the nearest node), plus the writer right
 * behind those (it watches j as its farther node and lists ahead of its
 * turn: W_PAIR), or one for a lease. */
inline herdbound(j, out) {
  out = 0;
  if
  /* a lease: a delete wakes at most one waiter that must list again (the
   * first waiters it wakes hold), a turn mark the waiter it is for and a
   * first waiter watching the new holder (which reads it again) */
  :: nkind[j] == K_S -> out = 1 + alive[j]
  :: else ->
     k = j + 1;
     do
     :: k < nn ->
        if
        :: alive[k] && npath[k] == npath[j] ->
           out++;
           if
           :: nkind[k] == K_X && !nmark[k] -> break
           :: else -> skip
           fi
        :: else -> skip
        fi;
        k++
     :: else -> break
     od;
     hx = k + 1;
     do
     :: hx < nn ->
        if
        :: alive[hx] && npath[hx] == npath[j] ->
           out = out + (nkind[hx] == K_X);
           break
        :: else -> hx++
        fi
     :: else -> break
     od
  fi
}

/* A change to slot j fires the one-shot watches set on it. Herd bound:
 * the waiters this wakes (a watch of theirs on j that a waiting client
 * will act on; a first semaphore waiter woken by a holder's delete holds,
 * which is no herd) are at most the bound promised (herdbound). */
inline fire(j, isdel) {
  herdbound(j, hb);
  hn = 0;
  k = 0;
  do
  :: k < NC ->
     if
     :: wbits[k] & bit(j) ->
        if
        :: (armed[k] & bit(j)) &&
           (st[k] == WAIT || (st[k] == WATCHQ && W_ALL(wmode[k]))) &&
           !(nkind[j] == K_S && isdel && wmode[k] == W_ANY) -> hn++
        :: else -> skip
        fi;
        wbits[k] = wbits[k] & ~bit(j);
        if
        :: isdel -> evd[k] = evd[k] | bit(j)
        :: else -> evc[k] = evc[k] | bit(j)
        fi
     :: else -> skip
     fi;
     k++
  :: else -> break
  od;
#if PROFILE == 0 && !defined(NO_P_HERD)
  assert(hn <= hb);
#endif
  skip
}

inline delnode(j) {
  alive[j] = 0;
  fire(j, 1)
}

inline setdata(j) {
  fire(j, 0)
}

/* Deletes every node of client c's on path p (give-up: our node, and the
 * guid sweep for a create whose answer was lost). */
inline delmine(c, p) {
  j = 0;
  do
  :: j < nn ->
     if
     :: alive[j] && nown[j] == c && npath[j] == p && hold[c * NP + p] != j ->
        delnode(j)
     :: else -> skip
     fi;
     j++
  :: else -> break
  od
}

/* ---- the rules ---- */

/* The decisions: the C rule functions (tests/model/glue.c hands the
 * listing to recipes/ and src/names.c, or as a profile's names to
 * src/compat.c zklock__must_outlast). */
inline rule(c) {
  cur = c;
  c_code {
    model_tab t = {now.nn, now.alive, now.npath, now.nkind, now.nseq};
    model_verdict v = {0};
    int c = cur;
    if (PROFILE == 0)
      model_native(&t, now.cpath[c], now.mine[c], PERMITS, now.waited[c],
                   &v, &now.wn[c * MAXN]);
    else
      model_profile(&t, PROFILE, RECIPE, now.cpath[c], now.mine[c], &v,
                    &now.wn[c * MAXN]);
    if (!v.ok)
      Uerror("own node not listed");
    vg = v.grant;
    vm = v.mode;
    vt = v.total;
    vn = v.nwatch;
    vmark = v.mark;
  }
}

/* ---- properties, checked where holds begin ---- */
inline check_grant(c) {
  p = cpath[c];
  s = mine[c];
  n = 0;
  k = 0;
  do
  :: k < NC ->
     j = hold[k * NP + p];
     if
     :: k != c && j != NONE && alive[j] && nsess[j] == sess[k] ->
#ifndef NO_P_EXCL
        /* never two exclusive holders; never a reader with a writer */
        assert(!(nkind[s] == K_X && nkind[j] != K_S));
        assert(!(nkind[s] == K_R && nkind[j] == K_X && !nmark[j]));
#endif
        n = n + (nkind[j] == K_S)
     :: else -> skip
     fi;
     k++
  :: else -> break
  od;
#ifndef NO_P_SEM
  assert(nkind[s] != K_S || n < PERMITS); /* at most PERMITS leases */
#endif
#ifndef NO_P_FIFO
  /* FIFO: nothing conflicting is still queued ahead of us */
  n = 0;
  k = 0;
  do
  :: k < nn ->
     if
     :: alive[k] && npath[k] == p && k != s && nseq[k] <= nseq[s] &&
        nown[k] != c ->
        assert(!(nkind[s] == K_X && nkind[k] != K_S));
        assert(!(nkind[s] == K_R && nkind[k] == K_X && !nmark[k]));
        n = n + (nkind[k] == K_S)
     :: else -> skip
     fi;
     k++
  :: else -> break
  od;
  assert(nkind[s] != K_S || n < PERMITS);
#endif
#ifdef ELECTION
#ifndef NO_P_TERMS
  /* terms increase: each leader's czxid is above its predecessor's */
  assert(lastterm == NONE || nseq[s] > lastterm);
#endif
  lastterm = nseq[s];
#endif
  skip
}

/* ---- the engine's steps ---- */

inline reset_att(c) {
  mine[c] = NONE;
  nw[c] = 0;
  wtot[c] = 0;
  wmode[c] = 0;
  widx[c] = 0;
  armed[c] = 0;
  wset[c] = 0;
  wkeep[c] = 0;
  waited[c] = 0;
  retried[c] = 0;
  lostc[c] = 0;
  skip
}

/* grant(): the node must be of this session (CURATOR-696), then a lease
 * that waited (or whose listing shows a node behind it) marks its turn. */
inline grant(c) {
  if
  :: nsess[mine[c]] != sess[c] -> att_end(c)
  :: else ->
     printf("MSC: c%d holds n%d (path %d)\n", c, mine[c], cpath[c]);
     check_grant(c);
     hold[c * NP + cpath[c]] = mine[c];
     markpend[c] = waited[c];
     armed[c] = 0;
     st[c] = HOLD;
#ifdef MULTI
     multi_next(c)
#endif
  fi
}

/* An attempt that ends without a hold (timed out, cancelled, lost): our
 * node(s) on its path go (finish()). */
inline att_end(c) {
  printf("MSC: c%d attempt ends without the hold (path %d)\n", c, cpath[c]);
  delmine(c, cpath[c]);
#ifdef MULTI
  multi_release(c);
#endif
  reset_att(c);
  st[c] = IDLE
}

#ifdef MULTI
/* multi-lock: the members in path order; after the last, the final check
 * (every member held on the current session, else release all, ELOST). */
inline multi_release(c) {
  p = 0;
  do
  :: p < NP ->
     j = hold[c * NP + p];
     if
     :: j != NONE ->
        if
        :: alive[j] -> delnode(j)
        :: else -> skip
        fi;
        hold[c * NP + p] = NONE
     :: else -> skip
     fi;
     p++
  :: else -> break
  od;
  member[c] = 0;
  multiok[c] = 0
}

inline multi_next(c) {
  if
  :: member[c] + 1 < NP ->
     member[c]++;
     reset_att(c);
     cpath[c] = member[c];
     st[c] = ENQ
  :: else ->
     n = 1;
#ifndef MUT_MULTI_NOFINAL
     p = 0;
     do
     :: p < NP ->
        j = hold[c * NP + p];
        n = n && j != NONE && alive[j] && nsess[j] == sess[c];
        p++
     :: else -> break
     od;
#endif
     if
     :: n ->
        multiok[c] = 1;
#ifndef NO_P_MULTI
        /* reported held only if every member is held, on this session */
        p = 0;
        do
        :: p < NP ->
           j = hold[c * NP + p];
           assert(j != NONE && alive[j] && nsess[j] == sess[c]);
           p++
        :: else -> break
        od;
#endif
        skip
     :: else -> att_end(c)
     fi
  fi
}
#endif

/* evaluate(): from a listing, grant or what to watch. */
inline evaluate(c) {
  rule(c);
  if
  :: vg ->
     printf("MSC: c%d lists: granted (mark rule %d)\n", c, vmark);
     if
     :: vmark -> waited[c] = 1
     :: else -> skip
     fi;
     grant(c)
  :: else ->
     printf("MSC: c%d lists: waits (mode %d, %d ahead, watch n%d)\n", c, vm, vt, wn[c * MAXN]);
     nw[c] = vn;
     wtot[c] = vt;
     wmode[c] = vm;
     widx[c] = 0;
     /* set_waits(): a node to watch now whose server watch is still ours
      * (set, not fired) is kept, not read again */
     wkeep[c] = 0;
#ifndef MUT_KEEP_ANY
     n = armed[c] & wset[c];
#else
     n = armed[c];
#endif
     hx = 0;
     i = 0;
     do
     :: i < vn && (i == 0 || W_ALL(vm)) ->
        j = wn[c * MAXN + i];
        if
        :: n & bit(j) -> wkeep[c] = wkeep[c] | bit(j); hx++
        :: else -> skip
        fi;
        i++
     :: else -> break
     od;
     armed[c] = wkeep[c];
     wset[c] = wset[c] & wkeep[c];
     if
     :: role[c] == K_S -> waited[c] = 1
     :: else -> skip
     fi;
     if
     :: hx > 0 && hx == i ->
        /* every node watched now was kept: no request, wait */
        printf("MSC: c%d keeps its watch(es), no read\n", c);
        wkeep[c] = 0;
        st[c] = WAIT
     :: else -> st[c] = WATCHQ
     fi
  fi
}

/* outlasted(): node i that we outlast is gone. */
inline outlasted(c, i) {
  if
  :: wmode[c] == W_ANY -> grant(c)
#ifdef MUT_GRANT_ANY_DELETE
  :: wmode[c] == W_CHAIN -> grant(c)
#endif
#ifdef MUT_PAIR_GRANT_FARTHER
  :: wmode[c] == W_PAIR && i == 1 -> grant(c)
#endif
  :: wmode[c] == W_CHAIN && i == nw[c] - 1 && nw[c] == wtot[c] &&
     PROFILE == 0 -> grant(c)
  :: else -> st[c] = LISTQ
  fi
}

/* watch_nodes() answered: getData with a watch on the watched node(s). */
inline watch_apply(c) {
  if
  :: W_ALL(wmode[c]) ->
     i = 0;
     do
     :: i < nw[c] ->
        j = wn[c * MAXN + i];
        if
        :: wkeep[c] & bit(j) -> i++ /* kept: no get was sent */
        :: !(wkeep[c] & bit(j)) && !alive[j] -> break
        :: !(wkeep[c] & bit(j)) && alive[j] ->
           wbits[c] = wbits[c] | bit(j);
           armed[c] = armed[c] | bit(j);
           wset[c] = wset[c] | bit(j);
           i++
        fi
     :: else -> break
     od;
     wkeep[c] = 0;
     if
     :: i < nw[c] -> outlasted(c, i)
     :: else -> st[c] = WAIT
     fi
  :: else ->
     j = wn[c * MAXN + widx[c]];
     if
     :: !alive[j] -> outlasted(c, widx[c])
     :: else ->
        wbits[c] = wbits[c] | bit(j);
        armed[c] = armed[c] | bit(j);
        wset[c] = wset[c] | bit(j);
        if
        :: wmode[c] == W_TURN ->
#ifndef MUT_SEM_IGNORE_TURN
           if
           :: nturn[j] -> st[c] = LISTQ
           :: else -> st[c] = WAIT
           fi
#else
           st[c] = WAIT
#endif
        :: wmode[c] == W_CHAIN && role[c] == K_R && PROFILE == 0 &&
#ifndef MUT_READER_IGNORE_MARK
           nmark[j] ->
#else
           false ->
#endif
           /* a writer that downgraded: pass it, next one */
           armed[c] = armed[c] & ~bit(j);
           widx[c]++;
           if
           :: widx[c] == nw[c] -> grant(c)
           :: else -> skip /* stays WATCHQ: the next writer */
           fi
        :: else -> st[c] = WAIT
        fi
     fi
  fi
}

/* engine_event(): one event for slot j (deleted if isdel). */
inline on_event(c, j, isdel) {
  printf("MSC: c%d event on n%d (deleted %d)\n", c, j, isdel);
  wset[c] = wset[c] & ~bit(j); /* the server's watch is used up */
  if
  :: (armed[c] & bit(j)) &&
     (st[c] == WAIT || (st[c] == WATCHQ && W_ALL(wmode[c]))) ->
     i = widx[c];
     if
     :: W_ALL(wmode[c]) ->
        i = 0;
        do
        :: wn[c * MAXN + i] != j -> i++
        :: else -> break
        od
     :: else -> skip
     fi;
     if
#ifdef MUT_MARK_AS_RELEASE
     :: !isdel && nmark[j] && wmode[c] == W_CHAIN -> outlasted(c, i)
#endif
     :: isdel && wmode[c] != W_TURN -> outlasted(c, i)
#ifndef MUT_SEM_IGNORE_TURN
     :: wmode[c] == W_TURN -> st[c] = LISTQ
#else
     :: wmode[c] == W_TURN && isdel -> st[c] = LISTQ
     :: wmode[c] == W_TURN && !isdel -> skip
#endif
     :: else ->
        /* W_ANY, W_PAIR: read that node again (rewatch), the others
         * stay; W_CHAIN: look again */
        armed[c] = armed[c] & ~bit(j);
        if
        :: W_ALL(wmode[c]) -> wkeep[c] = armed[c]
        :: else -> skip
        fi;
        st[c] = WATCHQ
     fi
  :: else -> skip
  fi
}

/* Session expiry: the session's ephemerals go, its watches with them;
 * holds are lost; an attempt that had not queued starts over once on the
 * replacement session (session_gone()). */
inline expire(c) {
  printf("MSC: c%d session expires\n", c);
  sess[c]++;
  j = 0;
  do
  :: j < nn ->
     if
     :: alive[j] && nown[j] == c -> delnode(j)
     :: else -> skip
     fi;
     j++
  :: else -> break
  od;
  wbits[c] = 0;
  wset[c] = 0;
  wkeep[c] = 0;
  evd[c] = 0;
  evc[c] = 0;
  markpend[c] = 0;
  down[c] = 0;
#ifndef MULTI
  p = 0;
  do
  :: p < NP -> hold[c * NP + p] = NONE; p++
  :: else -> break
  od;
#endif
  if
  :: waiting(c) && mine[c] == NONE && !lostc[c] && !retried[c] ->
     mine[c] = NONE;
     armed[c] = 0;
     retried[c] = 1;
     st[c] = ENQ
  :: waiting(c) && lostc[c] && !retried[c] ->
     lostc[c] = 0;
     retried[c] = 1;
     mine[c] = NONE;
     armed[c] = 0;
     st[c] = ENQ
  :: else ->
#ifdef MULTI
     multi_release(c);
#endif
     reset_att(c);
     st[c] = IDLE
  fi
}

proctype client(byte c) {
  do
  /* acquire */
  :: atomic { st[c] == IDLE && iters[c] > 0 ->
       iters[c]--;
       reset_att(c);
#ifdef MULTI
       member[c] = 0;
       cpath[c] = 0;
#endif
       st[c] = ENQ }
  :: atomic { st[c] == IDLE && iters[c] == 0 -> st[c] = DONE; break }
  /* create (sequential, ephemeral); its answer may be lost */
  :: atomic { st[c] == ENQ && !evd[c] && !evc[c] && nn < MAXN ->
       j = nn;
       nn++;
       alive[j] = 1;
       nown[j] = c;
       nsess[j] = sess[c];
       nkind[j] = role[c];
       nseq[j] = j;
       npath[j] = cpath[c];
       if
       :: lostb[c] > 0 -> lostb[c]--; lostc[c] = 1; st[c] = RECOVER;
          printf("MSC: c%d creates n%d (kind %d), the answer is lost\n", c, j, role[c])
       :: true -> mine[c] = j; st[c] = LISTQ;
          printf("MSC: c%d creates n%d (kind %d)\n", c, j, role[c])
       fi }
  /* recovery: sync + list, find our guid (this session's node) */
  :: atomic { st[c] == RECOVER && !evd[c] && !evc[c] ->
       mine[c] = NONE;
       j = 0;
       do
       :: j < nn ->
          if
          :: alive[j] && nown[j] == c && npath[j] == cpath[c] &&
             nsess[j] == sess[c] -> mine[c] = j
          :: else -> skip
          fi;
          j++
       :: else -> break
       od;
       if
       :: mine[c] == NONE -> st[c] = ENQ
       :: else -> st[c] = LISTQ
       fi }
  /* getChildren answered */
  :: atomic { st[c] == LISTQ && !evd[c] && !evc[c] -> evaluate(c) }
  /* getData (+watch) answered */
  :: atomic { st[c] == WATCHQ && !evd[c] && !evc[c] -> watch_apply(c) }
  /* an event is delivered (before any later answer) */
  :: atomic { evd[c] | evc[c] ->
       j = 0;
       do
       :: evd[c] & bit(j) -> evd[c] = evd[c] & ~bit(j); on_event(c, j, 1); break
       :: evc[c] & bit(j) && !(evd[c] & bit(j)) ->
          evc[c] = evc[c] & ~bit(j); on_event(c, j, 0); break
       :: else -> j++
       od }
  /* timeout or cancel while waiting */
  :: atomic { waiting(c) && giveup[c] > 0 -> giveup[c]--; att_end(c) }
  /* crash or session expiry, at any point */
  :: atomic { st[c] != DONE && crash[c] > 0 -> crash[c]--; expire(c) }
  /* the turn mark sent behind a grant lands */
  :: atomic { markpend[c] && !evd[c] && !evc[c] ->
       markpend[c] = 0;
       j = hold[c * NP + cpath[c]];
       if
       :: j != NONE && alive[j] -> nturn[j] = 1; setdata(j);
          printf("MSC: c%d turn mark on n%d\n", c, j)
       :: else -> skip
       fi }
  /* downgrade (native: the read mark on our x node) */
  :: atomic { st[c] == HOLD && candown[c] && !down[c] && PROFILE == 0 ->
       j = hold[c * NP + cpath[c]];
       nmark[j] = 1;
       down[c] = 1;
       printf("MSC: c%d downgrades: read mark on n%d\n", c, j);
       setdata(j) }
  /* downgrade in a profile: a read node at our counter, then the write
   * node goes (do_downgrade_compat) */
  :: atomic { st[c] == HOLD && candown[c] && !down[c] && PROFILE != 0 &&
       nn < MAXN ->
       j = nn;
       nn++;
       alive[j] = 1;
       nown[j] = c;
       nsess[j] = sess[c];
       nkind[j] = K_R;
       nseq[j] = nseq[hold[c * NP + cpath[c]]];
       npath[j] = cpath[c];
       rnode[c] = j;
       down[c] = 1 }
  :: atomic { st[c] == HOLD && down[c] == 1 && PROFILE != 0 ->
       j = hold[c * NP + cpath[c]];
       hold[c * NP + cpath[c]] = rnode[c];
       mine[c] = rnode[c];
       delnode(j);
       down[c] = 2 }
  /* keep the hold for ever (a free permit must still reach waiters) */
  :: atomic { st[c] == HOLD && keep[c] && !markpend[c] &&
       (!candown[c] || down[c] == 1 && PROFILE == 0 || down[c] == 2) ->
       printf("MSC: c%d keeps its hold for ever\n", c);
       st[c] = KEEP;
       break }
  /* release */
  :: atomic { st[c] == HOLD && !markpend[c] && !evd[c] && !evc[c] &&
       (!candown[c] || down[c] == 1 && PROFILE == 0 || down[c] == 2) ->
       printf("MSC: c%d releases\n", c);
#ifdef MULTI
       multi_release(c);
#else
       j = hold[c * NP + cpath[c]];
       delnode(j);
       hold[c * NP + cpath[c]] = NONE;
#endif
       down[c] = 0;
       reset_att(c);
       st[c] = IDLE }
  od
}

init {
  byte c;
  atomic {
    c = 0;
    do
    :: c < NC * NP -> hold[c] = NONE; c++
    :: else -> break
    od;
    c = 0;
    do
    :: c < NC -> mine[c] = NONE; iters[c] = 1; c++
    :: else -> break
    od;
    ROLES;
#ifdef DEEP
    c = 0;
    do
    :: c < NC -> iters[c]++; c++
    :: else -> break
    od;
#endif
    c = 0;
    do
    :: c < NC -> run client(c); c++
    :: else -> break
    od
  }
}

/* Liveness: a client that waits is eventually not waiting. run.sh asks
 * it of the clients that never give up or crash (LIVE, a formula). */
#ifdef LIVE
ltl live { LIVE }
#endif
