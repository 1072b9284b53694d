/*
 * stop.c - Ctrl-C (SIGINT) and SIGTERM for `digits train`. The first signal only sets a
 * flag that the library reads between training steps (dg_train_config.stop): the step
 * finishes, a checkpoint is written and the command returns 128 + the signal's number. A
 * second signal ends the process at once with that status, except while a file is being
 * replaced: then right after the rename, so that no file is left half-written and no
 * temporary file stays behind. The one other place than main() that ends the process.
 * And what a killed run leaves behind, removed when the next one starts.
 */
#include "cli.h"

#include <dirent.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>
#include <unistd.h>

static volatile sig_atomic_t stop_signal;      /* the first signal's number, 0 before */
static volatile sig_atomic_t writing;          /* a file is being replaced */
static volatile sig_atomic_t exit_after_write; /* a second signal came while writing */

static void on_signal(int sig)
{
    if (!stop_signal) {
        stop_signal = sig;
    } else if (writing) {
        exit_after_write = sig;
    } else {
        _exit(128 + sig);
    }
}

static void set_blocked(bool blocked)
{
    sigset_t set;
    sigemptyset(&set);
    sigaddset(&set, SIGINT);
    sigaddset(&set, SIGTERM);
    pthread_sigmask(blocked ? SIG_BLOCK : SIG_UNBLOCK, &set, NULL);
}

void cli_stop_block(void)
{
    set_blocked(true);
}

bool cli_stop_install(void)
{
    struct sigaction sa;
    memset(&sa, 0, sizeof sa);
    sa.sa_handler = on_signal;
    sa.sa_flags = SA_RESTART;
    sigemptyset(&sa.sa_mask);
    bool ok = sigaction(SIGINT, &sa, NULL) == 0 && sigaction(SIGTERM, &sa, NULL) == 0;
    set_blocked(false);
    return ok;
}

volatile sig_atomic_t *cli_stop_flag(void)
{
    return &stop_signal;
}

void cli_write_begin(void)
{
    writing = 1;
}

void cli_write_end(void)
{
    writing = 0;
    if (exit_after_write) {
        _exit(128 + exit_after_write);
    }
}

/* Removes what a killed run may have left beside path: PATH.tmp.XXXXXX (an atomic write
 * cut short) and PATH.part (the history of older versions). */
void cli_remove_stale(const char *path)
{
    char dir[1024];
    snprintf(dir, sizeof dir, "%s", path);
    char *slash = strrchr(dir, '/');
    const char *base = path;
    if (!slash) {
        snprintf(dir, sizeof dir, ".");
    } else {
        base = path + (slash - dir) + 1;
        slash[slash == dir ? 1 : 0] = '\0';
    }
    size_t n = strlen(base);
    DIR *d = opendir(dir);
    if (!d || n == 0) {
        if (d) {
            closedir(d);
        }
        return;
    }
    struct dirent *e;
    while ((e = readdir(d))) {
        const char *rest = strncmp(e->d_name, base, n) ? NULL : e->d_name + n;
        bool tmp = rest && !strncmp(rest, ".tmp.", 5) && strlen(rest + 5) == 6;
        bool part = rest && !strcmp(rest, ".part");
        if (tmp || part) {
            char full[2400];
            snprintf(full, sizeof full, "%s/%s", dir, e->d_name);
            unlink(full);
        }
    }
    closedir(d);
}
