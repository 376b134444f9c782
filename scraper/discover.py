"""Discovery of what to fetch: page URLs from the SAR index page, JSON URLs from AWS's
service list, and the snapshot file name of each. Pure functions: bytes in, values out.

Every URL is checked here before anything is fetched: it must be http(s), on an allowed
host, and (for SAR pages) directly inside the base folder; every file name must be a
plain name that cannot leave the snapshot folder. What fails a check is returned as a
:class:`Rejected` link, never followed.
"""

from __future__ import annotations

import json
import re
from dataclasses import dataclass
from urllib.parse import unquote, urljoin, urlsplit, urlunsplit

import lxml.html

from iam_catalog.parsers.errors import FetchError, SourceError

INDEX_PAGE = "reference_policies_actions-resources-contextkeys.html"
DEFAULT_BASE_URL = "https://docs.aws.amazon.com/service-authorization/latest/reference/"
DEFAULT_JSON_BASE_URL = "https://servicereference.us-east-1.amazonaws.com/"
FORMATS = ("html", "md", "json")

# A plain file name; the length leaves room under the usual 255-byte limit for the
# temp-file prefix and suffix.
_SAFE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]{0,199}", re.ASCII)
# A SAR page name as the site writes them (`list_amazonappstream2.0.html` has a dot).
_PAGE_NAME = re.compile(r"list_[A-Za-z0-9._-]+\.html", re.ASCII)
# A service name in AWS's service list (`s3`, `aws-marketplace`, `elasticloadbalancing`).
_SERVICE_NAME = re.compile(r"[A-Za-z0-9][A-Za-z0-9._-]*", re.ASCII)
_DEFAULT_PORTS = {"http": 80, "https": 443}


@dataclass(frozen=True, slots=True)
class Target:
    """One thing to fetch into the snapshot."""

    path: str
    """Where it goes, relative to the snapshot folder (``html/list_amazons3.html``)."""
    url: str
    """Absolute URL."""
    format: str
    """``html``, ``md`` or ``json`` (the fetch format that produced it)."""
    role: str = "page"
    """``page`` (a source page the build parses) or ``index`` (a list of pages)."""


@dataclass(frozen=True, slots=True)
class Rejected:
    """A link that discovery refused to follow, and why."""

    link: str
    """The link as written in the index."""
    reason: str
    """One line."""


def host_key(url: str) -> str:
    """``host:port`` of an http(s) URL, lowercased, with the scheme's default port filled in
    (``https://Docs.AWS.amazon.com/x`` -> ``docs.aws.amazon.com:443``); ``""`` for other URLs."""
    parts = urlsplit(url)
    if parts.scheme not in _DEFAULT_PORTS or not parts.hostname:
        return ""
    try:
        port = parts.port or _DEFAULT_PORTS[parts.scheme]
    except ValueError:  # a port that is not a number
        return ""
    return f"{parts.hostname.lower()}:{port}"


def origin_key(url: str) -> str:
    """``scheme://host:port`` of an http(s) URL (:func:`host_key` with the scheme), ``""``
    for other URLs: an ``https://`` link is not on an ``http://`` base's origin even on
    the same host and port."""
    key = host_key(url)
    return f"{urlsplit(url).scheme}://{key}" if key else ""


def normalize_base(url: str) -> str:
    """A base URL that names a folder (ends with ``/``)."""
    parts = urlsplit(url)
    if not host_key(url):
        raise SourceError(f"{url}: not an http(s) URL")
    path = parts.path if parts.path.endswith("/") else parts.path + "/"
    return urlunsplit((parts.scheme, parts.netloc, path, "", ""))


def index_url(base_url: str) -> str:
    """The URL of the SAR index page under ``base_url``."""
    return urljoin(normalize_base(base_url), INDEX_PAGE)


def md_url(page_url: str) -> str:
    """The URL of a page's markdown rendering: the same URL with ``.md`` for ``.html``."""
    return page_url[: -len(".html")] + ".md" if page_url.endswith(".html") else page_url + ".md"


def is_safe_name(name: str) -> bool:
    """True when ``name`` is one plain file name: no separators, no leading dot (so never
    ``.`` or ``..``), only ASCII letters, digits, ``.``, ``_`` and ``-``, at most 200
    characters. (Dots inside are fine: the real ``list_awsmigrationhubstrategyrecommendations
    ..html`` has two.)"""
    return bool(_SAFE_NAME.fullmatch(name))


