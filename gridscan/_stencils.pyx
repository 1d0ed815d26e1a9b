# Building the stencil cache of a lattice; its layout, the lookups and a
# glossary are in _stencils.pxd.

from libc.math cimport floor, fmin
from libc.stdlib cimport free, malloc
from libc.string cimport memcpy, memset

from gridscan._buffers cimport reserve
from gridscan._kernels cimport within

# Largest number of stencil entries (row starts + runs) cached per index.
STENCIL_BUDGET = 1 << 22


cdef void stencil_cache_init(StencilCache* cache, intp_t n_features,
                             const intp_t* shape) noexcept:
    """An empty cache (OUT; zeroed or initialised before) for the lattice [0, shape)."""
    cdef intp_t k
    stencil_cache_free(cache)
    memset(cache, 0, sizeof(StencilCache))
    cache.n_features = n_features
    for k in range(n_features):
        cache.clip[k] = shape[k] - 1
    cache.cell_stride[n_features - 1] = 1
    for k in range(n_features - 2, -1, -1):
        cache.cell_stride[k] = cache.cell_stride[k + 1] * shape[k + 1]


cdef void stencil_cache_free(StencilCache* cache) noexcept:
    free(cache.key)
    free(cache.key_cols)
    free(cache.extent)
    free(cache.first_row)
    free(cache.first_run)
    free(cache.row_start)
    free(cache.run_lo)
    free(cache.run_hi)
    free(cache.run_prefix)
    free(cache.run_cell_offset)
    free(cache.slots)
    memset(cache, 0, sizeof(StencilCache))


cdef intp_t stencil_add(StencilCache* cache, const double* e, intp_t n_cols,
                        const Norm* norm) except -2:
    """Build, cache and return the stencil of eps row e; -1 when over the budget."""
    cdef intp_t d = cache.n_features, m = d - 1, k, row, half, n_rows = 1, r
    cdef intp_t sid = cache.n_stencils
    cdef intp_t ext[MAX_DIMS]
    cdef intp_t prefix[MAX_DIMS]
    cdef double z[MAX_DIMS]
    cdef double zero[MAX_DIMS]
    cdef double worst = 1.0
    cdef int64_t cell_offset
    for k in range(d):
        ext[k] = <intp_t> fmin(floor(e[0 if n_cols == 1 else k]), <double> cache.clip[k])
        zero[k] = 0.0
    # A row start and at most one run per row.
    for k in range(m):
        worst *= 2 * ext[k] + 1
    if cache.n_row_starts + cache.n_runs + 2 * worst + 1 > STENCIL_BUDGET:
        return -1
    for k in range(m):
        n_rows *= 2 * ext[k] + 1
    if _make_room(cache, n_rows) < 0:
        raise MemoryError("gridscan: could not allocate a lattice stencil")
    memcpy(&cache.key[sid * d], e, n_cols * sizeof(double))
    cache.key_cols[sid] = n_cols
    memcpy(&cache.extent[sid * d], ext, d * sizeof(intp_t))
    cache.first_row[sid] = cache.n_row_starts
    cache.first_run[sid] = cache.n_runs
    for k in range(m):
        prefix[k] = -ext[k]
    for row in range(n_rows):
        cache.row_start[cache.n_row_starts + row] = cache.n_runs
        cell_offset = 0
        for k in range(m):
            z[k] = prefix[k]
            cell_offset += prefix[k] * cache.cell_stride[k]
        half = _half_run(zero, z, m, ext[m], e, n_cols, norm)
        if half >= 0:
            r = cache.n_runs
            cache.run_lo[r] = -half
            cache.run_hi[r] = half
            for k in range(m):
                cache.run_prefix[r * m + k] = prefix[k]
            cache.run_cell_offset[r] = cell_offset
            cache.n_runs += 1
        next_in_box(prefix, NULL, ext, m)
    cache.row_start[cache.n_row_starts + n_rows] = cache.n_runs
    cache.first_run[sid + 1] = cache.n_runs
    cache.n_row_starts += n_rows + 1
    cache.n_stencils += 1
    _insert(cache, sid)
    return sid


