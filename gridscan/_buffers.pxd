# Growable malloc'd buffers: the one helper that makes room in them.
#
# A buffer is a plain pointer with a capacity (in items) kept beside it.
# Buffers that grow together (the columns of a RangeList, say) share one
# capacity: reserve each of them with the same capacity and item count, which
# gives every one the same new capacity, and store it once all have succeeded.

from libc.stdlib cimport realloc

from gridscan._typedefs cimport intp_t

cdef enum:
    # Capacity of a buffer's first allocation, at least.
    MIN_CAPACITY = 16


cdef inline intp_t reserve(void** buffer, intp_t capacity, intp_t needed,
                           size_t item_size) noexcept nogil:
    """Room for ``needed`` items of ``item_size`` bytes in buffer (IN/OUT, may be NULL).

    Returns the capacity after: ``capacity`` when it already holds them, else
    doubled (from MIN_CAPACITY at least) until it does, the buffer
    reallocated with its contents kept; -1 when memory runs out (the buffer
    is then unchanged).
    """
    cdef intp_t grown = max(capacity, <intp_t> MIN_CAPACITY)
    cdef void* moved
    if needed <= capacity:
        return capacity
    while grown < needed:
        grown *= 2
    moved = realloc(buffer[0], grown * item_size)
    if moved == NULL:
        return -1
    buffer[0] = moved
    return grown
