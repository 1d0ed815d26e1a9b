# Ctrl-C in compiled loops.
#
# A long loop without the GIL polls every so often (every million points or
# keys, every few thousand cells): the thread takes the GIL for a moment and
# lets Python run its signal handlers.  A KeyboardInterrupt raised there comes
# back as the -1 exception value and unwinds the loop like any other error.
# Python handles signals in the main thread only; elsewhere the poll finds
# nothing to do.

from cpython.exc cimport PyErr_CheckSignals

cdef enum:
    POINTS_PER_POLL = 1048576     # points or keys of a simple O(n) loop between polls
    CELLS_PER_POLL = 4096         # cells (each with its own search) between polls


cdef inline int check_signals() except -1 nogil:
    """Run Python's pending signal handlers now; -1 with the exception set if one raised."""
    with gil:
        return PyErr_CheckSignals()


cdef inline int poll_signals(Py_ssize_t step, Py_ssize_t every) except -1 nogil:
    """check_signals() at every step that is a multiple of ``every`` (a power of two)."""
    if (step & (every - 1)) == 0:
        return check_signals()
    return 0
