"""The ``hashforge`` command line.

Each subcommand is a small function over the host, sim and boards layers. Heavy
imports (amaranth, cocotb, the simulators) happen inside the subcommands that
need them, so the host-only install runs ``hash``, ``scan``, ``bench`` and ``mine``.
"""

import argparse
import json
import os
import re
import sys
import warnings

from hashforge.rtl import spec


class UsageError(Exception):
    """A mistake in what the user asked for: printed as one line, exit status 2."""


def parse_u32(text, what):
    try:
        value = int(text, 0)
    except ValueError:
        raise UsageError(f"{what} must be an integer (decimal or 0x hex), got {text!r}") from None
    if not 0 <= value <= spec.MASK32:
        raise UsageError(f"{what} must be in 0..{spec.MASK32}, got {value}")
    return value


def parse_header(text):
    try:
        return spec.parse_hex(text, "HEADER_HEX", spec.HEADER_BYTES)
    except ValueError as error:
        raise UsageError(str(error)) from None


def emit_json(obj):
    print(json.dumps(obj), flush=True)


# --- hash ----------------------------------------------------------------------------------

def cmd_hash(args):
    header = spec.BlockHeader.parse(parse_header(args.header))
    raw = header.serialize()
    if not args.json:
        print(header.display_hash())
        return 0
    target = None
    try:
        target = header.target()
    except ValueError:
        pass
    emit_json({
        "hash": header.display_hash(),
        "midstate": [f"{w:08x}" for w in spec.midstate(raw)],
        "tail_words": [f"{w:08x}" for w in spec.tail_words(raw)],
        "version": header.version,
        "prev_hash": header.prev_hash[::-1].hex(),
        "merkle_root": header.merkle_root[::-1].hex(),
        "time": header.time,
        "bits": f"{header.bits:08x}",
        "nonce": header.nonce,
        "target": None if target is None else f"{target:064x}",
        "meets_target": None if target is None else spec.hash_meets_target(header.hash(), target),
        "leading_zero_bits": spec.leading_zero_bits(header.hash()),
    })
    return 0


# --- scan ----------------------------------------------------------------------------------

def check_scan_range(args):
    start = parse_u32(args.start, "--start")
    try:
        count = int(args.count, 0)
    except ValueError:
        raise UsageError(f"--count must be an integer, got {args.count!r}") from None
    if count <= 0:
        raise UsageError(f"--count must be positive, got {count}")
    if start + count > 1 << 32:
        raise UsageError(f"--start {start} --count {count} runs past the last nonce {spec.MASK32}; "
                         f"use at most --count {(1 << 32) - start}")
    if not 0 <= args.zero_bits <= 256:
        raise UsageError(f"--zero-bits must be in 0..256, got {args.zero_bits}")
    return start, count


def cmd_scan(args):
    raw = parse_header(args.header)
    start, count = check_scan_range(args)
    if args.device:
        from hashforge.host.connect import ConnectError
        from hashforge.host.scan import device_scan
        try:
            return device_scan(raw, start, count, args.zero_bits, args.device, args.json, args)
        except ConnectError as error:
            raise UsageError(str(error)) from None
    from hashforge.sim import golden
    nonces = golden.scan(raw, start, count, args.zero_bits)
    header = spec.BlockHeader.parse(raw)
    hashes = [header.with_nonce(n).display_hash() for n in nonces]
    if args.json:
        emit_json({"start": start, "count": count, "zero_bits": args.zero_bits, "source": "golden",
                   "nonces": nonces, "hashes": hashes})
        return 0
    for nonce, display in zip(nonces, hashes):
        print(f"{nonce}  (0x{nonce:08x})  {display}")
    print(f"{len(nonces)} nonce(s) with >= {args.zero_bits} leading zero bits in "
          f"[{start}, {start + count}) (golden model)", file=sys.stderr)
    return 0


# --- sim ---------------------------------------------------------------------------------

