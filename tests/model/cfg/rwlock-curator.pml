/* Curator profile: a reader watches the first writer, a handoff
 * always lists again, a downgrade makes a read node at the writer's
 * counter then deletes the write node. live: 0 1 */
#define PROFILE 1
#define NC 3
#define MAXN 6
#define ROLES role[0]=K_X; candown[0]=1; role[1]=K_R; role[2]=K_X; giveup[2]=1
