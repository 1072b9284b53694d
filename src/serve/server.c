/*
 * server.c - the libmicrohttpd glue: sockets, threads and the request's life, nothing of
 * what the answers say (api.c decides every status). libmicrohttpd parses the request
 * line and headers within its per-connection memory limit and refuses malformed ones
 * itself (400); here a request goes:
 *   1. its raw target is kept (the URI log callback, before libmicrohttpd decodes it);
 *   2. headers in: too many open connections is a 503, else dg_api_precheck may answer
 *      (404, 405, 411, 413, 415) before any body is read;
 *   3. a body that arrives whole, in one piece of its Content-Length, is answered from
 *      libmicrohttpd's own buffer (dg_api_handle), without a copy; otherwise its chunks
 *      are kept up to the api's limit (a Content-Length past it was refused in step 2); a
 *      chunked body past it is read on without being kept and answered 413 when it ends,
 *      unless more than DROP_MAX bytes (or the limit, when larger) come after the limit:
 *      then the connection is closed;
 *   4. body complete: dg_api_handle answers, if it has not yet; the response gets its
 *      security headers, and libmicrohttpd the answer's buffer, which it frees once sent.
 * Stopping: no new connections (quiesce), the requests under way finish, then the
 * threads end.
 */
#include "serve/serve.h"

#include <microhttpd.h>
#include <netdb.h>
#include <netinet/in.h>
#include <stdatomic.h>
#include <stdlib.h>
#include <string.h>
#include <strings.h>
#include <time.h>
#include <unistd.h>

/* The page's policy: its own scripts and styles only, pictures from data: URLs and
 * blobs (uploads), requests to this server only, never framed. */
#define PAGE_CSP                                                                                   \
    "default-src 'none'; script-src 'self'; style-src 'self'; img-src 'self' data: blob:; "        \
    "connect-src 'self'; manifest-src 'self'; base-uri 'none'; form-action 'none'; "               \
    "frame-ancestors 'none'"
#define API_CSP "default-src 'none'; frame-ancestors 'none'"

/* Bytes of a chunked body past the limit read (and dropped) before giving up on it. */
#define DROP_MAX (1024u * 1024u)

struct dg_server {
    struct MHD_Daemon *daemon;
    dg_api *api;
    int port;
    bool loopback;
    int max_connections;
    atomic_int connections; /* open connections */
    atomic_int requests;    /* requests begun and not yet completed */
};

/* One request's state, from its target to its completion, in one allocation. */
typedef struct request {
    bool started;          /* the headers were checked and the body is being read */
    bool too_large;        /* a chunked body went past the limit: its bytes are dropped */
    bool answered;         /* resp holds the answer, to be queued once the body has ended */
    size_t n_dropped;      /* how many */
    dg_http_request req;   /* its header fields point into libmicrohttpd's connection */
    dg_http_response resp; /* when answered */
    uint8_t *body;         /* the body kept so far, when it came in pieces */
    size_t n, cap;
    char target[]; /* as sent, NUL-terminated */
} request;

static void *on_uri(void *cls, const char *uri, struct MHD_Connection *c)
{
    (void)c;
    dg_server *s = cls;
    atomic_fetch_add(&s->requests, 1);
    size_t n = uri ? strlen(uri) : 0;
    request *r = malloc(sizeof *r + n + 1);
    if (r) {
        *r = (request){.started = false};
        memcpy(r->target, uri ? uri : "", n + 1);
    }
    return r; /* NULL: answered 503 in on_request */
}

static void on_completed(void *cls, struct MHD_Connection *c, void **con_cls,
                         enum MHD_RequestTerminationCode toe)
{
    (void)c;
    (void)toe;
    dg_server *s = cls;
    request *r = *con_cls;
    if (r) {
        dg_http_response_free(&r->resp);
        free(r->body);
        free(r);
        *con_cls = NULL;
    }
    atomic_fetch_sub(&s->requests, 1);
}

static void on_connection(void *cls, struct MHD_Connection *c, void **socket_context,
                          enum MHD_ConnectionNotificationCode code)
{
    (void)c;
    (void)socket_context;
    dg_server *s = cls;
    atomic_fetch_add(&s->connections, code == MHD_CONNECTION_NOTIFY_STARTED ? 1 : -1);
}

/* Queues resp with its headers and frees it. A body the response owns is handed to
 * libmicrohttpd, which frees it once sent; a borrowed one (pages, fixed answers) is sent
 * from where it is. libmicrohttpd leaves the body out of an answer to HEAD itself. */