def check_simulator(simulator, what):
    """The [sim] extra is installed and ``simulator`` can run, or a UsageError saying what to install."""
    try:
        from hashforge.sim.toolchain import missing_reason
        import cocotb_tools  # noqa: F401
    except ImportError as error:
        raise UsageError(f"{what} needs the [sim] extra ({error.name} is missing): "
                         f"pip install 'hashforge[sim]'") from None
    reason = missing_reason(simulator)
    if reason:
        raise UsageError(reason)


def cmd_sim(args):
    check_simulator(args.simulator, "simulation")
    from hashforge.sim.toolchain import SimulatorMissing
    from hashforge.sim.runner import run_miner_tests
    try:
        from hashforge.rtl.sha256d_core import check_clocks_per_nonce
        check_clocks_per_nonce(args.clocks_per_nonce)
        if not 1 <= args.cores <= 64:
            raise ValueError(f"--cores must be in 1..64, got {args.cores}")
    except (TypeError, ValueError) as error:
        message = str(error).replace("clocks_per_nonce", "--clocks-per-nonce")
        raise UsageError(re.sub(r"^cores\b", "--cores", message)) from None
    config = (f"{args.simulator}, {args.cores} core(s) x {args.clocks_per_nonce} clock(s) per nonce "
              f"({args.cores / args.clocks_per_nonce:g} nonces/clock)")
    if not args.json:
        print(f"hashforge sim: {config}: building and running the cocotb testbench", file=sys.stderr)
    try:
        report = run_miner_tests(args.simulator, args.cores, args.clocks_per_nonce,
                                 build_root=args.build_dir, testcase=args.test, waves=args.waves,
                                 window=args.window)
    except SimulatorMissing as error:
        raise UsageError(str(error)) from None
    except RuntimeError as error:
        raise UsageError(f"simulation did not complete: {error}; logs are in "
                         f"{args.build_dir}") from None
    rate = report.simulated_clocks / report.sim_seconds if report.sim_seconds else 0.0
    if args.json:
        emit_json({"simulator": report.simulator, "cores": report.cores,
                   "clocks_per_nonce": report.clocks_per_nonce, "latency_clocks": report.latency,
                   "tests": report.tests, "failed": report.failed, "seconds": round(report.seconds, 2),
                   "simulated_clocks": report.simulated_clocks, "clocks_per_second": round(rate),
                   "outcomes": [{"test": n, "passed": ok, "message": msg} for n, ok, msg in report.outcomes],
                   "waves": str(report.waves) if report.waves else None,
                   "log": str(report.build_dir / "test.log")})
    else:
        for name, ok, message in report.outcomes:
            print(f"  {'PASS' if ok else 'FAIL'}  {name}" + (f": {message}" if message else ""))
        print(f"{report.tests - report.failed}/{report.tests} tests passed for {config}")
        speed = (f"{report.simulated_clocks:,} simulated clocks at {rate:,.0f} clocks/s; "
                 if report.simulated_clocks else "")
        print(f"  latency {report.latency} clocks from start to first result; {speed}"
              f"{report.seconds:.1f} s with the build")
        if report.failed:
            print(f"  log: {report.build_dir / 'test.log'}")
        if args.waves:
            print(f"  waves: {report.waves}" if report.waves else "  waves: no waveform file was written")
    return 0 if report.passed else 1


# --- board --virtual -----------------------------------------------------------------

def cmd_board(args):
    if not args.virtual:
        raise UsageError("only --virtual is served here; for a real board use `hashforge build` "
                         "and `hashforge flash`, then talk to its serial port")
    check_simulator(args.simulator, "the virtual board")
    from hashforge.sim import virtual_board_runner as board
    try:
        config = board.VirtualBoardConfig(cores=args.cores, clocks_per_nonce=args.clocks_per_nonce,
                                          clock_hz=args.clock_hz, baud=args.baud, simulator=args.simulator)
        description = board.describe(config)
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from None
    print(f"virtual board: {config.cores} core(s) x {config.clocks_per_nonce} clock(s)/nonce, "
          f"{config.clock_hz} Hz simulated clock, {config.baud} baud, {config.simulator} "
          f"(build {description['build_id']:08x}); building if needed", file=sys.stderr, flush=True)
    board.serve(config, build_root=args.build_dir, info_file=args.info, seconds=args.seconds,
                verbose=not args.quiet, watch_pid=args.exit_with)
    return 0


