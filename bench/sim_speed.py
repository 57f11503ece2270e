"""Simulation speed: simulated clocks and nonces per second.

    .venv/bin/python bench/sim_speed.py [--seconds S] [--skip-testbench] [--skip-board]

1. The miner's cocotb testbench (hashforge sim) on Verilator and on Icarus, for the
   same configuration: clocks/s over the tests (Python drives every clock there).
2. The virtual board (clock inside the simulator, Python once per UART bit) for the
   smallest configuration (61 clocks per nonce) and a mid-size one (4 clocks per nonce):
   clocks/s as the board measures them, nonces/s from the device counter.
Builds are cached under build/; the first run compiles each model.
"""

import argparse
import json
import time
import warnings

warnings.filterwarnings("ignore", message=".*created but never used")

from hashforge.host.device import Device          # noqa: E402
from hashforge.host.virtual import VirtualBoard    # noqa: E402
from hashforge.host.work import job_from_header    # noqa: E402
from hashforge.sim.runner import run_miner_tests   # noqa: E402


def testbench_speed(simulator, cores, cpn):
    report = run_miner_tests(simulator, cores, cpn, build_root="build/sim", testcase="recall_at_easy_targets")
    clocks, seconds, nonces = report.simulated_clocks, report.sim_seconds, report.simulated_nonces
    return {"what": f"miner testbench, {simulator}", "cores": cores, "clocks_per_nonce": cpn,
            "clocks_per_s": clocks / seconds, "nonces_per_s": nonces / seconds, "passed": report.passed}


def board_speed(cpn, seconds):
    with VirtualBoard(cores=1, clocks_per_nonce=cpn) as board:
        with Device.open(board.port) as device:
            identity = device.identify()
            device.submit(job_from_header(bytes(80), 0, 2**32 - 1, target=0))
            before, t0 = device.status().nonces_hashed, time.monotonic()
            time.sleep(seconds)
            after, t1 = device.status().nonces_hashed, time.monotonic()
            device.abort()
            clocks = board.clocks_per_second
    return {"what": "virtual board, verilator", "cores": identity.cores, "clocks_per_nonce": cpn,
            "clocks_per_s": clocks, "nonces_per_s": (after - before) / (t1 - t0),
            "real_time_fraction": clocks / identity.clock_hz if clocks else None}


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=6.0)
    parser.add_argument("--skip-testbench", action="store_true")
    parser.add_argument("--skip-board", action="store_true")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    rows = []
    if not args.skip_testbench:
        rows += [testbench_speed(sim, 1, 61) for sim in ("verilator", "icarus")]
    if not args.skip_board:
        rows += [board_speed(cpn, args.seconds) for cpn in (61, 4)]
    for row in rows:
        if args.json:
            print(json.dumps(row))
        else:
            print(f"{row['what']:28} cores {row['cores']} cpn {row['clocks_per_nonce']:>2}: "
                  f"{row['clocks_per_s']:>10,.0f} clocks/s {row['nonces_per_s']:>10,.0f} nonces/s")


if __name__ == "__main__":
    main()
