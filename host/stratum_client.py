"""One Stratum v1 connection to one pool (asyncio): handshake, messages, submits.

The session decodes what the pool sends and hands it to a handler (the pool
miner); it never decides what to mine. Malformed or unknown messages are counted
and answered where the pool expects an answer; they never end the session.
Credentials go to the pool in ``mining.authorize`` and nowhere else.
"""

import asyncio
import json
import math
import time
from dataclasses import dataclass
from urllib.parse import urlsplit

from .stratum_work import VERSION_ROLLING_MASK, MalformedMessage, StratumJob

USER_AGENT = "hashforge/0.1"
MAX_LINE_BYTES = 1 << 20


class PoolError(ConnectionError):
    """The connection to a pool failed or ended; the message says why."""


@dataclass(frozen=True)
class PoolAddress:
    host: str
    port: int
    user: str | None = None       # from stratum+tcp://USER:PASS@HOST:PORT, if given there
    password: str | None = None

    def __str__(self):
        # Never the credentials: this is what logs and JSON show.
        return f"stratum+tcp://{self.host}:{self.port}"


def parse_pool_url(text):
    """``stratum+tcp://HOST:PORT`` (or ``HOST:PORT``) as a :class:`PoolAddress`."""
    shape = "a pool URL looks like stratum+tcp://HOST:PORT"
    raw = text.strip()
    if "://" not in raw:
        raw = "stratum+tcp://" + raw
    parts = urlsplit(raw)
    if parts.scheme in ("stratum+ssl", "stratum+tls", "stratum2+tcp"):
        raise ValueError(f"{parts.scheme} is not supported (plain Stratum v1 only); {shape}")
    if parts.scheme not in ("stratum+tcp", "stratum", "tcp"):
        raise ValueError(f"unknown scheme {parts.scheme!r} in {_without_credentials(text)!r}; {shape}")
    try:
        port = parts.port
    except ValueError:
        raise ValueError(f"bad port in {_without_credentials(text)!r}; {shape}") from None
    if not parts.hostname or port is None:
        raise ValueError(f"no host or port in {_without_credentials(text)!r}; {shape}")
    return PoolAddress(parts.hostname, port, parts.username, parts.password)


def _without_credentials(text):
    if "@" in text:
        scheme, _, rest = text.rpartition("://")
        return (scheme + "://" if scheme else "") + rest.split("@", 1)[1]
    return text


def describe_error(error):
    """A pool's error field ([code, message, data], a string, a dict) as one short text."""
    if isinstance(error, list) and len(error) >= 2:
        return f"{error[1]} (code {error[0]})"
    if isinstance(error, dict):
        return f"{error.get('message', error)} (code {error.get('code', '?')})"
    return str(error)


def is_stale_error(error):
    """Code 21 is "job not found" (= stale) in the de facto Stratum error list."""
    if isinstance(error, list) and error:
        if error[0] == 21:
            return True
        error = error[1] if len(error) > 1 else ""
    text = str(error).lower()
    return "stale" in text or "job not found" in text


class SessionHandler:
    """What a session reports to its owner; these defaults ignore everything."""

    def on_job(self, session, job):
        """A ``mining.notify``, decoded (:class:`StratumJob`)."""

    def on_difficulty(self, session, difficulty):
        """``mining.set_difficulty``: applies to the jobs that follow."""

    def on_extranonce(self, session):
        """``mining.set_extranonce``: ``session.extranonce1`` / ``extranonce2_size`` changed."""

    def on_version_mask(self, session):
        """``mining.set_version_mask``: ``session.version_mask`` changed."""

    def log(self, text):
        """Something worth telling the user (malformed or unknown messages, pool messages)."""


