"""The boards hashforge builds for: amaranth-boards platforms with a USB-UART bridge."""

import importlib
from dataclasses import dataclass


@dataclass(frozen=True)
class MeasuredBuild:
    """The whole-device build a board's default was chosen from (`hashforge build --board B
    --json` at the default's options): what `hashforge boards` shows on a machine that has not
    built the board itself."""
    luts: int                   # iCE40: logic cells; ECP5: TRELLIS_COMB (LUT4s after packing)
    ffs: int
    fmax_mhz: float             # nextpnr's routed Fmax
    pll_mhz: float              # the clock the PLL makes for the default's --freq

    @property
    def meets_timing(self):
        return self.fmax_mhz >= self.pll_mhz


@dataclass(frozen=True)
class Board:
    name: str
    module: str                 # amaranth_boards module
    platform: str               # platform class in it
    family: str                 # "ice40" or "ecp5"
    device: str
    bridge: str                 # the USB-UART bridge the UART resource is wired to
    clocks_per_nonce: int       # default configuration
    cores: int
    freq_mhz: float
    primary: bool = False
    baud: int = 115200
    programmer: str = "openfpgaloader"
    loader_board: str = ""      # openFPGALoader's -b name
    notes: str = ""
    basis: str = "not measured on this board: family default"   # where the default comes from
    pll_pad: bool = False       # iCE40: the oscillator is on the PLL's own pad (SB_PLL40_PAD)
    timing_weight: int | None = None    # nextpnr placer's timing weight; None: nextpnr's own (10)
    seed: int = 1               # nextpnr's placement seed the default was measured with
    measured: MeasuredBuild | None = None   # the default's build, where one was measured

    def mhs(self, pll_mhz):
        """The hashrate the default configuration promises at ``pll_mhz``."""
        return pll_mhz * self.cores / self.clocks_per_nonce

    def platform_class(self):
        return getattr(importlib.import_module(f"amaranth_boards.{self.module}"), self.platform)


def _ice40(name, module, platform, device, bridge, loader, **kw):
    return Board(name, module, platform, "ice40", device, bridge, loader_board=loader,
                 **{"clocks_per_nonce": 64, "cores": 1, "freq_mhz": 24.0, **kw})


def _ecp5(name, module, platform, device, bridge, loader, **kw):
    return Board(name, module, platform, "ecp5", device, bridge, loader_board=loader,
                 **{"clocks_per_nonce": 16, "cores": 1, "freq_mhz": 50.0, **kw})


