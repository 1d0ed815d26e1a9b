# Lock-free union-find over positions 0..n-1, safe to call from many threads.
#
# parent[x] == x marks a root. A union always links the larger root below the
# smaller one, so parent[x] <= x holds at all times, no cycle can form, and the
# root of every set is its smallest member: the final partition is the same
# whatever the order in which threads perform the unions.

from gridscan._typedefs cimport intp_t

cdef extern from "_atomic.h" nogil:
    intp_t gs_atomic_load(intp_t* p)
    void gs_atomic_store(intp_t* p, intp_t v)
    bint gs_atomic_cas(intp_t* p, intp_t expected, intp_t desired)


cdef inline intp_t uf_find(intp_t* parent, intp_t x) noexcept nogil:
    """Root of x, halving the path on the way (each step a benign race)."""
    cdef intp_t up, upup
    while True:
        up = gs_atomic_load(&parent[x])
        if up == x:
            return x
        upup = gs_atomic_load(&parent[up])
        if upup != up:
            gs_atomic_cas(&parent[x], up, upup)
        x = upup


cdef inline intp_t uf_flatten(intp_t* parent, intp_t x) noexcept nogil:
    """Root of x, with x then pointing straight at it (once no union is left to do)."""
    cdef intp_t root = uf_find(parent, x)
    gs_atomic_store(&parent[x], root)
    return root


cdef inline void uf_union(intp_t* parent, intp_t a, intp_t b) noexcept nogil:
    """Merge the sets of a and b."""
    cdef intp_t tmp
    while True:
        a = uf_find(parent, a)
        b = uf_find(parent, b)
        if a == b:
            return
        if a < b:
            tmp = a
            a = b
            b = tmp
        # a is the larger root: hang it below b unless another thread moved it.
        if gs_atomic_cas(&parent[a], a, b):
            return


cdef inline void atomic_min(intp_t* target, intp_t value) noexcept nogil:
    """target = min(target, value), safe against other threads doing the same."""
    cdef intp_t current = gs_atomic_load(target)
    while value < current:
        if gs_atomic_cas(target, current, value):
            return
        current = gs_atomic_load(target)


cdef inline void atomic_max(intp_t* target, intp_t value) noexcept nogil:
    """target = max(target, value), safe against other threads doing the same."""
    cdef intp_t current = gs_atomic_load(target)
    while value > current:
        if gs_atomic_cas(target, current, value):
            return
        current = gs_atomic_load(target)


cdef inline void atomic_add(intp_t* target, intp_t value) noexcept nogil:
    """target += value, safe against other threads doing the same."""
    cdef intp_t current = gs_atomic_load(target)
    while not gs_atomic_cas(target, current, current + value):
        current = gs_atomic_load(target)
