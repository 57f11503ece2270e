"""Nonces per second: numpy golden model against a plain hashlib loop, one core.

    .venv/bin/python bench/golden.py [--seconds S] [--json]

The hashlib loop is the fastest plain-Python way to hash a header range: the
first block's SHA-256 state is copied (``hashlib.sha256().copy()``) and only the
last 16 bytes are hashed per nonce, then the second SHA-256. The golden model
computes the early-exit top hash word (what the device computes). Both run in
this process, one after the other, on the genesis header.
"""

import argparse
import hashlib
import json
import os
import struct
import time

import numpy as np

from hashforge.rtl import spec
from hashforge.sim import golden

GENESIS = bytes.fromhex(
    "0100000000000000000000000000000000000000000000000000000000000000000000003ba3edfd7a7b12b27ac72c3e"
    "67768f617fc81bc3888a51323a9fb8aa4b1e5e4a29ab5f49ffff001d1dac2b7c")


def rate(fn, seconds):
    done, start = 0, time.perf_counter()
    while time.perf_counter() - start < seconds:
        done += fn()
    return done / (time.perf_counter() - start)


def hashlib_loop(header, chunk=20000):
    first = hashlib.sha256(header[:64])
    tail = header[64:76]
    pack = struct.Struct("<I").pack

    def run():
        sha256 = hashlib.sha256
        for nonce in range(chunk):
            h = first.copy()
            h.update(tail + pack(nonce))
            sha256(h.digest()).digest()
        return chunk
    return run


def golden_batches(header, batch):
    job = golden.job_constants(spec.midstate(header), spec.tail_words(header))
    w3 = np.arange(batch, dtype=np.uint32)

    def run():
        golden.top_words(job, w3)
        return batch
    return run


def main():
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=2.0, help="time per measurement")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    os.environ.setdefault("OMP_NUM_THREADS", "1")
    baseline = rate(hashlib_loop(GENESIS), args.seconds)
    rows = [{"method": "hashlib loop (midstate copy)", "batch": 1, "nonces_per_s": baseline, "ratio": 1.0}]
    for batch in (1024, 4096, 16384, 65536):
        r = rate(golden_batches(GENESIS, batch), args.seconds)
        rows.append({"method": "numpy golden model (top word)", "batch": batch, "nonces_per_s": r,
                     "ratio": r / baseline})
    if args.json:
        for row in rows:
            print(json.dumps(row))
        return
    print(f"{'method':34} {'batch':>6} {'nonces/s':>12} {'vs hashlib':>10}")
    for row in rows:
        print(f"{row['method']:34} {row['batch']:>6} {row['nonces_per_s']:>12,.0f} {row['ratio']:>9.2f}x")
    print(f"golden model default batch: {golden.DEFAULT_BATCH}")


if __name__ == "__main__":
    main()
