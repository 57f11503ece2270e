"""The miner in cocotb on Verilator and Icarus, against the numpy golden model.

Each configuration builds in its own directory under build/sim, so pytest-xdist
runs them side by side. The testbench itself is hashforge/sim/tb_miner.py.
"""

import pytest

from hashforge.sim.toolchain import missing_reason

from conftest import ROOT, load_vectors

# (simulator, cores, clocks_per_nonce): iterative (64: no job precompute; 61 and 64
# keep the schedule in block RAM), partly and fully pipelined, one and several cores,
# on both simulators. Larger builds are in bench/.
CONFIGURATIONS = [
    ("verilator", 1, 64),
    ("verilator", 2, 16),
    ("verilator", 3, 5),
    ("verilator", 1, 1),
    ("icarus", 1, 61),
    ("icarus", 2, 31),
]


@pytest.mark.slow
@pytest.mark.parametrize("simulator, cores, clocks_per_nonce", CONFIGURATIONS,
                         ids=[f"{s}-cores{c}-cpn{l}" for s, c, l in CONFIGURATIONS])
def test_miner(simulator, cores, clocks_per_nonce):
    reason = missing_reason(simulator)
    if reason:
        pytest.skip(reason)
    from hashforge.sim.runner import run_miner_tests
    report = run_miner_tests(simulator, cores, clocks_per_nonce, build_root=ROOT / "build" / "sim",
                             vectors=load_vectors())
    assert report.tests == 7, f"expected 7 cocotb tests, ran {report.tests}; see {report.build_dir}/test.log"
    details = "\n".join(f"{name}: {message}" for name, message in report.failures)
    assert report.failed == 0, f"{report.failed} cocotb test(s) failed (log: {report.build_dir}/test.log)\n{details}"
