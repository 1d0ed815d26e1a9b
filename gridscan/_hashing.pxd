# Hashing and comparing rows of values, shared by the lattice's stencil cache
# (_stencils.pxd) and the search for duplicate points (_arrays.pyx).

from libc.stdint cimport uint64_t

from cython cimport floating

from gridscan._typedefs cimport intp_t


cdef union DoubleBits:
    double value
    uint64_t bits


cdef inline uint64_t mix_bits(uint64_t h) noexcept nogil:
    """splitmix64 finaliser."""
    h ^= h >> 30
    h *= 0xbf58476d1ce4e5b9ULL
    h ^= h >> 27
    h *= 0x94d049bb133111ebULL
    h ^= h >> 31
    return h


cdef inline bint same_values(const floating* a, const floating* b, intp_t n) noexcept nogil:
    """Whether a[0..n-1] and b[0..n-1] are equal, value by value."""
    cdef intp_t k
    for k in range(n):
        if a[k] != b[k]:
            return False
    return True
