"""PLLs that make the core clock: iCE40 SB_PLL40_CORE and ECP5 EHXPLLL.

The divider settings are searched here (the same search icepll and ecppll do), so
a build asks for a frequency and gets the closest one the PLL can make; the
frequency actually made is what the build reports and the device's IDENTIFY says.
"""

from dataclasses import dataclass

from amaranth.hdl import ClockDomain, ClockSignal, Instance, Module, ResetSignal, Signal
from amaranth.lib import wiring
from amaranth.lib.wiring import In, Out


@dataclass(frozen=True)
class PLLSetting:
    family: str
    input_hz: int
    output_hz: float
    dividers: dict


def ice40_pll_setting(input_hz, target_hz):
    """DIVR, DIVF, DIVQ for SB_PLL40 (simple feedback) closest to ``target_hz``."""
    best = None
    for divr in range(16):
        pfd = input_hz / (divr + 1)
        if not 10e6 <= pfd <= 133e6:
            continue
        for divf in range(128):
            vco = pfd * (divf + 1)
            if not 533e6 <= vco <= 1066e6:
                continue
            for divq in range(1, 7):
                out = vco / 2**divq
                if best is None or abs(out - target_hz) < abs(best.output_hz - target_hz):
                    filter_range = next(i for i, limit in enumerate((17e6, 26e6, 44e6, 66e6, 101e6), 1)
                                        if pfd < limit) if pfd < 101e6 else 6
                    best = PLLSetting("ice40", input_hz, out, {"DIVR": divr, "DIVF": divf, "DIVQ": divq,
                                                                "FILTER_RANGE": filter_range})
    if best is None:
        raise ValueError(f"no iCE40 PLL setting from {input_hz / 1e6:g} MHz")
    return best


def ecp5_pll_setting(input_hz, target_hz):
    """CLKI_DIV, CLKFB_DIV, CLKOP_DIV for EHXPLLL (feedback from CLKOP) closest to ``target_hz``."""
    best = None
    for clki_div in range(1, 129):
        pfd = input_hz / clki_div
        if not 3.125e6 <= pfd <= 400e6:
            continue
        for clkfb_div in range(1, 81):
            out = pfd * clkfb_div
            if not 10e6 <= out <= 400e6:
                continue
            for clkop_div in range(1, 129):
                if 400e6 <= out * clkop_div <= 800e6:
                    break
            else:
                continue
            if best is None or abs(out - target_hz) < abs(best.output_hz - target_hz):
                best = PLLSetting("ecp5", input_hz, out, {"CLKI_DIV": clki_div, "CLKFB_DIV": clkfb_div,
                                                           "CLKOP_DIV": clkop_div})
    if best is None:
        raise ValueError(f"no ECP5 PLL setting from {input_hz / 1e6:g} MHz")
    return best


class PLL(wiring.Component):
    """Drives clock domain ``sync`` from ``clk_in`` through the family's PLL.

    Attributes
    ----------
    clk_in : In(1)
        The board's oscillator (unused when ``pad`` is given).
    locked : Out(1)
        The PLL is locked; ``sync`` is held in reset until then.

    Parameters
    ----------
    pad : the oscillator's raw pin (``platform.request(..., dir="-")``), or None
        iCE40 only: on boards whose oscillator comes in on the PLL's own pad (the
        iCEBreaker's pin 35), the PLL must take it straight from the pad
        (``SB_PLL40_PAD``); nextpnr cannot place ``SB_PLL40_CORE`` there.
    """

    def __init__(self, setting, pad=None):
        self.setting = setting
        self.pad = pad
        super().__init__({"clk_in": In(1), "locked": Out(1)})

    def elaborate(self, platform):
        m = Module()
        m.domains.sync = ClockDomain("sync")
        clk_out = Signal()
        d = self.setting.dividers
        if self.setting.family == "ice40":
            reference = {"i_REFERENCECLK": self.clk_in} if self.pad is None else {"i_PACKAGEPIN": self.pad.io}
            m.submodules.pll = Instance(
                "SB_PLL40_CORE" if self.pad is None else "SB_PLL40_PAD",
                p_FEEDBACK_PATH="SIMPLE", p_DIVR=d["DIVR"], p_DIVF=d["DIVF"], p_DIVQ=d["DIVQ"],
                p_FILTER_RANGE=d["FILTER_RANGE"], **reference, i_RESETB=1, i_BYPASS=0,
                o_PLLOUTGLOBAL=clk_out, o_LOCK=self.locked)
        else:
            m.submodules.pll = Instance(
                "EHXPLLL",
                p_PLLRST_ENA="DISABLED", p_INTFB_WAKE="DISABLED", p_STDBY_ENABLE="DISABLED",
                p_DPHASE_SOURCE="DISABLED", p_OUTDIVIDER_MUXA="DIVA", p_CLKOP_ENABLE="ENABLED",
                p_CLKOP_DIV=d["CLKOP_DIV"], p_CLKOP_CPHASE=d["CLKOP_DIV"] - 1, p_CLKOP_FPHASE=0,
                p_FEEDBK_PATH="CLKOP", p_CLKFB_DIV=d["CLKFB_DIV"], p_CLKI_DIV=d["CLKI_DIV"],
                i_CLKI=self.clk_in, i_CLKFB=clk_out, i_RST=0, i_STDBY=0, i_PHASESEL0=0, i_PHASESEL1=0,
                i_PHASEDIR=1, i_PHASESTEP=1, i_PHASELOADREG=1, i_PLLWAKESYNC=0, i_ENCLKOP=0,
                o_CLKOP=clk_out, o_LOCK=self.locked)
        m.d.comb += [ClockSignal("sync").eq(clk_out), ResetSignal("sync").eq(~self.locked)]
        if platform is not None:
            # nextpnr ignores this one (the net takes another name when Yosys flattens the
            # design) and derives the output's constraint from the oscillator's through the
            # PLL's dividers, which gives the same clock. Kept: removing it would change
            # every board's build digest and so every cached build the defaults were
            # measured with. build.build_platform scales the oscillator's constraint when
            # a build asks for another one.
            platform.add_clock_constraint(clk_out, self.setting.output_hz)
        return m
