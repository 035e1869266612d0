/*
 * buffer.c - a connection's unsent echo: one block, data kept contiguous so
 * that one write() sends all of it.
 */
#include "platform.h"

#include <stdlib.h>
#include <string.h>

#include "buffer.h"

/* Small enough for a few short writes, and a whole page with the header. */
#define BUFFER_MIN (4096 - sizeof(buffer))

char *buffer_reserve(buffer **bp, size_t want, size_t *room) {
    buffer *b = *bp;
    size_t len = buffer_len(b);
    if (b && b->cap - b->end >= want) {
        *room = b->cap - b->end;
        return b->data + b->end;
    }
    if (b && b->cap - len >= want) { /* enough space once the sent part is gone */
        memmove(b->data, b->data + b->start, len);
        b->start = 0;
        b->end = (uint32_t)len;
        *room = b->cap - len;
        return b->data + len;
    }
    size_t cap = b ? (size_t)b->cap * 2 : BUFFER_MIN;
    while (cap < len + want)
        cap *= 2;
    buffer *nb = malloc(sizeof(buffer) + cap);
    if (nb == NULL) return NULL;
    if (len) memcpy(nb->data, b->data + b->start, len);
    nb->cap = (uint32_t)cap;
    nb->start = 0;
    nb->end = (uint32_t)len;
    free(b);
    *bp = nb;
    *room = cap - len;
    return nb->data + len;
}

int buffer_append(buffer **b, const void *bytes, size_t n) {
    size_t room;
    char *dst = buffer_reserve(b, n, &room);
    if (dst == NULL) return -1;
    memcpy(dst, bytes, n);
    buffer_commit(*b, n);
    return 0;
}

size_t buffer_consume(buffer *b, size_t n) {
    b->start += (uint32_t)n;
    if (b->start == b->end) b->start = b->end = 0;
    return b->end - b->start;
}

void buffer_free(buffer *b) {
    free(b);
}
