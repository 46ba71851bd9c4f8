/* kazoo profile: as Curator, but a reader watches the nearest writer.
 * live: 0 1 */
#define PROFILE 2
#define NC 3
#define MAXN 6
#define ROLES role[0]=K_X; candown[0]=1; role[1]=K_R; role[2]=K_X; giveup[2]=1
