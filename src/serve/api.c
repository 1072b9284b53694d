/*
 * api.c - the HTTP API as a function from a request to a response, over bytes: routing,
 * the checks that come before a body is read, the status each failure deserves, and the
 * pool of nets that lets several threads answer at once (a net's forward pass uses
 * buffers of its own, so each concurrent request gets its own copy of the model).
 *
 * Routes (docs/api.md):
 *   GET  /  /app.js  /style.css ...    the interface, compiled in from web/
 *   GET  /healthz                      {"status":"ok"}
 *   GET  /api/model                    what the model is
 *   POST /api/predict /api/read /api/explain   image bytes in, JSON out
 * GET routes also take HEAD. Anything else is 404; a known path with another method 405.
 */
#include "serve/serve.h"

#include <pthread.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>

#define JSON_TYPE "application/json; charset=utf-8"

/* Room made at once for an answer about an image: /api/predict's with its 28x28 preview
 * is about 1.7 kB, so it is written without the buffer growing on the way. */
#define IMAGE_ANSWER_BYTES 4000

typedef enum route_kind {
    ROUTE_HEALTH,
    ROUTE_MODEL,
    ROUTE_PREDICT,
    ROUTE_READ,
    ROUTE_EXPLAIN
} route_kind;

typedef struct route {
    const char *path;
    route_kind kind;
    bool post; /* takes POST with an image body; else GET and HEAD */
} route;

static const route routes[] = {
    {"/healthz", ROUTE_HEALTH, false},     /* {"status":"ok"} */
    {"/api/model", ROUTE_MODEL, false},    /* what the model is */
    {"/api/predict", ROUTE_PREDICT, true}, /* one digit, as digits predict */
    {"/api/read", ROUTE_READ, true},       /* a whole number, as digits read */
    {"/api/explain", ROUTE_EXPLAIN, true}, /* one digit and why */
};

struct dg_api {
    dg_model_meta meta;
    char model_name[256];
    char *spec;
    size_t n_params;
    size_t max_body;
    float min_confidence;
    int n_workers;
    dg_net **nets; /* [n_workers] */
    int *idle;     /* [n_workers] indices of the nets not in use, n_idle of them */
    int n_idle;
    pthread_mutex_t lock;
    pthread_cond_t freed;
};

/* ------------------------------------------------------------------ responses */

void dg_http_response_free(dg_http_response *resp)
{
    free(resp->owned);
    *resp = (dg_http_response){0};
}

/* resp takes b's bytes as a JSON body. */
static void json_response(dg_http_response *resp, int status, dg_buf *b)
{
    *resp = (dg_http_response){.status = status, .content_type = JSON_TYPE};
    resp->body = b->data;
    resp->n_body = b->n;
    resp->owned = b->data;
    *b = (dg_buf){0};
}

void dg_api_error(dg_http_response *resp, int status, const char *message)
{
    dg_buf b = {0};
    dg_buf_puts(&b, "{\"error\":");
    dg_json_string(&b, message);
    dg_buf_puts(&b, "}\n");
    if (b.failed) {
        /* no memory even for the message: a fixed body */
        static const char fixed[] = "{\"error\":\"out of memory\"}\n";
        dg_buf_free(&b);
        *resp = (dg_http_response){.status = 503, .content_type = JSON_TYPE};
        resp->body = (const uint8_t *)fixed;
        resp->n_body = sizeof fixed - 1;
        return;
    }
    json_response(resp, status, &b);
}

static void method_not_allowed(dg_http_response *resp, bool post)
{
    dg_api_error(resp, 405,
                 post ? "method not allowed: POST the image bytes" : "method not allowed: use GET");
    resp->allow = post ? "POST" : "GET, HEAD";
}

/* ------------------------------------------------------------------ building */

size_t dg_api_max_body(const dg_api *api)
{
    return api->max_body;
}

void dg_api_free(dg_api *api)
{
    if (!api) {
        return;
    }
    for (int i = 0; api->nets && i < api->n_workers; i++) {
        dg_net_free(api->nets[i]);
    }
    if (api->idle) {
        pthread_mutex_destroy(&api->lock);
        pthread_cond_destroy(&api->freed);
    }
    free(api->nets);
    free(api->idle);
    free(api->spec);
    free(api);
}

/* A copy of net for one worker: same spec and parameters, one thread, prepared for one
 * image so that answering never allocates in the net. */
static dg_status copy_net(const dg_net *net, dg_net **out)
{
    dg_status st = dg_net_new(dg_net_spec(net), dg_net_input_shape(net), out);
    if (st != DG_OK) {
        return st;
    }
    memcpy(dg_net_params(*out), dg_net_params_const(net), dg_net_param_count(net) * sizeof(float));
    st = dg_net_set_threads(*out, 1);
    if (st == DG_OK) {
        st = dg_net_prepare(*out, 1);
    }
    if (st != DG_OK) {
        dg_net_free(*out);
        *out = NULL;
    }
    return st;
}