class StratumSession:
    """A connection to one pool.

    Parameters
    ----------
    address : PoolAddress
    user, password : str
        Sent in ``mining.authorize`` only.
    handler : SessionHandler
    version_rolling : bool
        Ask for BIP 310 version rolling with the BIP 320 mask.
    session_id : str or None
        From an earlier session with this pool: asks to keep the same extranonce1.
    silence_timeout : float
        End the session when no ``mining.notify`` came for this long.
    """

    def __init__(self, address, user, password, handler, version_rolling=True, session_id=None,
                 silence_timeout=120.0, request_timeout=10.0):
        self.address = address
        self._user = user
        self._password = password
        self.handler = handler
        self.version_rolling = version_rolling
        self.session_id = session_id
        self.silence_timeout = silence_timeout
        self.request_timeout = request_timeout
        self.extranonce1 = b""
        self.extranonce2_size = 0
        self.version_mask = None      # a mask once the pool agreed to version rolling
        self.difficulty = 1.0
        self.redirect = None          # (host, port, wait) from client.reconnect
        self.malformed = 0
        self.unknown = 0
        self.jobs_received = 0
        self._next_id = 1
        self._pending = {}
        self._reader = self._writer = None
        self._reader_task = None
        self._ended = None
        self._last_job = time.monotonic()
        self._held = []               # handler calls that arrived during the handshake

    # --- plumbing ----------------------------------------------------------------------------

    def _send(self, message):
        if self._writer is None or self._writer.is_closing():
            raise PoolError(f"not connected to {self.address}")
        self._writer.write(json.dumps(message).encode() + b"\n")

    def _request(self, method, params):
        request_id = self._next_id
        self._next_id += 1
        future = asyncio.get_running_loop().create_future()
        self._pending[request_id] = future
        self._send({"id": request_id, "method": method, "params": params})
        return future

    async def _answer(self, future, method, timeout=None):
        try:
            return await asyncio.wait_for(asyncio.shield(future), timeout or self.request_timeout)
        except asyncio.TimeoutError:
            raise PoolError(f"{self.address} did not answer {method} within "
                            f"{timeout or self.request_timeout:.0f} s") from None

    def end(self, reason):
        """End the session (the reason is what the miner reports)."""
        if self._ended is not None and not self._ended.done():
            self._ended.set_result(reason)

    @property
    def ended(self):
        return self._ended is not None and self._ended.done()

    # --- handshake ---------------------------------------------------------------------------

    async def connect(self):
        """Open the connection, then configure, subscribe, authorize. Raises PoolError."""
        loop = asyncio.get_running_loop()
        self._ended = loop.create_future()
        try:
            self._reader, self._writer = await asyncio.wait_for(
                asyncio.open_connection(self.address.host, self.address.port, limit=MAX_LINE_BYTES),
                self.request_timeout)
        except (OSError, asyncio.TimeoutError) as error:
            raise PoolError(f"cannot connect to {self.address}: {error or 'timed out'}") from None
        self._reader_task = asyncio.create_task(self._read_loop())
        try:
            await self._handshake()
        except BaseException:
            await self.close()
            raise
        self._last_job = time.monotonic()

    async def _handshake(self):
        configure = None
        if self.version_rolling:
            configure = self._request("mining.configure", [
                ["version-rolling"],
                {"version-rolling.mask": f"{VERSION_ROLLING_MASK:08x}", "version-rolling.min-bit-count": 2}])
        subscribe = self._request("mining.subscribe",
                                  [USER_AGENT] + ([self.session_id] if self.session_id else []))
        result, error = await self._answer(subscribe, "mining.subscribe")
        if error or not isinstance(result, list) or len(result) < 3:
            raise PoolError(f"{self.address} refused mining.subscribe: {describe_error(error or result)}")
        try:
            self.extranonce1 = bytes.fromhex(result[1])
            self.extranonce2_size = int(result[2])
        except (TypeError, ValueError):
            raise PoolError(f"{self.address} answered mining.subscribe with a malformed extranonce") from None
        if not 0 <= self.extranonce2_size <= 16:
            raise PoolError(f"{self.address} gave extranonce2 size {self.extranonce2_size} (0..16 expected)")
        self.session_id = _subscription_id(result[0]) or self.session_id
        if configure is not None:
            self.version_mask = await self._configure_answer(configure)
        authorize = self._request("mining.authorize", [self._user, self._password])
        result, error = await self._answer(authorize, "mining.authorize")
        if result is not True:
            raise PoolError(f"{self.address} refused the worker ({describe_error(error) if error else 'false'}): "
                            "check --user and --password")
        # Optional: lets the pool change extranonce1 without a reconnect. Not awaited.
        self._request("mining.extranonce.subscribe", [])

    async def _configure_answer(self, future):
        try:
            result, error = await asyncio.wait_for(asyncio.shield(future), 2.0)
        except asyncio.TimeoutError:
            return None
        if error or not isinstance(result, dict) or result.get("version-rolling") is not True:
            return None
        try:
            return int(result.get("version-rolling.mask", f"{VERSION_ROLLING_MASK:x}"), 16)
        except (TypeError, ValueError):
            self._malformed("mining.configure answer has a malformed version-rolling.mask")
            return None

    # --- the session ---------------------------------------------------------------------------

    async def run(self):
        """Serve the pool until the session ends; returns the reason."""
        held, self._held = self._held, None
        for call, args in held:
            call(self, *args)
        watchdog = asyncio.create_task(self._watch_silence())
        try:
            return await self._ended
        finally:
            watchdog.cancel()
            await self.close()

    async def _watch_silence(self):
        while True:
            await asyncio.sleep(min(1.0, self.silence_timeout / 4))
            quiet = time.monotonic() - self._last_job
            if quiet > self.silence_timeout:
                self.end(f"no new job from {self.address} for {quiet:.0f} s")
                return

    async def _read_loop(self):
        reason = f"{self.address} closed the connection"
        try:
            while True:
                try:
                    line = await self._reader.readline()
                except ValueError:
                    reason = f"{self.address} sent a line longer than {MAX_LINE_BYTES} bytes"
                    break
                if not line:
                    break
                if not line.endswith(b"\n"):
                    reason = f"{self.address} closed the connection in the middle of a message"
                    break
                self._handle_line(line)
        except OSError as error:
            reason = f"connection to {self.address} lost: {error}"
        finally:
            self._fail_pending(reason)
            self.end(reason)

    async def close(self):
        if self._reader_task is not None:
            self._reader_task.cancel()
        if self._writer is not None:
            self._writer.close()
            try:
                await asyncio.wait_for(self._writer.wait_closed(), 1.0)
            except (OSError, asyncio.TimeoutError):
                pass
        self._fail_pending(f"connection to {self.address} closed")
        self.end("closed")

    def _fail_pending(self, reason):
        for future in self._pending.values():
            if not future.done():
                future.set_exception(PoolError(reason))
                future.exception()      # requests nobody waits for must not log a traceback
        self._pending.clear()

    async def submit(self, params, timeout=30.0):
        """Send ``mining.submit``; returns (accepted, error). Raises PoolError when the
        connection ends or the pool does not answer."""
        future = self._request("mining.submit", params)
        result, error = await self._answer(future, "mining.submit", timeout)
        return result is True and not error, error if error else (None if result is True else "rejected")

    # --- messages from the pool ----------------------------------------------------------------

    def _malformed(self, what):
        self.malformed += 1
        self.handler.log(f"malformed message from {self.address}: {what}")

    def _handle_line(self, line):
        text = line.strip()
        if not text:
            return
        try:
            message = json.loads(text)
        except (ValueError, UnicodeDecodeError):
            self._malformed(f"not JSON: {text[:60]!r}")
            return
        if not isinstance(message, dict):
            self._malformed(f"not a JSON object: {text[:60]!r}")
            return
        method = message.get("method")
        message_id = message.get("id")
        if method is None:
            future = self._pending.pop(message_id, None) if _hashable(message_id) else None
            if future is None:
                self._malformed(f"an answer to no request (id {message_id!r})")
            elif not future.done():
                future.set_result((message.get("result"), message.get("error")))
            return
        params = message.get("params")
        params = params if isinstance(params, list) else []
        act = self._METHODS.get(method)
        if act is None:
            self.unknown += 1
            self.handler.log(f"unknown method {str(method)[:40]!r} from {self.address}: ignored")
            if message_id is not None:
                self._reply(message_id, None, [20, f"unknown method {method}", None])
            return
        try:
            result = act(self, params)
        except MalformedMessage as error:
            self._malformed(f"{method}: {error}")
            if message_id is not None:
                self._reply(message_id, None, [20, str(error), None])
            return
        if message_id is not None and method in self._REQUESTS:
            self._reply(message_id, result, None)

    def _deliver(self, call, *args):
        """Call the handler now, or once :meth:`run` starts if the handshake is still on
        (pools send the first job right after the authorize answer)."""
        if self._held is None:
            call(self, *args)
        else:
            self._held.append((call, args))

    def _reply(self, message_id, result, error):
        try:
            self._send({"id": message_id, "result": result, "error": error})
        except PoolError:
            pass

    def _on_notify(self, params):
        job = StratumJob.from_notify(params, difficulty=self.difficulty)
        self._last_job = time.monotonic()
        self.jobs_received += 1
        self._deliver(self.handler.on_job, job)

    def _on_set_difficulty(self, params):
        difficulty = params[0] if params else None
        if isinstance(difficulty, bool) or not isinstance(difficulty, (int, float)) \
                or not math.isfinite(difficulty) or difficulty <= 0:
            raise MalformedMessage(f"difficulty should be a positive number, got {difficulty!r}")
        self.difficulty = float(difficulty)
        self._deliver(self.handler.on_difficulty, self.difficulty)

    def _on_set_extranonce(self, params):
        if len(params) < 2 or not isinstance(params[0], str) or not isinstance(params[1], int):
            raise MalformedMessage("mining.set_extranonce needs [extranonce1 hex, extranonce2 size]")
        try:
            extranonce1 = bytes.fromhex(params[0])
        except ValueError:
            raise MalformedMessage(f"extranonce1 is not hex: {params[0][:40]!r}") from None
        if not 0 <= params[1] <= 16:
            raise MalformedMessage(f"extranonce2 size {params[1]} (0..16 expected)")
        self.extranonce1, self.extranonce2_size = extranonce1, params[1]
        self._deliver(self.handler.on_extranonce)
        return True

    def _on_set_version_mask(self, params):
        try:
            mask = int(params[0], 16)
        except (IndexError, TypeError, ValueError):
            raise MalformedMessage("mining.set_version_mask needs [mask hex]") from None
        if self.version_mask is not None:
            self.version_mask = mask & 0xFFFFFFFF
            self._deliver(self.handler.on_version_mask)
        return True

    def _on_reconnect(self, params):
        host = params[0] if len(params) > 0 and isinstance(params[0], str) and params[0] else None
        try:
            port = int(params[1]) if len(params) > 1 and params[1] not in (None, "") else None
            wait = float(params[2]) if len(params) > 2 and params[2] not in (None, "") else 0.0
        except (TypeError, ValueError):
            raise MalformedMessage("client.reconnect needs [host, port, wait seconds]") from None
        self.redirect = (host, port, max(0.0, min(wait, 600.0)))
        self.end(f"{self.address} asked to reconnect")
        return True

    def _on_ping(self, params):
        return "pong"

    def _on_get_version(self, params):
        return USER_AGENT

    def _on_show_message(self, params):
        self.handler.log(f"message from {self.address}: {str(params[0] if params else '')[:200]}")
        return True

    _METHODS = {
        "mining.notify": _on_notify,
        "mining.set_difficulty": _on_set_difficulty,
        "mining.set_extranonce": _on_set_extranonce,
        "mining.set_version_mask": _on_set_version_mask,
        "client.reconnect": _on_reconnect,
        "mining.ping": _on_ping,
        "client.get_version": _on_get_version,
        "client.show_message": _on_show_message,
    }
    # Methods the pool may send as requests (with an id) that expect our answer.
    _REQUESTS = {"mining.ping", "client.get_version", "client.show_message", "client.reconnect",
                 "mining.set_extranonce", "mining.set_version_mask"}


def _hashable(value):
    return isinstance(value, (int, str, type(None))) and not isinstance(value, bool)


def _subscription_id(subscriptions):
    """The session id a pool gives in the subscribe answer (used to resume)."""
    if isinstance(subscriptions, list):
        for entry in subscriptions:
            if isinstance(entry, list) and len(entry) >= 2 and entry[0] == "mining.notify" \
                    and isinstance(entry[1], str):
                return entry[1]
    return None
