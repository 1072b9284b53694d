/*
 * target.c - the request target, the only part of a request line that is ours to parse
 * (libmicrohttpd reads the method, version and headers): the path, %-decoded, and the
 * query's parameters. Anything odd is refused rather than guessed at; paths are only ever
 * compared with the fixed routes, never used to open a file.
 */
#include "serve/serve.h"

#include <string.h>

static int hex_value(char c)
{
    if (c >= '0' && c <= '9') {
        return c - '0';
    }
    if (c >= 'a' && c <= 'f') {
        return c - 'a' + 10;
    }
    if (c >= 'A' && c <= 'F') {
        return c - 'A' + 10;
    }
    return -1;
}

/* Decodes [s, end) into out[size]: %XX escapes, and '+' as a space when plus_is_space.
 * False on a bad escape, an escaped NUL, or no room. */
static bool decode(const char *s, const char *end, bool plus_is_space, char *out, size_t size)
{
    size_t n = 0;
    while (s < end) {
        char c = *s++;
        if (c == '%') {
            int hi = end - s >= 2 ? hex_value(s[0]) : -1;
            int lo = end - s >= 2 ? hex_value(s[1]) : -1;
            if (hi < 0 || lo < 0 || (hi == 0 && lo == 0)) {
                return false;
            }
            c = (char)(hi << 4 | lo);
            s += 2;
        } else if (c == '+' && plus_is_space) {
            c = ' ';
        }
        if (n + 1 >= size) {
            return false;
        }
        out[n++] = c;
    }
    out[n] = '\0';
    return true;
}

bool dg_http_parse_target(const char *target, char path[DG_HTTP_MAX_PATH], const char **query)
{
    *query = "";
    path[0] = '\0';
    if (!target || target[0] != '/') {
        return false;
    }
    size_t end = strcspn(target, "?#");
    if (end >= DG_HTTP_MAX_PATH * 3) {
        return false;
    }
    if (!decode(target, target + end, false, path, DG_HTTP_MAX_PATH)) {
        return false;
    }
    if (target[end] == '?') {
        *query = target + end + 1;
    }
    return true;
}

int dg_query_get(const char *query, const char *key, char *value, size_t size)
{
    size_t key_n = strlen(key);
    const char *end = query + strcspn(query, "#");
    const char *p = query;
    while (p < end) {
        const char *amp = memchr(p, '&', (size_t)(end - p));
        const char *stop = amp ? amp : end;
        const char *eq = memchr(p, '=', (size_t)(stop - p));
        const char *name_end = eq ? eq : stop;
        char name[64];
        if (decode(p, name_end, true, name, sizeof name) && strlen(name) == key_n &&
            !memcmp(name, key, key_n)) {
            if (!eq) {
                if (size) {
                    value[0] = '\0';
                }
                return size ? 1 : -1;
            }
            return decode(eq + 1, stop, true, value, size) ? 1 : -1;
        }
        p = stop + (stop < end);
    }
    return 0;
}