cdef int _make_room(StencilCache* cache, intp_t n_rows) noexcept:
    """Room for one more stencil of n_rows rows (and at most one run per row); -1 on no
    memory."""
    cdef intp_t d = cache.n_features, m = max(d - 1, 1), needed, stencils, rows, runs
    # first_run has one entry more than there are stencils.
    needed = cache.n_stencils + 2
    stencils = reserve(<void**> &cache.key, cache.stencil_capacity, needed, d * sizeof(double))
    if (stencils < 0
            or reserve(<void**> &cache.key_cols, cache.stencil_capacity, needed,
                       sizeof(intp_t)) < 0
            or reserve(<void**> &cache.extent, cache.stencil_capacity, needed,
                       d * sizeof(intp_t)) < 0
            or reserve(<void**> &cache.first_row, cache.stencil_capacity, needed,
                       sizeof(intp_t)) < 0
            or reserve(<void**> &cache.first_run, cache.stencil_capacity, needed,
                       sizeof(intp_t)) < 0):
        return -1
    cache.stencil_capacity = stencils
    rows = reserve(<void**> &cache.row_start, cache.row_capacity,
                   cache.n_row_starts + n_rows + 1, sizeof(intp_t))
    if rows < 0:
        return -1
    cache.row_capacity = rows
    needed = cache.n_runs + n_rows
    runs = reserve(<void**> &cache.run_lo, cache.run_capacity, needed, sizeof(intp_t))
    if (runs < 0
            or reserve(<void**> &cache.run_hi, cache.run_capacity, needed, sizeof(intp_t)) < 0
            or reserve(<void**> &cache.run_prefix, cache.run_capacity, needed,
                       m * sizeof(intp_t)) < 0
            or reserve(<void**> &cache.run_cell_offset, cache.run_capacity, needed,
                       sizeof(int64_t)) < 0):
        return -1
    cache.run_capacity = runs
    return 0


cdef int _insert(StencilCache* cache, intp_t sid) except -1:
    """Put stencil sid into the hash table, growing it to keep it at most half full."""
    cdef intp_t s, n_slots
    cdef intp_t* table
    if 2 * cache.n_stencils > cache.n_slots:
        n_slots = 64
        while n_slots < 4 * cache.n_stencils:
            n_slots *= 2
        table = <intp_t*> malloc(n_slots * sizeof(intp_t))
        if table == NULL:
            raise MemoryError("gridscan: could not allocate the stencil table")
        for s in range(n_slots):
            table[s] = -1
        free(cache.slots)
        cache.slots = table
        cache.n_slots = n_slots
        for s in range(cache.n_stencils - 1):
            _place(cache, s)
    _place(cache, sid)
    return 0


cdef void _place(StencilCache* cache, intp_t sid) noexcept:
    cdef intp_t mask = cache.n_slots - 1
    cdef intp_t slot = <intp_t> (hash_eps_row(&cache.key[sid * cache.n_features],
                                              cache.key_cols[sid]) & <uint64_t> mask)
    while cache.slots[slot] >= 0:
        slot = (slot + 1) & mask
    cache.slots[slot] = sid


cdef intp_t _half_run(const double* zero, double* z, intp_t m, intp_t ext, const double* e,
                      intp_t n_cols, const Norm* norm) noexcept nogil:
    """The largest t in [0, ext] whose offset (z[0], ..., z[m - 1], t) lies in the
    neighbourhood of the origin with eps row e, -1 when t = 0 does not.

    The kernel grows with |t|, so a row's offsets inside are the run [-t, t]:
    bisection finds its end in log2(ext) tests instead of 2 ext + 1.
    """
    cdef intp_t inside = 0, outside = ext + 1, middle   # inside passes; outside and beyond fail
    z[m] = 0
    if not within(zero, z, e, n_cols, norm):
        return -1
    while outside - inside > 1:
        middle = inside + (outside - inside) // 2
        z[m] = middle
        if within(zero, z, e, n_cols, norm):
            inside = middle
        else:
            outside = middle
    return inside
