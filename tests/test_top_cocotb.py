"""The whole device over its UART pins in cocotb: Icarus protocol and extended frames.

The testbench is hashforge/sim/tb_top.py; each configuration has its own build dir.
"""

import pytest

from hashforge.sim.toolchain import missing_reason

from conftest import ROOT, load_vectors

# (simulator, cores, clocks_per_nonce, clock Hz, baud): Icarus's 115200 baud with 16
# clocks per bit, and 3 Mbaud from a 12 MHz clock (4 clocks per bit).
CONFIGURATIONS = [
    ("verilator", 1, 4, 1_843_200, 115_200),
    ("verilator", 2, 8, 12_000_000, 3_000_000),
]


@pytest.mark.slow
@pytest.mark.parametrize("simulator, cores, clocks_per_nonce, clock_hz, baud", CONFIGURATIONS,
                         ids=[f"{s}-cores{c}-cpn{l}-{b}baud" for s, c, l, _, b in CONFIGURATIONS])
def test_top(simulator, cores, clocks_per_nonce, clock_hz, baud):
    reason = missing_reason(simulator)
    if reason:
        pytest.skip(reason)
    from hashforge.sim.runner import run_top_tests
    report = run_top_tests(simulator, cores, clocks_per_nonce, clock_hz, baud,
                           build_root=ROOT / "build" / "sim", vectors=load_vectors())
    details = "\n".join(f"{name}: {message}" for name, message in report.failures)
    assert report.tests == 6, f"expected 6 cocotb tests, ran {report.tests}; see {report.build_dir}/test.log"
    assert report.failed == 0, f"{report.failed} cocotb test(s) failed (log: {report.build_dir}/test.log)\n{details}"
