# Ctrl-C in compiled loops.
#
# A long loop without the GIL polls every so often (every million points or
# keys, every few thousand cells, every few hundred blocks or queries of a
# parallel pass on its first thread).  A poll reads a monotonic clock and, at
# most every 20 milliseconds per thread, takes the GIL for a moment and lets
# Python run its signal handlers.  A KeyboardInterrupt raised there comes back
# as the -1 exception value and unwinds the loop like any other error.
#
# The clock keeps the GIL traffic low: taking the GIL can wait for another
# Python thread's switch interval (5 ms), which polling by count alone made a
# cost of every few hundred blocks when a busy Python thread runs alongside.

from cpython.exc cimport PyErr_CheckSignals

cdef extern from *:
    """
    #if defined(_WIN32)
    #include <windows.h>
    #define GS_THREAD_LOCAL __declspec(thread)
    static double gs_monotonic_seconds(void) {
        LARGE_INTEGER frequency, counter;
        QueryPerformanceFrequency(&frequency);
        QueryPerformanceCounter(&counter);
        return (double) counter.QuadPart / (double) frequency.QuadPart;
    }
    #else
    #include <time.h>
    #define GS_THREAD_LOCAL __thread
    static double gs_monotonic_seconds(void) {
        struct timespec now;
        clock_gettime(CLOCK_MONOTONIC, &now);
        return (double) now.tv_sec + 1e-9 * (double) now.tv_nsec;
    }
    #endif
    /* Seconds between two checks for signals by one thread. */
    #define GS_POLL_SECONDS 0.02
    /* When this thread may next take the GIL to check for signals. */
    static GS_THREAD_LOCAL double gs_next_signal_check = 0.0;

    static int gs_signal_check_due(void) {
        double now = gs_monotonic_seconds();
        if (now < gs_next_signal_check) {
            return 0;
        }
        gs_next_signal_check = now + GS_POLL_SECONDS;
        return 1;
    }
    """
    bint gs_signal_check_due() nogil

cdef extern from "Python.h":
    # The C functions themselves, for code that must not raise (signal_raised).
    int gs_check_signals "PyErr_CheckSignals" ()
    void* gs_error_occurred "PyErr_Occurred" ()

cdef enum:
    POINTS_PER_POLL = 1048576     # points or keys of a simple O(n) loop between polls
    CELLS_PER_POLL = 4096         # cells (each with its own search) between polls
    QUERIES_PER_POLL = 256        # point queries of a parallel pass between polls


cdef inline int check_signals() except -1 nogil:
    """Run Python's pending signal handlers (at most every 20 ms); -1 if one raised."""
    if not gs_signal_check_due():
        return 0
    with gil:
        return PyErr_CheckSignals()


cdef inline int poll_signals(Py_ssize_t step, Py_ssize_t every) except -1 nogil:
    """check_signals() at every step that is a multiple of ``every`` (a power of two)."""
    if (step & (every - 1)) == 0:
        return check_signals()
    return 0


cdef inline bint signal_raised(Py_ssize_t step, Py_ssize_t every) noexcept nogil:
    """poll_signals() for the body of a prange loop: True when a signal handler raised,
    its exception left pending until raise_pending() after the loop.

    A prange body that can raise makes Cython flush memory (a full fence) after every
    iteration, which stalls a loop of scattered stores several times over.  Call it
    on the calling thread only (threadid() == 0 in a parallel region): the exception
    is pending on that thread.
    """
    if (step & (every - 1)) != 0 or not gs_signal_check_due():
        return False
    with gil:
        return gs_check_signals() < 0


cdef inline int raise_pending() except -1:
    """Raise the exception a signal handler left pending (see signal_raised)."""
    return -1 if gs_error_occurred() != NULL else 0
