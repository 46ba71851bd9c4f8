/* tests/model/glue.c: the model's node table as the rule functions see
 * it. */
#ifndef MODEL_GLUE_H
#define MODEL_GLUE_H
typedef struct {
  int nn;
  const unsigned char *alive, *npath, *nkind, *nseq;
} model_tab;
typedef struct {
  unsigned char ok, grant, mode, total, nwatch, mark;
} model_verdict;
void model_native(const model_tab *t, int path, int mine, int permits,
                  int waited, model_verdict *out, unsigned char *wn);
void model_profile(const model_tab *t, int profile, int recipe, int path,
                   int mine, model_verdict *out, unsigned char *wn);
#endif
