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

from .toolchain import prepare_environment
from .verilog import write_verilog

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


def build_dir_for(root, simulator, cores, clocks_per_nonce):
    return pathlib.Path(root) / f"{simulator}-cores{cores}-cpn{clocks_per_nonce}"


def load_vectors(path=None):
    candidates = [pathlib.Path(path)] if path else VECTORS_PATHS
    for candidate in candidates:
        if candidate.exists():
            return json.loads(candidate.read_text())
    from hashforge.sim import vectors
    return vectors.load()


def run_miner_tests(simulator="verilator", cores=1, clocks_per_nonce=61, build_root=DEFAULT_BUILD_ROOT,
                    testcase=None, waves=False, window=None, vectors=None, seed=1):
    """Build and run the testbench; returns a :class:`SimReport` (never raises on a failed test)."""
    prepare_environment(simulator)
    miner = Miner(cores=cores, clocks_per_nonce=clocks_per_nonce)
    build_dir = build_dir_for(build_root, simulator, cores, clocks_per_nonce).resolve()
    source = write_verilog(miner, TOPLEVEL, build_dir)
    if window is None:
        # A few thousand nonces on Verilator; Icarus is ~50x slower per clock.
        budget = 600_000 if simulator == "verilator" else 20_000
        window = max(16, min(3000, budget * cores // clocks_per_nonce // 3))
    report_file = build_dir / "tb_report.jsonl"
    report_file.unlink(missing_ok=True)
    config = {"cores": cores, "clocks_per_nonce": clocks_per_nonce, "latency": miner.latency,
              "window": window, "report": str(report_file), "seed": seed}

    runner = get_runner(simulator)
    build_args = ["-Wno-fatal", "-O3"] if simulator == "verilator" else []
    started = time.perf_counter()
    runner.build(sources=[source], hdl_toplevel=TOPLEVEL, build_dir=build_dir, build_args=build_args,
                 timescale=("1ns", "1ps"), waves=waves, log_file=build_dir / "build.log")
    results_xml = build_dir / "results.xml"
    results_xml.unlink(missing_ok=True)
    env = {"HASHFORGE_TB": json.dumps(config), "HASHFORGE_VECTORS": json.dumps(vectors or load_vectors()),
           "PATH": os.environ["PATH"]}
    runner.test(hdl_toplevel=TOPLEVEL, test_module="hashforge.sim.tb_miner", build_dir=build_dir,
                testcase=testcase, extra_env=env, waves=waves, results_xml=str(results_xml),
                timescale=("1ns", "1ps") if simulator == "icarus" else None,
                log_file=build_dir / "test.log")
    tests, failed = get_results(results_xml)
    outcomes = test_outcomes(results_xml)
    per_test = [json.loads(line) for line in report_file.read_text().splitlines()] if report_file.exists() else []
    wave_file = None
    if waves:
        found = sorted(build_dir.glob("*.vcd")) + sorted(build_dir.glob("*.fst"))
        wave_file = found[0] if found else None
    return SimReport(simulator, cores, clocks_per_nonce, miner.latency, tests, failed,
                     time.perf_counter() - started, build_dir, results_xml, wave_file, per_test, outcomes)


def test_outcomes(results_xml):
    """(test name, passed, message) for every cocotb test in a results file."""
    outcomes = []
    for case in ElementTree.parse(results_xml).getroot().iter("testcase"):
        problems = list(case.iter("failure")) + list(case.iter("error"))
        message = "; ".join(p.get("message") or (p.text or "").strip() for p in problems)
        outcomes.append((case.get("name"), not problems, message))
    return outcomes
