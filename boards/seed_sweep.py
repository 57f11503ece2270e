"""Place one ECP5 build's netlist with several nextpnr seeds and rank the placements.

On the 85F a placement takes about ten minutes and routing one an hour or two, and the
seed alone moves nextpnr's Fmax estimate after placement a long way (71.5 to 95.1 MHz
on one netlist at 100 MHz). So place the seeds first, read each estimate, and route
only the best (``hashforge build`` with the same options and ``--seed N``, or the kept
placement itself with ``route_placed``):

    python -m hashforge.boards.seed_sweep BUILD_DIR --seeds 1-6 [--jobs 2]

BUILD_DIR is an ECP5 build's directory after its Yosys step (``hashforge.json``). Each
seed is placed with the build's own nextpnr options (``placed_timing``'s command, with
that seed) into ``placed_seed<N>.json`` with its log ``placed_seed<N>.log``, once:
a later sweep reads what is there. The table gives nextpnr's estimate and the slowest
path under ``placed_timing``'s model (where it starts and ends), best seed first.
"""

import argparse
import json
import pathlib
import re
import signal
import subprocess
import sys
import time
from dataclasses import dataclass

from .build_progress import NEXTPNR_FMAX
from .placed_timing import placement_command, placer, worst_paths

def parse_seeds(text):
    """'2,3,5-8' -> [2, 3, 5, 6, 7, 8] (in the order given, without repeats)."""
    seeds = []
    for part in text.split(","):
        part = part.strip()
        match = re.fullmatch(r"(\d+)(?:-(\d+))?", part)
        if not match:
            raise ValueError(f"--seeds takes numbers and ranges like 1-6 or 2,5,9; got {part!r}")
        first, last = int(match[1]), int(match[2] or match[1])
        if last < first:
            raise ValueError(f"--seeds range {part!r} runs backwards")
        seeds += [seed for seed in range(first, last + 1) if seed not in seeds]
    return seeds


def seed_files(seed):
    return f"placed_seed{seed}.json", f"placed_seed{seed}.log"


def placement_estimate_mhz(log_text):
    """nextpnr's Fmax estimate for the design's slowest clock in a placement log (None:
    no estimate, e.g. a placement that failed)."""
    found = [float(match[2]) for match in map(NEXTPNR_FMAX.match, log_text.splitlines()) if match]
    return min(found) if found else None


@dataclass
class SeedPlacement:
    seed: int
    estimate_mhz: float | None        # nextpnr's, after placement
    model_mhz: float | None           # placed_timing's slowest path
    worst_from: str = ""
    worst_to: str = ""
    error: str = ""

    def line(self):
        if self.error:
            return f"{self.seed:>5}  {'failed':>9}  {'':>9}  {self.error}"
        estimate = "-" if self.estimate_mhz is None else f"{self.estimate_mhz:.2f}"
        model = "-" if self.model_mhz is None else f"{self.model_mhz:.1f}"
        return f"{self.seed:>5}  {estimate:>9}  {model:>9}  {self.worst_from} -> {self.worst_to}"


def read_placement(build_dir, seed):
    """The placed seed's figures from its files in ``build_dir``."""
    placed, log = (build_dir / name for name in seed_files(seed))
    estimate = placement_estimate_mhz(log.read_text(errors="replace")) if log.exists() else None
    if not placed.exists():
        return SeedPlacement(seed, estimate, None, error=f"no placement; see {log}")
    try:
        with open(placed) as file:
            paths = worst_paths(json.load(file), 1)
    except ValueError as error:
        # A placement cut short while being written, say: this seed's row says so.
        return SeedPlacement(seed, estimate, None, error=f"unreadable {placed} ({error}); delete it to place again")
    if not paths:
        return SeedPlacement(seed, estimate, None)
    return SeedPlacement(seed, estimate, paths[0].fmax_mhz, paths[0].hops[0].cell, paths[0].hops[-1].cell)


