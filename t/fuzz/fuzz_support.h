/* Shared by the fuzz targets: APR started once, a pool with its own allocator per input (so
 * that ASan sees pool memory freed), and FUZZ_ASSERT, which aborts so libFuzzer keeps the input. */
#ifndef IPSIE_FUZZ_SUPPORT_H
#define IPSIE_FUZZ_SUPPORT_H

#include <stdint.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <apr_allocator.h>
#include <apr_general.h>
#include <apr_pools.h>

#include "ipsie/ipsie_log.h"

int LLVMFuzzerInitialize(int *argc, char ***argv);
int LLVMFuzzerTestOneInput(const uint8_t *data, size_t size);

#define FUZZ_ASSERT(cond, what)                                                                    \
    do {                                                                                           \
        if (!(cond)) {                                                                             \
            fprintf(stderr, "broken invariant at %s:%d: %s\n", __FILE__, __LINE__, (what));        \
            abort();                                                                               \
        }                                                                                          \
    } while (0)

/* Start APR and silence the core's log. APR is terminated at exit so that what a target keeps
 * for all runs (keys, JWKS) is released before LeakSanitizer looks: APR's blocks may be mmap'd,
 * where LeakSanitizer finds no references. */
static inline void fuzz_setup(void)
{
    if (apr_initialize() != APR_SUCCESS) {
        fprintf(stderr, "apr_initialize failed\n");
        abort();
    }
    atexit(apr_terminate);
    ipsie_log_set_sink(NULL, NULL, NULL);
}

/* A pool that owns a fresh allocator: destroying it hands every block back to malloc, so a
 * use after the pool's end is an ASan report instead of a silent reuse. */
static inline apr_pool_t *fuzz_pool_create(void)
{
    apr_allocator_t *allocator = NULL;
    apr_pool_t *p = NULL;

    if (apr_allocator_create(&allocator) != APR_SUCCESS
        || apr_pool_create_ex(&p, NULL, NULL, allocator) != APR_SUCCESS) {
        abort();
    }
    apr_allocator_owner_set(allocator, p);
    return p;
}

/* The input as a NUL-terminated string in a malloc block of exactly size + 1 bytes, so a read
 * past its end is caught; it stops at the first NUL the input holds. Release with free(). */
static inline char *fuzz_cstr(const uint8_t *data, size_t size)
{
    char *s = malloc(size + 1);

    if (s == NULL) {
        abort();
    }
    if (size > 0) {
        memcpy(s, data, size);
    }
    s[size] = '\0';
    return s;
}

/* 1 when both are NULL or both are equal strings. */
static inline int fuzz_same_str(const char *a, const char *b)
{
    if (a == NULL || b == NULL) {
        return a == b;
    }
    return strcmp(a, b) == 0;
}

#endif
