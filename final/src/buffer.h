/*
 * buffer.h - a connection's unsent echo. It exists only while a write is
 * pending: the echo normally goes straight from the shared read buffer back
 * to the socket, and only the rest that the socket would not take is copied
 * here. Freed as soon as it drains.
 */
#ifndef PARROT_BUFFER_H
#define PARROT_BUFFER_H

#include <stddef.h>
#include <stdint.h>

typedef struct buffer {
    uint32_t cap;   /* bytes of data[] */
    uint32_t start; /* first unsent byte */
    uint32_t end;   /* one past the last unsent byte */
    char data[];
} buffer;

static inline size_t buffer_len(const buffer *b) {
    return b ? b->end - b->start : 0;
}

static inline const char *buffer_head(const buffer *b) {
    return b->data + b->start;
}

/* Make room for at least `want` bytes after the data (moving or growing it;
 * *b may be NULL: a buffer is created). Returns where to put them, and how
 * many fit in *room (>= want), or NULL if memory ran out (*b unchanged). */
char *buffer_reserve(buffer **b, size_t want, size_t *room);

/* The caller put n bytes where buffer_reserve said. */
static inline void buffer_commit(buffer *b, size_t n) {
    b->end += (uint32_t)n;
}

/* Append n bytes (creating the buffer if *b is NULL). Returns 0, or -1 if
 * memory ran out. */
int buffer_append(buffer **b, const void *bytes, size_t n);

/* n bytes were sent. Returns the bytes still unsent. */
size_t buffer_consume(buffer *b, size_t n);

void buffer_free(buffer *b);

#endif
