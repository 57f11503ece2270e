"""`hashforge demo`: the virtual board, end to end, in seconds."""

import sys
import time

from hashforge.rtl import spec

from .bench import format_rate, run_bench
from .connect import connect
from .scan import scan_on_device

# Block 125552 (the Bitcoin wiki's "block hashing algorithm" example): a real header.
DEMO_HEADER = ("0100000081cd02ab7e569e8bcd9317e2fe99f2de44d49ab2b8851ba4a308000000000000e320b6c2fffc8d75"
               "0423db8b1eb942ae710e951ed797f7affc8892b0f1fc122bc7f5d74df2b9441a42a14695")
WINDOW_BEFORE, WINDOW_AFTER = 6000, 2000


def run_demo(args):
    out = sys.stdout
    started = time.monotonic()
    header = spec.BlockHeader.from_hex(DEMO_HEADER)
    raw = header.serialize()
    with connect("virtual", args) as (device, identity, board):
        print(f"1. identify: protocol v{identity.version}, {identity.cores} core(s), "
              f"{identity.clocks_per_nonce} clock(s) per nonce, {identity.clock_hz / 1e6:g} MHz simulated clock, "
              f"{identity.baud} baud, build {identity.build_id:08x}  (pty {board.port})", file=out)
        first, count = header.nonce - WINDOW_BEFORE, WINDOW_BEFORE + WINDOW_AFTER
        t0 = time.monotonic()
        job, returned, done = scan_on_device(device, raw, first, count, 32, timeout=120)
        found = [n for n in returned if header.with_nonce(n).meets_target()]
        wrong = [n for n in returned if not job.qualifies(n)]
        print(f"2. block 125552 ({header.display_hash()[:24]}..): scanned nonces {first}..{first + count - 1} in "
              f"{time.monotonic() - t0:.1f} s; device returned {sorted(returned)}; "
              f"real nonce {header.nonce} {'FOUND' if header.nonce in found else 'NOT FOUND'}"
              f"{'' if done else ' (range not finished)'}; hardware errors {len(wrong)}", file=out)
        print("3. hashrate test (5 s):", file=out)
        report = run_bench(device, identity, board, "virtual", 5.0, stream=out)
    ok = header.nonce in found and not wrong and done and report.error is None and report.hardware_errors == 0
    print(f"demo {'passed' if ok else 'FAILED'} in {time.monotonic() - started:.0f} s: the virtual board found "
          f"block 125552's nonce and hashed at {format_rate(report.counter_hashrate)} "
          f"(simulated; a {identity.clock_hz / 1e6:g} MHz board with this build promises "
          f"{format_rate(identity.promised_hashrate)})", file=out)
    return 0 if ok else 1
