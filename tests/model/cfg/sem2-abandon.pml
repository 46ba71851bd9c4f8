/* Semaphore, two permits: waiters that give up and expire, a lost
 * create. live: 0 1 */
#define NC 4
#define PERMITS 2
#define MAXN 6
#define ROLES role[0]=K_S; role[1]=K_S; lostb[1]=1; role[2]=K_S; giveup[2]=1; role[3]=K_S; crash[3]=1
