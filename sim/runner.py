"""Build the miner's Verilog and run its cocotb testbench on Verilator or Icarus.

Used by the tests (``tests/test_miner_cocotb.py``) and by ``hashforge sim``.
Each configuration gets its own build directory, so runs can go in parallel.
"""

import json
import os
import pathlib
import time
from xml.etree import ElementTree
from dataclasses import dataclass, field

from cocotb_tools.check_results import get_results
from cocotb_tools.runner import get_runner

from hashforge.rtl.miner import Miner
from hashforge.rtl.verilog import write_verilog

from .toolchain import prepare_environment
from .vendor_cells import TargetFamily, write_cell_models

TOPLEVEL = "hashforge_miner"
DEFAULT_BUILD_ROOT = pathlib.Path("build") / "sim"
VECTORS_PATHS = [pathlib.Path(__file__).resolve().parent.parent / "tests" / "vectors" / "public.json"]


@dataclass
class SimReport:
    simulator: str
    cores: int
    clocks_per_nonce: int
    latency: int
    tests: int
    failed: int
    seconds: float
    build_dir: pathlib.Path
    results_xml: pathlib.Path
    waves: pathlib.Path | None
    per_test: list = field(default_factory=list)
    outcomes: list = field(default_factory=list)

    @property
    def failures(self):
        return [(name, message) for name, ok, message in self.outcomes if not ok]

    @property
    def passed(self):
        return self.failed == 0 and self.tests > 0

    @property
    def simulated_clocks(self):
        return sum(t["clocks"] for t in self.per_test)

    @property
    def simulated_nonces(self):
        return sum(t["nonces"] for t in self.per_test)

    @property
    def sim_seconds(self):
        return sum(t["seconds"] for t in self.per_test)


def build_dir_for(root, simulator, name):
    return pathlib.Path(root) / f"{simulator}-{name}"


def load_vectors(path=None):
    candidates = [pathlib.Path(path)] if path else VECTORS_PATHS
    for candidate in candidates:
        if candidate.exists():
            return json.loads(candidate.read_text())
    raise FileNotFoundError(f"test vectors not found in {[str(c) for c in candidates]}")


def build(component, toplevel, simulator, build_dir, waves=False, cells=None):
    """Verilog of ``component`` compiled for ``simulator`` in ``build_dir`` (incremental).
    ``cells``: an FPGA family whose cells the design then uses as on that FPGA,
    simulated with their vendor models (see :mod:`vendor_cells`); None: generic logic."""
    prepare_environment(simulator)
    build_dir = pathlib.Path(build_dir).resolve()
    platform = TargetFamily(cells) if cells else None
    sources = [write_verilog(component, toplevel, build_dir, platform)]
    if cells:
        sources.append(write_cell_models(cells, build_dir))
    runner = get_runner(simulator)
    build_args = ["-Wno-fatal", "-O3"] if simulator == "verilator" else []
    runner.build(sources=sources, hdl_toplevel=toplevel, build_dir=build_dir, build_args=build_args,
                 timescale=("1ns", "1ps"), waves=waves, log_file=build_dir / "build.log")
    return runner, build_dir


def run_testbench(component, toplevel, test_module, config, simulator, build_dir, testcase=None,
                  waves=False, vectors=None, cells=None):
    """Build, then run the cocotb module ``test_module`` with ``config`` in HASHFORGE_TB.

    Returns a :class:`SimReport`; a failing test does not raise (read ``report.failed``).
    """
    started = time.perf_counter()
    runner, build_dir = build(component, toplevel, simulator, build_dir, waves, cells)
    report_file = build_dir / "tb_report.jsonl"
    report_file.unlink(missing_ok=True)
    results_xml = build_dir / "results.xml"
    results_xml.unlink(missing_ok=True)
    config = {**config, "report": str(report_file)}
    env = {"HASHFORGE_TB": json.dumps(config), "HASHFORGE_VECTORS": json.dumps(vectors or load_vectors()),
           "PATH": os.environ["PATH"], "COCOTB_LOG_LEVEL": os.environ.get("COCOTB_LOG_LEVEL", "INFO")}
    try:
        runner.test(hdl_toplevel=toplevel, test_module=test_module, build_dir=build_dir,
                    testcase=testcase, extra_env=env, waves=waves, results_xml=str(results_xml),
                    timescale=("1ns", "1ps") if simulator == "icarus" else None,
                    log_file=build_dir / "test.log")
    except SystemExit:
        pass        # under pytest the runner exits on a failed test; the results file says which
    tests, failed = get_results(results_xml)
    per_test = [json.loads(line) for line in report_file.read_text().splitlines()] if report_file.exists() else []
    wave_file = None
    if waves:
        found = sorted(build_dir.glob("*.vcd")) + sorted(build_dir.glob("*.fst"))
        wave_file = found[0] if found else None
    return SimReport(simulator, config.get("cores"), config.get("clocks_per_nonce"), config.get("latency"),
                     tests, failed, time.perf_counter() - started, build_dir, results_xml, wave_file,
                     per_test, test_outcomes(results_xml))


def run_miner_tests(simulator="verilator", cores=1, clocks_per_nonce=61, build_root=DEFAULT_BUILD_ROOT,
                    testcase=None, waves=False, window=None, vectors=None, seed=1, cells=None):
    """The miner testbench (:mod:`hashforge.sim.tb_miner`) for one configuration;
    ``cells``: built with that FPGA family's cells (see :func:`build`)."""
    miner = Miner(cores=cores, clocks_per_nonce=clocks_per_nonce)
    if window is None:
        # A few thousand nonces on Verilator; Icarus is ~50x slower per clock.
        budget = 600_000 if simulator == "verilator" else 20_000
        window = max(16, min(3000, budget * cores // clocks_per_nonce // 3))
    config = {"cores": cores, "clocks_per_nonce": clocks_per_nonce, "latency": miner.latency,
              "window": window, "seed": seed}
    name = f"miner-cores{cores}-cpn{clocks_per_nonce}" + (f"-{cells}-cells" if cells else "")
    return run_testbench(miner, "hashforge_miner", "hashforge.sim.tb_miner", config, simulator,
                         build_dir_for(build_root, simulator, name), testcase, waves, vectors, cells)


def run_top_tests(simulator="verilator", cores=1, clocks_per_nonce=4, clock_hz=1_843_200, baud=115200,
                  build_root=DEFAULT_BUILD_ROOT, testcase=None, waves=False, vectors=None):
    """The device testbench over the UART pins (:mod:`hashforge.sim.tb_top`)."""
    from hashforge.rtl.top import HashforgeTop
    top = HashforgeTop(clock_hz=clock_hz, baud=baud, cores=cores, clocks_per_nonce=clocks_per_nonce)
    config = {**top.config, "divisor": top.divisor, "gap_clocks": top.gap_clocks,
              "latency": top.miner.latency}
    build_dir = build_dir_for(build_root, simulator,
                              f"top-cores{cores}-cpn{clocks_per_nonce}-{clock_hz}hz-{baud}baud")
    return run_testbench(top, "hashforge_top", "hashforge.sim.tb_top", config, simulator, build_dir,
                         testcase, waves, vectors)


def test_outcomes(results_xml):
    """(test name, passed, message) for every cocotb test in a results file."""
    outcomes = []
    for case in ElementTree.parse(results_xml).getroot().iter("testcase"):
        problems = list(case.iter("failure")) + list(case.iter("error"))
        message = "; ".join(p.get("message") or (p.text or "").strip() for p in problems)
        outcomes.append((case.get("name"), not problems, message))
    return outcomes
