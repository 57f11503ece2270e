"""Serial transport: a USB-UART bridge (FT2232H, FT231X, ...) or the virtual board's pty,
both through pyserial."""

import errno
import os

import serial


class TransportError(RuntimeError):
    """The port cannot be used or stopped working; the message says which port and why."""


class DeviceGone(TransportError):
    """The device disappeared while in use (unplugged, pty closed)."""


class SerialTransport:
    """Raw bytes over a serial port.

    Parameters
    ----------
    port : str
        Device path (``/dev/ttyUSB1``, ``/dev/pts/5``).
    baud : int
        Line rate; must match the bitstream's (ignored by a pty).
    """

    def __init__(self, port, baud=115200):
        self.port = port
        self.baud = baud
        if not os.path.exists(port):
            raise TransportError(f"serial port {port} does not exist: check the cable and the "
                                 f"board's power, or run `hashforge boards` / `ls /dev/ttyUSB*`")
        try:
            self.serial = serial.Serial(port, baud, timeout=0.05, write_timeout=2, exclusive=True)
        except serial.SerialException as error:
            if getattr(error, "errno", None) in (errno.EBUSY, errno.EAGAIN) or "lock" in str(error).lower() \
                    or "busy" in str(error).lower():
                raise TransportError(f"serial port {port} is busy: another program holds it "
                                     f"(close it, or find it with `fuser {port}`)") from None
            if getattr(error, "errno", None) == errno.EACCES:
                raise TransportError(f"no permission to open {port}: add yourself to the dialout "
                                     f"group or install the board's udev rules") from None
            raise TransportError(f"cannot open serial port {port}: {error}") from None
        self.serial.reset_input_buffer()

    def write(self, data):
        try:
            self.serial.write(data)
            self.serial.flush()
        except (serial.SerialException, OSError) as error:
            raise DeviceGone(f"device at {self.port} stopped accepting data: {error}") from None

    def read(self, size=4096):
        """What has arrived (up to ``size`` bytes); b'' after a short wait if nothing has."""
        try:
            waiting = self.serial.in_waiting
            return self.serial.read(max(1, min(size, waiting)) if waiting else 1)
        except (serial.SerialException, OSError, TypeError) as error:
            raise DeviceGone(f"device at {self.port} disappeared: {error}") from None

    def close(self):
        try:
            self.serial.close()
        except (serial.SerialException, OSError):
            pass
