/* Multi-lock over two paths taken in path order, with the final
 * check; a session that expires part-way. live: 1 */
#define MULTI
#define NP 2
#define NC 3
#define MAXN 8
#define ROLES role[0]=K_X; role[1]=K_X; role[2]=K_X; crash[0]=1; giveup[2]=1
