/* Mutex: a lost create answer, a second acquisition, a waiter that
 * times out and then expires. live: 0 1 */
#define NC 3
#define MAXN 6
#define ROLES role[0]=K_X; role[1]=K_X; role[2]=K_X; iters[0]=2; lostb[0]=1; giveup[2]=1; crash[2]=1
