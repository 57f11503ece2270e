"""Opening a device by name: a serial port path, or ``virtual`` for the virtual board."""

import contextlib
import sys

from .device import Device
from .transport import TransportError
from .virtual import VirtualBoard


class ConnectError(RuntimeError):
    pass


@contextlib.contextmanager
def connect(name, args=None, quiet=False):
    """Yields (device, identity, virtual board or None); closes everything after."""
    board = None
    options = vars(args) if args is not None else {}
    try:
        if name == "virtual":
            board = VirtualBoard(cores=options.get("cores") or 1,
                                 clocks_per_nonce=options.get("clocks_per_nonce") or 4,
                                 simulator=options.get("simulator") or "verilator")
            if not quiet:
                print("starting the virtual board (the first start compiles it: a minute or two)",
                      file=sys.stderr, flush=True)
            board.start()
            port, baud = board.port, board.config["baud"]
        else:
            port, baud = name, options.get("baud") or 115200
        device = Device.open(port, baud)
        try:
            identity = device.identify()
            yield device, identity, board
        finally:
            device.close()
    except TransportError as error:
        raise ConnectError(str(error)) from None
    finally:
        if board is not None:
            board.close()
