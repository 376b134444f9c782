"""The one HTTP session: retries with backoff on an adapter, explicit timeouts, a
User-Agent, a per-host rate limit, redirects followed by hand after a host check, and
bodies streamed under a size cap.

urllib3's :class:`Retry` (mounted on the adapter) retries connection errors, timeouts
before the response head, 429 and 5xx, honouring ``Retry-After``. Errors while the body
streams (a stalled or cut-short body) happen after urllib3 has handed the response over,
so :meth:`Fetcher.fetch` retries those itself with the same backoff.
"""

from __future__ import annotations

import hashlib
import io
import os
import threading
import time
from collections.abc import Mapping
from dataclasses import dataclass
from importlib import metadata
from pathlib import Path
from typing import IO, Protocol
from urllib.parse import urljoin

import requests
from requests.adapters import HTTPAdapter
from urllib3.exceptions import ConnectTimeoutError, InvalidHeader, NewConnectionError
from urllib3.exceptions import HTTPError as Urllib3Error
from urllib3.util.retry import Retry

from iam_catalog.atomic import new_temp_file
from iam_catalog.parsers.errors import FetchError

from .discover import host_key, origin_key

try:
    TOOL_VERSION = metadata.version("iam-catalog")
except metadata.PackageNotFoundError:  # running from a checkout that was never installed
    TOOL_VERSION = "0+unknown"

USER_AGENT = (
    f"iam-catalog/{TOOL_VERSION} (Service Authorization Reference snapshots; "
    f"python-requests/{requests.__version__})"
)
DEFAULT_SIZE_CAP = 20 * 1024 * 1024
# A server asking for a longer pause than this is waited on for this long only, so one
# page cannot hold a worker for an hour.
RETRY_AFTER_MAX = 120.0
RETRY_STATUSES = frozenset({429, 500, 502, 503, 504})
# The one status whose body is the file asked for (a 304 is handled before).
HTTP_OK = 200
_CHUNK = 64 * 1024
# Bytes of an unwanted body read to keep its connection; past this, drop the connection.
_DRAIN_MAX = 256 * 1024


class UnreachableError(FetchError):
    """The server could not be reached at all (name resolution or connection failed)."""


class DisallowedURLError(FetchError):
    """A URL (a link or a redirect target) is not on one of the configured hosts."""


class RedirectedAwayError(DisallowedURLError):
    """A redirect to a URL off the configured hosts (not followed)."""

    def __init__(self, message: str, target: str) -> None:
        super().__init__(message)
        self.target = target


class HTTPStatusError(FetchError):
    """The server answered with an error status (after the retries for 429 and 5xx)."""

    def __init__(self, message: str, status: int) -> None:
        super().__init__(message)
        self.status = status


class TooLargeError(FetchError):
    """A response body is over the size cap."""


class _BodyError(Exception):
    """The body stream broke off (timed out or cut short); worth another try."""


@dataclass(frozen=True, slots=True)
class HttpConfig:
    """How the scraper talks to a server."""

    connect_timeout: float = 10.0
    """Seconds to wait for a connection."""
    read_timeout: float = 30.0
    """Seconds to wait for the response head and between body reads."""
    request_timeout: float = 120.0
    """Seconds one request may take in all, redirects, head and body: a body that keeps
    trickling in (a byte a second never trips ``read_timeout``) is cut off here, and the
    file failed without another try. Checked after each read, so it can be overrun by
    one ``read_timeout`` at most."""
    retries: int = 4
    """Retries after the first try, for each kind of failure."""
    backoff: float = 0.5
    """Backoff factor: the n-th retry waits ``backoff * 2 ** (n - 1)`` seconds
    (``Retry-After`` instead, when a 429 or 503 sends one)."""
    rate: float = 10.0
    """Requests per second per host (token bucket); 0 for no limit. Ten a second keeps a
    full fetch of the reference (~530 pages) under a minute without hammering the site."""
    burst: int = 4
    """Requests a host may get at once before the rate applies."""
    size_cap: int = DEFAULT_SIZE_CAP
    """Largest body accepted, in bytes (after content decoding)."""
    max_redirects: int = 5
    """Redirects followed per request."""
    user_agent: str = USER_AGENT
    """User-Agent header."""


