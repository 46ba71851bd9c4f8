/* Readers and writers interleaved, no downgrade: FIFO and the herd
 * of readers up to the next writer. live: 0 1 2 3 */
#define NC 4
#define MAXN 6
#define ROLES role[0]=K_R; role[1]=K_X; role[2]=K_R; role[3]=K_R; iters[1]=2
