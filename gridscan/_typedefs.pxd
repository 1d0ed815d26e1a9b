# Shared C types of gridscan's compiled modules.
#
# intp_t matches numpy's np.intp (indices, counts, labels); float64_t is used for
# every distance and eps computation, whatever the dtype of the coordinates.

from libc.stdint cimport uint8_t, int64_t

ctypedef Py_ssize_t intp_t
ctypedef double float64_t
ctypedef float float32_t
