# The size limit of a lattice, shared by its layout (_lattice_layout.pyx), its
# stencils (_stencils.pyx) and its searches (_lattice.pyx).

cdef enum:
    # Features a lattice may have (the searches' scratch arrays live on the stack).
    MAX_DIMS = 16
