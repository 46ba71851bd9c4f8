/* A downgraded writer that keeps its read hold for ever: the readers
 * behind it must still get in. live: 1 2 */
#define NC 3
#define MAXN 6
#define ROLES role[0]=K_X; candown[0]=1; role[1]=K_R; role[2]=K_R; keep[0]=1
