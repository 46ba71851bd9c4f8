/* kazoo (and Curator: the same rule) mutex: the nearest node, a
 * handoff always lists again. live: 0 1 */
#define PROFILE 2
#define RECIPE 0
#define NC 3
#define MAXN 6
#define ROLES role[0]=K_X; role[1]=K_X; role[2]=K_X; lostb[0]=1; giveup[2]=1; crash[2]=1