# --- bench, demo ----------------------------------------------------------------------

def cmd_bench(args):
    from .bench import run_bench
    from .connect import ConnectError, connect
    if args.seconds <= 0:
        raise UsageError(f"--seconds must be positive, got {args.seconds}")
    try:
        with connect(args.device, args, quiet=args.json) as (device, identity, board):
            report = run_bench(device, identity, board, args.device, args.seconds, args.json, args.plot)
    except ConnectError as error:
        raise UsageError(str(error)) from None
    return 0 if report.error is None else 1


def cmd_demo(args):
    from .connect import ConnectError
    from .demo import run_demo
    try:
        return run_demo(args)
    except ConnectError as error:
        raise UsageError(str(error)) from None


# --- mine ------------------------------------------------------------------------------------

def cmd_mine(args):
    import asyncio

    from .connect import ConnectError, connect
    from .device import DeviceError
    from .mine_view import MineView
    from .transport import TransportError
    from .pool_miner import MineOptions, PoolMiner
    from .stratum_client import parse_pool_url
    try:
        pools = [parse_pool_url(url) for url in [args.pool] + (args.backup_pool or [])]
    except ValueError as error:
        raise UsageError(str(error)) from None
    user = args.user or pools[0].user
    if not user:
        raise UsageError("--user is needed (the pool's worker name, e.g. ADDRESS.rig1)")
    password = args.password or pools[0].password or "x"
    if args.seconds is not None and args.seconds <= 0:
        raise UsageError(f"--seconds must be positive, got {args.seconds}")
    options = MineOptions(version_rolling=not args.no_version_rolling,
                          silence_timeout=args.silence_timeout, report_interval=args.report_interval)
    view = MineView(json_lines=args.json)
    try:
        with connect(args.device, args, quiet=args.json) as (device, identity, board):
            miner = PoolMiner(device, identity, pools, user, password, options, view)
            try:
                stats = asyncio.run(miner.run(args.seconds))
            except KeyboardInterrupt:
                stats = miner.stats
            except (TransportError, DeviceError) as error:
                # The summary (with every share accounted for) is already out.
                print(f"hashforge mine: the device failed: {error}", file=sys.stderr)
                return 1
    except ConnectError as error:
        raise UsageError(str(error)) from None
    return 0 if stats.hardware_errors == 0 else 1


# --- boards, build, flash ------------------------------------------------------------------

def _boards_modules():
    try:
        from hashforge.boards import build, flash, registry
    except ImportError as error:
        raise UsageError(f"board builds need the [boards] extra ({error.name} is missing): "
                         f"pip install 'hashforge[boards]'") from None
    return build, flash, registry


def cmd_boards(args):
    build, _, registry = _boards_modules()
    rows = []
    for board in registry.BOARDS.values():
        last = build.last_build(board.name, args.build_dir)
        rows.append({"board": board.name, "device": board.device, "bridge": board.bridge,
                     "primary": board.primary, "default": {"cores": board.cores,
                                                           "clocks_per_nonce": board.clocks_per_nonce,
                                                           "freq_mhz": board.freq_mhz,
                                                           "timing_weight": board.timing_weight,
                                                           "seed": board.seed},
                     "measured_default": _measured_default(board),
                     "last_build": None if last is None else {
                         k: last[k] for k in ("luts", "ffs", "fmax_mhz", "pll_mhz", "mhs_at_pll", "meets_timing")},
                     "notes": board.notes, "default_basis": board.basis})
    if args.json:
        for row in rows:
            emit_json(row)
        return 0
    print(f"{'board':18} {'device':16} {'USB-UART bridge':20} {'default config':24} last build")
    for row in rows:
        d = row["default"]
        default = f"{d['cores']}x cpn {d['clocks_per_nonce']} @ {d['freq_mhz']:g} MHz"
        print(f"{row['board'] + (' *' if row['primary'] else ''):18} {row['device']:16} {row['bridge']:20} "
              f"{default:24} {_build_figures(row)}")
    print("* primary boards. Last build: this machine's (build directory), else (m) the build the "
          "default was measured from.\nLeft out of amaranth-boards' iCE40/ECP5 platforms:")
    for names, reason in registry.LEFT_OUT.items():
        print(f"  {names}: {reason}")
    return 0


