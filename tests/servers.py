"""A real HTTP server on 127.0.0.1, in a thread, for the scraper's tests and bench.

:class:`SiteServer` serves a dict of path -> bytes with ETag / Last-Modified and
conditional GET (304), an optional latency per response, and scripted faults per path
(an error status, a stall, a body cut short, a redirect, an endless body), counting
what it was asked and what body bytes it sent. It works at the socket level of
``http.server`` so that a fault can break the protocol the way a real network does.
"""

from __future__ import annotations

import gzip
import hashlib
import html
import json
import threading
import time
from collections import Counter, deque
from collections.abc import Iterable
from dataclasses import dataclass, field
from email.utils import formatdate, parsedate_to_datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

SAR_BASE = "/service-authorization/latest/reference/"
INDEX = "reference_policies_actions-resources-contextkeys.html"
# Last-Modified of the first version of every file; each change adds a minute.
_EPOCH = 1_775_000_000
_CHUNK = 64 * 1024


@dataclass(frozen=True)
class Fault:
    """One scripted misbehaviour, used for one request."""

    kind: str
    """``status``, ``stall`` (no answer for ``seconds``, then hang up), ``stall_body``
    (head and half the body, then ``seconds`` of silence), ``truncate`` (a
    Content-Length larger than the body sent), ``redirect`` (to ``location``),
    ``endless`` (``size`` bytes of body; with ``length`` a Content-Length says so),
    ``trickle`` (the head, then the body, or ``body``, one byte every ``seconds``),
    ``raw`` (``body`` written to the socket as it is, in place of a whole answer, then the
    connection closed: a head cut off, a body longer than its Content-Length)."""
    status: int = 0
    """The status sent (default 500 for ``status``, 302 for ``redirect``)."""
    headers: dict[str, str] = field(default_factory=dict)
    seconds: float = 0.0
    location: str = ""
    size: int = 0
    length: bool = True
    body: bytes = b""


@dataclass
class _File:
    data: bytes
    mtime: int
    etag: str


