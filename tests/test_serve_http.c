/*
 * test_serve_http.c - `digits serve` over real sockets on a free loopback port: every
 * endpoint and error status, malformed requests (bad request lines, missing and huge
 * Content-Length, truncated and oversized bodies, wrong methods, path traversal),
 * concurrent clients each getting their own answer, overload, the server answering
 * after all that, the same answers as `digits predict` and `digits read` on samples/,
 * and the program itself: its URL line, its warning off loopback, a clean stop on
 * SIGTERM that lets an open request finish. The client is plain sockets.
 */
#include "test.h"

#include <arpa/inet.h>
#include <dirent.h>
#include <math.h>
#include <netinet/in.h>
#include <pthread.h>
#include <signal.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>
#include <sys/time.h>
#include <sys/wait.h>
#include <unistd.h>

/* ------------------------------------------------------------------ a client */

static int connect_to(int port)
{
    int fd = socket(AF_INET, SOCK_STREAM, 0);
    if (fd < 0) {
        return -1;
    }
    struct timeval tv = {20, 0};
    setsockopt(fd, SOL_SOCKET, SO_RCVTIMEO, &tv, sizeof tv);
    setsockopt(fd, SOL_SOCKET, SO_SNDTIMEO, &tv, sizeof tv);
    struct sockaddr_in addr = {0};
    addr.sin_family = AF_INET;
    addr.sin_port = htons((uint16_t)port);
    addr.sin_addr.s_addr = htonl(INADDR_LOOPBACK);
    if (connect(fd, (struct sockaddr *)&addr, sizeof addr) != 0) {
        close(fd);
        return -1;
    }
    return fd;
}

static bool send_all(int fd, const void *data, size_t n)
{
    const char *p = data;
    while (n > 0) {
        ssize_t k = send(fd, p, n, MSG_NOSIGNAL);
        if (k <= 0) {
            return false;
        }
        p += k;
        n -= (size_t)k;
    }
    return true;
}

/* Reads until the server closes, into out[size] (NUL-terminated); returns the status of
 * the first line, 0 when there was no response at all, -1 on a connection failure. */
static int read_response(int fd, char *out, size_t size)
{
    size_t n = 0;
    ssize_t k;
    while (n + 1 < size && (k = recv(fd, out + n, size - 1 - n, 0)) > 0) {
        n += (size_t)k;
    }
    out[n] = '\0';
    int status = 0;
    if (sscanf(out, "HTTP/1.%*d %d", &status) != 1) {
        return 0;
    }
    return status;
}

/* One exchange on a new connection: the head (which should say Connection: close) and
 * n_body bytes of body, then the whole response. */
static int exchange(int port, const char *head, const void *body, size_t n_body, char *out,
                    size_t size)
{
    int fd = connect_to(port);
    if (fd < 0) {
        return -1;
    }
    int status = -1;
    if (send_all(fd, head, strlen(head)) && (n_body == 0 || send_all(fd, body, n_body))) {
        status = read_response(fd, out, size);
    }
    close(fd);
    return status;
}

/* POST target with body, Connection: close; the response in out. */
static int post(int port, const char *target, const void *body, size_t n, char *out, size_t size)
{
    char head[512];
    snprintf(head, sizeof head,
             "POST %s HTTP/1.1\r\nHost: localhost\r\nContent-Type: image/png\r\n"
             "Content-Length: %zu\r\nConnection: close\r\n\r\n",
             target, n);
    return exchange(port, head, body, n, out, size);
}

static int get(int port, const char *target, char *out, size_t size)
{
    char head[512];
    snprintf(head, sizeof head, "GET %s HTTP/1.1\r\nHost: localhost\r\nConnection: close\r\n\r\n",
             target);
    return exchange(port, head, NULL, 0, out, size);
}

/* ------------------------------------------------------------------ a server */

/* Class 1 when the ink is in the left half of the 28x28, 8 in the right half. */
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

/* A white 60x60 PNG with half a ring in dark ink: left_open draws ")", whose ink lies
 * right of its centre of mass once preprocessed (class 8 for the sided net), else "("
 * (class 1). A full disc would be centred and tell nothing. */
