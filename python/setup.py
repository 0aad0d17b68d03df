"""Builds and installs the igx Python package from this repository, without network:

    python3 -m pip install --no-build-isolation ./python

(see docs/python.md for Debian's externally-managed Python: a virtual environment with
--system-site-packages, --break-system-packages, or --target DIR). The extension igx._C is the
CMake target igx_python of the repository, built against the torch of the Python running pip;
IGX_CMAKE_BUILD_DIR names a build folder to use (one already configured is used as it is),
by default python/build/cmake.
"""

import os
import re
import shutil
import subprocess
import sys
import sysconfig
from pathlib import Path

from setuptools import Extension, setup
from setuptools.command.build_ext import build_ext

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent


def project_version() -> str:
    match = re.search(r"project\(igx VERSION ([0-9.]+)", (ROOT / "CMakeLists.txt").read_text())
    return match.group(1) if match else "0.0.0"


class CMakeBuild(build_ext):
    """Builds the extension with the repository's CMake project and copies it into the package."""

    def build_extension(self, ext):
        build_dir = Path(os.environ.get("IGX_CMAKE_BUILD_DIR") or HERE / "build" / "cmake").resolve()
        if not shutil.which("cmake"):
            sys.exit("igx: building the extension needs cmake (Debian: apt-get install cmake ninja-build, "
                     "or bash scripts/setup.sh)")
        if not (build_dir / "CMakeCache.txt").exists():  # a configured folder is used as it is
            configure = ["cmake", "-S", str(ROOT), "-B", str(build_dir), f"-DIGX_PYTHON={sys.executable}",
                         "-DCMAKE_BUILD_TYPE=Release", "-DIGX_BUILD_TESTS=OFF", "-DIGX_BUILD_BENCH=OFF"]
            if shutil.which("ninja"):
                configure += ["-G", "Ninja"]
            subprocess.check_call(configure)
        jobs = os.environ.get("CMAKE_BUILD_PARALLEL_LEVEL") or str(os.cpu_count() or 1)
        subprocess.check_call(["cmake", "--build", str(build_dir), "--target", "igx_python", "-j", jobs])
        built = build_dir / "python" / "igx" / ("_C" + sysconfig.get_config_var("EXT_SUFFIX"))
        destination = Path(self.get_ext_fullpath(ext.name))
        destination.parent.mkdir(parents=True, exist_ok=True)
        shutil.copyfile(built, destination)


setup(
    name="igx",
    version=project_version(),
    description="Integrated Gradients with a measured, controlled numerical error (Captum-style API)",
    packages=["igx"],
    ext_modules=[Extension("igx._C", sources=[])],
    cmdclass={"build_ext": CMakeBuild},
    python_requires=">=3.8",
    zip_safe=False,
)