static enum MHD_Result send_response(struct MHD_Connection *c, dg_http_response *resp)
{
    struct MHD_Response *m;
    if (resp->owned && resp->owned == resp->body) {
        m = MHD_create_response_from_buffer_with_free_callback(resp->n_body, resp->owned, free);
        if (m) {
            resp->owned = NULL; /* libmicrohttpd's now */
        }
    } else if (resp->owned) {
        m = MHD_create_response_from_buffer(resp->n_body, (void *)resp->body,
                                            MHD_RESPMEM_MUST_COPY);
    } else {
        m = MHD_create_response_from_buffer(resp->n_body, (void *)resp->body,
                                            MHD_RESPMEM_PERSISTENT);
    }
    if (!m) {
        dg_http_response_free(resp);
        return MHD_NO;
    }
    bool ok =
        MHD_add_response_header(m, MHD_HTTP_HEADER_CONTENT_TYPE, resp->content_type) &&
        MHD_add_response_header(m, "X-Content-Type-Options", "nosniff") &&
        MHD_add_response_header(m, "Referrer-Policy", "no-referrer") &&
        MHD_add_response_header(m, "Content-Security-Policy", resp->is_page ? PAGE_CSP : API_CSP) &&
        MHD_add_response_header(m, MHD_HTTP_HEADER_CACHE_CONTROL,
                                resp->is_page ? "no-cache" : "no-store");
    if (ok && resp->allow) {
        ok = MHD_add_response_header(m, MHD_HTTP_HEADER_ALLOW, resp->allow);
    }
    if (ok && resp->status == 503) {
        ok = MHD_add_response_header(m, MHD_HTTP_HEADER_RETRY_AFTER, "1");
    }
    enum MHD_Result result = ok ? MHD_queue_response(c, (unsigned)resp->status, m) : MHD_NO;
    MHD_destroy_response(m);
    dg_http_response_free(resp);
    return result;
}

static enum MHD_Result send_error(struct MHD_Connection *c, int status, const char *message)
{
    dg_http_response resp;
    dg_api_error(&resp, status, message);
    return send_response(c, &resp);
}

/* Content-Length as the client sent it: -1 when absent. libmicrohttpd has already
 * refused a malformed one. */
static int64_t content_length(struct MHD_Connection *c)
{
    const char *v = MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_LENGTH);
    if (!v) {
        return -1;
    }
    char *end;
    long long n = strtoll(v, &end, 10);
    return end != v && n >= 0 ? (int64_t)n : -1;
}

/* The request line and headers, without the body. The strings are libmicrohttpd's and
 * last as long as the request. */
static dg_http_request make_request(struct MHD_Connection *c, const request *r, const char *method)
{
    const char *te =
        MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_TRANSFER_ENCODING);
    dg_http_request req = {
        .method = method,
        .target = r->target,
        .content_type =
            MHD_lookup_connection_value(c, MHD_HEADER_KIND, MHD_HTTP_HEADER_CONTENT_TYPE),
        .content_length = content_length(c),
        .chunked = te && strcasestr(te, "chunked") != NULL,
    };
    return req;
}

/* The answer to r with n_body bytes of body. */
static void answer(dg_server *s, request *r, const uint8_t *body, size_t n_body)
{
    r->req.body = body;
    r->req.n_body = n_body;
    dg_api_handle(s->api, &r->req, &r->resp);
    r->req.body = NULL;
    r->answered = true;
}

/* Keeps n more body bytes; false when the body goes past the api's limit. */
static bool keep_body(dg_server *s, request *r, const char *data, size_t n)
{
    size_t max = dg_api_max_body(s->api);
    if (n > max - r->n) {
        return false;
    }
    if (n > r->cap - r->n) {
        size_t cap = r->cap ? r->cap : 16384;
        while (n > cap - r->n) {
            cap = cap > max / 2 ? max : cap * 2;
        }
        uint8_t *grown = realloc(r->body, cap);
        if (!grown) {
            return false;
        }
        r->body = grown;
        r->cap = cap;
    }
    memcpy(r->body + r->n, data, n);
    r->n += n;
    return true;
}

static enum MHD_Result on_request(void *cls, struct MHD_Connection *c, const char *url,
                                  const char *method, const char *version, const char *upload_data,
                                  size_t *upload_data_size, void **con_cls)
{
    (void)url;
    (void)version;
    dg_server *s = cls;
    request *r = *con_cls;
    if (!r) {
        return send_error(c, 503, "out of memory");
    }
    if (!r->started) {
        r->started = true;
        if (atomic_load(&s->connections) > s->max_connections) {
            return send_error(c, 503, "overloaded: too many connections, try again");
        }
        r->req = make_request(c, r, method);
        dg_http_response resp;
        if (dg_api_precheck(s->api, &r->req, &resp)) {
            return send_response(c, &resp);
        }
        return MHD_YES; /* the body, if any, comes next */
    }
    if (*upload_data_size > 0) {
        if (r->n == 0 && !r->answered && !r->too_large && !r->req.chunked &&
            (int64_t)*upload_data_size == r->req.content_length) {
            /* the whole body in one piece: answered from libmicrohttpd's buffer, no copy */
            answer(s, r, (const uint8_t *)upload_data, *upload_data_size);
            *upload_data_size = 0;
            return MHD_YES;
        }
        if (!r->too_large && !keep_body(s, r, upload_data, *upload_data_size)) {
            /* a chunked body past the limit: dropped from here on */
            r->too_large = true;
            free(r->body);
            r->body = NULL;
            r->n = r->cap = 0;
        }
        if (r->too_large) {
            r->n_dropped += *upload_data_size;
            size_t max = dg_api_max_body(s->api);
            if (r->n_dropped > (max > DROP_MAX ? max : DROP_MAX)) {
                return MHD_NO; /* and still going: the connection is closed */
            }
        }
        *upload_data_size = 0;
        return MHD_YES;
    }
    if (r->too_large) {
        char msg[128];
        snprintf(msg, sizeof msg, "body too large: at most %zu bytes", dg_api_max_body(s->api));
        return send_error(c, 413, msg);
    }
    if (!r->answered) {
        answer(s, r, r->body, r->n);
    }
    return send_response(c, &r->resp);
}

