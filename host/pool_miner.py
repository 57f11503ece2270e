"""Mining on a Stratum pool with a hashforge device.

The pool side (asyncio) turns jobs into header templates and device jobs; the
device side (a reader thread) brings results back. Every result is hashed again
here: a wrong one is a hardware error; one under the pool's target is a share.

Share accounting always adds up: found = accepted + rejected + stale + pending.
A share found while no pool is connected waits; after the reconnect it is sent
if its job is still valid and counted stale otherwise.
"""

import asyncio
import collections
import threading
import time
from dataclasses import asdict, dataclass, field

from hashforge.rtl import spec

from .device import Job, JobDone, Result
from .stratum_client import PoolError, SessionHandler, StratumSession, describe_error, is_stale_error
from .stratum_work import Share, WorkGenerator, device_target, sha256d
from .transport import TransportError
from .work import next_job_id

FULL_RANGE = 1 << 32
VALID_JOBS_KEPT = 64


@dataclass
class MineOptions:
    version_rolling: bool = True
    nonces_per_job: int = FULL_RANGE       # nonces per device job (smaller: the host hears back sooner)
    nonces_per_header: int = FULL_RANGE    # nonces used of each header before rolling to the next
    silence_timeout: float = 120.0         # no mining.notify for this long: reconnect / fail over
    failover_after: int = 3                # failed connections before trying the next pool
    backoff_start: float = 1.0
    backoff_max: float = 60.0
    primary_retry: float = 30.0            # on a backup: how often to look for the primary
    report_interval: float = 5.0
    submit_timeout: float = 30.0


@dataclass
class MineStats:
    pool: str = ""
    found: int = 0
    accepted: int = 0
    rejected: int = 0
    stale: int = 0
    pending: int = 0
    hardware_errors: int = 0
    duplicates: int = 0
    stray_results: int = 0                 # for device jobs of an earlier run: cannot be checked
    best_difficulty: float = 0.0
    accepted_difficulty: float = 0.0
    nonces_hashed: int = 0
    hashrate: float = 0.0                  # device counter over the last report interval
    average_hashrate: float = 0.0          # device counter since the start
    share_hashrate: float = 0.0            # what the pool credits: accepted difficulty x 2**32 / time
    seconds: float = 0.0
    connects: int = 0
    disconnects: int = 0
    failovers: int = 0
    malformed_messages: int = 0
    unknown_messages: int = 0
    sent_after_reconnect: int = 0
    jobs: int = 0
    reject_reasons: dict = field(default_factory=dict)

    @property
    def adds_up(self):
        return self.found == self.accepted + self.rejected + self.stale + self.pending

    def as_dict(self):
        return asdict(self)


