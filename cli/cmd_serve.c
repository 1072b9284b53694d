/*
 * cmd_serve.c - `digits serve`: the page and the JSON API over HTTP (docs/api.md). Loads
 * the model once; the api gives each server thread its own copy of the net. Listens on
 * loopback unless told otherwise, and says so when it is not. SIGINT and SIGTERM are
 * blocked in every thread and taken here with sigwait, so that stopping is an ordinary
 * step: no new connections, open requests finish, exit 0.
 */
#include "cli.h"

#include <getopt.h>
#include <pthread.h>
#ifdef __GLIBC__
#include <malloc.h>
#endif
#include <signal.h>
#include <string.h>
#include <unistd.h>

static const char usage[] =
    "usage: digits serve [--model MODEL] [--host HOST] [--port N] [--threads N]\n"
    "                    [--max-body BYTES] [--max-connections N] [--min-confidence X]\n"
    "\n"
    "Serves the page (draw, upload or photograph a digit; read a whole number; see why)\n"
    "and the JSON API (docs/api.md) over HTTP/1.1 until Ctrl-C or SIGTERM.\n"
    "\n"
    "  --model MODEL          model file (default model/digits.model)\n"
    "  --host HOST            address to listen on (default 127.0.0.1; anything but\n"
    "                         loopback is reachable from other machines)\n"
    "  --port N               port (default 8080; 0 picks a free one)\n"
    "  --threads N            requests answered at once (default: the cores)\n"
    "  --max-body BYTES       largest image accepted (default 8388608)\n"
    "  --max-connections N    open connections beyond this are answered 503 (default 256)\n"
    "  --min-confidence X     answer 'unsure' below this top probability (default 0.6)\n";

typedef struct serve_options {
    const char *model, *host;
    long port, threads, max_body, max_connections;
    double min_confidence;
} serve_options;

/* Every request allocates a few buffers the size of its picture (a 436x326 colour
 * picture: 0.4 MB for its pixels, as much for its grey planes and ink map). glibc gives
 * blocks from 128 KiB up pages of their own, which the kernel zeroes at first touch, one
 * fault every 4 KiB, and takes back at free: on such pictures that cost as much as the
 * decoding. Blocks up to 4 MiB come from the heap instead, which keeps up to 16 MiB free;
 * a phone photo's buffers still get pages of their own, returned when it is answered. */
static void keep_request_memory(void)
{
#ifdef __GLIBC__
    mallopt(M_MMAP_THRESHOLD, 4 * 1024 * 1024);
    mallopt(M_TRIM_THRESHOLD, 16 * 1024 * 1024);
#endif
}

/* -1 to go on, else the exit status. */
static int parse_options(int argc, char **argv, serve_options *o)
{
    static const struct option longs[] = {
        {"model", required_argument, 0, 'm'},
        {"host", required_argument, 0, 'H'},
        {"port", required_argument, 0, 'p'},
        {"threads", required_argument, 0, 't'},
        {"max-body", required_argument, 0, 'b'},
        {"max-connections", required_argument, 0, 'c'},
        {"min-confidence", required_argument, 0, 'k'},
        {"help", no_argument, 0, 'h'},
        {0, 0, 0, 0},
    };
    long cores = sysconf(_SC_NPROCESSORS_ONLN);
    *o = (serve_options){
        .model = DG_DEFAULT_MODEL,
        .host = "127.0.0.1",
        .port = 8080,
        .threads = cores < 1                 ? 1
                   : cores > CLI_MAX_THREADS ? CLI_MAX_THREADS
                                             : cores,
        .max_body = DG_API_DEFAULT_MAX_BODY,
        .max_connections = 256,
        .min_confidence = DG_MIN_CONFIDENCE,
    };
    int c;
    opterr = 0;
    optind = 1;
    while ((c = getopt_long(argc, argv, ":hm:", longs, NULL)) != -1) {
        bool ok = true;
        switch (c) {
        case 'm':
            o->model = optarg;
            break;
        case 'H':
            o->host = optarg;
            break;
        case 'p':
            ok = cli_int_option("serve", "--port", optarg, 0, 65535, &o->port);
            break;
        case 't':
            ok = cli_int_option("serve", "--threads", optarg, 1, CLI_MAX_THREADS, &o->threads);
            break;
        case 'b':
            ok = cli_int_option("serve", "--max-body", optarg, 1024, 1L << 30, &o->max_body);
            break;
        case 'c':
            ok =
                cli_int_option("serve", "--max-connections", optarg, 1, 10000, &o->max_connections);
            break;
        case 'k':
            ok =
                cli_float_option("serve", "--min-confidence", optarg, 0.0, 1.0, &o->min_confidence);
            break;
        default:
            return cli_other_option("serve", usage, c, argv);
        }
        if (!ok) {
            return DG_EXIT_USAGE;
        }
    }
    if (optind < argc) {
        return cli_usage_error("serve", "unexpected argument '%s'", argv[optind]);
    }
    return -1;
}

int cmd_serve(int argc, char **argv)
{
    serve_options o;
    int status = parse_options(argc, argv, &o);
    if (status >= 0) {
        return status;
    }
    keep_request_memory();
    dg_model_meta meta;
    dg_net *net = cli_load_model("serve", o.model, &meta);
    if (!net) {
        return DG_EXIT_FAIL;
    }
    /* a threshold of exactly 0 means "always sure"; the api reads 0 as its default */
    float min_confidence = o.min_confidence > 0.0 ? (float)o.min_confidence : 1e-9f;
    dg_api_config acfg = {o.model, (size_t)o.max_body, min_confidence, (int)o.threads};
    dg_api *api;
    dg_status st = dg_api_new(net, &meta, &acfg, &api);
    dg_net_free(net);
    if (st != DG_OK) {
        return cli_error("serve", "%s", dg_last_error());
    }
    /* blocked before the server's threads exist, so that they inherit the mask */
    sigset_t stop;
    sigemptyset(&stop);
    sigaddset(&stop, SIGINT);
    sigaddset(&stop, SIGTERM);
    pthread_sigmask(SIG_BLOCK, &stop, NULL);
    signal(SIGPIPE, SIG_IGN);
    dg_server_config scfg = {o.host, (int)o.port, (int)o.threads, (int)o.max_connections};
    dg_server *server;
    st = dg_server_start(api, &scfg, &server);
    if (st != DG_OK) {
        dg_api_free(api);
        return cli_error("serve", "%s", dg_last_error());
    }
    if (!dg_server_is_loopback(server)) {
        fprintf(stderr,
                "digits: serve: warning: listening on %s, reachable from other machines; "
                "there is no authentication\n",
                o.host);
    }
    bool v6 = strchr(o.host, ':') != NULL;
    printf("digits: serving %s on http://%s%s%s:%d/ (%ld threads; Ctrl-C stops)\n", o.model,
           v6 ? "[" : "", o.host, v6 ? "]" : "", dg_server_port(server), o.threads);
    fflush(stdout);
    int sig = 0;
    sigwait(&stop, &sig);
    printf("digits: serve: %s: finishing open requests\n", sig == SIGINT ? "SIGINT" : "SIGTERM");
    fflush(stdout);
    dg_server_stop(server, 10000);
    dg_api_free(api);
    return DG_EXIT_OK;
}
