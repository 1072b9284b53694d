/*
 * fileio.c - whole files into memory, checked before anything is allocated: the file
 * must be a regular file no larger than the caller's limit.
 */
#include "fileio.h"

#include <errno.h>
#include <fcntl.h>
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
