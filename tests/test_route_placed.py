"""Routing a seed's placement from seed_sweep into a bitstream, without placing it again."""

from conftest import ecp5_counter_netlist

from hashforge.boards import seed_sweep
from hashforge.boards.route_placed import main, packing_command, routed_fmax, routing_command

SCRIPT = ('"$YOSYS" -q -l hashforge.rpt hashforge.ys\n'
          '"$NEXTPNR_ECP5" --quiet --report report.json --timing-allow-fail --seed 2 --log hashforge.tim '
          '--25k --package CABGA381 --speed 6 --json hashforge.json --lpf hashforge.lpf --lpf-allow-unconstrained '
          '--textcfg hashforge.config\n'
          '"$ECPPACK" --compress --input hashforge.config --bit hashforge.bit --svf hashforge.svf\n')


def test_the_route_reads_the_seeds_placement_with_the_builds_options(tmp_path):
    (tmp_path / "build_hashforge.sh").write_text(SCRIPT)
    assert routing_command(tmp_path, "nextpnr-ecp5", 7) == [
        "nextpnr-ecp5", "--quiet", "--report", "routed_seed7.report.json", "--timing-allow-fail",
        "--seed", "7", "--log", "routed_seed7.log", "--25k", "--package", "CABGA381", "--speed", "6",
        "--json", "placed_seed7.json", "--lpf", "hashforge.lpf", "--lpf-allow-unconstrained",
        "--textcfg", "routed_seed7.config", "--no-place"]
    (tmp_path / "build_hashforge.sh").write_text(SCRIPT.replace("--seed 2 ", ""))
    assert routing_command(tmp_path, "nextpnr-ecp5", 3)[-3:] == ["--seed", "3", "--no-place"]
    assert packing_command(tmp_path, "ecppack", 7) == [
        "ecppack", "--compress", "--input", "routed_seed7.config", "--bit", "routed_seed7.bit"]


def test_the_fmax_is_the_routed_one_and_none_before_routing_ends():
    placed = "Info: Max frequency for clock 'clk': 91.00 MHz (FAIL at 100.00 MHz)\n"
    assert routed_fmax(placed) is None
    routed = (placed + "Info: Routing complete.\n"
              "Info: Max frequency for clock 'clk': 101.20 MHz (PASS at 100.00 MHz)\n"
              "Info: Max frequency for clock 'slow': 40.00 MHz (PASS at 12.00 MHz)\n")
    assert routed_fmax(routed) == (40.0, 12.0, True)
    assert routed_fmax(routed.replace("\nInfo: Max frequency for clock 'slow': 40.00 MHz (PASS at 12.00 MHz)", "")) \
        == (101.2, 100.0, True)


def test_a_seed_not_placed_or_a_wrong_directory_gets_a_one_line_error(tmp_path, capsys):
    assert main([str(tmp_path / "missing"), "--seed", "5"]) == 2
    assert "not a directory" in capsys.readouterr().err
    assert main([str(tmp_path), "--seed", "5"]) == 2
    assert "no build_hashforge.sh" in capsys.readouterr().err
    (tmp_path / "build_hashforge.sh").write_text(SCRIPT)
    assert main([str(tmp_path), "--seed", "5"]) == 2
    err = capsys.readouterr().err
    assert "no placed_seed5.json" in err and "seed_sweep" in err and "--seeds 5" in err


def test_a_real_placement_is_routed_where_it_was_placed(tmp_path, capsys):
    """A counter placed by seed_sweep with seed 3, then routed: the log shows no placement
    step, the Fmax is the routed one and a bitstream is packed."""
    ecp5_counter_netlist(tmp_path)
    (tmp_path / "build_hashforge.sh").write_text(SCRIPT)
    assert seed_sweep.main([str(tmp_path), "--seeds", "3"]) == 0
    assert main([str(tmp_path), "--seed", "3"]) == 0
    out = capsys.readouterr().out
    assert "seed 3: routed Fmax" in out and "meets it" in out and "--seed 3" in out
    log = (tmp_path / "routed_seed3.log").read_text()
    assert "Routing complete" in log and "Creating initial analytic placement" not in log
    assert (tmp_path / "routed_seed3.bit").stat().st_size > 10_000
    assert not (tmp_path / "hashforge.bit").exists()
