/* Relaxed atomic loads, stores and compare-and-swap on ptrdiff_t (numpy intp).
 *
 * The concurrent union-find in _union_find.pxd needs these three operations
 * and nothing stronger: a parent pointer only ever moves to a smaller index,
 * so any value read is a valid ancestor. */
#ifndef GRIDSCAN_ATOMIC_H
#define GRIDSCAN_ATOMIC_H

#include <stddef.h>

#if defined(_MSC_VER)
#include <intrin.h>
static __inline ptrdiff_t gs_atomic_load(ptrdiff_t *p) { return *(volatile ptrdiff_t *)p; }
static __inline void gs_atomic_store(ptrdiff_t *p, ptrdiff_t v) { *(volatile ptrdiff_t *)p = v; }
static __inline int gs_atomic_cas(ptrdiff_t *p, ptrdiff_t expected, ptrdiff_t desired) {
#if defined(_WIN64)
    return _InterlockedCompareExchange64((volatile __int64 *)p, desired, expected) == expected;
#else
    return _InterlockedCompareExchange((volatile long *)p, desired, expected) == expected;
#endif
}
#else
static inline ptrdiff_t gs_atomic_load(ptrdiff_t *p) { return __atomic_load_n(p, __ATOMIC_RELAXED); }
static inline void gs_atomic_store(ptrdiff_t *p, ptrdiff_t v) { __atomic_store_n(p, v, __ATOMIC_RELAXED); }
static inline int gs_atomic_cas(ptrdiff_t *p, ptrdiff_t expected, ptrdiff_t desired) {
    return __atomic_compare_exchange_n(p, &expected, desired, 0, __ATOMIC_RELAXED, __ATOMIC_RELAXED);
}
#endif

#endif
