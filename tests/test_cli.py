"""The `hashforge hash` and `hashforge scan` commands, run as a user runs them."""

import json
import subprocess
import sys

import pytest

from conftest import load_vectors

VECTORS = load_vectors()
GENESIS = VECTORS["blocks"][0]


def hashforge(*args):
    return subprocess.run([sys.executable, "-m", "hashforge.host.cli", *args],
                          capture_output=True, text=True, timeout=120)


def test_hash_prints_display_hash():
    result = hashforge("hash", GENESIS["header"])
    assert result.returncode == 0
    assert result.stdout.strip() == GENESIS["hash"]


def test_hash_json_has_midstate_and_target():
    result = hashforge("hash", GENESIS["header"], "--json")
    info = json.loads(result.stdout)
    assert info["hash"] == GENESIS["hash"]
    assert info["midstate"] == GENESIS["midstate_words"]
    assert info["meets_target"] is True
    assert int(info["target"], 16) == 0xFFFF << 208


def test_scan_prints_real_nonce():
    result = hashforge("scan", GENESIS["header"], "--start", str(GENESIS["nonce"] - 500),
                       "--count", "1000", "--zero-bits", "32", "--json")
    assert result.returncode == 0, result.stderr
    info = json.loads(result.stdout)
    assert info["nonces"] == [GENESIS["nonce"]]
    assert info["hashes"] == [GENESIS["hash"]]


@pytest.mark.parametrize("args, message", [
    (["hash", "00" * 79], "80 bytes"),
    (["hash", "xy" * 80], "not hex"),
    (["scan", GENESIS["header"], "--start", "-1", "--count", "5", "--zero-bits", "8"], "--start"),
    (["scan", GENESIS["header"], "--start", "4294967290", "--count", "50", "--zero-bits", "8"], "past the last nonce"),
    (["scan", GENESIS["header"], "--start", "0", "--count", "0", "--zero-bits", "8"], "--count must be positive"),
    (["scan", GENESIS["header"], "--start", "ten", "--count", "5", "--zero-bits", "8"], "must be an integer"),
    (["scan", GENESIS["header"], "--start", "0", "--count", "5", "--zero-bits", "300"], "--zero-bits"),
])
def test_bad_input_gets_one_line_error(args, message):
    result = hashforge(*args)
    assert result.returncode != 0
    lines = result.stderr.strip().splitlines()
    assert len(lines) == 1 and message in lines[0], result.stderr
