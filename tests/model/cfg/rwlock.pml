/* Read-write lock with a downgrade; a writer that gives up, a reader
 * that expires, a lost create. live: 0 1 */
#define NC 4
#define MAXN 6
#define ROLES role[0]=K_X; candown[0]=1; role[1]=K_R; lostb[1]=1; role[2]=K_X; giveup[2]=1; role[3]=K_R; crash[3]=1
