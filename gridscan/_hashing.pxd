# Hashing of double values, shared by the lattice's stencil cache (_lattice.pyx)
# and the search for duplicate points (_index.pyx).

from libc.stdint cimport uint64_t


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