@dataclass(frozen=True, slots=True)
class Fetched:
    """What one successful request gave."""

    status: int
    """200, or 304 for a conditional request whose page did not change."""
    url: str
    """The URL that answered (after redirects)."""
    etag: str | None
    """ETag header."""
    last_modified: str | None
    """Last-Modified header."""
    sha256: str | None
    """Hex digest of the body (None for 304)."""
    bytes: int
    """Body bytes received (0 for 304)."""


class RateLimiter:
    """A token bucket per host (GCRA form): ``burst`` requests at once, then ``rate`` a
    second. Thread-safe; a caller that must wait sleeps outside the lock."""

    def __init__(self, rate: float, burst: int) -> None:
        self.rate = rate
        self.burst = max(1, burst)
        self._tat: dict[str, float] = {}
        self._lock = threading.Lock()
        self.waited = 0.0
        """Seconds callers have spent waiting, summed over threads."""

    def acquire(self, key: str) -> float:
        """Wait until ``key`` may get another request; the seconds waited."""
        if self.rate <= 0:
            return 0.0
        interval = 1.0 / self.rate
        with self._lock:
            now = time.monotonic()
            tat = self._tat.get(key, now)
            send_at = max(now, tat - (self.burst - 1) * interval)
            self._tat[key] = max(tat, send_at) + interval
            wait = send_at - now
            self.waited += max(wait, 0.0)
        if wait > 0:
            time.sleep(wait)
        return max(wait, 0.0)


class _CappedRetry(Retry):
    """urllib3's Retry with ``Retry-After`` capped at :data:`RETRY_AFTER_MAX`."""

    def get_retry_after(self, response):  # type: ignore[no-untyped-def]
        try:
            value = super().get_retry_after(response)
        except InvalidHeader:  # `Retry-After: -5` or junk: wait the usual backoff instead
            return None
        return None if value is None else min(value, RETRY_AFTER_MAX)


def make_session(config: HttpConfig, pool_size: int) -> requests.Session:
    """The session every request of a fetch goes through."""
    retry = _CappedRetry(
        total=None,
        connect=config.retries,
        read=config.retries,
        status=config.retries,
        other=0,
        redirect=False,  # redirects come back to Fetcher, which checks the host first
        backoff_factor=config.backoff,
        status_forcelist=RETRY_STATUSES,
        allowed_methods=frozenset({"GET"}),
        respect_retry_after_header=True,
        raise_on_status=False,  # the last response comes back; raise_for_status names it
    )
    adapter = HTTPAdapter(
        max_retries=retry, pool_connections=4, pool_maxsize=max(1, pool_size), pool_block=True
    )
    session = requests.Session()
    session.mount("http://", adapter)
    session.mount("https://", adapter)
    session.headers["User-Agent"] = config.user_agent
    return session