dg_status dg_api_new(const dg_net *net, const dg_model_meta *meta, const dg_api_config *cfg,
                     dg_api **out)
{
    *out = NULL;
    dg_shape in = dg_net_input_shape(net);
    if (in.c != 1 || in.h != DG_MNIST_SIDE || in.w != DG_MNIST_SIDE) {
        return dg_fail(DG_ERR_MISMATCH, "the model takes %dx%dx%d input, not 28x28 digits", in.c,
                       in.h, in.w);
    }
    dg_api *api = calloc(1, sizeof *api);
    if (!api) {
        return dg_fail(DG_ERR_NOMEM, "out of memory for the api");
    }
    if (meta) {
        api->meta = *meta;
    } else {
        dg_model_meta_default(&api->meta);
    }
    snprintf(api->model_name, sizeof api->model_name, "%s",
             cfg && cfg->model_name ? cfg->model_name : "");
    api->max_body = cfg && cfg->max_body ? cfg->max_body : DG_API_DEFAULT_MAX_BODY;
    api->min_confidence =
        cfg && cfg->min_confidence > 0.0f ? cfg->min_confidence : DG_MIN_CONFIDENCE;
    api->n_workers = cfg && cfg->workers > 1 ? cfg->workers : 1;
    if (api->n_workers > 256) {
        dg_api_free(api);
        return dg_fail(DG_ERR_ARG, "%d workers: at most 256", cfg->workers);
    }
    api->spec = strdup(dg_net_spec(net));
    api->n_params = dg_net_param_count(net);
    api->nets = calloc((size_t)api->n_workers, sizeof *api->nets);
    if (!api->spec || !api->nets) {
        dg_api_free(api);
        return dg_fail(DG_ERR_NOMEM, "out of memory for the api");
    }
    dg_status st = DG_OK;
    for (int i = 0; st == DG_OK && i < api->n_workers; i++) {
        st = copy_net(net, &api->nets[i]);
    }
    if (st == DG_OK) {
        api->idle = malloc((size_t)api->n_workers * sizeof *api->idle);
        if (!api->idle) {
            st = dg_fail(DG_ERR_NOMEM, "out of memory for the api");
        } else if (pthread_mutex_init(&api->lock, NULL) != 0) {
            free(api->idle);
            api->idle = NULL;
            st = dg_fail(DG_ERR_NOMEM, "cannot create a lock");
        } else if (pthread_cond_init(&api->freed, NULL) != 0) {
            pthread_mutex_destroy(&api->lock);
            free(api->idle);
            api->idle = NULL;
            st = dg_fail(DG_ERR_NOMEM, "cannot create a condition variable");
        }
    }
    if (st != DG_OK) {
        dg_api_free(api);
        return st;
    }
    for (int i = 0; i < api->n_workers; i++) {
        api->idle[i] = i;
    }
    api->n_idle = api->n_workers;
    *out = api;
    return DG_OK;
}

/* The net this thread answered with last, and whose api. A server thread that takes the
 * same net again finds its weights and buffers (about 0.5 MB for seed-cnn) still in its
 * core's cache; taken from a stack, the nets went from thread to thread, and so from core
 * to core. A hint only: any idle net does when this one is busy. */
static _Thread_local struct {
    const dg_api *api;
    int worker;
} last_net;

static int take_net(dg_api *api)
{
    pthread_mutex_lock(&api->lock);
    while (api->n_idle == 0) {
        pthread_cond_wait(&api->freed, &api->lock);
    }
    int k = api->n_idle - 1;
    for (int j = 0; last_net.api == api && j < api->n_idle; j++) {
        if (api->idle[j] == last_net.worker) {
            k = j;
            break;
        }
    }
    int i = api->idle[k];
    api->idle[k] = api->idle[--api->n_idle];
    pthread_mutex_unlock(&api->lock);
    last_net.api = api;
    last_net.worker = i;
    return i;
}

static void give_net(dg_api *api, int i)
{
    pthread_mutex_lock(&api->lock);
    api->idle[api->n_idle++] = i;
    pthread_cond_signal(&api->freed);
    pthread_mutex_unlock(&api->lock);
}

/* ------------------------------------------------------------------ routing */

static const route *find_route(const char *path)
{
    for (size_t i = 0; i < sizeof routes / sizeof routes[0]; i++) {
        if (!strcmp(path, routes[i].path)) {
            return &routes[i];
        }
    }
    return NULL;
}