def _measured_default(board):
    measured = board.measured
    if measured is None:
        return None
    return {"luts": measured.luts, "ffs": measured.ffs, "fmax_mhz": measured.fmax_mhz,
            "pll_mhz": measured.pll_mhz, "mhs_at_pll": board.mhs(measured.pll_mhz),
            "meets_timing": measured.meets_timing}


def _build_figures(row):
    """This machine's last build of the board, else the measured default's build (m)."""
    figures, mark = row["last_build"], ""
    if not (figures and figures.get("fmax_mhz")):
        figures, mark = row["measured_default"], "(m) "
    if not figures:
        return "-"
    met = "met" if figures["meets_timing"] else "missed"
    return (f"{mark}{figures['luts']} LUTs, {figures['ffs']} FFs, Fmax {figures['fmax_mhz']:.1f} MHz "
            f"at {figures['pll_mhz']:.2f} ({met}), {figures['mhs_at_pll']:.3f} MH/s")


def cmd_build(args):
    build, _, registry = _boards_modules()
    if args.freq == "auto" and args.constraint_mhz is not None:
        raise UsageError("--constraint-mhz goes with a fixed --freq; with --freq auto each build is "
                         "placed and routed for its own clock")
    try:
        registry.get_board(args.board)
        freq = None if args.freq in (None, "auto") else float(args.freq)
    except registry.UnknownBoard as error:
        raise UsageError(str(error)) from None
    except ValueError:
        raise UsageError(f"--freq must be a number of MHz or 'auto', got {args.freq!r}") from None
    progress = (lambda message: None) if args.json else (lambda message: print(message, file=sys.stderr, flush=True))
    try:
        report = build.build_board(args.board, args.cores, args.clocks_per_nonce, freq, args.baud,
                                   build_root=args.build_dir, progress=progress, seed=args.seed,
                                   timing_weight=args.timing_weight,
                                   detach_unread_carry_outs=args.detach_unread_carry_outs,
                                   constraint_mhz=args.constraint_mhz)
        if args.freq == "auto":
            report = _auto_frequency(build, args, report, progress)
    except build.BuildError as error:
        raise UsageError(str(error)) from None
    except (ValueError, TypeError) as error:
        message = str(error).replace("clocks_per_nonce", "--clocks-per-nonce")
        raise UsageError(re.sub(r"^cores\b", "--cores", message)) from None
    if args.json:
        from dataclasses import asdict
        emit_json(asdict(report))
    else:
        print("\n".join(report.lines()))
    return 0 if report.meets_timing else 1


AUTO_PASSES = 3        # builds after the first one, at most


def _auto_frequency(build, args, report, progress):
    """Rebuild at 97% of the Fmax each build reached (the PLL picks the nearest clock it
    can make), until one meets timing there or the passes run out; keep the fastest
    build that meets timing. Placement differs from clock to clock, so a build at
    its predecessor's Fmax can miss by a little: then the next pass goes lower."""
    best = report if report.meets_timing else None
    for _ in range(AUTO_PASSES):
        if not report.fmax_mhz:
            break
        target = report.fmax_mhz * 0.97
        if best and target <= best.pll_mhz:
            break
        progress(f"--freq auto: {report.pll_mhz:g} MHz build reached {report.fmax_mhz:.1f} MHz; "
                 f"building at {target:.1f} MHz")
        report = build.build_board(args.board, args.cores, args.clocks_per_nonce, target, args.baud,
                                   build_root=args.build_dir, progress=progress, seed=args.seed,
                                   timing_weight=args.timing_weight,
                                   detach_unread_carry_outs=args.detach_unread_carry_outs)
        if report.meets_timing:
            if best is None or report.pll_mhz > best.pll_mhz:
                best = report
            break
    return best or report