BOARDS = {b.name: b for b in [
    # Primary boards.
    _ice40("icebreaker", "icebreaker", "ICEBreakerPlatform", "iCE40UP5K-SG48", "FT2232H", "ice40_generic",
           primary=True, pll_pad=True, notes="openFPGALoader has no icebreaker entry; -b ice40_generic works",
           clocks_per_nonce=64, freq_mhz=27.0,
           measured=MeasuredBuild(5001, 2087, 28.12, 27.0),
           basis="measured: L=64 (no job precompute) 5001 logic cells (of 5280), 2087 FFs, Fmax 28.12 MHz "
                 "at 27 MHz = 0.42 MH/s (designs a few commits earlier: 27.12, 27.94, 27.42); 28.125 MHz "
                 "missed with three placement seeds (Fmax 27.32, 27.71, 27.12, an earlier design; the one "
                 "before met it with 0.02 MHz to spare); the UP5K at 95% full varies build to build; "
                 "L=61 does not fit"),
    _ecp5("ulx3s-12f", "ulx3s", "ULX3S_12F_Platform", "LFE5U-12F", "FT231X", "ulx3s", primary=True,
          clocks_per_nonce=31, freq_mhz=100.0, timing_weight=30,
          measured=MeasuredBuild(9473, 5335, 105.64, 100.0),
          basis="measured: L=31 9473 LUTs (of 12k), 5335 FFs, Fmax 105.64 MHz at 100 MHz = 3.23 MH/s with "
                "the placer's timing weight at 30 (designs a few commits earlier: 107.2, 103.55, 100.8; "
                "nextpnr's 10: Fmax 96.3, missed; 95.0 at 95 MHz); 106.25 MHz misses (98.5, and 102.2 "
                "with an earlier design), 103.125 too (97.2); below L=31 each hash needs a third round "
                "unit; not built"),
    _ecp5("ulx3s-25f", "ulx3s", "ULX3S_25F_Platform", "LFE5U-25F", "FT231X", "ulx3s", primary=True,
          clocks_per_nonce=12, freq_mhz=100.0, timing_weight=30,
          measured=MeasuredBuild(20931, 10645, 105.54, 100.0),
          basis="measured: L=12 20931 LUTs (of 24k), 10645 FFs, Fmax 105.54 MHz at 100 MHz = 8.33 MH/s "
                "with the placer's timing weight at 30; 103.125 MHz missed with seeds 1 and 2 (Fmax "
                "101.18, 101.35), though designs a few commits earlier met it (103.9, 103.76; the longest "
                "path, a schedule word's adds, moves with placement); nextpnr's 10: Fmax 94.7 at 100, "
                "missed; 95.5 at 95 MHz (L=16 "
                "before the block-RAM K tables: 16022 LUTs, Fmax 64.5 MHz = 3.91 MH/s)"),
    _ecp5("ulx3s-45f", "ulx3s", "ULX3S_45F_Platform", "LFE5U-45F", "FT231X", "ulx3s", primary=True,
          clocks_per_nonce=6, freq_mhz=94.0, timing_weight=30,
          measured=MeasuredBuild(36527, 18089, 96.55, 93.75),
          basis="measured: L=6 36527 LUTs (of 44k), 18089 FFs, Fmax 96.55 MHz at 93.75 MHz = 15.6 MH/s "
                "with the placer's timing weight at 30 (the design one commit before the core's drop-count "
                "register; an earlier one: 97.1) (Fmax 94.7 at 87.5; 96.875 misses at 90.0; nextpnr's 10: "
                "85.0 at 80); "
                "a design a few commits earlier: Fmax 88.9 at 80, 85 MHz missed (Fmax 83.7; longest path "
                "the check stage's e61 + H7 compare); the design "
                "before the precompute's counter ran ahead: Fmax 83.6 at 80 (skewed rounds, one core never "
                "stalling); before them L=6 met 75 MHz (Fmax 75.6, "
                "32925 LUTs) and missed 80 (59.6: the stall from the FIFO level into every flip-flop); "
                "L=12 19255 LUTs, Fmax 79.8 at 75 MHz = 6.25 MH/s; L=2..4 do not fit "
                "(yosys: L=4 46.7k LUTs)"),
    _ecp5("ulx3s-85f", "ulx3s", "ULX3S_85F_Platform", "LFE5U-85F", "FT231X", "ulx3s", primary=True,
          clocks_per_nonce=1, freq_mhz=92.5, timing_weight=30, seed=2,
          measured=MeasuredBuild(61488, 55325, 100.15, 92.86),
          basis="measured on main's netlist (rebuilt after the registered control paths of commits 603be0f "
                "and d7800a2 were reverted: digest 276446dae4c75523, the same placement and figures; with "
                "them no placement was routed to the end: at 100 MHz seeds 2, 4, 5 placed at estimates of "
                "101.08, 88.84, 108.41, and router1 stalled with 82k arcs left after 85 minutes (seed 5); at "
                "this default it stalled with 25.8k left after two hours): "
                "fully pipelined (L=1) with h + K + W in one carry chain and a register after the "
                "result FIFO's block-RAM read, 61488 LUTs, 55325 FFs, Fmax 100.15 MHz at 92.5 MHz (the PLL "
                "makes 92.86) = 92.86 MH/s (1.51 MH/s per thousand LUTs) with the placer's timing weight at "
                "30 and seed 2 (the longest path a round: 9.99 ns, 5.91 of it routing); at 100 MHz placement "
                "estimates of 60.9 (seed 2; the same when placed for 92.86 or 95 MHz), 77.4, 63.6, 73.2 "
                "and 71.2 (seeds 3, 5, 6, 7), 66.7 (seed 1), against 95.2 for the 92.86 MHz netlist (stopped). Without the register: 61472 LUTs, Fmax 96.67 at 85 "
                "MHz (1.38 MH/s per thousand LUTs), 93.76 at 95 (missed: the FIFO's read). Before it "
                "(65365 LUTs): Fmax 86.05 at 85 MHz (1.30 MH/s per thousand LUTs); 90 MHz "
                "with the same options: Fmax 83.88, missed (again a round, 8 of its 11.9 ns routing). Before: "
                "fully pipelined (L=1) with Ch and Maj in the carry cells, control fan-outs and "
                "every job word registered beside its reader: 65372 LUTs (of 84k), 55278 FFs, Fmax 88.5 MHz "
                "at a 96.88 MHz target (missed; longest path a round, 7.4 of its 11.3 ns routing); before "
                "the job words and the precompute's ready were registered: Fmax 92.3 at 95 and 83.6 at 90 "
                "(both missed; longest paths the precompute's ready into the miner's set-up flag, the job "
                "target into the check compare); default 80 MHz = 80 MH/s (1.22 MH/s per thousand LUTs), "
                "which an earlier design met (72953 LUTs, Fmax 83.8 at 80); with the placer's timing weight: "
                "Fmax 89.5 at 100 MHz (weight 30, seed 2), 84.9 at 100 (weight 20), 83.7 at 90 (30, seed 2), "
                "all missed, the round or the job loader the longest path; "
                "this design was not built at 80 (a build takes 60-95 minutes here). Before the fully pipelined core routed: L=12 19243 LUTs, 62.5 MHz = "
                "5.21 MH/s. With skewed rounds (off when fully pipelined): 77.7k LUTs, Fmax 72.8 at 100 MHz, "
                "78.0k LUTs, Fmax 67.2 at 85 (93% full: control paths routed long)"),
    # Other amaranth-boards iCE40/ECP5 boards whose UART resource goes to a USB bridge.
    _ice40("icestick", "icestick", "ICEStickPlatform", "iCE40HX1K-TQ144", "FT2232H", "ice40_generic",
           notes="HX1K: 1280 logic cells, too small for a core with the protocol; listed, builds will not fit"),
    _ice40("ice40-hx8k-b-evn", "ice40_hx8k_b_evn", "ICE40HX8KBEVNPlatform", "iCE40HX8K-CT256", "FT2232H",
           "ice40_generic", clocks_per_nonce=61, freq_mhz=62.0,
           measured=MeasuredBuild(5974, 2447, 65.18, 62.25),
           basis="measured: L=61 5974 logic cells (of 7680), 2447 FFs, Fmax 65.18 MHz at 62.25 MHz = "
                 "1.02 MH/s; 65.25 MHz missed with seeds 1-4 (Fmax 64.67, 61.79, 61.05, 63.50; with the "
                 "timing weight at 30: 62.24) and 63.75 with seed 1 (63.66), though designs a few commits "
                 "earlier met 65.25 (Fmax 65.84, 65.73, 65.63): the longest path, the schedule's "
                 "block-RAM read through its adds, varies with placement; 67.5 MHz missed (64.1); "
                 "skewed rounds (6948 cells) reached only 58.4"),
    _ice40("icesugar", "icesugar", "ICESugarPlatform", "iCE40UP5K-SG48", "iCELink (CMSIS-DAP)", "icesugar",
           pll_pad=True, clocks_per_nonce=64, freq_mhz=25.0,
           basis="the iCEBreaker's measured default (same UP5K); not built on this board"),
    _ice40("icesugar-nano", "icesugar_nano", "ICESugarNanoPlatform", "iCE40LP1K-CM36", "iCELink (CMSIS-DAP)",
           "icesugar_nano", notes="LP1K: too small; listed, builds will not fit"),
    _ice40("nandland-go", "nandland_go", "NandlandGoPlatform", "iCE40HX1K-VQ100", "FT2232H", "ice40_generic",
           notes="HX1K: too small; listed, builds will not fit"),
    _ecp5("icesugar-pro", "icesugar_pro", "ICESugarProPlatform", "LFE5U-25F", "DAPLink", "icesugar_pro"),
    _ecp5("ecpix5-45", "ecpix5", "ECPIX545Platform", "LFE5UM5G-45F", "FT2232H", "ecpix5"),
    _ecp5("ecpix5-85", "ecpix5", "ECPIX585Platform", "LFE5UM5G-85F", "FT2232H", "ecpix5"),
    _ecp5("versa-ecp5", "versa_ecp5", "VersaECP5Platform", "LFE5UM-45F", "FT2232H", "ecp5_evn"),
    _ecp5("ecp5-5g-evn", "ecp5_5g_evn", "ECP55GEVNPlatform", "LFE5UM5G-85F", "FT2232H", "ecp5_evn"),
]}

# amaranth-boards iCE40/ECP5 platforms left out, and why.
LEFT_OUT = {
    "butterstick, orangecrab, fomu, logicbone, tinyfpga_bx, icebreaker_bitsy, upduino v1-v3, "
    "ice40_up5k_b_evn, ice40_hx1k_blink_evn": "no UART resource wired to a USB-UART bridge (USB goes "
    "to the FPGA itself or there is no serial port)",
    "colorlight_5a75b_r7_0, supercon19badge, icepi_zero": "their UART resource is on header pins, "
    "not a USB bridge: usable with an external adapter, not listed",
    "blackice, blackice_ii": "the serial port goes through an STM32, not a USB-UART bridge; not checked",
}


class UnknownBoard(ValueError):
    pass


def get_board(name):
    try:
        return BOARDS[name]
    except KeyError:
        close = [n for n in BOARDS if name.lower() in n or n in name.lower()]
        hint = f" (did you mean {', '.join(close)}?)" if close else ""
        raise UnknownBoard(f"unknown board {name!r}{hint}; `hashforge boards` lists the "
                           f"{len(BOARDS)} supported boards") from None