class Fetcher:
    """Fetches URLs on the allowed hosts through one session, under the rate limit."""

    def __init__(self, config: HttpConfig, allowed_origins: frozenset[str], pool_size: int) -> None:
        self.config = config
        self.allowed_origins = allowed_origins
        """``scheme://host:port`` of each origin requests may go to (:func:`origin_key`)."""
        self.session = make_session(config, pool_size)
        self.limiter = RateLimiter(config.rate, config.burst)

    def close(self) -> None:
        self.session.close()

    def __enter__(self) -> Fetcher:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()

    def check_url(self, url: str) -> None:
        """Raise :class:`DisallowedURLError` unless ``url`` is on an allowed host."""
        if origin_key(url) not in self.allowed_origins:
            raise DisallowedURLError(f"{url}: not on an allowed host")

    def fetch_bytes(self, url: str) -> tuple[Fetched, bytes]:
        """The body of ``url`` (an index: small, never conditional)."""
        buf = io.BytesIO()
        fetched = self.fetch(url, buf)
        return fetched, buf.getvalue()

    def fetch_file(self, url: str, dest: Path, headers: Mapping[str, str] | None = None) -> Fetched:
        """Stream ``url`` into ``dest`` atomically (temp file beside it, renamed when
        whole). A 304 answer to conditional ``headers`` leaves ``dest`` untouched (and
        creates no temp file)."""
        sink = _TempFile(dest)
        try:
            fetched = self.fetch(url, sink, headers)
            if fetched.status != 304:
                sink.commit()
            return fetched
        finally:
            sink.discard()

    def fetch(self, url: str, sink: _Sink, headers: Mapping[str, str] | None = None) -> Fetched:
        """GET ``url`` into ``sink``; raise :class:`FetchError` when it fails for good."""
        attempt = 0
        while True:
            sink.seek(0)
            sink.truncate()
            try:
                return self._fetch_once(url, sink, headers or {})
            except _BodyError as e:
                attempt += 1
                if attempt > self.config.retries:
                    raise FetchError(f"{url}: {e} (after {self.config.retries} retries)") from None
                time.sleep(self.config.backoff * 2 ** (attempt - 1))

    def _fetch_once(self, url: str, sink: _Sink, headers: Mapping[str, str]) -> Fetched:
        deadline = time.monotonic() + self.config.request_timeout
        response = self._request(url, headers)
        with response:
            if response.status_code == 304:
                _drain(response)
                return Fetched(
                    304,
                    response.url,
                    response.headers.get("ETag"),
                    response.headers.get("Last-Modified"),
                    None,
                    0,
                )
            if response.status_code != HTTP_OK:
                # An error, or an answer that is no page: a 3xx without a Location (not
                # followed, so its body is not the page), a 204, a 206.
                _drain(response)
                retried = _retries_made(response)
                after = f" (after {retried} retries)" if retried else ""
                missing = " without a Location header" if 300 <= response.status_code < 400 else ""
                raise HTTPStatusError(
                    f"{url}: HTTP {response.status_code} {response.reason}{missing}{after}",
                    response.status_code,
                )
            digest, size = self._read_body(url, response, sink, deadline)
            return Fetched(
                response.status_code,
                response.url,
                response.headers.get("ETag"),
                response.headers.get("Last-Modified"),
                digest,
                size,
            )

    def _request(self, url: str, headers: Mapping[str, str]) -> requests.Response:
        """The response to ``url`` after following redirects on allowed hosts only."""
        timeout = (self.config.connect_timeout, self.config.read_timeout)
        for _ in range(self.config.max_redirects + 1):
            self.check_url(url)
            self.limiter.acquire(host_key(url))
            try:
                response = self.session.get(
                    url, headers=dict(headers), stream=True, timeout=timeout, allow_redirects=False
                )
            except requests.RequestException as e:
                error = UnreachableError if _is_unreachable(e) else FetchError
                raise error(f"{url}: {_describe(e)}") from None
            if not response.is_redirect:
                return response
            location = response.headers["Location"]
            _drain(response)
            try:
                target = urljoin(response.url, location)
            except ValueError:
                raise FetchError(f"{url}: redirect to an invalid URL {location!r}") from None
            if origin_key(target) not in self.allowed_origins:
                raise RedirectedAwayError(
                    f"{url}: redirect to {target} refused (not on an allowed host)", target
                )
            url = target
        raise FetchError(f"{url}: more than {self.config.max_redirects} redirects")

    def _read_body(
        self, url: str, response: requests.Response, sink: _Sink, deadline: float
    ) -> tuple[str, int]:
        """Stream the body into ``sink`` under the size cap and the request's deadline;
        (sha256 hex, bytes)."""
        cap = self.config.size_cap
        declared = response.headers.get("Content-Length")
        identity = response.headers.get("Content-Encoding", "identity") == "identity"
        if declared and declared.isdigit() and identity and int(declared) > cap:
            raise TooLargeError(
                f"{url}: refused, Content-Length {declared} is over the size cap of {cap} bytes"
            )
        digest = hashlib.sha256()
        size = 0
        raw = response.raw
        try:
            # read1: what one read of the socket gives, so that the deadline is checked
            # after every read, and the bytes counted are the bytes that came.
            while chunk := raw.read1(_CHUNK, decode_content=True):
                size += len(chunk)
                if size > cap:
                    raise TooLargeError(
                        f"{url}: refused while streaming, body is over the size cap of {cap} bytes"
                    )
                digest.update(chunk)
                sink.write(chunk)
                if time.monotonic() > deadline:
                    raise FetchError(
                        f"{url}: not whole after {self.config.request_timeout:g} s "
                        f"({size} bytes came; the request timeout)"
                    )
        except (Urllib3Error, OSError) as e:
            # A stalled or cut-short body (ReadTimeoutError, ProtocolError) or one that
            # does not decode (DecodeError): try again, then fail the page.
            raise _BodyError(f"body broke off after {size} bytes: {_describe(e)}") from None
        if declared and declared.isdigit() and identity and size != int(declared):
            raise _BodyError(f"body cut short: {size} of {declared} bytes")
        return digest.hexdigest(), size