def cmd_flash(args):
    _, flash, registry = _boards_modules()
    try:
        command = flash.flash(args.board, args.bitstream, args.programmer, build_root=args.build_dir)
    except (flash.FlashError, registry.UnknownBoard) as error:
        raise UsageError(str(error)) from None
    print(f"flashed {args.board}: {' '.join(command)}")
    return 0


# --- ASIC view -----------------------------------------------------------------------------

def cmd_export(args):
    if not args.verilog:
        raise UsageError("say what to export: --verilog")
    try:
        from hashforge.boards.asic import export_verilog
        path = export_verilog(args.output, args.cores, args.clocks_per_nonce)
    except ImportError as error:
        raise UsageError(f"export needs the [hdl] extra ({error.name} is missing)") from None
    except (TypeError, ValueError) as error:
        raise UsageError(str(error)) from None
    print(f"wrote {path} (module hashforge_miner: {args.cores} core(s) x {args.clocks_per_nonce} "
          f"clock(s)/nonce; ports clk, rst, job inputs, results stream, nonces_hashed)")
    return 0


def cmd_asic_report(args):
    from hashforge.boards.asic import AsicError, asic_report
    rows = []
    for cpn in args.clocks_per_nonce:
        try:
            rows.append(asic_report(args.cores, cpn))
        except (AsicError, TypeError, ValueError) as error:
            raise UsageError(str(error)) from None
        if args.json:
            emit_json(rows[-1])
        else:
            r = rows[-1]
            print(f"{r['cores']} core(s) x {r['clocks_per_nonce']:>2} clocks/nonce: {r['cells']:>7} cells, "
                  f"{r['flip_flops']:>6} flip-flops, {r['nand2_equivalent']:>8} NAND2-eq, "
                  f"{r['nand2_per_nonce_per_clock']:>9} NAND2-eq per (nonce/clock)", flush=True)
    return 0


# --- entry point ---------------------------------------------------------------------------

