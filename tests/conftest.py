import json
import pathlib
import shutil
import sys

import pytest

ROOT = pathlib.Path(__file__).resolve().parent.parent
# The shared vectors live beside the project; tests/vectors holds a copy so a clean clone runs alone.
VECTOR_PATHS = [ROOT / "tests" / "vectors" / "public.json", ROOT.parent / "shared" / "vectors" / "public.json"]


def load_vectors():
    for path in VECTOR_PATHS:
        if path.exists():
            return json.loads(path.read_text())
    raise FileNotFoundError(f"test vectors not found in any of {[str(p) for p in VECTOR_PATHS]}")


def yowasp_tool(name):
    """The path of a YoWASP command (on PATH or beside this Python); skips, naming it, if missing."""
    path = shutil.which(name) or str(pathlib.Path(sys.executable).parent / name)
    if not pathlib.Path(path).exists():
        pytest.skip(f"{name} not installed (pip install 'hashforge[boards]')")
    return path


@pytest.fixture(scope="session")
def vectors():
    return load_vectors()


# One virtual-board configuration for every host-side test, so it is compiled once.
VIRTUAL_BOARD = {"cores": 2, "clocks_per_nonce": 4, "build_dir": ROOT / "build" / "vboard"}


@pytest.fixture(scope="module")
def board():
    """A running virtual board (per test module); skips when Verilator is missing."""
    from hashforge.host.virtual import VirtualBoard
    from hashforge.sim.toolchain import missing_reason
    reason = missing_reason("verilator")
    if reason:
        pytest.skip(reason)
    with VirtualBoard(**VIRTUAL_BOARD) as running:
        yield running
