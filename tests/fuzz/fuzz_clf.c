/*
 * fuzz_clf.c - the access-log line (final/src/clf.c: clf_format, clf_escape)
 * and the peer address in it (clf_addr).
 *
 * Input: 1 byte address family selector, 2 bytes port, 16 bytes address,
 * the rest is the message as one read() returned it. Only the first 256
 * bytes of a message are ever read, so when the selector is odd and the
 * message is long enough, its last 8 bytes claim a larger length (up to
 * 2^64 - 1: a 20-digit count) to reach the longest line. Every line must be
 * exactly what the format promises, whatever the bytes:
 *   - one line: a single '\n', at the end; every other byte printable ASCII
 *     (nothing a client sends can forge a line, a field or a terminal escape);
 *   - the fields in order: address, " - - ", stamp, quoted message, count;
 *   - inside the quotes only \" \\ \n \r \t and \xNN (lower-case hex), each
 *     used only for a byte that needs it, and unescaping gives back the
 *     first min(len, 256) bytes exactly; "..." follows iff len > 256;
 *   - the count is len in decimal;
 *   - the length returned is the length written, below CLF_LINE_MAX (the
 *     line is written into a heap block of exactly CLF_LINE_MAX bytes, so
 *     AddressSanitizer catches a line that would not fit).
 */
#define _POSIX_C_SOURCE 200809L

#include <arpa/inet.h>
#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <sys/socket.h>

#include "../../final/src/clf.h"
#include "../../final/src/net.h"

#define STAMP "[26/Nov/2026:23:12:15 +0000]"

/* A failed check: say which and abort, so that libFuzzer keeps the input. */
#define CHECK(cond)                                                                                \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "fuzz_clf: check failed at line %d: %s\n", __LINE__, #cond);           \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* The address as the format defines it, built with the C library. */
static size_t expected_addr(char *dst, size_t cap, const net_addr *a) {
    char ip[INET6_ADDRSTRLEN];
    if (a->family == 4) {
        inet_ntop(AF_INET, a->ip, ip, sizeof(ip));
        return (size_t)snprintf(dst, cap, "%s:%u", ip, a->port);
    }
    if (a->family == 6) {
        inet_ntop(AF_INET6, a->ip, ip, sizeof(ip));
        return (size_t)snprintf(dst, cap, "[%s]:%u", ip, a->port);
    }
    return (size_t)snprintf(dst, cap, "-");
}

/* Does byte c have to be escaped, and as what letter (0: \xNN)? */
static int must_escape(unsigned char c, char *letter) {
    switch (c) {
    case '"':
    case '\\':
        *letter = (char)c;
        return 1;
    case '\n':
        *letter = 'n';
        return 1;
    case '\r':
        *letter = 'r';
        return 1;
    case '\t':
        *letter = 't';
        return 1;
    }
    *letter = 0;
    return c < 0x20 || c >= 0x7f;
}

static int hex_value(char c) {
    if (c >= '0' && c <= '9') return c - '0';
    if (c >= 'a' && c <= 'f') return c - 'a' + 10;
    return -1; /* upper case is not the format */
}

/* Check the quoted field q[0..n) against the message; returns nothing, aborts
 * on the first difference. */
static void check_escaped(const char *q, size_t n, const unsigned char *msg, size_t len) {
    size_t shown = len > CLF_MAX_MESSAGE ? CLF_MAX_MESSAGE : len;
    size_t i = 0, k = 0; /* q index, msg index */
    while (k < shown) {
        CHECK(i < n);
        char letter;
        int esc = must_escape(msg[k], &letter);
        if (!esc) {
            CHECK(q[i] == (char)msg[k]); /* a byte that needs no escape is itself */
            i++;
        } else if (letter) {
            CHECK(i + 1 < n && q[i] == '\\' && q[i + 1] == letter);
            i += 2;
        } else {
            CHECK(i + 3 < n && q[i] == '\\' && q[i + 1] == 'x');
            int hi = hex_value(q[i + 2]), lo = hex_value(q[i + 3]);
            CHECK(hi >= 0 && lo >= 0 && (unsigned)(hi * 16 + lo) == msg[k]);
            i += 4;
        }
        k++;
    }
    if (len > CLF_MAX_MESSAGE) {
        CHECK(n - i == 3 && memcmp(q + i, "...", 3) == 0);
    } else {
        CHECK(i == n);
    }
}

int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size) {
    if (size < 19) return 0;
    net_addr peer;
    memset(&peer, 0, sizeof(peer));
    /* Mostly the two real families, sometimes an unknown one. */
    peer.family = data[0] < 120 ? 4 : data[0] < 240 ? 6 : data[0];
    peer.port = (uint16_t)(data[1] << 8 | data[2]);
    memcpy(peer.ip, data + 3, 16);
    const unsigned char *msg = data + 19;
    size_t len = size - 19;
    if ((data[0] & 1) && len >= CLF_MAX_MESSAGE + 1 + 8) { /* a claimed length */
        uint64_t claim;
        memcpy(&claim, msg + len - 8, 8);
        if (claim > len) len = (size_t)claim;
    }

    char *line = malloc(CLF_LINE_MAX); /* exactly the promised bound */
    CHECK(line != NULL);
    size_t n = clf_format(line, &peer, STAMP, msg, len);
    CHECK(n > 0 && n < CLF_LINE_MAX);

    /* One line, and nothing in it but printable ASCII. */
    CHECK(line[n - 1] == '\n');
    for (size_t i = 0; i < n - 1; i++)
        CHECK(line[i] >= 0x20 && line[i] < 0x7f);

    /* Address, then " - - ", then the stamp, then the opening quote. */
    char addr[80];
    size_t alen = expected_addr(addr, sizeof(addr), &peer);
    CHECK(alen < CLF_ADDR_MAX);
    CHECK(n > alen && memcmp(line, addr, alen) == 0);
    const char *p = line + alen;
    CHECK(memcmp(p, " - - " STAMP " \"", 5 + CLF_STAMP_LEN + 2) == 0);
    p += 5 + CLF_STAMP_LEN + 2;

    /* The tail is "\" COUNT\n": find it from the end, where no escaped byte
     * can reach. */
    char count[24];
    int clen = snprintf(count, sizeof(count), "\" %zu\n", len);
    const char *end = line + n - clen;
    CHECK(end >= p && memcmp(end, count, (size_t)clen) == 0);
    check_escaped(p, (size_t)(end - p), msg, len);

    /* clf_escape alone writes the same field. */
    char field[4 * CLF_MAX_MESSAGE + 3];
    size_t flen = clf_escape(field, msg, len);
    CHECK(flen == (size_t)(end - p) && memcmp(field, p, flen) == 0);

    /* The address alone, NUL-terminated, fits its buffer. */
    char text[CLF_ADDR_MAX];
    CHECK(clf_addr(text, &peer) == alen && strcmp(text, addr) == 0);
    free(line);
    return 0;
}
