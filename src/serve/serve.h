/*
 * serve.h - private to serve/: the parts of the API the files share. The request target
 * and its query (target.c), the pages compiled in from web/ (a table generated at build
 * time), and the answers written as JSON (answers.c).
 */
#ifndef DG_SERVE_SERVE_H
#define DG_SERVE_SERVE_H

#include "digits.h"
#include "serve/json.h"

/* Longest path taken, in bytes after percent-decoding. */
#define DG_HTTP_MAX_PATH 1024

/*
 * Splits a request target ("/api/predict?preprocessed=0") into its path, percent-decoded
 * into path[DG_HTTP_MAX_PATH], and its query: *query points into target just after the
 * '?' (a fragment after '#' is left on it: dg_query_get stops there), or at "" when there
 * is none. False for a target that is not origin-form (does not start with '/'), a bad or
 * NUL %-escape, a path too long.
 */
bool dg_http_parse_target(const char *target, char path[DG_HTTP_MAX_PATH], const char **query);

/*
 * The value of key in a query ("a=1&b=x%20y"): '+' is a space and %XX escapes decoded,
 * into value[size]. Returns 1 when found (the first one wins; a key without '=' has the
 * value ""), 0 when absent, -1 when the value is malformed (bad escape, NUL, too long).
 */
int dg_query_get(const char *query, const char *key, char *value, size_t size);

/* One file of web/, compiled in. */
typedef struct dg_asset {
    const char *path; /* as requested: "/", "/app.js" */
    const char *content_type;
    const unsigned char *data;
    size_t n;
} dg_asset;
/* The table, ending with a row whose path is NULL (build/gen/serve_assets.c). */
extern const dg_asset dg_serve_assets[];

/* What every answer about an image needs from the api. */
typedef struct dg_answer_ctx {
    const dg_model_meta *meta;
    float min_confidence;
    bool preprocessed;      /* include the 28x28 as a PNG data URL */
    dg_image_source source; /* the picture sent: sizes and boxes are reported in its pixels */
} dg_answer_ctx;

/* The JSON answers (docs/api.md). Each writes one object into out; DG_OK or the status of
 * the failure, with its message (the image and net are the caller's). explain_class is
 * the class to explain, -1 for the answer's own (dg_answer_explain only). */
dg_status dg_answer_predict(dg_net *net, const dg_answer_ctx *ctx, const dg_image *img,
                            dg_buf *out);
dg_status dg_answer_explain(dg_net *net, const dg_answer_ctx *ctx, const dg_image *img,
                            int explain_class, dg_buf *out);
dg_status dg_answer_read(dg_net *net, const dg_answer_ctx *ctx, const dg_image *img, dg_buf *out);

#endif
