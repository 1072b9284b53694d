/*
 * test_serve.c - the HTTP-free half of `digits serve`: JSON strings that stay valid
 * whatever bytes come in, numbers that are never NaN, base64 against RFC 4648's vectors,
 * request targets and queries, and the api's answers and statuses for every route,
 * called as a function on a hand-set net, a big JPEG answered in its own pixels. The
 * server over sockets: test_serve_http.c.
 */
#include "test.h"

#include "serve/serve.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <jpeglib.h>

static bool buf_is(dg_buf *b, const char *want)
{
    bool same = b->data && !strcmp((const char *)b->data, want);
    if (!same) {
        fprintf(stderr, "  got '%s', want '%s'\n", b->data ? (const char *)b->data : "(null)",
                want);
    }
    dg_buf_free(b);
    return same;
}

DG_TEST(serve_json_strings)
{
    dg_buf b = {0};
    dg_json_string(&b, "a\"b\\c\n\x01");
    CHECK(buf_is(&b, "\"a\\\"b\\\\c\\u000a\\u0001\""));
    dg_json_string(&b, "caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80");
    CHECK(buf_is(&b, "\"caf\xc3\xa9 \xe2\x82\xac \xf0\x9f\x98\x80\""));
    /* a lone continuation byte, a cut sequence, an overlong '/', a surrogate */
    dg_json_string(&b, "\x80|\xc3|\xc0\xaf|\xed\xa0\x80|\xff");
    CHECK(buf_is(&b, "\"\\ufffd|\\ufffd|\\ufffd\\ufffd|\\ufffd\\ufffd\\ufffd|\\ufffd\""));
    dg_json_string(&b, NULL);
    CHECK(buf_is(&b, "\"\""));
}

DG_TEST(serve_json_numbers)
{
    dg_buf b = {0};
    dg_json_number(&b, 0.25, 6);
    dg_buf_puts(&b, ",");
    dg_json_number(&b, NAN, 6);
    dg_buf_puts(&b, ",");
    dg_json_number(&b, -INFINITY, 6);
    dg_buf_puts(&b, ",");
    dg_json_number(&b, 1.0 / 3.0, 3);
    CHECK(buf_is(&b, "0.25,null,null,0.333"));
    dg_buf_printf(&b, "%0300d", 7); /* longer than the writer's small buffer */
    CHECK(b.n == 300 && b.data[299] == '7' && b.data[0] == '0');
    CHECK_OK(dg_buf_status(&b));
    dg_buf_free(&b);
}

