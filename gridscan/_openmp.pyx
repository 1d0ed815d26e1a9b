# The number of threads OpenMP would use, honouring OMP_NUM_THREADS; 1 when
# gridscan was built without OpenMP.

cdef extern from *:
    """
    #ifdef _OPENMP
    #include <omp.h>
    static int gs_openmp_max_threads(void) { return omp_get_max_threads(); }
    static int gs_openmp_enabled(void) { return 1; }
    #else
    static int gs_openmp_max_threads(void) { return 1; }
    static int gs_openmp_enabled(void) { return 0; }
    #endif
    """
    int gs_openmp_max_threads()
    int gs_openmp_enabled()


def openmp_max_threads():
    """omp_get_max_threads(), or 1 without OpenMP."""
    return gs_openmp_max_threads()


def openmp_enabled():
    """Whether the compiled modules were built with OpenMP."""
    return bool(gs_openmp_enabled())