static dg_status crescent_png(bool left_open, uint8_t **data, size_t *n)
{
    dg_image *img;
    dg_status st = dg_image_new(60, 60, 1, &img);
    if (st != DG_OK) {
        return st;
    }
    for (int y = 0; y < 60; y++) {
        for (int x = 0; x < 60; x++) {
            double dx = x - 30, dy = y - 30, r = dx * dx + dy * dy;
            bool ring = r < 22 * 22 && r > 16 * 16;
            bool side = left_open ? x > 30 : x < 30;
            img->pixels[y * 60 + x] = ring && side ? 0 : 255;
        }
    }
    st = dg_image_encode_png(img, data, n);
    dg_image_free(img);
    return st;
}

typedef struct test_server {
    dg_api *api;
    dg_server *server;
    int port;
} test_server;

static dg_status start_server(dg_net *net, size_t max_body, int max_connections, test_server *t)
{
    *t = (test_server){0};
    dg_api_config acfg = {"test.model", max_body, 0.0f, 4};
    dg_status st = dg_api_new(net, NULL, &acfg, &t->api);
    if (st != DG_OK) {
        return st;
    }
    dg_server_config scfg = {"127.0.0.1", 0, 4, max_connections};
    st = dg_server_start(t->api, &scfg, &t->server);
    if (st != DG_OK) {
        dg_api_free(t->api);
        t->api = NULL;
        return st;
    }
    t->port = dg_server_port(t->server);
    return DG_OK;
}

static void stop_server(test_server *t)
{
    dg_server_stop(t->server, 5000);
    dg_api_free(t->api);
    *t = (test_server){0};
}

static dg_status start_sided_server(size_t max_body, int max_connections, test_server *t)
{
    dg_net *net;
    dg_status st = sided_net(&net);
    if (st == DG_OK) {
        st = start_server(net, max_body, max_connections, t);
        dg_net_free(net);
    }
    return st;
}

/* ------------------------------------------------------------------ the cases */

typedef struct raw_case {
    const char *request; /* sent as is */
    int want_status;     /* 0: no response, the connection just closes */
    const char *want_text;
} raw_case;

static void check_raw_cases(int port, const raw_case *cases, size_t n)
{
    static char out[1 << 16];
    for (size_t i = 0; i < n; i++) {
        int st = exchange(port, cases[i].request, NULL, 0, out, sizeof out);
        CHECK_MSG(st == cases[i].want_status && strstr(out, cases[i].want_text),
                  "request %zu '%.40s...': status %d, want %d with '%s'; got: %.300s", i,
                  cases[i].request, st, cases[i].want_status, cases[i].want_text, out);
    }
}