DG_TEST(serve_base64_vectors)
{
    static const char *const cases[][2] = {
        {"", ""},
        {"f", "Zg=="},
        {"fo", "Zm8="},
        {"foo", "Zm9v"},
        {"foob", "Zm9vYg=="},
        {"fooba", "Zm9vYmE="},
        {"foobar", "Zm9vYmFy"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        dg_buf b = {0};
        dg_buf_puts(&b, "");
        dg_base64(&b, (const uint8_t *)cases[i][0], strlen(cases[i][0]));
        CHECK_MSG(buf_is(&b, cases[i][1]), "base64 of '%s'", cases[i][0]);
    }
    uint8_t all[3] = {0xff, 0xfe, 0x00};
    dg_buf b = {0};
    dg_base64(&b, all, 3);
    CHECK(buf_is(&b, "//4A"));
}

DG_TEST(serve_targets_and_queries)
{
    char path[DG_HTTP_MAX_PATH], value[32];
    const char *query;
    CHECK(dg_http_parse_target("/api/predict?preprocessed=0#top", path, &query));
    CHECK(!strcmp(path, "/api/predict") && !strcmp(query, "preprocessed=0#top"));
    CHECK(dg_http_parse_target("/%2e%2e/etc/passwd", path, &query));
    CHECK(!strcmp(path, "/../etc/passwd") && !strcmp(query, ""));
    CHECK(!dg_http_parse_target("/a%00b", path, &query));
    CHECK(!dg_http_parse_target("/a%zz", path, &query));
    CHECK(!dg_http_parse_target("/a%4", path, &query));
    CHECK(!dg_http_parse_target("api/predict", path, &query));
    CHECK(!dg_http_parse_target("http://host/", path, &query));
    CHECK(!dg_http_parse_target("", path, &query));
    CHECK(!dg_http_parse_target(NULL, path, &query));
    char *long_target = malloc(5000);
    CHECK(long_target);
    memset(long_target, 'a', 4999);
    long_target[0] = '/';
    long_target[4999] = '\0';
    bool refused = !dg_http_parse_target(long_target, path, &query);
    free(long_target);
    CHECK(refused);

    CHECK(dg_query_get("a=1&preprocessed=0&a=2", "a", value, sizeof value) == 1);
    CHECK(!strcmp(value, "1"));
    CHECK(dg_query_get("x=hello+big%20world", "x", value, sizeof value) == 1);
    CHECK(!strcmp(value, "hello big world"));
    CHECK(dg_query_get("flag&b=2", "flag", value, sizeof value) == 1 && !value[0]);
    CHECK(dg_query_get("b=2#a=1", "a", value, sizeof value) == 0);
    CHECK(dg_query_get("", "a", value, sizeof value) == 0);
    CHECK(dg_query_get("a=%zz", "a", value, sizeof value) == -1);
    CHECK(dg_query_get("a=0123456789012345678901234567890123456789", "a", value, 8) == -1);
    CHECK(dg_query_get("%61=5", "a", value, sizeof value) == 1 && !strcmp(value, "5"));
}

/* A net whose class 1 wins when there is ink in the left half and class 8 when in the
 * right half, by a clear margin. */
static dg_status sided_net(dg_net **out)
{
    dg_shape in = {1, 28, 28};
    dg_status st = dg_net_new("flatten, dense 10", in, out);
    if (st != DG_OK) {
        return st;
    }
    float *w = dg_net_params(*out);
    memset(w, 0, dg_net_param_count(*out) * sizeof *w);
    for (int i = 0; i < DG_MNIST_PIXELS; i++) {
        w[(i % 28 < 14 ? 1 : 8) * DG_MNIST_PIXELS + i] = 0.2f;
    }
    return DG_OK;
}

/* A PNG of a bar, in memory: a vertical stroke of dark ink on white. */
static dg_status bar_png(uint8_t **data, size_t *n)
{
    dg_image *img;
    dg_status st = dg_image_new(40, 60, 1, &img);
    if (st != DG_OK) {
        return st;
    }
    memset(img->pixels, 255, 40 * 60);
    for (int y = 10; y < 50; y++) {
        for (int x = 18; x < 23; x++) {
            img->pixels[y * 40 + x] = 0;
        }
    }
    st = dg_image_encode_png(img, data, n);
    dg_image_free(img);
    return st;
}

typedef struct api_case {
    const char *method, *target, *content_type;
    int64_t length; /* -2: the body's own length */
    bool with_body;
    int want_status;
    const char *want_text;
} api_case;

DG_TEST(serve_api_routes_and_statuses)
{
    dg_net *net;
    CHECK_OK(sided_net(&net));
    dg_api_config cfg = {"hand.model", 4096, 0.0f, 2};
    dg_api *api;
    dg_status st = dg_api_new(net, NULL, &cfg, &api);
    dg_net_free(net);
    CHECK_OK(st);
    uint8_t *png;
    size_t n_png;
    st = bar_png(&png, &n_png);
    if (st != DG_OK) {
        dg_api_free(api);
        CHECK_OK(st);
    }
    static const api_case cases[] = {
        {"GET", "/", NULL, -1, false, 200, "<!doctype html>"},
        {"HEAD", "/", NULL, -1, false, 200, ""},
        {"GET", "/healthz", NULL, -1, false, 200, "{\"status\":\"ok\"}"},
        {"GET", "/api/model", NULL, -1, false, 200, "\"name\":\"hand.model\""},
        {"POST", "/api/predict", "image/png", -2, true, 200, "\"preprocessed\":\"data:image/png"},
        {"POST", "/api/predict?preprocessed=0", NULL, -2, true, 200, "\"probabilities\":["},
        {"POST", "/api/explain?class=8", NULL, -2, true, 200, "\"explained\":8"},
        {"POST", "/api/read", NULL, -2, true, 200, "\"number\":"},
        {"GET", "/nope", NULL, -1, false, 404, "not found"},
        {"GET", "/../Makefile", NULL, -1, false, 404, "not found"},
        {"GET", "/%2e%2e/include/digits.h", NULL, -1, false, 404, "not found"},
        {"GET", "/a%00", NULL, -1, false, 400, "bad request target"},
        {"GET", "/api/predict", NULL, -1, false, 405, "POST"},
        {"DELETE", "/", NULL, -1, false, 405, "use GET"},
        {"POST", "/healthz", NULL, 0, false, 405, "use GET"},
        {"POST", "/api/read", NULL, -1, false, 411, "length required"},
        {"POST", "/api/predict", NULL, 5000, false, 413, "too large"},
        {"POST", "/api/predict", "multipart/form-data; boundary=x", -2, true, 415, "bytes"},
        {"POST", "/api/predict", NULL, 0, false, 400, "empty body"},
        {"POST", "/api/predict?preprocessed=maybe", NULL, -2, true, 400, "want 0 or 1"},
        {"POST", "/api/explain?class=x", NULL, -2, true, 400, "class"},
        {"POST", "/api/explain?class=12", NULL, -2, true, 400, "classes 0..9"},
    };
    for (size_t i = 0; i < sizeof cases / sizeof cases[0]; i++) {
        const api_case *c = &cases[i];
        dg_http_request req = {c->method, c->target, c->content_type, c->length, false, NULL, 0};
        if (c->with_body) {
            req.body = png;
            req.n_body = n_png;
        }
        if (c->length == -2) {
            req.content_length = (int64_t)n_png;
        }
        dg_http_response resp;
        dg_api_handle(api, &req, &resp);
        bool ok = resp.status == c->want_status && resp.body && resp.content_type &&
                  memmem(resp.body, resp.n_body, c->want_text, strlen(c->want_text));
        if (!ok) {
            test_fail(__FILE__, __LINE__, "%s %s: %d %.*s, want %d with '%s'", c->method, c->target,
                      resp.status, (int)(resp.n_body < 300 ? resp.n_body : 300),
                      resp.body ? (const char *)resp.body : "", c->want_status, c->want_text);
        }
        if (ok && c->want_status == 405) {
            ok = resp.allow != NULL;
            if (!ok) {
                test_fail(__FILE__, __LINE__, "%s %s: a 405 without Allow", c->method, c->target);
            }
        }
        dg_http_response_free(&resp);
        if (!ok) {
            break;
        }
    }
    /* the bar, drawn left of centre, is ink in the 28x28's middle columns: class 1 or 8 */
    dg_http_request req = {"POST", "/api/predict", NULL, (int64_t)n_png, false, png, n_png};
    dg_http_response resp;
    dg_api_handle(api, &req, &resp);
    bool answered = resp.status == 200 && memmem(resp.body, resp.n_body, "\"status\":\"", 10);
    dg_http_response_free(&resp);
    /* bytes that are no image: 415; a cut PNG: 400 */
    static const uint8_t junk[] = "hello, this is not a picture";
    req = (dg_http_request){"POST", "/api/predict", NULL, sizeof junk, false, junk, sizeof junk};
    dg_api_handle(api, &req, &resp);
    int junk_status = resp.status;
    dg_http_response_free(&resp);
    req = (dg_http_request){"POST", "/api/read", NULL, 40, false, png, 40};
    dg_api_handle(api, &req, &resp);
    int cut_status = resp.status;
    dg_http_response_free(&resp);
    free(png);
    dg_api_free(api);
    CHECK(answered);
    CHECK_MSG(junk_status == 415, "junk body: %d", junk_status);
    CHECK_MSG(cut_status == 400, "cut PNG: %d", cut_status);
}

/* Empty, unsure and digit answers say so, with the guess only where there is one. */
DG_TEST(serve_api_honest_answers)
{
    dg_net *net;
    CHECK_OK(sided_net(&net));
    dg_api *api;
    dg_status st = dg_api_new(net, NULL, NULL, &api);
    dg_net_free(net);
    CHECK_OK(st);
    dg_image *img;
    st = dg_image_new(30, 30, 1, &img);
    if (st != DG_OK) {
        dg_api_free(api);
        CHECK_OK(st);
    }
    memset(img->pixels, 255, 900);
    uint8_t *png = NULL;
    size_t n = 0;
    st = dg_image_encode_png(img, &png, &n);
    dg_image_free(img);
    dg_http_request req = {"POST", "/api/predict?preprocessed=0", NULL, (int64_t)n, false, png, n};
    dg_http_response resp = {0};
    if (st == DG_OK) {
        dg_api_handle(api, &req, &resp);
    }
    char body[2048] = "";
    snprintf(body, sizeof body, "%.*s", (int)resp.n_body, resp.body ? (const char *)resp.body : "");
    dg_http_response_free(&resp);
    req.target = "/api/explain";
    if (st == DG_OK) {
        dg_api_handle(api, &req, &resp);
    }
    bool explain_empty =
        resp.status == 200 && memmem(resp.body, resp.n_body, "\"heatmap\":null", 14);
    dg_http_response_free(&resp);
    free(png);
    dg_api_free(api);
    CHECK_OK(st);
    CHECK_MSG(strstr(body, "\"status\":\"empty\"") && strstr(body, "\"digit\":null") &&
                  strstr(body, "\"guess\":null") && strstr(body, "\"probabilities\":null") &&
                  !strstr(body, "preprocessed"),
              "blank image: %s", body);
    CHECK(explain_empty);
}

/* A net that does not take 28x28 digits is refused when the api is made. */
DG_TEST(serve_api_refuses_other_nets)
{
    dg_net *net;
    dg_shape in = {1, 8, 8};
    CHECK_OK(dg_net_new("flatten, dense 10", in, &net));
    dg_api *api = (dg_api *)1;
    dg_status st = dg_api_new(net, NULL, NULL, &api);
    dg_net_free(net);
    CHECK(st == DG_ERR_MISMATCH && api == NULL);
}

/* A small PNG of a huge picture is refused once decoded, before it is preprocessed. */
DG_TEST(serve_api_refuses_huge_pictures)
{
    dg_image *img;
    CHECK_OK(dg_image_new(6000, 4001, 1, &img));
    memset(img->pixels, 255, (size_t)6000 * 4001);
    uint8_t *png = NULL;
    size_t n = 0;
    dg_status st = dg_image_encode_png(img, &png, &n);
    dg_image_free(img);
    CHECK_OK(st);
    dg_net *net;
    st = sided_net(&net);
    dg_api *api = NULL;
    if (st == DG_OK) {
        st = dg_api_new(net, NULL, NULL, &api);
        dg_net_free(net);
    }
    dg_http_response resp = {0};
    if (st == DG_OK) {
        dg_http_request req = {"POST", "/api/predict", NULL, (int64_t)n, false, png, n};
        dg_api_handle(api, &req, &resp);
    }
    bool refused = resp.status == 413 && memmem(resp.body, resp.n_body, "6000x4001", 9);
    dg_http_response_free(&resp);
    dg_api_free(api);
    free(png);
    CHECK_OK(st);
    CHECK_MSG(n < DG_API_DEFAULT_MAX_BODY, "the PNG is %zu bytes", n);
    CHECK(refused);
}

/* A grey w x h JPEG of white paper with a black bar over columns [bx, bx + 40), rows
 * [h / 4, 3 * h / 4), in memory (free with free()). */
static bool bar_jpeg(int w, int h, int bx, unsigned char **data, unsigned long *n)
{
    unsigned char *row = malloc((size_t)w);
    if (!row) {
        return false;
    }
    struct jpeg_compress_struct c;
    struct jpeg_error_mgr err;
    c.err = jpeg_std_error(&err);
    jpeg_create_compress(&c);
    *data = NULL;
    *n = 0;
    jpeg_mem_dest(&c, data, n);
    c.image_width = (JDIMENSION)w;
    c.image_height = (JDIMENSION)h;
    c.input_components = 1;
    c.in_color_space = JCS_GRAYSCALE;
    jpeg_set_defaults(&c);
    jpeg_set_quality(&c, 90, TRUE);
    jpeg_start_compress(&c, TRUE);
    for (int y = 0; y < h; y++) {
        for (int x = 0; x < w; x++) {
            row[x] = x >= bx && x < bx + 40 && y >= h / 4 && y < 3 * h / 4 ? 0 : 255;
        }
        JSAMPROW r = row;
        jpeg_write_scanlines(&c, &r, 1);
    }
    jpeg_finish_compress(&c);
    jpeg_destroy_compress(&c);
    free(row);
    return true;
}

/* A big JPEG is decoded reduced, but its size and boxes are answered in its own pixels. */
DG_TEST(serve_api_reduced_jpeg_in_its_own_pixels)
{
    unsigned char *jpg = NULL;
    unsigned long n = 0;
    CHECK(bar_jpeg(2400, 1600, 1000, &jpg, &n));
    dg_net *net;
    dg_status st = sided_net(&net);
    dg_api *api = NULL;
    if (st == DG_OK) {
        st = dg_api_new(net, NULL, NULL, &api);
        dg_net_free(net);
    }
    char body[4096] = "";
    if (st == DG_OK) {
        dg_http_request req = {"POST", "/api/read?preprocessed=0", NULL, (int64_t)n, false, jpg, n};
        dg_http_response resp = {0};
        dg_api_handle(api, &req, &resp);
        snprintf(body, sizeof body, "%d %.*s", resp.status, (int)resp.n_body,
                 resp.body ? (const char *)resp.body : "");
        dg_http_response_free(&resp);
    }
    dg_api_free(api);
    free(jpg);
    CHECK_OK(st);
    const char *box = strstr(body, "\"box\":{\"x\":");
    int x = -1, y = -1, w = -1, h = -1;
    CHECK_MSG(!strncmp(body, "200 ", 4) && strstr(body, "\"width\":2400,\"height\":1600") && box &&
                  sscanf(box, "\"box\":{\"x\":%d,\"y\":%d,\"w\":%d,\"h\":%d", &x, &y, &w, &h) == 4,
              "%s", body);
    /* the bar: x 1000-1039, y 400-1199, within the reduction (2) and the pooling (2) */
    CHECK_MSG(abs(x - 1000) <= 12 && abs(w - 40) <= 24 && abs(y - 400) <= 12 && abs(h - 800) <= 24,
              "box %d,%d %dx%d", x, y, w, h);
}