def page_targets(
    index_html: bytes, base_url: str, formats: tuple[str, ...] = ("html",)
) -> tuple[list[Target], list[Rejected]]:
    """The SAR pages an index page links to (``list_*.html``, relative or absolute links),
    as html and/or md targets, and the page links refused.

    A link is a page link when the last segment of its resolved path looks like
    ``list_*.html``; it is followed only when it resolves to a file directly inside the
    base folder on the base host. Links to anything else (other guides, anchors) are
    ignored, not refused.
    """
    base = normalize_base(base_url)
    base_parts = urlsplit(base)
    base_host = host_key(base)
    try:
        root = lxml.html.document_fromstring(index_html)
    except (ValueError, lxml.etree.ParserError) as e:
        raise FetchError(f"{index_url(base)}: index page is not HTML ({e})") from None
    targets: list[Target] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()
    for a in root.iter("a"):
        href = (a.get("href") or "").strip()
        if not href:
            continue
        url = urljoin(base, href)
        parts = urlsplit(url)
        folder, _, last = parts.path.rpartition("/")
        if not unquote(last).startswith("list_"):
            continue  # not a page link (another guide, an anchor, the index itself)
        reason = _page_link_problem(url, base_host, base_parts.scheme, base_parts.path)
        if reason:
            rejected.append(Rejected(href, reason))
            continue
        name = last
        if name.lower() in seen:
            continue  # the index links most pages more than once
        seen.add(name.lower())
        page = urlunsplit((parts.scheme, parts.netloc, f"{folder}/{name}", "", ""))
        if "html" in formats:
            targets.append(Target(f"html/{name}", page, "html"))
        if "md" in formats:
            targets.append(Target(f"md/{name[: -len('.html')]}.md", md_url(page), "md"))
    return targets, rejected


def _page_link_problem(url: str, base_host: str, base_scheme: str, base_path: str) -> str | None:
    """Why a resolved page URL must not be followed, or None."""
    parts = urlsplit(url)
    if host_key(url) != base_host:
        return f"not on the base host {base_host} ({parts.scheme}://{parts.netloc})"
    if parts.scheme != base_scheme:
        return f"not on the base's scheme {base_scheme}:// ({parts.scheme}://{parts.netloc})"
    folder, _, name = parts.path.rpartition("/")
    # urljoin has already resolved `./` and `../`; what is left must be the base folder.
    if folder + "/" != base_path:
        return f"outside the base folder {base_path}"
    if unquote(name) != name or not _PAGE_NAME.fullmatch(name) or not is_safe_name(name):
        return "not a plain list_*.html file name"
    return None


def service_targets(
    service_list: bytes, list_url: str, allowed_origins: frozenset[str]
) -> tuple[list[Target], list[Rejected]]:
    """The per-service JSON documents named by AWS's service list (a JSON array of
    ``{"service": name, "url": ...}``), and the entries refused."""
    try:
        entries = json.loads(service_list)
    except (ValueError, UnicodeDecodeError) as e:
        raise FetchError(f"{list_url}: service list is not JSON ({e})") from None
    if not isinstance(entries, list):
        raise FetchError(f"{list_url}: service list is not a JSON array")
    targets: list[Target] = []
    rejected: list[Rejected] = []
    seen: set[str] = set()
    for entry in entries:
        if not isinstance(entry, dict) or not isinstance(entry.get("service"), str):
            rejected.append(Rejected(json.dumps(entry)[:200], "entry without a service name"))
            continue
        name, raw_url = entry["service"], entry.get("url")
        if not isinstance(raw_url, str):
            rejected.append(Rejected(name[:200], "entry without a url"))
            continue
        url = urljoin(list_url, raw_url)
        if not _SERVICE_NAME.fullmatch(name) or not is_safe_name(name):
            rejected.append(Rejected(raw_url, f"service name {name[:100]!r} is not a plain name"))
        elif origin_key(url) not in allowed_origins:
            rejected.append(Rejected(raw_url, "not on an allowed host"))
        elif name.lower() in seen:
            rejected.append(Rejected(raw_url, f"service {name!r} listed twice"))
        else:
            seen.add(name.lower())
            targets.append(Target(f"json/{name}.json", url, "json"))
    return targets, rejected
