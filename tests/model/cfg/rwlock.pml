/* Read-write lock with a downgrade; a lost create, a writer that gives
 * up and then expires. live: 0 1 */
#define NC 3
#define MAXN 6
#define ROLES role[0]=K_X; candown[0]=1; role[1]=K_R; lostb[1]=1; role[2]=K_X; giveup[2]=1; crash[2]=1
