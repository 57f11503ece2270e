"""Each primary board's default configuration, built, in one table.

    .venv/bin/python bench/boards.py [--board NAME ...] [--build-dir build/boards] [--json]

Builds (or takes from the bitstream cache) the default configuration of every primary
board and of the HX8K breakout board (the iCE40 the smallest configuration fits) with the
same flow as ``hashforge build`` (Yosys + nextpnr from YoWASP), and prints LUTs, FFs, Fmax,
the PLL clock and MH/s side by side with fpgaminer's open-source miner on the same flow
(figures from the core issue). A board whose default does not fit is reported
with the error, not skipped. The ULX3S 85F takes the longest (tens of minutes uncached).
"""

import argparse
import json
import sys
import time
import warnings

warnings.filterwarnings("ignore", message=".*created but never used")

from hashforge.boards.build import BuildError, build_board      # noqa: E402
from hashforge.boards.registry import BOARDS                     # noqa: E402

# fpgaminer's miner, measured on this flow (see the core issue).
FPGAMINER = {
    "icebreaker": "does not fit (149% of a UP5K's logic cells)",
    "ice40-hx8k-b-evn": "does not fit (102% of an HX8K's logic cells)",
    "ulx3s-85f": "15.6 MH/s at best (4 clocks/nonce, 50.7k LUTs, 62.5 MHz)",
}
GOALS_MHS = {"icebreaker": 2.0, "ulx3s-85f": 100.0}


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--board", action="append", help="default: every primary board and the HX8K board")
    parser.add_argument("--build-dir", default="build/boards")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args(argv)
    names = args.board or [name for name, board in BOARDS.items() if board.primary] + ["ice40-hx8k-b-evn"]
    rows = []
    for name in names:
        started = time.perf_counter()
        print(f"{name}: building the default configuration ...", file=sys.stderr, flush=True)
        try:
            report = build_board(name, build_root=args.build_dir,
                                 progress=lambda message: print(f"  {message}", file=sys.stderr, flush=True))
        except BuildError as error:
            rows.append({"board": name, "error": str(error).splitlines()[0],
                         "seconds": time.perf_counter() - started})
            continue
        rows.append({"board": name, "device": report.device, "cores": report.cores,
                     "clocks_per_nonce": report.clocks_per_nonce, "luts": report.luts,
                     "capacity": report.logic_capacity, "ffs": report.ffs, "fmax_mhz": report.fmax_mhz,
                     "pll_mhz": report.pll_mhz, "meets_timing": report.meets_timing,
                     "mhs": report.mhs_at_pll, "mhs_at_fmax": report.mhs_at_fmax,
                     "goal_mhs": GOALS_MHS.get(name), "fpgaminer": FPGAMINER.get(name, ""),
                     "cached": report.cached, "seconds": time.perf_counter() - started})
    if args.json:
        print(json.dumps(rows, indent=1))
        return 0
    print(f"{'board':<17} {'config':>8} {'LUTs':>13} {'FFs':>6} {'Fmax':>7} {'PLL':>7} {'MH/s':>7}"
          f" {'goal':>6}  fpgaminer on the same flow")
    for row in rows:
        if "error" in row:
            print(f"{row['board']:<17} default build failed: {row['error']}")
            continue
        fmax = f"{row['fmax_mhz']:.1f}" if row["fmax_mhz"] else "-"
        goal = f"{row['goal_mhs']:g}" if row["goal_mhs"] else ""
        print(f"{row['board']:<17} {row['cores']}x L{row['clocks_per_nonce']:<4} "
              f"{row['luts']:>6}/{row['capacity']:<6} {row['ffs']:>6} {fmax:>7} {row['pll_mhz']:>7.2f}"
              f" {row['mhs']:>7.3f} {goal:>6}  {row['fpgaminer']}")
    print("MHz: nextpnr Fmax and the PLL clock the build runs at; MH/s at the PLL clock.")
    return 0


if __name__ == "__main__":
    sys.exit(main())