def sweep(build_dir, seeds, jobs=2, nextpnr=None, progress=None):
    """Place ``build_dir``'s netlist with each seed (``jobs`` at a time; seeds already
    placed there are read, not placed again); returns their :class:`SeedPlacement`, best
    first (nextpnr's estimate, then the model's)."""
    build_dir = pathlib.Path(build_dir)
    progress = progress or (lambda message: None)
    nextpnr = nextpnr or placer(build_dir)
    waiting = [seed for seed in seeds if not (build_dir / seed_files(seed)[0]).exists()]
    commands = {seed: placement_command(build_dir, nextpnr, seed, *seed_files(seed)) for seed in waiting}
    running, failed = {}, {}
    started = time.monotonic()
    try:
        while waiting or running:
            while waiting and len(running) < jobs:
                seed = waiting.pop(0)
                progress(f"placing seed {seed} (log: {build_dir / seed_files(seed)[1]})")
                running[seed] = subprocess.Popen(commands[seed], cwd=build_dir,
                                                 stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
            time.sleep(0.2)
            for seed, process in list(running.items()):
                if process.poll() is None:
                    continue
                del running[seed]
                stderr = process.stderr.read().decode(errors="replace").strip().splitlines()
                process.stderr.close()
                if process.returncode != 0:
                    failed[seed] = f"nextpnr exit {process.returncode}: {stderr[-1] if stderr else ''}"
                progress(f"seed {seed} placed after {time.monotonic() - started:.0f} s"
                         + (f" (failed: {failed[seed]})" if seed in failed else ""))
    finally:
        # Interrupted: no placement is left running behind the command.
        for seed, process in running.items():
            process.kill()
            process.wait()
            (build_dir / seed_files(seed)[0]).unlink(missing_ok=True)
    results = []
    for seed in seeds:
        result = read_placement(build_dir, seed)
        if seed in failed:
            result.error = f"{failed[seed]}; see {build_dir / seed_files(seed)[1]}"
        results.append(result)
    return sorted(results, key=lambda r: (bool(r.error), -(r.estimate_mhz or 0), -(r.model_mhz or 0)))


def check_build_directory(build_dir):
    """Raises ValueError, saying what to give instead, unless ``build_dir`` is a build's directory."""
    if not pathlib.Path(build_dir).is_dir():
        raise ValueError("not a directory: give the build directory `hashforge build` printed")
    if not (pathlib.Path(build_dir) / "build_hashforge.sh").exists():
        raise ValueError("no build_hashforge.sh: give the build directory `hashforge build` printed")


def run_stopping_tools_on_sigterm(run, args):
    """``run(args)`` with SIGTERM turned into SystemExit, so the ``finally`` that stops the
    nextpnr processes it started runs then too."""
    previous = signal.signal(signal.SIGTERM, lambda number, frame: sys.exit(128 + number))
    try:
        return run(args)
    finally:
        signal.signal(signal.SIGTERM, previous)


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hashforge.boards.seed_sweep",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("build_dir", metavar="BUILD_DIR", help="an ECP5 build's directory (with hashforge.json)")
    parser.add_argument("--seeds", default="1-4", help="seeds to place: 1-6, or 2,5,9 (default 1-4)")
    parser.add_argument("--jobs", type=int, default=2, help="placements at a time (default 2; each is one core)")
    args = parser.parse_args(argv)
    return run_stopping_tools_on_sigterm(_run, args)


def _run(args):
    try:
        seeds = parse_seeds(args.seeds)
        if args.jobs < 1:
            raise ValueError(f"--jobs must be 1 or more, got {args.jobs}")
        check_build_directory(args.build_dir)
        results = sweep(args.build_dir, seeds, args.jobs,
                        progress=lambda message: print(message, file=sys.stderr, flush=True))
    except (OSError, ValueError) as error:
        print(f"error: {args.build_dir}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: the placements still running were stopped; finished ones are kept", file=sys.stderr)
        return 130
    print(f"{'seed':>5}  {'nextpnr':>9}  {'model':>9}  slowest path (model)")
    print(f"{'':>5}  {'MHz':>9}  {'MHz':>9}")
    for result in results:
        print(result.line())
    best = next((r for r in results if not r.error and r.estimate_mhz is not None), None)
    if best is None:
        print("no seed placed: see the logs above", file=sys.stderr)
        return 1
    print(f"best: seed {best.seed}; route it with `hashforge build` and the same options plus --seed {best.seed}, "
          f"or its placement as it is: python -m hashforge.boards.route_placed {args.build_dir} --seed {best.seed}")
    return 0


if __name__ == "__main__":
    sys.exit(main())
