"""Evidence links in a report or message body: Facebook, fb.watch, YouTube, Zalo, Google
Drive/Docs, TikTok, news sites — any http(s) URL, plus bare `www.`/well-known-host addresses.

`extract_links` keeps the order of first appearance, drops duplicates (case of the host, a
trailing slash and tracking parameters such as `fbclid`/`utm_*` do not make a new link),
strips the punctuation a sentence wraps around a URL, and leaves out what is not evidence
(mailto addresses, XML namespace URLs that leak from office files).

`photo_service` tells a link to photos or files kept on a sharing service (Google Drive,
Google Photos, OneDrive, Dropbox, iCloud) from an evidence link to a post or a news page:
photos behind such a link cannot be counted, so a unit that sent one is asked to attach them.
"""

from __future__ import annotations

import logging
import re
from urllib.parse import parse_qsl, urlencode, urlsplit, urlunsplit

log = logging.getLogger(__name__)

# Hosts people write without a scheme ("facebook.com/thcsbichhoa", "youtu.be/xyz").
_BARE_HOSTS = (
    r"(?:www\.|m\.|web\.)?(?:facebook\.com|fb\.com|fb\.watch|youtube\.com|youtu\.be|"
    r"zalo\.me|drive\.google\.com|docs\.google\.com|tiktok\.com|vt\.tiktok\.com)"
)
_URL = re.compile(
    r"(?P<url>(?:https?://|(?<![\w@.])www\.|(?<![\w@./])" + _BARE_HOSTS + r"/)"
    r"[^\s<>\"'`“”‘’«»|\\^{}]+)",
    re.I,
)
_TRAILING = ".,;:!?…)]}'\"*"
_NOISE_HOSTS = {
    "schemas.openxmlformats.org",
    "schemas.microsoft.com",
    "www.w3.org",
    "purl.org",
    "ns.adobe.com",
}
_TRACKING = re.compile(r"^(?:utm_\w+|fbclid|gclid|igshid|mibextid|__cft__\[\d+\]|__tn__)$", re.I)


def _trim(url: str) -> str:
    """Strip sentence punctuation from the end; keep a ")" that closes a "(" in the URL."""
    while url and url[-1] in _TRAILING:
        if url[-1] == ")" and url.count("(") >= url.count(")"):
            break
        url = url[:-1]
    return url


def _clean(url: str) -> str:
    """Add a scheme when missing and drop tracking parameters."""
    if not re.match(r"https?://", url, re.I):
        url = "https://" + url
    parts = urlsplit(url)
    pairs = parse_qsl(parts.query, keep_blank_values=True)
    kept = [(k, v) for k, v in pairs if not _TRACKING.match(k)]
    query = parts.query if len(kept) == len(pairs) else urlencode(kept)
    return urlunsplit((parts.scheme.lower(), parts.netloc, parts.path, query, parts.fragment))


def _key(url: str) -> str:
    parts = urlsplit(url)
    return f"{parts.netloc.lower()}{parts.path.rstrip('/')}?{parts.query}#{parts.fragment}"


def extract_links(text: str) -> tuple[str, ...]:
    """The http(s) links in `text`, in order, without duplicates or trailing punctuation."""
    seen: set[str] = set()
    out: list[str] = []
    for match in _URL.finditer(text or ""):
        raw = _trim(match.group("url"))
        try:
            url = _clean(raw)
            host = (urlsplit(url).hostname or "").lower()
        except ValueError:  # e.g. an invalid IPv6 literal
            log.debug("unparsable link skipped")
            continue
        if "." not in host or host in _NOISE_HOSTS:
            continue
        key = _key(url)
        if key not in seen:
            seen.add(key)
            out.append(url)
    return tuple(out)


# Hosts (and, for shared hosts, path prefixes) of services where people keep photos and files.
_PHOTO_SERVICES: tuple[tuple[str, str, str], ...] = (
    ("drive.google.com", "", "Google Drive"),
    ("docs.google.com", "/file/", "Google Drive"),
    ("photos.google.com", "", "Google Photos"),
    ("photos.app.goo.gl", "", "Google Photos"),
    ("goo.gl", "/photos/", "Google Photos"),
    ("onedrive.live.com", "", "OneDrive"),
    ("1drv.ms", "", "OneDrive"),
    ("dropbox.com", "", "Dropbox"),
    ("icloud.com", "/photos/", "iCloud"),
    ("share.icloud.com", "", "iCloud"),
)


def photo_service(url: str) -> str:
    """The name of the photo/file sharing service `url` points into ("Google Drive", "Google
    Photos", …), or "" for any other link (a Facebook post, a news page)."""
    try:
        parts = urlsplit(url if re.match(r"https?://", url, re.I) else "https://" + url)
        host = (parts.hostname or "").lower()
    except ValueError:
        return ""
    host = host.removeprefix("www.")
    for service_host, prefix, name in _PHOTO_SERVICES:
        if (host == service_host or host.endswith("." + service_host)) and parts.path.startswith(
            prefix
        ):
            return name
    return ""