DG_TEST(serve_http_endpoints_and_errors)
{
    test_server t;
    CHECK_OK(start_sided_server(64 * 1024, 0, &t));
    uint8_t *png = NULL;
    size_t n_png = 0;
    dg_status st = crescent_png(true, &png, &n_png);
    static char out[1 << 17];
    int s_page = get(t.port, "/", out, sizeof out);
    bool page_ok = strstr(out, "Content-Security-Policy: default-src 'none'; script-src 'self'") &&
                   strstr(out, "<!doctype html>");
    int s_health = get(t.port, "/healthz", out, sizeof out);
    bool health_ok = strstr(out, "{\"status\":\"ok\"}") != NULL;
    int s_model = get(t.port, "/api/model", out, sizeof out);
    bool model_ok = strstr(out, "\"spec\":\"flatten, dense 10\"") != NULL;
    int s_predict = st == DG_OK ? post(t.port, "/api/predict", png, n_png, out, sizeof out) : -9;
    bool predict_ok = strstr(out, "\"guess\":") && strstr(out, "\"preprocessed\":\"data:image/png");
    int s_read = st == DG_OK ? post(t.port, "/api/read", png, n_png, out, sizeof out) : -9;
    int s_explain = st == DG_OK ? post(t.port, "/api/explain", png, n_png, out, sizeof out) : -9;
    bool explain_ok = strstr(out, "\"heatmap\":\"data:image/png;base64,") != NULL;
    int s_junk = post(t.port, "/api/predict", "GIF89a not really", 17, out, sizeof out);
    bool junk_json = strstr(out, "{\"error\":") != NULL;
    /* a truncated PNG body: 400 */
    int s_cut = st == DG_OK ? post(t.port, "/api/predict", png, n_png / 2, out, sizeof out) : -9;
    CHECK_OK(st);
    free(png);
    CHECK_MSG(s_page == 200 && page_ok, "GET /: %d", s_page);
    CHECK_MSG(s_health == 200 && health_ok, "GET /healthz: %d", s_health);
    CHECK_MSG(s_model == 200 && model_ok, "GET /api/model: %d", s_model);
    CHECK_MSG(s_predict == 200 && predict_ok, "POST /api/predict: %d", s_predict);
    CHECK_MSG(s_read == 200, "POST /api/read: %d", s_read);
    CHECK_MSG(s_explain == 200 && explain_ok, "POST /api/explain: %d", s_explain);
    CHECK_MSG(s_junk == 415 && junk_json, "not an image: %d", s_junk);
    CHECK_MSG(s_cut == 400, "cut PNG: %d", s_cut);

    static const raw_case cases[] = {
        {"GET /nope HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404, "not found"},
        {"GET /../../etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404, ""},
        {"GET /%2e%2e/%2e%2e/etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404, ""},
        {"GET /..%2fMakefile HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404, ""},
        {"GET //etc/passwd HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 404, ""},
        {"GET /%00 HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 400, "bad request target"},
        {"GET /api/predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405, "Allow: POST"},
        {"PUT /api/read HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n", 405,
         "Allow: POST"},
        {"DELETE / HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 405, "Allow: GET, HEAD"},
        {"POST /api/predict HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 411, "length"},
        {"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 99999999999\r\n"
         "Connection: close\r\n\r\n",
         413, "too large"},
        {"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 0\r\nConnection: close\r\n\r\n",
         400, "empty body"},
        {"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Type: multipart/form-data; "
         "boundary=b\r\nContent-Length: 4\r\nConnection: close\r\n\r\n--b\n",
         415, "bytes"},
        {"HEAD /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n", 200, "Content-Type"},
        /* libmicrohttpd closes the connection on a request line it cannot read */
        {"GARBAGE\r\n\r\n", 0, ""},
        {"GET\r\n\r\n", 0, ""},
        {"GET / HTTP/9.9\r\nHost: x\r\nConnection: close\r\n\r\n", 505, ""},
        {"GET / HTTP/1.1\r\nHost: x\r\nBad Header Line\r\nConnection: close\r\n\r\n", 400, ""},
        {"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: -5\r\nConnection: close\r\n\r\n",
         400, ""},
        {"POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 12abc\r\n"
         "Connection: close\r\n\r\n",
         400, ""},
    };
    check_raw_cases(t.port, cases, sizeof cases / sizeof cases[0]);

    /* a header far past the per-connection memory: refused, not stored */
    size_t big = 200 * 1024;
    char *huge = malloc(big + 128);
    CHECK(huge);
    int n = snprintf(huge, 128, "GET / HTTP/1.1\r\nHost: x\r\nX-Big: ");
    memset(huge + n, 'a', big);
    memcpy(huge + n + big, "\r\nConnection: close\r\n\r\n", 24);
    int s_big = exchange(t.port, huge, NULL, 0, out, sizeof out);
    free(huge);
    CHECK_MSG(s_big == 431 || s_big == 413 || s_big == 400 || s_big <= 0, "a 200 KB header: %d",
              s_big);

    /* a body that stops early, then the client goes: no answer, and nothing left behind */
    int fd = connect_to(t.port);
    CHECK(fd >= 0);
    const char *partial = "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: 1000\r\n"
                          "Connection: close\r\n\r\n\x89PNG\r\n";
    bool sent = send_all(fd, partial, strlen(partial));
    shutdown(fd, SHUT_WR);
    int s_partial = read_response(fd, out, sizeof out);
    close(fd);
    CHECK(sent);
    CHECK_MSG(s_partial == 0 || s_partial == 400, "truncated body: %d", s_partial);

    /* a chunked body past the limit is answered 413 when it ends; one going on for more
     * than 1 MiB past it has its connection closed; a small one is answered */
    const char *chunked_head = "POST /api/predict HTTP/1.1\r\nHost: x\r\n"
                               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    static char chunk[8192 + 16];
    int head_n = snprintf(chunk, sizeof chunk, "2000\r\n");
    memset(chunk + head_n, 'x', 8192);
    memcpy(chunk + head_n + 8192, "\r\n", 2);
    fd = connect_to(t.port);
    CHECK(fd >= 0);
    sent = send_all(fd, chunked_head, strlen(chunked_head));
    for (int i = 0; sent && i < 12; i++) { /* 96 KB > 64 KB */
        sent = send_all(fd, chunk, (size_t)head_n + 8194);
    }
    sent = sent && send_all(fd, "0\r\n\r\n", 5);
    int s_chunked = read_response(fd, out, sizeof out);
    close(fd);
    CHECK(sent);
    CHECK_MSG(s_chunked == 413 && strstr(out, "{\"error\":\"body too large"),
              "oversized chunked body: %d %s", s_chunked, out);
    fd = connect_to(t.port);
    CHECK(fd >= 0);
    sent = send_all(fd, chunked_head, strlen(chunked_head));
    for (int i = 0; sent && i < 160; i++) { /* 1.3 MB: more than 1 MiB past 64 KB */
        sent = send_all(fd, chunk, (size_t)head_n + 8194);
    }
    s_chunked = read_response(fd, out, sizeof out);
    close(fd);
    CHECK_MSG(s_chunked <= 0, "endless chunked body: %d", s_chunked);
    s_chunked = exchange(t.port,
                         "POST /api/predict HTTP/1.1\r\nHost: x\r\nTransfer-Encoding: chunked\r\n"
                         "Connection: close\r\n\r\n5\r\nhello\r\n0\r\n\r\n",
                         NULL, 0, out, sizeof out);
    CHECK_MSG(s_chunked == 415, "small chunked body: %d %s", s_chunked, out);

    /* keep-alive: two requests on one connection */
    fd = connect_to(t.port);
    CHECK(fd >= 0);
    const char *two = "GET /healthz HTTP/1.1\r\nHost: x\r\n\r\n"
                      "GET /healthz HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n";
    sent = send_all(fd, two, strlen(two));
    read_response(fd, out, sizeof out);
    close(fd);
    char *second = strstr(out, "{\"status\":\"ok\"}");
    CHECK(sent && second && strstr(second + 1, "{\"status\":\"ok\"}"));

    /* and after all of that, still answering */
    CHECK(get(t.port, "/healthz", out, sizeof out) == 200);
    stop_server(&t);
}

typedef struct client_job {
    int port;
    const uint8_t *png[2];
    size_t n[2];
    int id, wrong, failed;
} client_job;

/* Alternates the two crescents; each answer must be its own picture's class. */
static void *client_run(void *arg)
{
    client_job *j = arg;
    static const char *const want[2] = {"\"guess\":8,", "\"guess\":1,"};
    char out[8192];
    for (int i = 0; i < 12; i++) {
        int k = (i + j->id) % 2;
        int st = post(j->port, "/api/predict?preprocessed=0", j->png[k], j->n[k], out, sizeof out);
        if (st != 200) {
            j->failed++;
        } else if (!strstr(out, want[k])) {
            j->wrong++;
        }
    }
    return NULL;
}

DG_TEST(serve_http_concurrent_clients)
{
    test_server t;
    CHECK_OK(start_sided_server(0, 0, &t));
    client_job jobs[8];
    uint8_t *left = NULL, *right = NULL;
    size_t n_left = 0, n_right = 0;
    dg_status st = crescent_png(true, &left, &n_left);
    if (st == DG_OK) {
        st = crescent_png(false, &right, &n_right);
    }
    pthread_t th[8];
    int started = 0;
    for (int i = 0; st == DG_OK && i < 8; i++) {
        jobs[i] = (client_job){t.port, {left, right}, {n_left, n_right}, i, 0, 0};
        if (pthread_create(&th[i], NULL, client_run, &jobs[i]) == 0) {
            started++;
        }
    }
    int wrong = 0, failed = 0;
    for (int i = 0; i < started; i++) {
        pthread_join(th[i], NULL);
        wrong += jobs[i].wrong;
        failed += jobs[i].failed;
    }
    char out[4096];
    int after = get(t.port, "/healthz", out, sizeof out);
    stop_server(&t);
    free(left);
    free(right);
    CHECK_OK(st);
    CHECK(started == 8);
    CHECK_MSG(wrong == 0 && failed == 0, "%d wrong answers, %d failed requests of 96", wrong,
              failed);
    CHECK(after == 200);
}

/* The body of a response, after its head; "" when there is none. */
static const char *body_of(const char *response)
{
    const char *b = strstr(response, "\r\n\r\n");
    return b ? b + 4 : "";
}

/* Sends head, then body in n_pieces pieces 30 ms apart, then reads the response. */
static int post_in_pieces(int port, const char *head, const uint8_t *body, size_t n, int n_pieces,
                          char *out, size_t size)
{
    int fd = connect_to(port);
    if (fd < 0) {
        return -1;
    }
    bool sent = send_all(fd, head, strlen(head));
    struct timespec pause = {0, 30 * 1000 * 1000};
    for (int k = 0; sent && k < n_pieces; k++) {
        size_t from = n * (size_t)k / (size_t)n_pieces, to = n * (size_t)(k + 1) / (size_t)n_pieces;
        nanosleep(&pause, NULL);
        sent = send_all(fd, body + from, to - from);
    }
    int status = sent ? read_response(fd, out, size) : -1;
    close(fd);
    return status;
}

/* A body that comes whole is answered from the server's read buffer, one that comes in
 * pieces from the bytes kept: the same answer either way, and for a chunked body. */
DG_TEST(serve_http_body_whole_or_in_pieces)
{
    test_server t;
    CHECK_OK(start_sided_server(0, 0, &t));
    uint8_t *png = NULL;
    size_t n = 0;
    dg_status st = crescent_png(false, &png, &n);
    static char whole[1 << 16], pieces[1 << 16], chunked[1 << 16];
    int s_whole = st == DG_OK ? post(t.port, "/api/predict", png, n, whole, sizeof whole) : -9;
    char head[256];
    snprintf(head, sizeof head,
             "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             n);
    int s_pieces =
        st == DG_OK ? post_in_pieces(t.port, head, png, n, 3, pieces, sizeof pieces) : -9;
    /* the same bytes as two chunks of HTTP/1.1 chunked encoding */
    static uint8_t body[1 << 15];
    size_t half = n / 2, m = 0;
    if (st == DG_OK && n + 64 < sizeof body) {
        m += (size_t)snprintf((char *)body, sizeof body, "%zx\r\n", half);
        memcpy(body + m, png, half);
        m += half;
        m += (size_t)snprintf((char *)body + m, sizeof body - m, "\r\n%zx\r\n", n - half);
        memcpy(body + m, png + half, n - half);
        m += n - half;
        memcpy(body + m, "\r\n0\r\n\r\n", 7);
        m += 7;
    }
    const char *chunked_head = "POST /api/predict HTTP/1.1\r\nHost: x\r\n"
                               "Transfer-Encoding: chunked\r\nConnection: close\r\n\r\n";
    int s_chunked =
        m ? post_in_pieces(t.port, chunked_head, body, m, 2, chunked, sizeof chunked) : -9;
    stop_server(&t);
    free(png);
    CHECK_OK(st);
    CHECK_MSG(s_whole == 200 && strstr(body_of(whole), "\"guess\":1,"), "whole: %d %.200s", s_whole,
              whole);
    CHECK_MSG(s_pieces == 200 && !strcmp(body_of(pieces), body_of(whole)), "in pieces: %d %.200s",
              s_pieces, pieces);
    CHECK_MSG(s_chunked == 200 && !strcmp(body_of(chunked), body_of(whole)), "chunked: %d %.200s",
              s_chunked, chunked);
}

DG_TEST(serve_http_overloaded_is_503)
{
    test_server t;
    CHECK_OK(start_sided_server(0, 1, &t));
    int idle = connect_to(t.port); /* holds the one connection allowed */
    char out[4096];
    struct timespec pause = {0, 100 * 1000 * 1000};
    nanosleep(&pause, NULL);
    int busy = get(t.port, "/healthz", out, sizeof out);
    bool retry = strstr(out, "Retry-After: 1") != NULL;
    if (idle >= 0) {
        close(idle);
    }
    nanosleep(&pause, NULL);
    int later = get(t.port, "/healthz", out, sizeof out);
    stop_server(&t);
    CHECK(idle >= 0);
    CHECK_MSG(busy == 503 && retry, "a second connection: %d", busy);
    CHECK_MSG(later == 200, "once the first is gone: %d", later);
}

/* ------------------------------------------------------------------ against the CLI */

static const char *digits_bin(void)
{
    const char *bin = getenv("DIGITS_BIN");
    return bin ? bin : "build/digits";
}

/* The CLI's CSV rows for a folder, one "digit,confidence,status" per file name. */
typedef struct cli_row {
    char name[128], fields[128];
} cli_row;

static int cli_rows(const char *cmd, const char *dir, cli_row *rows, int max)
{
    char line[1024];
    snprintf(line, sizeof line, "%s %s --csv %s 2>/dev/null", digits_bin(), cmd, dir);
    FILE *p = popen(line, "r");
    if (!p) {
        return -1;
    }
    int n = 0;
    while (fgets(line, sizeof line, p) && n < max) {
        char *comma = strchr(line, ',');
        char *slash = strrchr(line, '/');
        if (!comma || !slash || slash > comma) {
            continue; /* the header */
        }
        snprintf(rows[n].name, sizeof rows[n].name, "%.*s", (int)(comma - slash - 1), slash + 1);
        snprintf(rows[n].fields, sizeof rows[n].fields, "%s", comma + 1);
        rows[n].fields[strcspn(rows[n].fields, "\n")] = '\0';
        n++;
    }
    pclose(p);
    return n;
}

/* The value after "key": in a JSON text, up to the next ',' or '}' (quotes dropped). */
static void json_field(const char *json, const char *key, char *out, size_t size)
{
    char pattern[64];
    snprintf(pattern, sizeof pattern, "\"%s\":", key);
    const char *at = strstr(json, pattern);
    out[0] = '\0';
    if (!at) {
        return;
    }
    at += strlen(pattern);
    size_t n = strcspn(at, ",}");
    if (*at == '"') {
        at++;
        n = strcspn(at, "\"");
    }
    snprintf(out, size, "%.*s", (int)n, at);
}

/* Two "digit,confidence,status" rows say the same: the same digit and status, and
 * confidences within half a unit of the fourth decimal (the CLI rounds the float to 4
 * decimals, the API prints 6 digits, and rounding those again can move the last one). */
static bool same_prediction(const char *a, const char *b)
{
    const char *a1 = strchr(a, ','), *b1 = strchr(b, ',');
    const char *a2 = a1 ? strchr(a1 + 1, ',') : NULL, *b2 = b1 ? strchr(b1 + 1, ',') : NULL;
    if (!a2 || !b2 || a1 - a != b1 - b || strncmp(a, b, (size_t)(a1 - a)) || strcmp(a2, b2)) {
        return false;
    }
    return fabs(atof(a1 + 1) - atof(b1 + 1)) <= 0.5e-4 + 1e-6;
}

/* The same preprocessing and answers as `digits predict` and `digits read`: every image
 * of samples/digits and samples/numbers, answer, confidence and status alike. */
DG_TEST(serve_http_same_answers_as_cli)
{
    const char *model = "model/digits.model";
    dg_model_meta meta;
    dg_net *net;
    if (dg_model_load(model, &net, &meta) != DG_OK) {
        SKIP("no trained model at %s (digits train -o %s)", model, model);
    }
    test_server t;
    dg_status st = start_server(net, 0, 0, &t);
    dg_net_free(net);
    CHECK_OK(st);
    static cli_row rows[64];
    static char out[1 << 17];
    char cmd[512];
    snprintf(cmd, sizeof cmd, "predict --model %s", model);
    int n = cli_rows(cmd, "samples/digits", rows, 64);
    int compared = 0;
    for (int i = 0; i < n; i++) {
        char path[512];
        snprintf(path, sizeof path, "samples/digits/%.127s", rows[i].name);
        size_t size;
        uint8_t *png = test_read_file(path, &size);
        int status =
            png ? post(t.port, "/api/predict?preprocessed=0", png, size, out, sizeof out) : -1;
        free(png);
        char *json = strstr(out, "\r\n\r\n");
        char digit[32], conf[32], state[32], api[128];
        json_field(json ? json : "", "digit", digit, sizeof digit);
        json_field(json ? json : "", "confidence", conf, sizeof conf);
        json_field(json ? json : "", "status", state, sizeof state);
        snprintf(api, sizeof api, "%s,%s,%s", strcmp(digit, "null") ? digit : "", conf, state);
        if (status != 200 || !same_prediction(api, rows[i].fields)) {
            test_fail(__FILE__, __LINE__, "%s: CLI says %s, the API %s (HTTP %d)", path,
                      rows[i].fields, api, status);
            break;
        }
        compared++;
    }
    snprintf(cmd, sizeof cmd, "read --model %s", model);
    int n_read = cli_rows(cmd, "samples/numbers", rows, 64);
    int read_compared = 0;
    for (int i = 0; i < n_read; i++) {
        char path[512];
        snprintf(path, sizeof path, "samples/numbers/%.127s", rows[i].name);
        size_t size;
        uint8_t *png = test_read_file(path, &size);
        int status =
            png ? post(t.port, "/api/read?preprocessed=0", png, size, out, sizeof out) : -1;
        free(png);
        char *json = strstr(out, "\r\n\r\n");
        char number[128], want[128];
        json_field(json ? json : "", "number", number, sizeof number);
        snprintf(want, sizeof want, "%.*s", (int)strcspn(rows[i].fields, ","), rows[i].fields);
        if (status != 200 || strcmp(number, want) != 0) {
            test_fail(__FILE__, __LINE__, "%s: CLI reads %s, the API %s (HTTP %d)", path, want,
                      number, status);
            break;
        }
        read_compared++;
    }
    stop_server(&t);
    CHECK_MSG(n >= 20 && compared == n, "compared %d of %d digits", compared, n);
    CHECK_MSG(n_read >= 10 && read_compared == n_read, "compared %d of %d numbers", read_compared,
              n_read);
}

/* ------------------------------------------------------------------ the program */

typedef struct child {
    pid_t pid;
    FILE *out; /* its stdout and stderr */
} child;

static bool spawn(const char *args, child *c)
{
    int fds[2];
    if (pipe(fds) != 0) {
        return false;
    }
    c->pid = fork();
    if (c->pid < 0) {
        close(fds[0]);
        close(fds[1]);
        return false;
    }
    if (c->pid == 0) {
        dup2(fds[1], 1);
        dup2(fds[1], 2);
        close(fds[0]);
        close(fds[1]);
        char cmd[2048];
        snprintf(cmd, sizeof cmd, "exec %s %s", digits_bin(), args);
        execl("/bin/sh", "sh", "-c", cmd, (char *)NULL);
        _exit(127);
    }
    close(fds[1]);
    c->out = fdopen(fds[0], "r");
    return c->out != NULL;
}

/* Waits for the child; its exit status, or -1 when it did not exit normally. */
static int reap(child *c)
{
    int status;
    if (waitpid(c->pid, &status, 0) != c->pid) {
        return -1;
    }
    fclose(c->out);
    return WIFEXITED(status) ? WEXITSTATUS(status) : -1;
}

/* Reads lines until one holds "http://"; the port in it, or -1. */
static int read_port(child *c, char *log, size_t size)
{
    char line[512];
    log[0] = '\0';
    while (fgets(line, sizeof line, c->out)) {
        strncat(log, line, size - strlen(log) - 1);
        const char *url = strstr(line, "http://");
        const char *colon = url ? strchr(url + 7, ':') : NULL;
        if (colon) {
            return atoi(colon + 1);
        }
    }
    return -1;
}

/* digits serve prints its URL, answers, and on SIGTERM lets a request that is half sent
 * finish before it exits 0; off loopback it warns. */
DG_TEST(serve_program_stops_cleanly)
{
    dg_net *net;
    CHECK_OK(sided_net(&net));
    const char *dir = test_tmp_dir();
    char model[512], args[1024], log[4096];
    snprintf(model, sizeof model, "%s/sided.model", dir);
    dg_status st = dg_model_save(model, net, NULL);
    dg_net_free(net);
    CHECK_OK(st);
    snprintf(args, sizeof args, "serve --model %s --port 0 --threads 2", model);
    child c;
    CHECK(spawn(args, &c));
    int port = read_port(&c, log, sizeof log);
    if (port <= 0) {
        kill(c.pid, SIGKILL);
        reap(&c);
        CHECK_MSG(port > 0, "no URL printed: %s", log);
    }
    bool loopback_quiet = !strstr(log, "warning");
    static char out[1 << 16];
    int health = get(port, "/healthz", out, sizeof out);

    uint8_t *png = NULL;
    size_t n_png = 0;
    st = crescent_png(false, &png, &n_png);
    int fd = connect_to(port);
    char head[256];
    snprintf(head, sizeof head,
             "POST /api/predict HTTP/1.1\r\nHost: x\r\nContent-Length: %zu\r\n"
             "Connection: close\r\n\r\n",
             n_png);
    bool sent =
        st == DG_OK && fd >= 0 && send_all(fd, head, strlen(head)) && send_all(fd, png, n_png / 2);
    struct timespec pause = {0, 200 * 1000 * 1000};
    nanosleep(&pause, NULL);
    kill(c.pid, SIGTERM);
    nanosleep(&pause, NULL);
    sent = sent && send_all(fd, png + n_png / 2, n_png - n_png / 2);
    int finished = fd >= 0 ? read_response(fd, out, sizeof out) : -1;
    bool answered = strstr(out, "\"guess\":1,") != NULL;
    if (fd >= 0) {
        close(fd);
    }
    free(png);
    int exit_status = reap(&c);
    CHECK_OK(st);
    CHECK(loopback_quiet);
    CHECK(health == 200);
    CHECK(sent);
    CHECK_MSG(finished == 200 && answered, "the open request: %d %.200s", finished, out);
    CHECK_MSG(exit_status == 0, "exit status %d after SIGTERM", exit_status);

    snprintf(args, sizeof args, "serve --model %s --host 0.0.0.0 --port 0", model);
    CHECK(spawn(args, &c));
    port = read_port(&c, log, sizeof log);
    kill(c.pid, SIGINT);
    exit_status = reap(&c);
    CHECK_MSG(port > 0 && strstr(log, "warning") && exit_status == 0,
              "--host 0.0.0.0: port %d, exit %d: %s", port, exit_status, log);

    /* usage errors name the option */
    snprintf(args, sizeof args, "serve --port 70000");
    CHECK(spawn(args, &c));
    read_port(&c, log, sizeof log);
    exit_status = reap(&c);
    CHECK_MSG(exit_status == 2 && strstr(log, "--port: '70000'"), "exit %d: %s", exit_status, log);
    snprintf(args, sizeof args, "serve --model %s --host no.such.host.invalid --port 0", model);
    CHECK(spawn(args, &c));
    read_port(&c, log, sizeof log);
    exit_status = reap(&c);
    CHECK_MSG(exit_status == 1 && strstr(log, "no.such.host.invalid"), "exit %d: %s", exit_status,
              log);
}

/* digits predict --explain draws the heat-map of its answer; with no digit it says so. */
DG_TEST(serve_predict_explain_cli)
{
    dg_net *net;
    CHECK_OK(sided_net(&net));
    const char *dir = test_tmp_dir();
    char model[512], image[512], blank[512], heat[512], args[4096], log[4096];
    snprintf(model, sizeof model, "%s/sided.model", dir);
    snprintf(image, sizeof image, "%s/crescent.png", dir);
    snprintf(blank, sizeof blank, "%s/blank.png", dir);
    snprintf(heat, sizeof heat, "%s/why.png", dir);
    dg_status st = dg_model_save(model, net, NULL);
    dg_net_free(net);
    CHECK_OK(st);
    uint8_t *png;
    size_t n;
    CHECK_OK(crescent_png(true, &png, &n));
    FILE *f = fopen(image, "wb");
    bool written = f && fwrite(png, 1, n, f) == n;
    if (f) {
        fclose(f);
    }
    free(png);
    CHECK(written);
    dg_image *white;
    CHECK_OK(dg_image_new(20, 20, 1, &white));
    memset(white->pixels, 255, 400);
    st = dg_image_save_png(blank, white);
    dg_image_free(white);
    CHECK_OK(st);
    child c;
    snprintf(args, sizeof args, "predict --model %s --explain %s %s", model, heat, image);
    CHECK(spawn(args, &c));
    read_port(&c, log, sizeof log);
    int exit_status = reap(&c);
    CHECK_MSG(exit_status == 0, "exit %d: %s", exit_status, log);
    dg_image *pic;
    CHECK_OK(dg_image_load(heat, &pic));
    bool size_ok = pic->w == 280 && pic->h == 280;
    dg_image_free(pic);
    CHECK(size_ok);
    snprintf(args, sizeof args, "predict --model %s --explain %s %s", model, heat, blank);
    CHECK(spawn(args, &c));
    read_port(&c, log, sizeof log);
    exit_status = reap(&c);
    CHECK_MSG(exit_status == 1 && strstr(log, "nothing to explain"), "exit %d: %s", exit_status,
              log);
    snprintf(args, sizeof args, "predict --model %s --explain %s %s %s", model, heat, blank, image);
    CHECK(spawn(args, &c));
    read_port(&c, log, sizeof log);
    exit_status = reap(&c);
    CHECK_MSG(exit_status == 2 && strstr(log, "exactly one image"), "exit %d: %s", exit_status,
              log);
}

/* The page in a real browser (scripts/browser-test.sh, tests/browser/serve.test.js):
 * drawing, uploading, whole numbers, at 1280 and 390 pixels wide. */
DG_TEST(serve_browser_page)
{
    char cmd[1024], out[16384];
    snprintf(cmd, sizeof cmd, "scripts/browser-test.sh %s model/digits.model 2>&1", digits_bin());
    FILE *p = popen(cmd, "r");
    CHECK(p);
    size_t n = fread(out, 1, sizeof out - 1, p);
    out[n] = '\0';
    int status = pclose(p);
    int code = WIFEXITED(status) ? WEXITSTATUS(status) : -1;
    if (code == 77) {
        out[strcspn(out, "\n")] = '\0';
        SKIP("%s", out);
    }
    CHECK_MSG(code == 0, "browser test: exit %d:\n%s", code, out);
}
