/* Semaphore, one permit: a lost create, a waiter that gives up and
 * expires. live: 0 1 */
#define NC 3
#define PERMITS 1
#define MAXN 6
#define ROLES role[0]=K_S; role[1]=K_S; role[2]=K_S; lostb[0]=1; iters[1]=2; giveup[2]=1; crash[2]=1
