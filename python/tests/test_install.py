"""The one-command install (python -m pip install --no-build-isolation ./python), offline, into a
folder of its own, reusing the test build's CMake folder (IGX_CMAKE_BUILD_DIR, set by ctest)."""

import os
import subprocess
import sys
from pathlib import Path

import pytest

from conftest import SOURCE_DIR


@pytest.mark.skipif("IGX_CMAKE_BUILD_DIR" not in os.environ, reason="run by ctest, which names its build folder")
def test_pip_install_then_import_elsewhere(tmp_path):
    target = tmp_path / "site"
    environment = dict(os.environ, PIP_NO_INDEX="1", PIP_DISABLE_PIP_VERSION_CHECK="1")
    environment.pop("PYTHONPATH", None)
    subprocess.run(
        [sys.executable, "-m", "pip", "install", "--no-build-isolation", "--no-deps", "--quiet", "--target",
         str(target), str(SOURCE_DIR / "python")],
        check=True, env=environment, cwd=tmp_path)
    script = (
        "import igx, torch\n"
        "x = torch.tensor([[3.0, 1.0]], dtype=torch.float64)\n"
        "f = lambda v: torch.relu(torch.relu(v[:, 0]) - 1 - torch.relu(v[:, 1])).unsqueeze(1)\n"
        "a = igx.IntegratedGradients(f).attribute(x, target=0, n_steps=50, method='riemann_middle')\n"
        "print(igx.__file__)\n"
        "print(igx.__version__, round(a[0, 0].item(), 9), round(a[0, 1].item(), 9))\n"
    )
    result = subprocess.run([sys.executable, "-c", script], check=True, capture_output=True, text=True,
                            env=dict(environment, PYTHONPATH=str(target)), cwd=tmp_path)
    location, numbers = result.stdout.split("\n")[:2]
    assert Path(location).resolve().is_relative_to(target.resolve())
    version, first, second = numbers.split()
    assert (float(first), float(second)) == (1.5, -0.5)
    assert version.count(".") == 2
