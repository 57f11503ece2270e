"""`hashforge scan --device`: a range on a device, checked against the golden model."""

import json
import sys
import time

from hashforge.rtl import spec

from .device import JobDone, Result
from .work import job_from_header


def recall(expected, returned):
    """Missed, extra and duplicated nonces of a device scan."""
    seen, duplicated = set(), set()
    for nonce in returned:
        if nonce in seen:
            duplicated.add(nonce)
        seen.add(nonce)
    return {"missed": sorted(set(expected) - seen), "extra": sorted(seen - set(expected)),
            "duplicated": sorted(duplicated)}


def scan_on_device(device, header, start, count, zero_bits, timeout):
    """Every nonce the device returns over the range, until it reports the job done."""
    job = job_from_header(header, start, start + count - 1, spec.zero_bits_to_device_target(zero_bits))
    device.submit(job)
    returned, deadline = [], time.monotonic() + timeout
    while time.monotonic() < deadline:
        for event in device.events(timeout=0.2):
            if isinstance(event, Result) and event.job_id == job.job_id:
                returned.append(event.nonce)
            elif isinstance(event, JobDone) and event.job_id == job.job_id:
                return job, returned, True
    return job, returned, False


def device_scan(header, start, count, zero_bits, device_name, as_json, args):
    from hashforge.sim import golden
    from .connect import connect
    with connect(device_name, args) as (device, identity, board):
        budget = count / identity.promised_hashrate if not board else count / max(
            1.0, (board.clocks_per_second or 20_000) * identity.nonces_per_clock)
        job, returned, done = scan_on_device(device, header, start, count, zero_bits,
                                             timeout=30 + 3 * budget)
    parsed = spec.BlockHeader.parse(header)
    device_found = [n for n in returned if spec.leading_zero_bits(parsed.with_nonce(n).hash()) >= zero_bits]
    hardware_errors = [n for n in returned if not job.qualifies(n)]
    expected = golden.scan(header, start, count, zero_bits)
    result = {"start": start, "count": count, "zero_bits": zero_bits, "source": device_name,
              "nonces": sorted(set(device_found)), "completed": done,
              "hardware_errors": len(hardware_errors), **recall(expected, device_found)}
    ok = done and not (result["missed"] or result["extra"] or result["duplicated"] or hardware_errors)
    if as_json:
        print(json.dumps({**result, "recall_ok": ok}))
    else:
        for nonce in result["nonces"]:
            print(f"{nonce}  (0x{nonce:08x})  {parsed.with_nonce(nonce).display_hash()}")
        print(f"device {device_name}: {len(result['nonces'])} nonce(s); golden model {len(expected)}; "
              f"missed {len(result['missed'])}, extra {len(result['extra'])}, duplicated "
              f"{len(result['duplicated'])}, hardware errors {len(hardware_errors)}"
              + ("" if done else "; the device did not finish the range in time"), file=sys.stderr)
    return 0 if ok else 1