static const dg_asset *find_asset(const char *path)
{
    for (const dg_asset *a = dg_serve_assets; a->path; a++) {
        if (!strcmp(path, a->path)) {
            return a;
        }
    }
    return NULL;
}

static bool is_get(const char *method)
{
    return !strcmp(method, "GET") || !strcmp(method, "HEAD");
}

/* A multipart form where image bytes were expected. Other types are not trusted either
 * way (curl --data-binary calls everything a urlencoded form): the bytes decide. */
static bool is_form(const char *content_type)
{
    return content_type && !strncasecmp(content_type, "multipart/", 10);
}

bool dg_api_precheck(const dg_api *api, const dg_http_request *req, dg_http_response *resp)
{
    char path[DG_HTTP_MAX_PATH];
    const char *query;
    if (!req->method || !dg_http_parse_target(req->target, path, &query)) {
        dg_api_error(resp, 400, "bad request target");
        return true;
    }
    const route *r = find_route(path);
    if (!r) {
        if (!find_asset(path)) {
            dg_api_error(resp, 404, "not found");
        } else if (!is_get(req->method)) {
            method_not_allowed(resp, false);
        } else {
            return false;
        }
        return true;
    }
    if (r->post ? strcmp(req->method, "POST") != 0 : !is_get(req->method)) {
        method_not_allowed(resp, r->post);
        return true;
    }
    if (!r->post) {
        return false;
    }
    if (req->content_length < 0 && !req->chunked) {
        dg_api_error(resp, 411, "length required: send the image bytes with a Content-Length");
        return true;
    }
    if (req->content_length > 0 && (uint64_t)req->content_length > api->max_body) {
        char msg[128];
        snprintf(msg, sizeof msg, "body too large: %lld bytes, at most %zu",
                 (long long)req->content_length, api->max_body);
        dg_api_error(resp, 413, msg);
        return true;
    }
    if (is_form(req->content_type)) {
        dg_api_error(resp, 415,
                     "unsupported media type: send the image file's bytes as the body, e.g. "
                     "curl --data-binary @digit.png");
        return true;
    }
    return false;
}

/* ------------------------------------------------------------------ answers */

/* The library's message about an image read from memory, without the "(memory): " it
 * starts with for want of a file name. */
static const char *image_error(void)
{
    const char *m = dg_last_error();
    static const char prefix[] = "(memory): ";
    return strncmp(m, prefix, sizeof prefix - 1) ? m : m + sizeof prefix - 1;
}

/* The HTTP status of a failure to decode or answer about an image. */
static int image_failure_status(dg_status st)
{
    switch (st) {
    case DG_ERR_UNSUPPORTED:
        return 415;
    case DG_ERR_TOO_LARGE:
        return 413;
    case DG_ERR_NOMEM:
        return 503;
    default:
        return 400;
    }
}

static void model_answer(const dg_api *api, dg_http_response *resp)
{
    const dg_model_meta *m = &api->meta;
    dg_buf b = {0};
    dg_buf_puts(&b, "{\"name\":");
    dg_json_string(&b, api->model_name);
    dg_buf_puts(&b, ",\"spec\":");
    dg_json_string(&b, api->spec);
    dg_buf_printf(&b, ",\"input\":[1,%d,%d],\"classes\":%d,\"labels\":[", DG_MNIST_SIDE,
                  DG_MNIST_SIDE, m->classes);
    for (int c = 0; c < m->classes; c++) {
        dg_buf_puts(&b, c ? "," : "");
        dg_json_string(&b, m->labels[c]);
    }
    dg_buf_printf(&b, "],\"parameters\":%zu,\"preset\":", api->n_params);
    dg_json_string(&b, m->preset);
    dg_buf_puts(&b, ",\"dataset\":");
    dg_json_string(&b, m->dataset);
    dg_buf_printf(&b, ",\"epochs\":%d,\"batch\":%d,\"trained_on\":%u,\"test_accuracy\":", m->epochs,
                  m->batch, m->n_train);
    if (m->test_accuracy >= 0) {
        dg_json_number(&b, m->test_accuracy, 6);
    } else {
        dg_buf_puts(&b, "null");
    }
    dg_buf_printf(&b,
                  ",\"created\":%lld,\"preprocess\":%u,\"min_confidence\":", (long long)m->created,
                  m->preprocess);
    dg_json_number(&b, api->min_confidence, 6);
    dg_buf_printf(&b, ",\"max_body\":%zu,\"workers\":%d,\"version\":", api->max_body,
                  api->n_workers);
    dg_json_string(&b, DG_VERSION_STRING);
    dg_buf_puts(&b, "}\n");
    if (b.failed) {
        dg_buf_free(&b);
        dg_api_error(resp, 503, "out of memory");
        return;
    }
    json_response(resp, 200, &b);
}

