/* Leader election: candidates are x nodes, the lowest leads, its
 * czxid (here its sequence) is the term. Resign = release. live: 0 */
#define ELECTION
#define NC 3
#define MAXN 6
#define ROLES role[0]=K_X; role[1]=K_X; role[2]=K_X; iters[0]=2; crash[1]=1; lostb[1]=1; giveup[2]=1
