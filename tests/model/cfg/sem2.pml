/* Semaphore, two permits, four clients, one holder that keeps its
 * lease for ever: a free permit must reach every waiter (the turn-mark
 * stall of issue 21). live: 0 1 3 (liveness only: safety of leases is sem1 and sem2-abandon) */
#define NC 4
#define PERMITS 2
#define MAXN 6
#define ROLES role[0]=K_S; role[1]=K_S; role[2]=K_S; role[3]=K_S; keep[2]=1