class PoolMiner(SessionHandler):
    """Mine on ``pools`` (primary first) with ``device``.

    ``report`` is called with (kind, fields) for every event and each periodic
    status; it never sees the user name or the password.
    """

    def __init__(self, device, identity, pools, user, password="x", options=None, report=None):
        if not pools:
            raise ValueError("at least one pool is needed")
        self.device = device
        self.identity = identity
        self.pools = list(pools)
        self._user = user
        self._password = password
        self.options = options or MineOptions()
        self.report = report or (lambda kind, fields: None)
        self.stats = MineStats(pool=str(self.pools[0]))
        self.session = None
        self.pool_index = 0
        self._valid_jobs = collections.OrderedDict()
        self._extranonce1 = None
        self._generator = None
        self._range = None                 # (work, next first nonce) of the current header
        self._works = {}                   # device job id -> (work, device job)
        self._cursors = {}                 # (job, extranonce1) -> first extranonce2 not yet used
        self._device_job_id = None
        self._pending = collections.deque()
        self._in_flight = set()
        self._seen = set()
        self._session_ready = False
        self._primary_back = False
        self._dispatch_lock = None
        self._stop = None
        self._fatal = None
        self._loop = None
        self._reader_stop = threading.Event()
        self._message_counts = [0, 0]      # malformed, unknown: from sessions that ended
        self._difficulty = None
        self._last_sample = None           # (device counter, time) of the last status

    # --- the run -------------------------------------------------------------------------------

    async def run(self, seconds=None):
        """Mine until :meth:`stop`, ``seconds`` elapse, or the device fails; returns the stats."""
        self._loop = asyncio.get_running_loop()
        self._stop = asyncio.Event()
        self._dispatch_lock = asyncio.Lock()
        started = time.monotonic()
        # Whatever the device was doing belongs to someone else: stop it, drop its results.
        await asyncio.to_thread(self.device.abort)
        while await asyncio.to_thread(self.device.events, 0.2):
            pass
        status = await asyncio.to_thread(self.device.status)
        counter_start = status.nonces_hashed
        reader = threading.Thread(target=self._read_device, name="hashforge-mine-reader", daemon=True)
        reader.start()
        tasks = [asyncio.create_task(self._pool_loop()),
                 asyncio.create_task(self._report_loop(started, counter_start))]
        try:
            if seconds:
                await asyncio.wait_for(self._stop.wait(), seconds)
            else:
                await self._stop.wait()
        except asyncio.TimeoutError:
            pass
        finally:
            await self._shutdown(tasks, reader, started, counter_start)
        if self._fatal is not None:
            raise self._fatal
        return self.stats

    def stop(self):
        if self._stop is not None:
            self._stop.set()

    async def _shutdown(self, tasks, reader, started, counter_start):
        self._event("stopping", pending=len(self._pending), in_flight=len(self._in_flight))
        # Give shares on the wire a moment to be answered, so they are not left pending.
        deadline = time.monotonic() + 5.0
        while self._in_flight and time.monotonic() < deadline:
            await asyncio.sleep(0.05)
        for task in tasks:
            task.cancel()
        await asyncio.gather(*tasks, return_exceptions=True)
        if self.session is not None:
            session, self.session = self.session, None
            self._disconnected(session, "stopped")
            await session.close()
        self._reader_stop.set()
        if self._fatal is None:
            try:
                await asyncio.to_thread(self.device.abort)
                status = await asyncio.to_thread(self.device.status)
                self._update_hashrate(status.nonces_hashed, counter_start, started, final=True)
            except (TransportError, RuntimeError) as error:
                self._event("device", message=f"could not stop the device cleanly: {error}")
        await asyncio.to_thread(reader.join, 1.0)
        self._event("summary", **self._status_fields())

    # --- pools: connect, reconnect, fail over, come back -----------------------------------------

    async def _pool_loop(self):
        options = self.options
        index, failures, backoff = 0, 0, options.backoff_start
        session_ids, redirects = {}, {}
        while True:
            address = redirects.pop(index, self.pools[index])
            session = StratumSession(address, self._user, self._password, self,
                                     version_rolling=options.version_rolling,
                                     session_id=session_ids.get(index),
                                     silence_timeout=options.silence_timeout)
            self._event("connecting", pool=str(address))
            delivered, silent = False, False
            try:
                await session.connect()
            except PoolError as error:
                reason = str(error)
            else:
                self._connected(session, index)
                probe = asyncio.create_task(self._watch_primary(session)) if index else None
                reason = await session.run()
                if probe is not None:
                    probe.cancel()
                delivered = session.jobs_received > 0
                silent = reason.startswith("no new job")
                session_ids[index] = session.session_id
                self._disconnected(session, reason)
            if not delivered and not self.session:
                self._event("pool_error", pool=str(address), reason=reason)
            if self._primary_back:
                self._primary_back = False
                index, failures, backoff = 0, 0, options.backoff_start
                continue
            if session.redirect is not None:
                host, port, wait = session.redirect
                redirects[index] = type(address)(host or address.host, port or address.port)
                await asyncio.sleep(wait)
                continue
            failures = options.failover_after if silent else (0 if delivered else failures + 1)
            if failures >= options.failover_after and len(self.pools) > 1:
                index, failures, backoff = (index + 1) % len(self.pools), 0, options.backoff_start
                self.stats.failovers += 1
                self._event("failover", pool=str(self.pools[index]))
                continue
            wait = options.backoff_start if delivered else backoff
            backoff = min(options.backoff_max, (options.backoff_start if delivered else backoff) * 2)
            self._event("reconnect_wait", seconds=round(wait, 2))
            await asyncio.sleep(wait)

    async def _watch_primary(self, session):
        """On a backup pool: come back to the primary as soon as it gives work again."""
        while not session.ended:
            await asyncio.sleep(self.options.primary_retry)
            if await self._primary_gives_work():
                self._primary_back = True
                session.end(f"primary pool {self.pools[0]} is back")
                return

    async def _primary_gives_work(self, timeout=5.0):
        """A trial login to the primary: does it send a job? (Answering is not enough: a
        silent pool answers too.)"""
        probe = StratumSession(self.pools[0], self._user, self._password, SessionHandler(),
                               version_rolling=False, request_timeout=timeout)
        try:
            await probe.connect()
            deadline = time.monotonic() + timeout
            while not probe.jobs_received and not probe.ended and time.monotonic() < deadline:
                await asyncio.sleep(0.05)
            return probe.jobs_received > 0
        except PoolError:
            return False
        finally:
            await probe.close()

    def _connected(self, session, index):
        self.session, self.pool_index = session, index
        self._session_ready = False
        self.stats.connects += 1
        self.stats.pool = str(session.address)
        if session.extranonce1 != self._extranonce1:
            # Shares of another extranonce1 cannot be valid any more.
            self._valid_jobs.clear()
            self._extranonce1 = session.extranonce1
        self._event("connected", pool=str(session.address), extranonce2_size=session.extranonce2_size,
                    version_rolling=session.version_mask is not None,
                    version_mask=f"{session.version_mask:08x}" if session.version_mask is not None else None)

    def _disconnected(self, session, reason):
        self.session = None
        self._session_ready = False
        self.stats.disconnects += 1
        self._message_counts[0] += session.malformed
        self._message_counts[1] += session.unknown
        self._event("disconnected", pool=str(session.address), reason=reason)

    # --- the session's handler interface -----------------------------------------------------------

    def log(self, text):
        self._event("pool_message", message=text)

    def on_job(self, session, job):
        if session is not self.session:
            return
        self.stats.jobs += 1
        if job.clean:
            self._valid_jobs.clear()
            self._seen.clear()              # shares of older jobs can no longer be sent anyway
        self._valid_jobs[job.job_id] = job
        while len(self._valid_jobs) > VALID_JOBS_KEPT:
            self._valid_jobs.popitem(last=False)
        self._new_generator(job, session)
        self._event("job", job_id=job.job_id, clean=job.clean, difficulty=job.difficulty)
        first_job = not self._session_ready
        self._session_ready = True
        if first_job:
            self._flush_pending()
        asyncio.create_task(self._dispatch())

    def on_difficulty(self, session, difficulty):
        # Pools repeat set_difficulty with every job: report changes only.
        if difficulty != self._difficulty:
            self._difficulty = difficulty
            self._event("difficulty", difficulty=difficulty)

    def on_extranonce(self, session):
        self._event("extranonce", extranonce2_size=session.extranonce2_size)
        # Shares of the old extranonce1 cannot be valid; mine the current job with the new one.
        self._extranonce1 = session.extranonce1
        if self._generator is not None:
            self._new_generator(self._generator.job, session)
            asyncio.create_task(self._dispatch())

    def on_version_mask(self, session):
        self._event("version_mask", version_mask=f"{session.version_mask:08x}")
        if self._generator is not None:
            self._new_generator(self._generator.job, session)
            asyncio.create_task(self._dispatch())

    def _new_generator(self, job, session):
        """Work for ``job``, starting after any extranonce2 already handed out for it (a job
        announced again after a reconnect must not be hashed twice)."""
        old = self._generator
        if old is not None:
            self._cursors[(old.job, old.extranonce1)] = old.next_extranonce2
        first = self._cursors.get((job, session.extranonce1), 0)
        self._generator = WorkGenerator(job, session.extranonce1, session.extranonce2_size,
                                        session.version_mask, first_extranonce2=first)
        self._range = None
        while len(self._cursors) > VALID_JOBS_KEPT:
            self._cursors.pop(next(iter(self._cursors)))

    # --- device work -------------------------------------------------------------------------------

    async def _dispatch(self):
        """Give the device the next range of the newest work."""
        async with self._dispatch_lock:
            if self._generator is None:
                return
            chunk = self.options.nonces_per_job
            if self._range is None or self._range[1] >= min(FULL_RANGE, self.options.nonces_per_header):
                try:
                    self._range = (next(self._generator), 0)
                except StopIteration:
                    self._event("out_of_work", job_id=self._generator.job.job_id)
                    self._device_job_id = None
                    return
            work, first = self._range
            last = min(first + chunk, FULL_RANGE, self.options.nonces_per_header) - 1
            self._range = (work, last + 1)
            header = work.header(0)
            job = Job(job_id=next_job_id(), midstate=tuple(spec.midstate(header)),
                      tail=tuple(spec.tail_words(header)), target=device_target(work.target),
                      first=first, last=last, header_order=True)
            self._works[job.job_id] = (work, job)
            self._device_job_id = job.job_id
            try:
                await asyncio.to_thread(self.device.submit, job)
            except (TransportError, RuntimeError) as error:
                self._device_failed(error)

    def _read_device(self):
        while not self._reader_stop.is_set():
            try:
                events = self.device.events(0.2)
            except (TransportError, RuntimeError) as error:
                self._loop.call_soon_threadsafe(self._device_failed, error)
                return
            for event in events:
                self._loop.call_soon_threadsafe(self._device_event, event)

    def _device_failed(self, error):
        if self._fatal is None:
            self._fatal = error
            self._event("device_error", message=str(error))
            self.stop()

    def _device_event(self, event):
        if isinstance(event, JobDone):
            if event.job_id == self._device_job_id and self._generator is not None:
                asyncio.create_task(self._dispatch())
        elif isinstance(event, Result):
            self._check_result(event)

    def _check_result(self, result):
        entry = self._works.get(result.job_id)
        if entry is None:
            self.stats.stray_results += 1
            self._event("device", message=f"result for device job {result.job_id}, not one of this run: ignored")
            return
        work, job = entry
        digest = sha256d(work.header(result.nonce))
        top_word = int.from_bytes(digest[28:32], "little")
        if top_word > job.target or not job.first <= result.nonce <= job.last:
            self.stats.hardware_errors += 1
            self._event("hardware_error", message=f"nonce {result.nonce:#010x} of device job "
                        f"{result.job_id} does not meet the device target")
            return
        if spec.hash_value(digest) > work.target:
            return                          # met the top-word target only: not a share
        key = (work.header_prefix, result.nonce)
        if key in self._seen:
            self.stats.duplicates += 1
            return
        self._seen.add(key)
        share = Share(work, result.nonce, digest, time.monotonic())
        self.stats.found += 1
        self.stats.best_difficulty = max(self.stats.best_difficulty, share.difficulty)
        self._event("share_found", job_id=share.job_id, difficulty=share.difficulty)
        self._route(share)

    # --- shares ------------------------------------------------------------------------------------

    def _still_valid(self, share):
        job = self._valid_jobs.get(share.job_id)
        if job != share.work.job or share.work.extranonce1 != self._extranonce1:
            return False
        mask = self.session.version_mask if self.session is not None else share.work.version_mask
        rolled_bits = share.work.version ^ share.work.job.version
        return rolled_bits & ~(mask or 0) == 0

    def _route(self, share):
        if self.session is None or not self._session_ready:
            self._pending.append(share)
            self._event("share_waiting", job_id=share.job_id, reason="no pool connected")
        elif not self._still_valid(share):
            self._count_stale(share, "its job is no longer valid")
        else:
            asyncio.create_task(self._submit(share))

    def _flush_pending(self):
        waiting, self._pending = self._pending, collections.deque()
        for share in waiting:
            if self._still_valid(share):
                self.stats.sent_after_reconnect += 1
                asyncio.create_task(self._submit(share))
            else:
                self._count_stale(share, "its job ended while the pool was away")

    def _count_stale(self, share, reason):
        self.stats.stale += 1
        self._event("share_stale", job_id=share.job_id, reason=reason)

    async def _submit(self, share):
        session = self.session
        if session is None:
            self._route(share)
            return
        self._in_flight.add(share)
        try:
            accepted, error = await session.submit(share.work.submit_params(self._user, share.nonce),
                                                   self.options.submit_timeout)
        except PoolError as error:
            self._in_flight.discard(share)
            if self.session is session:
                # No answer, or the connection is going: keep the share for the next session.
                self._pending.append(share)
                session.end(str(error))
            else:
                self._route(share)
            return
        self._in_flight.discard(share)
        if accepted:
            self.stats.accepted += 1
            self.stats.accepted_difficulty += share.work.job.difficulty
            self._event("share_accepted", job_id=share.job_id, difficulty=share.difficulty)
        elif is_stale_error(error):
            self._count_stale(share, f"pool: {describe_error(error)}")
        else:
            self.stats.rejected += 1
            reason = describe_error(error)
            self.stats.reject_reasons[reason] = self.stats.reject_reasons.get(reason, 0) + 1
            self._event("share_rejected", job_id=share.job_id, reason=reason)

    # --- reporting ---------------------------------------------------------------------------------

    async def _report_loop(self, started, counter_start):
        while True:
            await asyncio.sleep(self.options.report_interval)
            try:
                status = await asyncio.to_thread(self.device.status)
            except (TransportError, RuntimeError) as error:
                self._device_failed(error)
                return
            self._update_hashrate(status.nonces_hashed, counter_start, started)
            self._event("status", **self._status_fields())

    def _update_hashrate(self, counter, counter_start, started, final=False):
        now = time.monotonic()
        last_counter, last_time = self._last_sample or (counter_start, started)
        if now > last_time and not final:
            self.stats.hashrate = (counter - last_counter) / (now - last_time)
        self._last_sample = (counter, now)
        self.stats.nonces_hashed = counter - counter_start
        self.stats.seconds = now - started
        self.stats.average_hashrate = self.stats.nonces_hashed / self.stats.seconds if self.stats.seconds else 0.0
        self.stats.share_hashrate = (self.stats.accepted_difficulty * 2**32 / self.stats.seconds
                                     if self.stats.seconds else 0.0)

    def _status_fields(self):
        self.stats.pending = len(self._pending) + len(self._in_flight)
        live = self.session
        self.stats.malformed_messages = self._message_counts[0] + (live.malformed if live else 0)
        self.stats.unknown_messages = self._message_counts[1] + (live.unknown if live else 0)
        return self.stats.as_dict()

    def _event(self, kind, **fields):
        # Pool-supplied text (show_message, error reasons) may quote the worker name back.
        secrets = [text for text in (self._user, self._password) if text and len(text) >= 4]
        for key, value in fields.items():
            if isinstance(value, str):
                for secret in secrets:
                    value = value.replace(secret, "***")
                fields[key] = value
        self.report(kind, fields)

