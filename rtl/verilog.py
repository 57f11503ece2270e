"""Verilog of hashforge gateware, written once per design (cached by its text's digest)."""

import pathlib

from amaranth.back import verilog


def write_verilog(component, name, directory, platform=None):
    """Write ``component`` as Verilog module ``name`` into ``directory``; return the path.
    ``platform`` is what elaboration sees (None: generic logic, no FPGA cells).

    The file is only rewritten when its text changes, so simulator builds that
    depend on it are not redone needlessly.
    """
    directory = pathlib.Path(directory)
    directory.mkdir(parents=True, exist_ok=True)
    text = verilog.convert(component, name=name, emit_src=False, platform=platform)
    path = directory / f"{name}.v"
    if not path.exists() or path.read_text() != text:
        path.write_text(text)
    return path
