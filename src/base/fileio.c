/*
 * fileio.c - whole files into memory, checked before anything is allocated: the file
 * must be a regular file no larger than the caller's limit; and whole buffers out to
 * files atomically: a temporary file beside the target, flushed, fsync'd and renamed
 * over it, then the directory fsync'd, so a reader never sees half a file and an old
 * file survives a failed write.
 */
#include "base/fileio.h"

#include <errno.h>
#include <fcntl.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/stat.h>
#include <unistd.h>

dg_status dg_read_file(const char *path, uint64_t max_bytes, const char *what, uint8_t **out,
                       size_t *n_out)
{
    *out = NULL;
    *n_out = 0;
    /* non-blocking, so that a FIFO given by mistake does not hang the open */
    int fd = open(path, O_RDONLY | O_CLOEXEC | O_NONBLOCK);
    if (fd < 0) {
        if (errno == ENOENT || errno == ENOTDIR) {
            return dg_fail(DG_ERR_NOT_FOUND, "%s: no such file", path);
        }
        return dg_fail(DG_ERR_IO, "%s: cannot open: %s", path, strerror(errno));
    }
    struct stat sb;
    dg_status st = DG_OK;
    if (fstat(fd, &sb) != 0) {
        st = dg_fail(DG_ERR_IO, "%s: %s", path, strerror(errno));
    } else if (S_ISDIR(sb.st_mode)) {
        st = dg_fail(DG_ERR_IO, "%s: is a directory, not %s", path, what);
    } else if (!S_ISREG(sb.st_mode)) {
        st = dg_fail(DG_ERR_IO, "%s: not a regular file", path);
    } else if ((uint64_t)sb.st_size > max_bytes) {
        st = dg_fail(DG_ERR_TOO_LARGE, "%s: %lld bytes, more than %s may have (%llu)", path,
                     (long long)sb.st_size, what, (unsigned long long)max_bytes);
    }
    if (st != DG_OK) {
        close(fd);
        return st;
    }
    size_t n = (size_t)sb.st_size;
    uint8_t *buf = malloc(n ? n : 1);
    if (!buf) {
        close(fd);
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory for %zu bytes", path, n);
    }
    size_t got = 0;
    while (got < n) {
        ssize_t k = read(fd, buf + got, n - got);
        if (k < 0 && errno == EINTR) {
            continue;
        }
        if (k < 0) {
            st = dg_fail(DG_ERR_IO, "%s: read failed: %s", path, strerror(errno));
            break;
        }
        if (k == 0) {
            break; /* it shrank since fstat: what is there is checked as it is */
        }
        got += (size_t)k;
    }
    close(fd);
    if (st != DG_OK) {
        free(buf);
        return st;
    }
    *out = buf;
    *n_out = got;
    return DG_OK;
}

/* dirname of path into a new string ("." when it has no slash); NULL on no memory. */
char *dg_parent_dir(const char *path)
{
    const char *slash = strrchr(path, '/');
    if (!slash) {
        return strdup(".");
    }
    if (slash == path) {
        return strdup("/");
    }
    size_t n = (size_t)(slash - path);
    char *dir = malloc(n + 1);
    if (dir) {
        memcpy(dir, path, n);
        dir[n] = '\0';
    }
    return dir;
}

/* Makes the rename durable; a failure here loses nothing, so it is not reported. */
static void sync_parent(const char *path)
{
    char *dir = dg_parent_dir(path);
    if (!dir) {
        return;
    }
    int fd = open(dir, O_RDONLY | O_DIRECTORY | O_CLOEXEC);
    if (fd >= 0) {
        fsync(fd);
        close(fd);
    }
    free(dir);
}

dg_status dg_write_file_atomic(const char *path, const uint8_t *bytes, size_t n)
{
    dg_status st;
    static const char suffix[] = ".tmp.XXXXXX";
    size_t path_len = strlen(path);
    char *tmp = malloc(path_len + sizeof suffix);
    if (!tmp) {
        return dg_fail(DG_ERR_NOMEM, "%s: out of memory", path);
    }
    memcpy(tmp, path, path_len);
    memcpy(tmp + path_len, suffix, sizeof suffix);

    int fd = mkstemp(tmp);
    if (fd < 0) {
        st = dg_fail(errno == ENOENT ? DG_ERR_NOT_FOUND : DG_ERR_IO,
                     "%s: not saved: cannot create a temporary file beside it: %s", path,
                     strerror(errno));
        free(tmp);
        return st;
    }
    /* mkstemp makes the file private (0600); the file is ordinary data, or keeps the mode
     * of the file it replaces. */
    struct stat old;
    mode_t mode = stat(path, &old) == 0 ? (old.st_mode & 07777) : 0644;
    FILE *f = fdopen(fd, "wb");
    if (!f) {
        st = dg_fail(DG_ERR_IO, "%s: %s", tmp, strerror(errno));
        close(fd);
        unlink(tmp);
        free(tmp);
        return st;
    }
    const char *step = NULL;
    if (fchmod(fd, mode) != 0) {
        step = "fchmod";
    } else if (fwrite(bytes, 1, n, f) != n) {
        step = "write";
    } else if (fflush(f) != 0) {
        step = "fflush";
    } else if (fsync(fd) != 0) {
        step = "fsync";
    }
    int saved = errno;
    if (fclose(f) != 0 && !step) {
        step = "fclose";
        saved = errno;
    }
    if (!step && rename(tmp, path) != 0) {
        step = "rename";
        saved = errno;
    }
    if (step) {
        st = dg_fail(DG_ERR_IO, "%s: not saved: %s failed on %s: %s", path, step, tmp,
                     strerror(saved));
        unlink(tmp);
        free(tmp);
        return st;
    }
    free(tmp);
    sync_parent(path);
    return DG_OK;
}
