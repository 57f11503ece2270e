"""Route one seed's placement from ``seed_sweep`` without placing it again, into a bitstream.

``seed_sweep`` leaves each seed's placed netlist (``placed_seed<N>.json``) in the build
directory. Routing the best one through ``hashforge build --seed N`` runs Yosys and the
placement again first (about 18 minutes on an 85F) before the hour or two of routing;
this starts nextpnr from the placed netlist instead (``--no-place``: every cell keeps its
placed site), with the build's own options and that seed, then packs the bitstream:

    python -m hashforge.boards.route_placed BUILD_DIR --seed N

It writes ``routed_seed<N>.log`` (nextpnr's log), ``routed_seed<N>.report.json``,
``routed_seed<N>.config`` and ``routed_seed<N>.bit`` next to the placement, shows the
router's progress and ends with the routed Fmax against the build's clock. The router
starts from a netlist read back from a file, not from the placer's memory, so a
``hashforge build`` with the same options and ``--seed N`` has the same placement but
may route to a slightly different Fmax; that build is the one to flash and to record.
"""

import argparse
import pathlib
import subprocess
import sys

from .build_progress import NEXTPNR_FMAX, BuildLogWatcher
from .placed_timing import build_script_words
from .seed_sweep import check_build_directory, run_stopping_tools_on_sigterm, seed_files


def routed_files(seed):
    """The files routing seed ``seed``'s placement writes: log, report, configuration, bitstream."""
    stem = f"routed_seed{seed}"
    return f"{stem}.log", f"{stem}.report.json", f"{stem}.config", f"{stem}.bit"


def _replaced(words, values):
    """``words`` with each option in ``values`` given that value (added if missing)."""
    words, done = list(words), set()
    for index, word in enumerate(words[:-1]):
        if word in values:
            words[index + 1] = values[word]
            done.add(word)
    return words + [word for option, value in values.items() if option not in done for word in (option, value)]


def routing_command(build_dir, nextpnr, seed):
    """The build script's nextpnr command, made to read seed ``seed``'s placed netlist,
    keep its placement and route it into this seed's files."""
    log, report, config, _ = routed_files(seed)
    words = _replaced(build_script_words(build_dir, "NEXTPNR_ECP5"), {
        "--json": seed_files(seed)[0], "--seed": str(seed),
        "--log": log, "--report": report, "--textcfg": config})
    return [nextpnr] + words + ["--no-place"]


def packing_command(build_dir, ecppack, seed):
    """The build script's ecppack command for this seed's routed configuration (no SVF)."""
    _, _, config, bitstream = routed_files(seed)
    words = build_script_words(build_dir, "ECPPACK")
    if "--svf" in words:
        at = words.index("--svf")
        del words[at:at + 2]
    return [ecppack] + _replaced(words, {"--input": config, "--bit": bitstream})


def routed_fmax(log_text):
    """(Fmax MHz, target MHz, met) of the slowest clock after routing: the last Fmax lines
    of nextpnr's log are the routed ones; None if routing did not finish."""
    _, routed, after = log_text.rpartition("Info: Routing complete")
    found = [match for match in map(NEXTPNR_FMAX.match, after.splitlines()) if match] if routed else []
    if not found:
        return None
    slowest = min(found, key=lambda match: float(match[2]))
    return float(slowest[2]), float(slowest[4]), slowest[3] == "PASS"


def _tools():
    from .build import tool_environment
    env = tool_environment()
    missing = [name for name in ("NEXTPNR_ECP5", "ECPPACK") if name not in env]
    if missing:
        raise ValueError(f"{' and '.join(missing)} not found: pip install 'hashforge[boards]'")
    return env["NEXTPNR_ECP5"], env["ECPPACK"]


def _run_to_end(command, cwd):
    """Runs ``command``; stopped (Ctrl-C, SIGTERM), it stops the tool too."""
    process = subprocess.Popen(command, cwd=cwd, stdout=subprocess.DEVNULL, stderr=subprocess.PIPE)
    try:
        _, stderr = process.communicate()
    finally:
        if process.poll() is None:
            process.kill()
            process.wait()
    if process.returncode != 0:
        last = stderr.decode(errors="replace").strip().splitlines()
        raise RuntimeError(f"{pathlib.Path(command[0]).name} exit {process.returncode}"
                           + (f": {last[-1]}" if last else ""))


def route(build_dir, seed, nextpnr=None, ecppack=None, progress=None):
    """Routes seed ``seed``'s placement in ``build_dir`` and packs its bitstream; returns
    (Fmax MHz, target MHz, met) after routing."""
    build_dir = pathlib.Path(build_dir)
    progress = progress or (lambda message: None)
    placed = build_dir / seed_files(seed)[0]
    if not placed.exists():
        raise ValueError(f"no {placed.name}: place it first "
                         f"(python -m hashforge.boards.seed_sweep {build_dir} --seeds {seed})")
    if nextpnr is None or ecppack is None:
        nextpnr, ecppack = _tools()
    log, _, _, bitstream = routed_files(seed)
    progress(f"routing seed {seed}'s placement (log: {build_dir / log})")
    with BuildLogWatcher(build_dir, progress, yosys_log=None, nextpnr_log=log):
        _run_to_end(routing_command(build_dir, nextpnr, seed), build_dir)
    figures = routed_fmax((build_dir / log).read_text(errors="replace"))
    if figures is None:
        raise RuntimeError(f"nextpnr ended without a routed Fmax; see {build_dir / log}")
    _run_to_end(packing_command(build_dir, ecppack, seed), build_dir)
    progress(f"bitstream: {build_dir / bitstream}")
    return figures


def main(argv=None):
    parser = argparse.ArgumentParser(prog="python -m hashforge.boards.route_placed",
                                     description=__doc__.split("\n")[0])
    parser.add_argument("build_dir", metavar="BUILD_DIR", help="an ECP5 build's directory with seed_sweep's placements")
    parser.add_argument("--seed", type=int, required=True, help="the placed seed to route (placed_seed<N>.json)")
    args = parser.parse_args(argv)
    return run_stopping_tools_on_sigterm(_run, args)


def _run(args):
    build_dir = pathlib.Path(args.build_dir)
    try:
        check_build_directory(build_dir)
        fmax, target, met = route(build_dir, args.seed,
                                  progress=lambda message: print(message, file=sys.stderr, flush=True))
    except (OSError, ValueError, RuntimeError) as error:
        print(f"error: {build_dir}: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print("interrupted: nextpnr was stopped; the placement is kept", file=sys.stderr)
        return 130
    print(f"seed {args.seed}: routed Fmax {fmax:.2f} MHz for {target:.2f} MHz ({'meets' if met else 'misses'} it)")
    print(f"the build to flash and record: `hashforge build` with the same options plus --seed {args.seed}")
    return 0 if met else 1


if __name__ == "__main__":
    sys.exit(main())