class SiteServer:
    """A threaded HTTP/1.1 server on 127.0.0.1 serving ``files`` (path -> bytes)."""

    def __init__(
        self,
        files: dict[str, bytes] | None = None,
        *,
        latency: float = 0.0,
        etags: bool = True,
        last_modified: bool = True,
        compress: bool = False,
    ) -> None:
        self.latency = latency
        self.compress = compress
        """Send bodies gzip-encoded to clients that accept it (as docs.aws.amazon.com does)."""
        self.etags = etags
        self.last_modified = last_modified
        self._files: dict[str, _File] = {}
        self._changes = 0
        self._faults: dict[str, deque[Fault]] = {}
        self._lock = threading.Lock()
        self.requests: Counter[str] = Counter()
        """Requests per path."""
        self.statuses: Counter[tuple[str, int]] = Counter()
        """Answers per (path, status)."""
        self.body_bytes = 0
        """Body bytes sent, all paths."""
        self.bytes_by_path: Counter[str] = Counter()
        """Body bytes sent per path."""
        self.request_headers: list[tuple[str, dict[str, str]]] = []
        """(path, headers) of every request, in order."""
        for path, data in (files or {}).items():
            self.put(path, data)
        self._httpd = ThreadingHTTPServer(("127.0.0.1", 0), self._handler_class())
        self._httpd.daemon_threads = True
        # A short poll interval: shutdown() waits up to one interval.
        self._thread = threading.Thread(
            target=self._httpd.serve_forever, kwargs={"poll_interval": 0.02}, daemon=True
        )

    # -- control
    @property
    def origin(self) -> str:
        host, port = self._httpd.server_address[:2]
        return f"http://{host!s}:{port}"

    def url(self, path: str) -> str:
        return self.origin + path

    def start(self) -> SiteServer:
        self._thread.start()
        return self

    def stop(self) -> None:
        self._httpd.shutdown()
        self._httpd.server_close()

    def __enter__(self) -> SiteServer:
        return self.start()

    def __exit__(self, *exc: object) -> None:
        self.stop()

    def put(self, path: str, data: bytes) -> None:
        """Serve ``data`` at ``path`` (a change gets a later Last-Modified)."""
        with self._lock:
            etag = '"' + hashlib.sha256(data).hexdigest()[:20] + '"'
            self._files[path] = _File(data, _EPOCH + 60 * self._changes, etag)
            self._changes += 1

    def remove(self, path: str) -> None:
        """Stop serving ``path`` (404 from now on)."""
        with self._lock:
            self._files.pop(path, None)

    def data(self, path: str) -> bytes:
        return self._files[path].data

    def paths(self) -> list[str]:
        return sorted(self._files)

    def add_faults(self, path: str, *faults: Fault) -> None:
        """Answer the next requests for ``path`` with ``faults``, in order."""
        with self._lock:
            self._faults.setdefault(path, deque()).extend(faults)

    def reset_counts(self) -> None:
        with self._lock:
            self.requests.clear()
            self.statuses.clear()
            self.body_bytes = 0
            self.bytes_by_path.clear()
            self.request_headers.clear()

    # -- serving
    def _handler_class(self) -> type[BaseHTTPRequestHandler]:
        site = self

        class Handler(BaseHTTPRequestHandler):
            protocol_version = "HTTP/1.1"
            # Headers and body go out in two writes; without this, Nagle holds the tail of
            # each body until the client's delayed ACK (40 ms a response on Linux).
            disable_nagle_algorithm = True

            def log_message(self, format: str, *args: object) -> None:
                pass  # quiet: the tests read the counters instead

            def do_GET(self) -> None:
                site._serve(self)

        return Handler

    def _serve(self, h: BaseHTTPRequestHandler) -> None:
        path = urlsplit(h.path).path
        with self._lock:
            self.requests[path] += 1
            self.request_headers.append((path, dict(h.headers.items())))
            queue = self._faults.get(path)
            fault = queue.popleft() if queue else None
            file = self._files.get(path)
        if self.latency:
            time.sleep(self.latency)
        try:
            if fault is not None:
                self._fault(h, path, fault, file)
            elif file is None:
                self._answer(h, path, 404, b"not found\n")
            else:
                self._file(h, path, file)
        except (BrokenPipeError, ConnectionResetError):
            h.close_connection = True

    def _file(self, h: BaseHTTPRequestHandler, path: str, file: _File) -> None:
        etag = file.etag
        headers: dict[str, str] = {"Content-Type": _content_type(path)}
        if self.etags:
            headers["ETag"] = etag
        if self.last_modified:
            headers["Last-Modified"] = formatdate(file.mtime, usegmt=True)
        inm = h.headers.get("If-None-Match")
        ims = h.headers.get("If-Modified-Since")
        if self.etags and inm is not None:
            not_modified = etag in [t.strip() for t in inm.split(",")]
        elif self.last_modified and ims is not None:
            try:
                not_modified = parsedate_to_datetime(ims).timestamp() >= file.mtime
            except (TypeError, ValueError):
                not_modified = False
        else:
            not_modified = False
        if not_modified:
            self._answer(h, path, 304, b"", headers)
        elif self.compress and "gzip" in h.headers.get("Accept-Encoding", ""):
            headers["Content-Encoding"] = "gzip"
            self._answer(h, path, 200, gzip.compress(file.data, mtime=0), headers)
        else:
            self._answer(h, path, 200, file.data, headers)

    def _answer(
        self,
        h: BaseHTTPRequestHandler,
        path: str,
        status: int,
        body: bytes,
        headers: dict[str, str] | None = None,
        length: int | None = None,
    ) -> None:
        h.send_response(status)
        for k, v in (headers or {}).items():
            h.send_header(k, v)
        if status != 304:
            h.send_header("Content-Length", str(len(body) if length is None else length))
        h.end_headers()
        with self._lock:
            self.statuses[(path, status)] += 1
        if body:
            h.wfile.write(body)
            h.wfile.flush()
            with self._lock:
                self.body_bytes += len(body)
                self.bytes_by_path[path] += len(body)

    def _fault(self, h: BaseHTTPRequestHandler, path: str, f: Fault, file: _File | None) -> None:
        data = file.data if file is not None else b"x" * 1000
        if f.kind == "status":
            status = f.status or 500
            self._answer(h, path, status, f"status {status}\n".encode(), f.headers)
        elif f.kind == "stall":
            time.sleep(f.seconds)
            h.close_connection = True
        elif f.kind == "stall_body":
            h.close_connection = True
            self._answer(h, path, 200, data[: len(data) // 2], f.headers, length=len(data))
            time.sleep(f.seconds)
        elif f.kind == "truncate":
            h.close_connection = True
            self._answer(h, path, 200, data[: len(data) // 2], f.headers, length=len(data))
        elif f.kind == "redirect":
            self._answer(h, path, f.status or 302, b"", {"Location": f.location, **f.headers})
        elif f.kind == "endless":
            self._endless(h, path, f)
        elif f.kind == "trickle":
            self._trickle(h, path, f, f.body or data)
        elif f.kind == "raw":
            h.close_connection = True
            h.wfile.write(f.body)
            h.wfile.flush()
        else:
            raise ValueError(f"unknown fault {f.kind}")

    def _trickle(self, h: BaseHTTPRequestHandler, path: str, f: Fault, data: bytes) -> None:
        h.close_connection = True
        h.send_response(200)
        h.send_header("Content-Length", str(len(data)))
        h.end_headers()
        h.wfile.flush()
        for i in range(len(data)):
            time.sleep(f.seconds)
            h.wfile.write(data[i : i + 1])
            h.wfile.flush()
            with self._lock:
                self.body_bytes += 1
                self.bytes_by_path[path] += 1

    def _endless(self, h: BaseHTTPRequestHandler, path: str, f: Fault) -> None:
        h.close_connection = True
        h.send_response(200)
        if f.length:
            h.send_header("Content-Length", str(f.size))
        h.send_header("Connection", "close")
        h.end_headers()
        with self._lock:
            self.statuses[(path, 200)] += 1
        chunk = b"<p>" + b"x" * (_CHUNK - 3)
        sent = 0
        while sent < f.size:
            piece = chunk[: f.size - sent]
            h.wfile.write(piece)
            sent += len(piece)
            with self._lock:
                self.body_bytes += len(piece)
                self.bytes_by_path[path] += len(piece)


def _content_type(path: str) -> str:
    if path.endswith(".json") or path.endswith("/"):
        return "application/json"
    if path.endswith(".md"):
        return "text/markdown; charset=utf-8"
    return "text/html; charset=utf-8"


def sar_index(
    names: Iterable[str], *, origin: str | None = None, extra_links: Iterable[str] = ()
) -> bytes:
    """An index page in the layout of the real one: a ``div.highlights`` list of links to
    ``list_*.html``, written in turn as ``./x``, ``x``, an absolute path and (given the
    server's ``origin``) an absolute URL, plus a few links that are not pages, plus
    ``extra_links`` verbatim."""
    items = []
    for i, name in enumerate(sorted(names)):
        forms = [f"./{name}", name, f"{SAR_BASE}{name}"]
        if origin:
            forms.append(f"{origin}{SAR_BASE}{name}")
        href = forms[i % len(forms)]
        title = html.escape(name.removeprefix("list_").removesuffix(".html"))
        items.append(f'<li><a href="{href}">{title}</a></li>')
    items += [f'<li><a href="{html.escape(href)}">extra</a></li>' for href in extra_links]
    return (
        '<!DOCTYPE html>\n<html lang="en-US"><head><title>Actions, resources, and condition '
        "keys for AWS services - Service Authorization Reference</title></head><body>\n"
        '<div id="main-col-body"><h1>Actions, resources, and condition keys for AWS services'
        '</h1>\n<p>See <a href="reference_policies_elements_condition_operators.html">'
        'operators</a> and <a href="#top">top</a>.</p>\n<div class="highlights"><h6>Topics'
        "</h6><ul>\n" + "\n".join(items) + "\n</ul></div></div></body></html>\n"
    ).encode()


def sar_site(pages: Iterable[Path]) -> dict[str, bytes]:
    """Files for a SAR site: each page under :data:`SAR_BASE` and an index listing them."""
    files = {SAR_BASE + p.name: p.read_bytes() for p in pages}
    files[SAR_BASE + INDEX] = sar_index(p.name for p in pages)
    return files


def service_list(origin: str, services: Iterable[str]) -> bytes:
    """AWS's service list: a JSON array of ``{"service", "url"}``."""
    return json.dumps(
        [{"service": s, "url": f"{origin}/v1/{s}/{s}.json"} for s in sorted(services)]
    ).encode()


def tiny_sar_page(name: str) -> bytes:
    """The least a fetch takes as a SAR page (the title, a whole document), for sites whose
    page content does not matter."""
    return (
        f"<html><head><title>Actions, resources, and condition keys for {name}</title>"
        "</head><body></body></html>\n"
    ).encode()


def marked(page: bytes, mark: str) -> bytes:
    """``page`` (a whole HTML page) with ``<!-- mark -->`` before its closing ``</html>``:
    another version of the same page."""
    head, found, tail = page.rpartition(b"</html>")
    assert found, "not a whole HTML page"
    return head + f"<!-- {mark} -->".encode() + found + tail
