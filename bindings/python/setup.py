"""Builds the repository's Rust crate into the package, so that `pip install` and the
wheel carry the native library and `import lcm_outcome` needs nothing else.

The library is no Python extension module: the package loads it with ctypes. So it is
built with setuptools-rust's `Binding.NoBinding` and installed under the platform's
own library name (`liblcm_outcome.so`, `liblcm_outcome.dylib`, `lcm_outcome.dll`),
which `_library.py` looks for beside the package, and the wheel is tagged for any
Python 3 (`py3-none-<platform>`): only the platform matters.

Builds only inside the repository (the crate is `../../Cargo.toml`): there is no
sdist. Needs a Rust toolchain (cargo on PATH); CARGO_TARGET_DIR chooses where cargo
builds.
"""

import atexit
import os
import shutil
import sys
import tempfile

import setuptools
from setuptools import setup
from setuptools_rust import Binding, RustExtension, Strip, build_rust

try:  # setuptools 70.1 and later
    from setuptools.command.bdist_wheel import bdist_wheel
except ImportError:
    from wheel.bdist_wheel import bdist_wheel

HERE = os.path.dirname(os.path.abspath(__file__))
CRATE = os.path.join(HERE, "..", "..", "Cargo.toml")


# setuptools 77 and later take the SPDX expression (PEP 639) and will drop the free
# text field; older ones, the only ones for Python 3.8, know only the latter.
SETUPTOOLS = tuple(int(part) for part in setuptools.__version__.split(".")[:2])
LICENSE_FIELD = "license_expression" if SETUPTOOLS >= (77, 0) else "license"


def library_file_name() -> str:
    # As _library.library_file_name(), which cannot be imported before the build.
    if sys.platform == "win32":
        return "lcm_outcome.dll"
    if sys.platform == "darwin":
        return "liblcm_outcome.dylib"
    return "liblcm_outcome.so"


class build_native_library(build_rust):
    """setuptools-rust's build, installing the library under its own file name
    rather than an extension module's (`name.cpython-311-x86_64-linux-gnu.so`)."""

    def get_dylib_ext_path(self, ext, target_fname):  # type: ignore[no-untyped-def]
        module_path = super().get_dylib_ext_path(ext, target_fname)
        return os.path.join(os.path.dirname(module_path), library_file_name())


class bdist_wheel_any_python(bdist_wheel):
    """A platform wheel for every Python 3: the library uses no Python ABI."""

    def get_tag(self):  # type: ignore[no-untyped-def]
        _, _, platform = super().get_tag()
        return "py3", "none", platform


if not os.path.isfile(CRATE):
    sys.exit(f"lcm-outcome builds only inside its repository: {CRATE} not found")

# A fresh build folder for each build, outside the source tree: setuptools would
# reuse `build/` and pack what an earlier build left there (a removed module, the
# library under an older name), and two builds at once would write the same files.
BUILD = tempfile.mkdtemp(prefix="lcm-outcome-build-")
atexit.register(shutil.rmtree, BUILD, True)

setup(
    rust_extensions=[
        RustExtension(
            "lcm_outcome.liblcm_outcome",
            path=os.path.relpath(CRATE),
            binding=Binding.NoBinding,
            cargo_manifest_args=["--locked"],
            strip=Strip.All,
            py_limited_api=False,
        )
    ],
    cmdclass={"build_rust": build_native_library, "bdist_wheel": bdist_wheel_any_python},
    **{LICENSE_FIELD: "MIT OR Apache-2.0"},
    options={"build": {"build_base": BUILD}, "egg_info": {"egg_base": BUILD}},
    zip_safe=False,
)