/* Resolves host:port into addr; DG_ERR_ARG when it does not resolve. */
static dg_status resolve(const char *host, int port, struct sockaddr_storage *addr, bool *ipv6)
{
    struct addrinfo hints = {0}, *res;
    hints.ai_family = AF_UNSPEC;
    hints.ai_socktype = SOCK_STREAM;
    hints.ai_flags = AI_PASSIVE;
    char service[16];
    snprintf(service, sizeof service, "%d", port);
    int err = getaddrinfo(host, service, &hints, &res);
    if (err != 0) {
        return dg_fail(DG_ERR_ARG, "host %s: %s", host, gai_strerror(err));
    }
    memcpy(addr, res->ai_addr, res->ai_addrlen);
    *ipv6 = res->ai_family == AF_INET6;
    freeaddrinfo(res);
    return DG_OK;
}

static bool is_loopback(const struct sockaddr_storage *addr)
{
    if (addr->ss_family == AF_INET) {
        const struct sockaddr_in *a = (const struct sockaddr_in *)addr;
        return (ntohl(a->sin_addr.s_addr) >> 24) == 127;
    }
    if (addr->ss_family == AF_INET6) {
        const struct sockaddr_in6 *a = (const struct sockaddr_in6 *)addr;
        return IN6_IS_ADDR_LOOPBACK(&a->sin6_addr);
    }
    return false;
}

dg_status dg_server_start(dg_api *api, const dg_server_config *cfg, dg_server **out)
{
    *out = NULL;
    const char *host = cfg && cfg->host ? cfg->host : "127.0.0.1";
    int port = cfg ? cfg->port : 0;
    if (port < 0 || port > 65535) {
        return dg_fail(DG_ERR_ARG, "port %d out of range 0..65535", port);
    }
    struct sockaddr_storage addr;
    bool ipv6 = false;
    dg_status st = resolve(host, port, &addr, &ipv6);
    if (st != DG_OK) {
        return st;
    }
    dg_server *s = calloc(1, sizeof *s);
    if (!s) {
        return dg_fail(DG_ERR_NOMEM, "out of memory for the server");
    }
    s->api = api;
    s->loopback = is_loopback(&addr);
    s->max_connections = cfg && cfg->max_connections > 0 ? cfg->max_connections : 256;
    unsigned threads = cfg && cfg->threads > 1 ? (unsigned)cfg->threads : 1;
    unsigned flags = MHD_USE_AUTO_INTERNAL_THREAD | MHD_USE_ITC | (ipv6 ? MHD_USE_IPv6 : 0);
    s->daemon = MHD_start_daemon(
        flags, (uint16_t)port, NULL, NULL, on_request, s, MHD_OPTION_SOCK_ADDR,
        (struct sockaddr *)&addr, MHD_OPTION_THREAD_POOL_SIZE, threads, MHD_OPTION_URI_LOG_CALLBACK,
        on_uri, s, MHD_OPTION_NOTIFY_COMPLETED, on_completed, s, MHD_OPTION_NOTIFY_CONNECTION,
        on_connection, s, MHD_OPTION_CONNECTION_LIMIT, (unsigned)s->max_connections + 64u,
        MHD_OPTION_CONNECTION_TIMEOUT, 30u, MHD_OPTION_CONNECTION_MEMORY_LIMIT, (size_t)65536,
        MHD_OPTION_END);
    if (!s->daemon) {
        free(s);
        return dg_fail(DG_ERR_IO,
                       "cannot listen on %s port %d (in use, or not an address of "
                       "this machine?)",
                       host, port);
    }
    const union MHD_DaemonInfo *info = MHD_get_daemon_info(s->daemon, MHD_DAEMON_INFO_BIND_PORT);
    s->port = info ? info->port : port;
    *out = s;
    return DG_OK;
}

int dg_server_port(const dg_server *server)
{
    return server->port;
}

bool dg_server_is_loopback(const dg_server *server)
{
    return server->loopback;
}

void dg_server_stop(dg_server *server, int wait_ms)
{
    if (!server) {
        return;
    }
    MHD_socket listener = MHD_quiesce_daemon(server->daemon);
    struct timespec step = {0, 10 * 1000 * 1000};
    for (int waited = 0; atomic_load(&server->requests) > 0 && waited < wait_ms; waited += 10) {
        nanosleep(&step, NULL);
    }
    MHD_stop_daemon(server->daemon);
    if (listener != MHD_INVALID_SOCKET) {
        close(listener);
    }
    free(server);
}
