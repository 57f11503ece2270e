"""Work for a device: jobs from headers, device targets, nonce ranges."""

import itertools
import math
import os

from hashforge.rtl import spec

from .device import Job

_job_ids = itertools.count(1)


def next_job_id():
    """Job ids 1..255 in turn (0 is what Icarus work uses on the device)."""
    return (next(_job_ids) - 1) % 255 + 1


def job_from_header(header, first, last, target, job_id=None):
    """A job over header nonces ``first``..``last`` (the header's own nonce is ignored)."""
    header = bytes(header)
    return Job(job_id=job_id or next_job_id(), midstate=tuple(spec.midstate(header)),
               tail=tuple(spec.tail_words(header)), target=target, first=first, last=last,
               header_order=True)


def random_header(rng=None):
    """A header with random content (for hashrate measurement)."""
    data = rng.randbytes(80) if rng is not None else os.urandom(80)
    return data


def device_target_for_rate(hashrate, results_per_second):
    """The device target at which ``hashrate`` nonces/s give about ``results_per_second``
    results: a nonce qualifies with probability (target + 1) / 2**32."""
    if hashrate <= 0:
        raise ValueError(f"hashrate must be positive, got {hashrate}")
    probability = min(1.0, results_per_second / hashrate)
    return max(0, min(spec.MASK32, math.floor(probability * 2**32) - 1))


def hashes_per_result(target):
    """Expected nonces per result at a device target."""
    return 2**32 / (target + 1)
