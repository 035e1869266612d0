/*
 * clf.c - see clf.h. The work per logged message: one pass over at most
 * 256 bytes to escape them, the peer's digits, and a few copies.
 */
#include "platform.h"

#include <arpa/inet.h>
#include <netinet/in.h>
#include <string.h>
#include <sys/socket.h>

#include "clf.h"

/* The decimal digits of v at dst; returns how many. */
static size_t put_decimal(char *dst, uint64_t v) {
    char tmp[20];
    size_t n = 0;
    do {
        tmp[n++] = (char)('0' + v % 10);
        v /= 10;
    } while (v);
    for (size_t i = 0; i < n; i++)
        dst[i] = tmp[n - 1 - i];
    return n;
}

size_t clf_addr(char *dst, const net_addr *a) {
    size_t n = 0;
    if (a->family == 4) {
        for (int i = 0; i < 4; i++) {
            n += put_decimal(dst + n, a->ip[i]);
            dst[n++] = i < 3 ? '.' : ':';
        }
    } else if (a->family == 6) {
        dst[n++] = '[';
        /* Cannot fail: the family is right and the room is INET6_ADDRSTRLEN. */
        (void)inet_ntop(AF_INET6, a->ip, dst + n, INET6_ADDRSTRLEN);
        n += strlen(dst + n);
        dst[n++] = ']';
        dst[n++] = ':';
    } else {
        dst[n++] = '-';
        dst[n] = '\0';
        return n;
    }
    n += put_decimal(dst + n, a->port);
    dst[n] = '\0';
    return n;
}

void clf_timestamp(char *dst, time_t t) {
    struct tm tm;
    if (localtime_r(&t, &tm) == NULL ||
        strftime(dst, CLF_STAMP_LEN + 1, "[%d/%b/%Y:%H:%M:%S %z]", &tm) != CLF_STAMP_LEN)
        memcpy(dst, "[01/Jan/1970:00:00:00 +0000]", CLF_STAMP_LEN + 1);
}

/* How each byte appears in a line: 0 = as itself, 'x' = \xNN, anything
 * else = a backslash and that letter. Built once, so that escaping costs a
 * table look-up per byte. */
static char escapes[256];

static void build_escapes(void) {
    for (int c = 0; c < 256; c++)
        escapes[c] = c >= 0x20 && c < 0x7f ? 0 : 'x';
    escapes['"'] = '"';
    escapes['\\'] = '\\';
    escapes['\n'] = 'n';
    escapes['\r'] = 'r';
    escapes['\t'] = 't';
    escapes[0] = 'x'; /* also marks the table as built: see clf_escape */
}

size_t clf_escape(char *dst, const unsigned char *msg, size_t len) {
    static const char hex[] = "0123456789abcdef";
    if (escapes[0] == 0) build_escapes();
    size_t shown = len > CLF_MAX_MESSAGE ? CLF_MAX_MESSAGE : len;
    char *d = dst;
    for (size_t i = 0; i < shown; i++) {
        unsigned char c = msg[i];
        char e = escapes[c];
        if (e == 0) {
            *d++ = (char)c;
        } else if (e == 'x') {
            d[0] = '\\', d[1] = 'x', d[2] = hex[c >> 4], d[3] = hex[c & 15];
            d += 4;
        } else {
            d[0] = '\\', d[1] = e;
            d += 2;
        }
    }
    if (shown < len) {
        memcpy(d, "...", 3);
        d += 3;
    }
    return (size_t)(d - dst);
}

size_t clf_format(char *dst, const net_addr *peer, const char *stamp, const unsigned char *msg,
                  size_t len) {
    char *d = dst;
    d += clf_addr(d, peer);
    memcpy(d, " - - ", 5);
    d += 5;
    memcpy(d, stamp, CLF_STAMP_LEN);
    d += CLF_STAMP_LEN;
    memcpy(d, " \"", 2);
    d += 2;
    d += clf_escape(d, msg, len);
    memcpy(d, "\" ", 2);
    d += 2;
    d += put_decimal(d, len);
    *d++ = '\n';
    return (size_t)(d - dst);
}