class _Sink(Protocol):
    """Where a body goes: an in-memory buffer or a :class:`_TempFile`."""

    def write(self, data: bytes, /) -> int: ...
    def seek(self, offset: int, /) -> int: ...
    def truncate(self) -> int: ...


class _TempFile:
    """A temp file beside ``dest``, created on the first write, renamed over ``dest`` by
    :meth:`commit` and removed by :meth:`discard` if still there."""

    def __init__(self, dest: Path) -> None:
        self.dest = dest
        self._file: IO[bytes] | None = None
        self._path: Path | None = None

    def write(self, data: bytes, /) -> int:
        if self._file is None:
            self.dest.parent.mkdir(parents=True, exist_ok=True)
            fd, tmp = new_temp_file(self.dest.parent, f".{self.dest.name}.", ".part")
            self._file, self._path = os.fdopen(fd, "w+b"), tmp
        return self._file.write(data)

    def seek(self, offset: int, /) -> int:
        return self._file.seek(offset) if self._file is not None else 0

    def truncate(self) -> int:
        return self._file.truncate() if self._file is not None else 0

    def commit(self) -> None:
        if self._file is None:
            self.write(b"")  # an empty body is still a file
        assert self._file is not None and self._path is not None
        self._file.close()
        os.replace(self._path, self.dest)
        self._path = None

    def discard(self) -> None:
        if self._file is not None:
            self._file.close()
        if self._path is not None:
            self._path.unlink(missing_ok=True)


def _drain(response: requests.Response) -> None:
    """Read what is left of a short body (a 304, an error page, a redirect) so the
    connection goes back to the pool; closing an unread response would drop it."""
    read = 0
    try:
        for chunk in response.iter_content(_CHUNK):
            read += len(chunk)
            if read > _DRAIN_MAX:
                break
    except requests.RequestException:
        pass
    response.close()


def _retries_made(response: requests.Response) -> int:
    retries = getattr(response.raw, "retries", None)
    return len(retries.history) if retries is not None else 0


def _innermost(e: BaseException) -> BaseException:
    """The real reason inside requests' and urllib3's wrappers (requests wraps urllib3's
    MaxRetryError, which wraps e.g. a NameResolutionError)."""
    reason = e
    for _ in range(4):
        inner = getattr(reason, "reason", None)
        if isinstance(inner, BaseException):
            reason = inner
            continue
        args = getattr(reason, "args", ())
        if args and isinstance(args[0], BaseException):
            reason = args[0]
            continue
        break
    return reason


def _is_unreachable(e: BaseException) -> bool:
    """True when no connection could be made (not: it broke or timed out later)."""
    return isinstance(e, requests.ConnectTimeout) or isinstance(
        _innermost(e), NewConnectionError | ConnectTimeoutError
    )


def _describe(e: BaseException) -> str:
    """A one-line reason for a requests/urllib3 exception, innermost cause first."""
    reason = _innermost(e)
    text = str(reason).replace("\n", " ")
    name = type(reason).__name__
    if "NameResolution" in name or "Failed to resolve" in text:
        return f"cannot resolve host ({text})"
    if "Timeout" in name or "timed out" in text:
        return f"timed out ({text})"
    return f"{name}: {text}"