def build_parser():
    parser = argparse.ArgumentParser(prog="hashforge", description="hashforge: SHA-256d mining gateware, simulation, boards and host (run `hashforge demo` to start)")
    sub = parser.add_subparsers(dest="command", required=True, metavar="COMMAND")

    p = sub.add_parser("hash", help="double SHA-256 of an 80-byte block header")
    p.add_argument("header", metavar="HEADER_HEX", help="80-byte header as 160 hex digits")
    p.add_argument("--json", action="store_true", help="also midstate, target and whether it is met")
    p.set_defaults(func=cmd_hash)

    p = sub.add_parser("scan", help="every nonce in a range whose hash has K leading zero bits")
    p.add_argument("header", metavar="HEADER_HEX", help="80-byte header; its nonce field is ignored")
    p.add_argument("--start", required=True, help="first header nonce (decimal or 0x hex)")
    p.add_argument("--count", required=True, help="how many nonces")
    p.add_argument("--zero-bits", type=int, required=True, metavar="K",
                   help="leading zero bits of the hash read as a 256-bit little-endian number")
    p.add_argument("--device", metavar="PORT|virtual",
                   help="run the scan on a device and report recall against the golden model")
    p.add_argument("--baud", type=int, default=115200, help="serial baud rate of a real board")
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")
    p.set_defaults(func=cmd_scan)

    p = sub.add_parser("sim", help="verify the mining core in cocotb against the golden model")
    p.add_argument("--simulator", choices=["verilator", "icarus"], default="verilator")
    p.add_argument("--cores", type=int, default=1, help="cores in the miner (default 1)")
    p.add_argument("--clocks-per-nonce", type=int, default=16, metavar="L",
                   help="area/speed trade: 1 = fully pipelined ... 61 = two round units, 64 = two "
                        "round units and no job precompute, the smallest (default 16)")
    p.add_argument("--test", help="run only this cocotb test (e.g. recall_at_easy_targets)")
    p.add_argument("--window", type=int, help="nonces scanned before each real header's nonce")
    p.add_argument("--waves", action="store_true", help="write a waveform file and print its path")
    p.add_argument("--build-dir", default="build/sim", help="where builds and logs go (default build/sim)")
    p.add_argument("--json", action="store_true", help="one JSON object instead of text")
    p.set_defaults(func=cmd_sim)
    p = sub.add_parser("bench", help="hashrate test: device counter, shares and the build's promise")
    p.add_argument("--device", default="virtual", metavar="PORT|virtual",
                   help="serial port of a board, or `virtual` (default)")
    p.add_argument("--seconds", type=float, default=10.0)
    p.add_argument("--baud", type=int, default=115200, help="serial baud rate of a real board")
    p.add_argument("--cores", type=int, help="virtual board: cores (default 1)")
    p.add_argument("--clocks-per-nonce", type=int, help="virtual board: clocks per nonce (default 4)")
    p.add_argument("--json", action="store_true", help="JSON lines: samples, then a summary")
    p.add_argument("--plot", metavar="FILE.png", help="draw hashrate over time")
    p.set_defaults(func=cmd_bench)

    p = sub.add_parser("demo", help="the virtual board end to end: identify, find a real nonce, hashrate")
    p.add_argument("--cores", type=int, help="virtual board cores (default 1)")
    p.add_argument("--clocks-per-nonce", type=int, help="virtual board clocks per nonce (default 4)")
    p.set_defaults(func=cmd_demo)

    p = sub.add_parser("mine", help="mine on a Stratum v1 pool (version rolling, failover)")
    p.add_argument("--pool", required=True, metavar="URL", help="stratum+tcp://HOST:PORT")
    p.add_argument("--user", help="worker name (never printed)")
    p.add_argument("--password", help="worker password (default x; never printed)")
    p.add_argument("--device", default="virtual", metavar="PORT|virtual",
                   help="serial port of a board, or virtual (default)")
    p.add_argument("--backup-pool", action="append", metavar="URL",
                   help="used when the pool fails; may be given more than once")
    p.add_argument("--seconds", type=float, help="stop after this long (default: until Ctrl-C)")
    p.add_argument("--json", action="store_true", help="JSON lines: every event and a status line")
    p.add_argument("--no-version-rolling", action="store_true", help="do not ask for BIP 310 rolling")
    p.add_argument("--silence-timeout", type=float, default=120.0, metavar="S",
                   help="reconnect when the pool sends no job for this long (default 120)")
    p.add_argument("--report-interval", type=float, default=5.0, metavar="S",
                   help="seconds between status lines (default 5)")
    p.add_argument("--baud", type=int, default=115200, help="serial baud rate of a real board")
    p.add_argument("--cores", type=int, help="virtual board: cores (default 1)")
    p.add_argument("--clocks-per-nonce", type=int, help="virtual board: clocks per nonce (default 4)")
    p.set_defaults(func=cmd_mine)

    p = sub.add_parser("boards", help="supported boards, their default configuration and last build")
    p.add_argument("--build-dir", default="build/boards",
                   help="where `hashforge build` keeps its builds, read for each board's last build "
                        "(default build/boards); boards not built there show their measured default (m)")
    p.add_argument("--json", action="store_true", help="one JSON object a board")
    p.set_defaults(func=cmd_boards)

    p = sub.add_parser("build", help="build a bitstream with Yosys and nextpnr (YoWASP)")
    p.add_argument("--board", required=True, help="see `hashforge boards`")
    p.add_argument("--cores", type=int, help="default: the board's")
    p.add_argument("--clocks-per-nonce", type=int, metavar="L", help="default: the board's")
    p.add_argument("--freq", metavar="MHZ|auto", help="core clock target; auto: the highest that meets timing")
    p.add_argument("--baud", type=int, help="UART baud rate (default 115200)")
    p.add_argument("--seed", type=int,
                   help="nextpnr placement seed (default: the board's, else 1); another seed places "
                        "differently, and a near miss can meet timing with one")
    p.add_argument("--timing-weight", type=int, metavar="N",
                   help="nextpnr placer's timing weight (default: the board's, else nextpnr's 10); higher "
                        "places the longest paths' cells closer at some cost in wire length")
    p.add_argument("--detach-unread-carry-outs", action="store_true",
                   help="ECP5: mark the carry outs nothing reads unconnected before nextpnr, which then "
                        "adds no pass-out cell after those chains (85F: 2.3k LUTs fewer); off by default")
    p.add_argument("--constraint-mhz", type=float, metavar="MHZ",
                   help="the clock nextpnr places and routes for (default: the PLL's); timing is still judged against the PLL's clock, so "
                        "a lower constraint that places a large design better is a gain only if Fmax "
                        "still reaches the PLL's clock")
    p.add_argument("--build-dir", default="build/boards")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_build)

    p = sub.add_parser("flash", help="program a board with openFPGALoader (or iceprog)")
    p.add_argument("--board", required=True)
    p.add_argument("--bitstream", help="default: the board's last build")
    p.add_argument("--programmer", choices=["openfpgaloader", "iceprog"])
    p.add_argument("--build-dir", default="build/boards")
    p.set_defaults(func=cmd_flash)

    p = sub.add_parser("export", help="the miner as plain synthesizable Verilog (for ASIC flows)")
    p.add_argument("--verilog", action="store_true")
    p.add_argument("--cores", type=int, default=1)
    p.add_argument("--clocks-per-nonce", type=int, default=16, metavar="L")
    p.add_argument("--output", "-o", default="hashforge_miner.v")
    p.set_defaults(func=cmd_export)

    p = sub.add_parser("asic-report", help="generic-gate synthesis: cells, flip-flops, NAND2 equivalents")
    p.add_argument("--cores", type=int, default=1)
    p.add_argument("--clocks-per-nonce", type=int, nargs="+", default=[64, 61, 16], metavar="L")
    p.add_argument("--json", action="store_true")
    p.set_defaults(func=cmd_asic_report)

    p = sub.add_parser("board", help="serve the virtual board on a pseudo-terminal")
    p.add_argument("--virtual", action="store_true", help="the simulated board (the only one served here)")
    p.add_argument("--simulator", choices=["verilator", "icarus"], default="verilator")
    p.add_argument("--cores", type=int, default=1)
    p.add_argument("--clocks-per-nonce", type=int, default=4, metavar="L")
    p.add_argument("--clock-hz", type=int, default=1_843_200,
                   help="simulated clock (default 1843200: 16 clocks per bit at 115200 baud)")
    p.add_argument("--baud", type=int, default=115_200)
    p.add_argument("--seconds", type=float, default=0, help="stop after this long (default: until Ctrl-C)")
    p.add_argument("--info", help="write the pty path and the simulated clock rate to this JSON file")
    p.add_argument("--quiet", action="store_true", help="no periodic speed lines")
    p.add_argument("--exit-with", type=int, metavar="PID",
                   help="stop when this process ends (the host program that started the board)")
    p.add_argument("--build-dir", default="build/vboard")
    p.set_defaults(func=cmd_board)
    return parser


def main(argv=None):
    # Figures are read off gateware objects that are never elaborated; that is fine.
    warnings.filterwarnings("ignore", message=".*created but never used")
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        return args.func(args) or 0
    except UsageError as error:
        print(f"hashforge {args.command}: error: {error}", file=sys.stderr)
        return 2
    except KeyboardInterrupt:
        print(f"hashforge {args.command}: interrupted", file=sys.stderr)
        return 130
    except BrokenPipeError:
        # The reader went away (`hashforge boards --json | head`): not an error of ours.
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0


if __name__ == "__main__":
    sys.exit(main())
