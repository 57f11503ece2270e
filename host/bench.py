"""The host-side hashrate test: how fast, how right, compared with the build's promise.

Three figures side by side:

* the device's nonce counter over wall-clock time (exact, from STATUS);
* shares: results at a known device target, each worth 2**32 / (target + 1) nonces,
  with a 95% confidence interval (Poisson);
* the promise: clock x cores / clocks per nonce (for the virtual board also the
  promise at the clock rate the simulator actually reached).

Every returned nonce is recomputed here; one that does not qualify is a hardware
error, counted and never used.
"""

import json
import math
import random
import sys
import time
from dataclasses import asdict, dataclass, field

from .device import JobDone, Result
from .transport import TransportError
from .work import device_target_for_rate, hashes_per_result, job_from_header, random_header

Z95 = 1.959964


def poisson_interval(count):
    """Approximate 95% interval for a Poisson mean seen as ``count`` (Wilson-Hilferty)."""
    def quantile(k, z):
        if k <= 0:
            return 0.0
        return k * (1 - 1 / (9 * k) + z / (3 * math.sqrt(k))) ** 3
    return quantile(count, -Z95), quantile(count + 1, Z95)


@dataclass
class BenchReport:
    seconds: float = 0.0
    nonces_counted: int = 0
    counter_hashrate: float = 0.0
    shares: int = 0
    share_hashrate: float = 0.0
    share_low: float = 0.0
    share_high: float = 0.0
    promised_hashrate: float = 0.0
    effective_promised_hashrate: float | None = None
    hardware_errors: int = 0
    results: int = 0
    jobs: int = 0
    device_target: int = 0
    garbage_bytes: int = 0
    crc_errors_device: int = 0
    samples: list = field(default_factory=list)
    error: str | None = None

    @property
    def hardware_error_rate(self):
        return self.hardware_errors / self.results if self.results else 0.0

    @property
    def counter_within_share_interval(self):
        return self.share_low <= self.counter_hashrate <= self.share_high

    @property
    def counter_vs_promise(self):
        reference = self.effective_promised_hashrate or self.promised_hashrate
        return self.counter_hashrate / reference if reference else None

    @property
    def agree(self):
        ratio = self.counter_vs_promise
        return (self.counter_within_share_interval and ratio is not None and 0.85 <= ratio <= 1.05
                and self.hardware_errors == 0)

    def as_dict(self):
        out = asdict(self)
        out.pop("samples")
        out.update(hardware_error_rate=self.hardware_error_rate, agree=self.agree,
                   counter_within_share_interval=self.counter_within_share_interval,
                   counter_vs_promise=self.counter_vs_promise)
        return out


class HashrateBench:
    """Runs jobs on random headers for ``seconds`` and measures them.

    Parameters
    ----------
    device : Device
    identity : Identity
    board : VirtualBoard or None
        For the virtual board, its measured simulated clock rate gives the effective promise.
    results_per_second : float
        Rate the device target is chosen for (enough shares for a tight interval,
        few enough for the serial line).
    """

    def __init__(self, device, identity, board=None, results_per_second=40.0, seed=None,
                 on_sample=None):
        self.device, self.identity, self.board = device, identity, board
        self.results_per_second = results_per_second
        self.rng = random.Random(seed)
        self.on_sample = on_sample
        self.report = BenchReport(promised_hashrate=identity.promised_hashrate)
        self.jobs = {}

    def _estimate_hashrate(self):
        """A first guess to size jobs and the target: measured briefly on the counter."""
        job = self._new_job(target=0, count=1 << 31)
        before, t0 = self.device.status().nonces_hashed, time.monotonic()
        time.sleep(1.0)
        rate = (self.device.status().nonces_hashed - before) / (time.monotonic() - t0)
        self.device.abort()
        self.jobs.pop(job.job_id, None)
        return max(rate, 1.0)

    def _new_job(self, target, count):
        header = random_header(self.rng)
        first = self.rng.randrange(0, 2**32 - count)
        job = job_from_header(header, first, first + count - 1, target)
        self.device.submit(job)
        self.jobs[job.job_id] = job
        self.report.jobs += 1
        return job

    def run(self, seconds):
        report = self.report
        try:
            rate = self._estimate_hashrate()
            target = device_target_for_rate(rate, self.results_per_second)
            report.device_target = target
            job_size = int(min(2**31, max(1000, rate * max(seconds, 1) / 4)))
            # Counter, shares and time all start before the first job and stop after the
            # abort below, so the three cover the same nonces.
            start_status = self.device.status()
            started = last_sample = time.monotonic()
            self._new_job(target, job_size)
            while time.monotonic() - started < seconds:
                for event in self.device.events(timeout=0.1):
                    if isinstance(event, Result):
                        self._check_result(event)
                    elif isinstance(event, JobDone) and event.job_id in self.jobs:
                        self._new_job(target, job_size)
                if time.monotonic() - last_sample >= 0.5:
                    last_sample = time.monotonic()
                    self._sample(start_status, started)
            self.device.abort()
            stopped = time.monotonic()
            for event in self.device.events(timeout=0.3):
                if isinstance(event, Result):
                    self._check_result(event)
            self._sample(start_status, started, stopped)
        except TransportError as error:
            report.error = str(error)
        self._finish()
        return report

    def _check_result(self, event):
        job = self.jobs.get(event.job_id)
        if job is None:
            return                      # from a job before this run
        self.report.results += 1
        if job.qualifies(event.nonce):
            self.report.shares += 1
        else:
            self.report.hardware_errors += 1

    def _sample(self, start_status, started, stopped=None):
        status = self.device.status()
        elapsed = (stopped or time.monotonic()) - started
        report = self.report
        report.seconds = elapsed
        report.nonces_counted = status.nonces_hashed - start_status.nonces_hashed
        report.crc_errors_device = status.crc_errors - start_status.crc_errors
        sample = {"t": round(elapsed, 3), "nonces": report.nonces_counted, "shares": report.shares,
                  "hardware_errors": report.hardware_errors}
        report.samples.append(sample)
        self._finish()
        if self.on_sample:
            self.on_sample(sample, report)

    def _finish(self):
        report = self.report
        if report.seconds > 0:
            report.counter_hashrate = report.nonces_counted / report.seconds
            worth = hashes_per_result(report.device_target)
            report.share_hashrate = report.shares * worth / report.seconds
            low, high = poisson_interval(report.shares)
            report.share_low, report.share_high = low * worth / report.seconds, high * worth / report.seconds
        report.garbage_bytes = self.device.garbage_bytes
        if self.board is not None and self.board.clocks_per_second:
            report.effective_promised_hashrate = self.board.clocks_per_second * self.identity.nonces_per_clock


