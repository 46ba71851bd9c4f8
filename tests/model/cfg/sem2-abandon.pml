/* Semaphore, two permits: a lost create, a waiter that gives up, one
 * that expires. live: 0 */
#define NC 3
#define PERMITS 2
#define MAXN 6
#define ROLES role[0]=K_S; lostb[0]=1; role[1]=K_S; giveup[1]=1; role[2]=K_S; crash[2]=1; iters[0]=2
