/* deep-only. Mutex, four clients: one gives up, one expires. live: 0 1 */
#define NC 4
#define MAXN 6
#define ROLES role[0]=K_X; role[1]=K_X; role[2]=K_X; role[3]=K_X; giveup[2]=1; crash[3]=1