def format_rate(rate):
    if rate is None:
        return "-"
    for unit, scale in (("GH/s", 1e9), ("MH/s", 1e6), ("kH/s", 1e3)):
        if rate >= scale:
            return f"{rate / scale:.3f} {unit}"
    return f"{rate:.1f} H/s"


def summary_lines(report, identity, device_name):
    lines = [
        f"hashrate test on {device_name}: {identity.cores} core(s) x {identity.clocks_per_nonce} "
        f"clock(s)/nonce at {identity.clock_hz / 1e6:g} MHz, {report.seconds:.1f} s, {report.jobs} job(s)",
        f"  device counter      {format_rate(report.counter_hashrate):>14}   ({report.nonces_counted:,} nonces)",
        f"  shares              {format_rate(report.share_hashrate):>14}   95% CI {format_rate(report.share_low)}"
        f" .. {format_rate(report.share_high)} ({report.shares} shares at device target {report.device_target:#010x})",
        f"  build promises      {format_rate(report.promised_hashrate):>14}   (clock x cores / clocks per nonce)",
    ]
    if report.effective_promised_hashrate:
        lines.append(f"  at simulated speed  {format_rate(report.effective_promised_hashrate):>14}   "
                     f"(the virtual board's measured clock rate x nonces per clock)")
    lines.append(f"  hardware errors     {report.hardware_errors} of {report.results} results "
                 f"({100 * report.hardware_error_rate:.2f}%); line garbage {report.garbage_bytes} bytes, "
                 f"device CRC errors {report.crc_errors_device}")
    ratio = report.counter_vs_promise
    lines.append(f"  agreement           {'yes' if report.agree else 'NO'}: counter "
                 f"{'inside' if report.counter_within_share_interval else 'outside'} the shares' interval, "
                 f"counter/promise {ratio:.3f}" if ratio is not None else "  agreement           -")
    if report.error:
        lines.append(f"  stopped early: {report.error} (figures above are what was measured until then)")
    return lines


def plot(report, path):
    try:
        import matplotlib
        matplotlib.use("Agg")
        import matplotlib.pyplot as plt
    except ImportError:
        raise RuntimeError("--plot needs matplotlib: pip install matplotlib") from None
    samples = report.samples
    times = [s["t"] for s in samples]
    rates = [0.0] + [(b["nonces"] - a["nonces"]) / (b["t"] - a["t"]) if b["t"] > a["t"] else 0.0
                     for a, b in zip(samples, samples[1:])]
    fig, ax = plt.subplots(figsize=(8, 4))
    ax.plot(times, rates, label="device counter (per interval)")
    ax.axhline(report.counter_hashrate, linestyle="--", label="device counter (whole run)")
    ax.axhspan(report.share_low, report.share_high, alpha=0.2, label="shares, 95% interval")
    ax.axhline(report.effective_promised_hashrate or report.promised_hashrate, color="k", linestyle=":",
               label="promise")
    ax.set_xlabel("seconds")
    ax.set_ylabel("nonces per second")
    ax.legend(loc="lower right")
    fig.tight_layout()
    fig.savefig(path, dpi=100)
    plt.close(fig)


def run_bench(device, identity, board, device_name, seconds, as_json=False, plot_path=None, stream=sys.stdout):
    live = sys.stderr.isatty() and not as_json

    def on_sample(sample, report):
        if as_json:
            print(json.dumps({"type": "sample", **sample}), file=stream, flush=True)
        elif live:
            print(f"\r  {sample['t']:6.1f} s  counter {format_rate(report.counter_hashrate):>14}  shares "
                  f"{report.shares:5d}  hw errors {report.hardware_errors}", end="", file=sys.stderr, flush=True)

    bench = HashrateBench(device, identity, board, on_sample=on_sample)
    report = bench.run(seconds)
    if live:
        print(file=sys.stderr)
    if as_json:
        print(json.dumps({"type": "summary", "device": device_name, **report.as_dict()}), file=stream, flush=True)
    else:
        print("\n".join(summary_lines(report, identity, device_name)), file=stream)
    if plot_path:
        plot(report, plot_path)
        if not as_json:
            print(f"  plot: {plot_path}", file=stream)
    return report