/* Reads a query flag: "1", "true", "yes" or "" (present, no value) is true; "0", "false",
 * "no" false. -1 for anything else. */
static int query_flag(const char *query, const char *key, bool fallback)
{
    char value[16];
    int got = dg_query_get(query, key, value, sizeof value);
    if (got == 0) {
        return fallback;
    }
    if (got < 0) {
        return -1;
    }
    if (!value[0] || !strcmp(value, "1") || !strcasecmp(value, "true") ||
        !strcasecmp(value, "yes")) {
        return 1;
    }
    if (!strcmp(value, "0") || !strcasecmp(value, "false") || !strcasecmp(value, "no")) {
        return 0;
    }
    return -1;
}

/* ?class=N for explain: -1 when absent; -2 when malformed. */
static int query_class(const char *query)
{
    char value[16];
    int got = dg_query_get(query, "class", value, sizeof value);
    if (got == 0) {
        return -1;
    }
    if (got < 0 || !value[0] || strlen(value) > 2 || strspn(value, "0123456789") != strlen(value)) {
        return -2;
    }
    return atoi(value);
}

static void image_answer(dg_api *api, const route *r, const char *query, const dg_http_request *req,
                         dg_http_response *resp)
{
    int preprocessed = query_flag(query, "preprocessed", true);
    int cls = r->kind == ROUTE_EXPLAIN ? query_class(query) : -1;
    if (preprocessed < 0) {
        dg_api_error(resp, 400, "preprocessed: want 0 or 1");
        return;
    }
    if (cls == -2) {
        dg_api_error(resp, 400, "class: want a class number, e.g. class=7");
        return;
    }
    if (req->n_body == 0) {
        dg_api_error(resp, 400, "empty body: send the image bytes");
        return;
    }
    if (req->n_body > api->max_body) {
        dg_api_error(resp, 413, "body too large");
        return;
    }
    dg_image *img;
    dg_image_source source;
    dg_status st = dg_image_load_memory_reduced(req->body, req->n_body, DG_IMAGE_RECOGNITION_SIDE,
                                                &img, &source);
    if (st != DG_OK) {
        dg_api_error(resp, image_failure_status(st), image_error());
        return;
    }
    if ((uint64_t)source.w * (uint64_t)source.h > DG_API_MAX_PIXELS) {
        char msg[128];
        snprintf(msg, sizeof msg, "picture too large: %dx%d, at most %u megapixels", source.w,
                 source.h, DG_API_MAX_PIXELS / 1000000u);
        dg_image_free(img);
        dg_api_error(resp, 413, msg);
        return;
    }
    dg_answer_ctx ctx = {&api->meta, api->min_confidence, preprocessed == 1, source};
    dg_buf b = {0};
    dg_buf_reserve(&b, IMAGE_ANSWER_BYTES);
    int worker = take_net(api);
    dg_net *net = api->nets[worker];
    if (r->kind == ROUTE_PREDICT) {
        st = dg_answer_predict(net, &ctx, img, &b);
    } else if (r->kind == ROUTE_READ) {
        st = dg_answer_read(net, &ctx, img, &b);
    } else {
        st = dg_answer_explain(net, &ctx, img, cls, &b);
    }
    give_net(api, worker);
    dg_image_free(img);
    if (st != DG_OK) {
        dg_buf_free(&b);
        dg_api_error(resp, image_failure_status(st), dg_last_error());
        return;
    }
    dg_buf_puts(&b, "\n");
    json_response(resp, 200, &b);
}

void dg_api_handle(dg_api *api, const dg_http_request *req, dg_http_response *resp)
{
    *resp = (dg_http_response){0};
    if (dg_api_precheck(api, req, resp)) {
        return;
    }
    char path[DG_HTTP_MAX_PATH];
    const char *query;
    dg_http_parse_target(req->target, path, &query);
    const route *r = find_route(path);
    if (!r) {
        const dg_asset *a = find_asset(path);
        *resp = (dg_http_response){.status = 200, .content_type = a->content_type};
        resp->body = a->data;
        resp->n_body = a->n;
        resp->is_page = true;
        return;
    }
    switch (r->kind) {
    case ROUTE_HEALTH: {
        static const char ok[] = "{\"status\":\"ok\"}\n";
        *resp = (dg_http_response){.status = 200, .content_type = JSON_TYPE};
        resp->body = (const uint8_t *)ok;
        resp->n_body = sizeof ok - 1;
        return;
    }
    case ROUTE_MODEL:
        model_answer(api, resp);
        return;
    default:
        image_answer(api, r, query, req, resp);
        return;
    }
}
