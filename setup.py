"""Build the compiled modules of gridscan.

Metadata lives in pyproject.toml; this file only declares the Cython extensions.

Environment variables:

GRIDSCAN_DEBUG=1       build with Cython bounds, wraparound and initialisation checks on
GRIDSCAN_NO_OPENMP=1   build without OpenMP (every loop then runs on one thread)
"""

import os
import sys

import numpy as np
from Cython.Build import cythonize
from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

MODULES = ["_openmp", "_arrays", "_index", "_ball_tree", "_grid", "_lattice_layout", "_stencils",
           "_lattice", "_core", "_eps_model", "_gbdscan_inner", "_hdbscan_inner"]

DEBUG = os.environ.get("GRIDSCAN_DEBUG", "0") not in ("", "0")
NO_OPENMP = os.environ.get("GRIDSCAN_NO_OPENMP", "0") not in ("", "0")

DIRECTIVES = {
    "language_level": 3,
    "boundscheck": DEBUG,
    "wraparound": DEBUG,
    "initializedcheck": DEBUG,
    # C division in both builds: the kernels rely on IEEE results (x / 0 is inf or NaN,
    # which compare false) where a cell holds no point of a masked eps table.
    "cdivision": True,
    "embedsignature": True,
}


def openmp_flags(compiler_type):
    """Compile and link flags for OpenMP, per compiler family."""
    if compiler_type == "msvc":
        return ["/openmp"], []
    if sys.platform == "darwin":
        # Apple clang needs libomp from Homebrew or conda.
        return ["-Xpreprocessor", "-fopenmp"], ["-lomp"]
    return ["-fopenmp"], ["-fopenmp"]


def compiler_accepts(compiler, compile_flags, link_flags):
    """Try to build a tiny OpenMP program with the given flags."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "check_openmp.c")
        with open(src, "w") as f:
            f.write("#include <omp.h>\nint main(void) { return omp_get_max_threads() < 1; }\n")
        try:
            objects = compiler.compile([src], output_dir=tmp, extra_postargs=compile_flags)
            compiler.link_executable(
                objects, os.path.join(tmp, "check_openmp"), extra_postargs=link_flags
            )
        except Exception:
            return False
    return True


def compiler_accepts_flag(compiler, flag):
    """Whether the compiler builds a trivial C file with ``flag``."""
    import tempfile

    with tempfile.TemporaryDirectory() as tmp:
        src = os.path.join(tmp, "check_flag.c")
        with open(src, "w") as f:
            f.write("int main(void) { return 0; }\n")
        try:
            compiler.compile([src], output_dir=tmp, extra_postargs=[flag])
        except Exception:
            return False
    return True


# Hot loops start on a 32-byte boundary: otherwise where a loop lands in the
# module (which moves with any unrelated change) shifted the ball tree's connect
# pass by up to 10% between builds of the same source.
ALIGN_LOOPS = "-falign-loops=32"


class BuildExt(build_ext):
    """Add OpenMP flags where the compiler supports them, else build without."""

    def build_extensions(self):
        compile_flags, link_flags = openmp_flags(self.compiler.compiler_type)
        use_openmp = not NO_OPENMP and compiler_accepts(self.compiler, compile_flags, link_flags)
        if not use_openmp:
            print("gridscan: building without OpenMP; all loops run on one thread")
        align = [] if self.compiler.compiler_type == "msvc" or not compiler_accepts_flag(
            self.compiler, ALIGN_LOOPS) else [ALIGN_LOOPS]
        for ext in self.extensions:
            if self.compiler.compiler_type != "msvc":
                ext.extra_compile_args += ["-O3", *align] + (["-O1", "-g"] if DEBUG else [])
            if use_openmp:
                ext.extra_compile_args += compile_flags
                ext.extra_link_args += link_flags
        super().build_extensions()


extensions = [
    Extension(
        f"gridscan.{name}",
        [f"gridscan/{name}.pyx"],
        include_dirs=[np.get_include(), "gridscan"],
        define_macros=[("NPY_NO_DEPRECATED_API", "NPY_1_7_API_VERSION")],
    )
    for name in MODULES
]

setup(
    ext_modules=cythonize(extensions, compiler_directives=DIRECTIVES),
    cmdclass={"build_ext": BuildExt},
)
