"""The device on a board: PLL, UART pins on the USB bridge, LEDs."""

from amaranth.hdl import Module
from amaranth.lib import wiring

from hashforge.rtl.top import HashforgeTop

from .pll import PLL


class BoardTop(wiring.Component):
    """Elaborated against an amaranth-boards platform.

    Parameters
    ----------
    pll_setting : PLLSetting
        Made by :func:`ice40_pll_setting` / :func:`ecp5_pll_setting` for the target clock.
    cores, clocks_per_nonce, baud :
        As :class:`HashforgeTop`; the device is told the PLL's real output frequency.
    pll_pad : bool
        The oscillator pin is the iCE40 PLL's pad (see :class:`PLL`).
    """

    def __init__(self, pll_setting, cores, clocks_per_nonce, baud, pll_pad=False):
        self.pll_setting = pll_setting
        self.pll_pad = pll_pad
        self.device = HashforgeTop(clock_hz=round(pll_setting.output_hz), baud=baud, cores=cores,
                                   clocks_per_nonce=clocks_per_nonce)
        super().__init__({})

    def elaborate(self, platform):
        m = Module()
        if self.pll_pad:
            m.submodules.pll = PLL(self.pll_setting, pad=platform.request(platform.default_clk, dir="-"))
        else:
            m.submodules.pll = pll = PLL(self.pll_setting)
            m.d.comb += pll.clk_in.eq(platform.request(platform.default_clk).i)
        m.submodules.device = device = self.device
        uart = platform.request("uart", 0)
        m.d.comb += [device.rx.eq(uart.rx.i), uart.tx.o.eq(device.tx)]
        if _has(platform, "uart_tx_enable"):      # ULX3S: the FT231X's receive path is gated
            m.d.comb += platform.request("uart_tx_enable", 0).o.eq(1)
        leds = [platform.request("led", i) for i in range(3) if _has(platform, "led", i)]
        for led, signal in zip(leds, (device.busy, device.found, device.extended)):
            m.d.comb += led.o.eq(signal)
        return m


def _has(platform, name, number=0):
    try:
        platform.lookup(name, number)
        return True
    except Exception:
        return False
