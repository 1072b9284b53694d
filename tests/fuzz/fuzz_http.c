/*
 * fuzz_http.c - fuzz target for what `digits serve` parses of a request: the target (path,
 * %-escapes, query parameters) and the dispatch that turns a request into a status and an
 * answer, body included. libmicrohttpd reads the request line and headers; what it hands
 * over is what this target makes up from the input:
 *   line 1   METHOD TARGET
 *   line 2   the Content-Type, or "-" for none
 *   line 3   the Content-Length in decimal, "-" for none, or "chunked"
 *   the rest the body
 * The api answers with a small random net, made once. Every request must get a status
 * from the known set and a body; an error must be a JSON object {"error": ...} without raw
 * control characters; a 405 must say what is allowed; the answer before the body (when
 * there is one) must be the same as the whole answer's. A crash, leak or sanitizer report
 * is a bug.
 */
#include "digits.h"

#include <stdlib.h>
#include <string.h>

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_MAX_INPUT (256u * 1024u)

static dg_api *fuzz_api(void)
{
    static dg_api *api;
    if (api) {
        return api;
    }
    dg_net *net;
    dg_shape in = {1, 28, 28};
    if (dg_net_new("conv 2 3 relu, maxpool 2, flatten, dense 10", in, &net) != DG_OK) {
        abort();
    }
    dg_rng rng;
    dg_rng_seed(&rng, 1);
    dg_net_init_params(net, &rng);
    dg_api_config cfg = {"fuzz", 64 * 1024, 0.0f, 1};
    if (dg_api_new(net, NULL, &cfg, &api) != DG_OK) {
        abort();
    }
    dg_net_free(net);
    return api;
}

/* The next line of [*p, end) as a new string, *p moved past it; NULL at the end. */
static char *next_line(const uint8_t **p, const uint8_t *end)
{
    if (*p >= end) {
        return NULL;
    }
    const uint8_t *nl = memchr(*p, '\n', (size_t)(end - *p));
    size_t n = nl ? (size_t)(nl - *p) : (size_t)(end - *p);
    char *s = malloc(n + 1);
    if (!s) {
        abort();
    }
    memcpy(s, *p, n);
    s[n] = '\0';
    *p += n + (nl != NULL);
    return s;
}

static bool known_status(int s)
{
    static const int known[] = {200, 400, 404, 405, 411, 413, 415, 503};
    for (size_t i = 0; i < sizeof known / sizeof known[0]; i++) {
        if (s == known[i]) {
            return true;
        }
    }
    return false;
}

static void check_response(const dg_http_response *r)
{
    if (!known_status(r->status) || !r->body || !r->content_type) {
        abort();
    }
    if (r->status == 405 && !r->allow) {
        abort();
    }
    if (r->status >= 400) {
        if (r->n_body < 11 || memcmp(r->body, "{\"error\":\"", 10) != 0) {
            abort();
        }
    }
    if (!r->is_page) {
        for (size_t i = 0; i < r->n_body; i++) {
            if (r->body[i] < 0x20 && !(r->body[i] == '\n' && i == r->n_body - 1)) {
                abort(); /* JSON strings escape control characters */
            }
        }
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size)
{
    if (size > FUZZ_MAX_INPUT) {
        return 0;
    }
    dg_api *api = fuzz_api();
    const uint8_t *p = data, *end = data + size;
    char *line = next_line(&p, end);
    char *type = next_line(&p, end);
    char *length = next_line(&p, end);
    char *space = line ? strchr(line, ' ') : NULL;
    if (space) {
        *space = '\0';
        dg_http_request req = {line, space + 1, NULL, -1, false, p, (size_t)(end - p)};
        if (type && strcmp(type, "-") != 0) {
            req.content_type = type;
        }
        if (length && !strcmp(length, "chunked")) {
            req.chunked = true;
        } else if (length && strcmp(length, "-") != 0) {
            req.content_length = strtoll(length, NULL, 10);
        }
        dg_http_response early, whole;
        bool answered_early = dg_api_precheck(api, &req, &early);
        dg_api_handle(api, &req, &whole);
        check_response(&whole);
        if (answered_early) {
            check_response(&early);
            if (early.status != whole.status || early.n_body != whole.n_body ||
                memcmp(early.body, whole.body, early.n_body) != 0) {
                abort();
            }
            dg_http_response_free(&early);
        }
        dg_http_response_free(&whole);
    }
    free(line);
    free(type);
    free(length);
    return 0;
}
