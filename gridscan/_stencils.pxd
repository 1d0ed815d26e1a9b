# Neighbourhood stencils of a lattice (LatticeIndex, _lattice.pyx), cached per
# distinct eps row.
#
# For an eps row e (_kernels.pxd) the stencil is the set of integer offsets z
# with within(0, z, e): exactly the cells of a neighbourhood centred on a cell,
# since the kernel only sees |z_k|, and integer coordinates subtract exactly.
# Every neighbour has |z_k| <= e_k, so the stencil lies in the box
# |z_k| <= extent_k = floor(e_k), clipped to shape_k - 1 (no cell lies further).
# It is stored as *rows* over the first d - 1 features (C order over the box of
# those features: the row at prefix offsets (z_0, ..., z_{d-2}) is number
# sum_k (z_k + extent_k) * prod_{j > k} (2 extent_j + 1)) and, per row, the
# *run* [-h, h] of last-feature offsets inside the stencil, if any: one run,
# since every compiled kernel grows with |z_last|, and h is found by bisection.
# Each run also keeps its row's prefix offsets and the cell-number offset of
# that prefix, so that the run around cell c is the cells
# c + cell_offset + lo .. c + cell_offset + hi (when its row lies inside the
# lattice).  The stencils are kept in a hash table keyed by the eps row's
# values, up to a memory budget (STENCIL_BUDGET in _stencils.pyx).
#
# Glossary (here and in _lattice.pyx):
#   sid              a stencil id: its number in the cache, from 0
#   extent[sid, k]   its half-width along feature k: floor(e_k), clipped
#   row r of sid     the runs row_start[first_row[sid] + r] .. row_start[first_row[sid]
#                    + r + 1] - 1 (none or one): a stencil of R rows has R + 1
#                    entries in row_start
#   runs of sid      first_run[sid] .. first_run[sid + 1] - 1, in row order
#   run r            the last-feature offsets run_lo[r] .. run_hi[r]; its row's
#                    prefix offsets run_prefix[r * (d - 1) + k] and their
#                    cell-number offset run_cell_offset[r]
#   key[sid, :]      the eps row of the stencil (its first key_cols[sid] values)

from libc.stdint cimport int64_t, uint64_t

from gridscan._hashing cimport DoubleBits, mix_bits, same_values
from gridscan._kernels cimport Norm
from gridscan._lattice_layout cimport MAX_DIMS
from gridscan._typedefs cimport intp_t


cdef struct StencilCache:
    # The lattice (set by stencil_cache_init).
    intp_t n_features
    intp_t clip[MAX_DIMS]           # shape - 1: the largest offset along each feature
    int64_t cell_stride[MAX_DIMS]   # the cell-number step of each feature (C order)
    # Per stencil: n_stencils of them, room for stencil_capacity.
    double* key                     # n_stencils x d
    intp_t* key_cols
    intp_t* extent                  # n_stencils x d
    intp_t* first_row               # where its rows start in row_start
    intp_t* first_run               # n_stencils + 1 entries
    intp_t n_stencils
    intp_t stencil_capacity
    # Per row of every stencil, and one past each stencil's last.
    intp_t* row_start
    intp_t n_row_starts
    intp_t row_capacity
    # Per run.
    intp_t* run_lo
    intp_t* run_hi
    intp_t* run_prefix              # n_runs x (d - 1)
    int64_t* run_cell_offset
    intp_t n_runs
    intp_t run_capacity
    # Hash table of stencil ids (-1: empty slot), n_slots a power of two.
    intp_t* slots
    intp_t n_slots


cdef void stencil_cache_init(StencilCache* cache, intp_t n_features,
                             const intp_t* shape) noexcept
cdef void stencil_cache_free(StencilCache* cache) noexcept
cdef intp_t stencil_add(StencilCache* cache, const double* e, intp_t n_cols,
                        const Norm* norm) except -2


cdef inline uint64_t hash_eps_row(const double* e, intp_t n_cols) noexcept nogil:
    cdef DoubleBits word
    cdef uint64_t h = <uint64_t> n_cols
    cdef intp_t k
    for k in range(n_cols):
        word.value = e[k]
        h = mix_bits(h ^ word.bits)
    return h


cdef inline intp_t stencil_find(const StencilCache* cache, const double* e,
                                intp_t n_cols) noexcept nogil:
    """The id of the stencil of eps row e (n_cols values), or -1 when none is cached."""
    cdef intp_t mask, slot, sid
    if cache.n_slots == 0:
        return -1
    mask = cache.n_slots - 1
    slot = <intp_t> (hash_eps_row(e, n_cols) & <uint64_t> mask)
    while True:
        sid = cache.slots[slot]
        if sid < 0:
            return -1
        if (cache.key_cols[sid] == n_cols
                and same_values(&cache.key[sid * cache.n_features], e, n_cols)):
            return sid
        slot = (slot + 1) & mask


cdef inline bint stencil_holds(const StencilCache* cache, intp_t sid,
                               const intp_t* z) noexcept nogil:
    """Whether offset z (d entries) lies in stencil sid."""
    cdef intp_t d = cache.n_features, m = d - 1, k, row = 0, r
    cdef const intp_t* ext = &cache.extent[sid * d]
    cdef const intp_t* rows = &cache.row_start[cache.first_row[sid]]
    for k in range(m):
        if z[k] < -ext[k] or z[k] > ext[k]:
            return False
        row = row * (2 * ext[k] + 1) + z[k] + ext[k]
    for r in range(rows[row], rows[row + 1]):
        if cache.run_lo[r] <= z[m] <= cache.run_hi[r]:
            return True
    return False


cdef inline bint next_in_box(intp_t* z, const intp_t* lo, const intp_t* hi,
                             intp_t m) noexcept nogil:
    """Step z (IN/OUT) to the next point of the box [lo, hi] in C order, lo NULL meaning
    -hi; False (z back at the first point) after the last."""
    cdef intp_t k = m - 1
    while k >= 0:
        z[k] += 1
        if z[k] <= hi[k]:
            return True
        z[k] = -hi[k] if lo == NULL else lo[k]
        k -= 1
    return False
