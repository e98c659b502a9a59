"""Simple-repository project pages (PEP 503 HTML, PEP 691 JSON) → the files they link to.

The daemon fetches pages as http sources and cannot send an Accept header, so both formats are
read: JSON when the content type says so or the body is a JSON object, HTML otherwise. Yanked
files (PEP 592) and core-metadata availability (PEP 658/714) are kept for the selection.
"""

from __future__ import annotations

import html
import json
import posixpath
import re
from dataclasses import dataclass
from html.parser import HTMLParser
from typing import Callable, Mapping, Sequence
from urllib.parse import unquote, urldefrag, urljoin, urlsplit

from packaging.utils import canonicalize_name

from ..errors import ResolutionError

JSON_CONTENT_TYPE = "application/vnd.pypi.simple.v1+json"
_HASH = re.compile(r"^([A-Za-z0-9_-]+)=([0-9A-Fa-f]+)$")


@dataclass(frozen=True)
class Link:
    """One file of a project page."""

    filename: str
    url: str  # absolute, without the #hash fragment
    hashes: tuple[tuple[str, str], ...] = ()  # (algorithm, hex), lowercase, sorted
    requires_python: str | None = None
    yanked: bool = False
    yanked_reason: str | None = None
    core_metadata: bool | str = False  # True, or "sha256=<hex>" when the index gives its hash
    size: int | None = None  # bytes, when the index gives it (PEP 700 JSON, PyPI's release JSON)

    @property
    def sha256(self) -> str | None:
        return dict(self.hashes).get("sha256")


def project_url(index_url: str, name: str) -> str:
    """The project page of `name` on a simple index: <index>/<canonical name>/."""
    return index_url.rstrip("/") + "/" + canonicalize_name(name) + "/"


def redact_url(url: str) -> str:
    """`url` for messages: a password or token in it replaced by ****, like pip does."""
    parts = urlsplit(url)
    if "@" not in parts.netloc:
        return url
    userinfo, host = parts.netloc.rsplit("@", 1)
    user = userinfo.split(":", 1)[0] + ":****" if ":" in userinfo else "****"
    return parts._replace(netloc=f"{user}@{host}").geturl()


def parse_project_page(data: bytes, page_url: str, content_type: str | None = None,
                       keep: Callable[[str], bool] | None = None, needles: Sequence[str] = ()
                       ) -> tuple[Link, ...]:
    """The files linked from a project page; ResolutionError (naming the page) if it is malformed.

    `keep(filename)` may leave out files early: big projects list thousands of files, and a
    pinned requirement needs the few of one version. `needles`: strings one of which every file
    `keep` accepts has in its name; an HTML page is then searched for them, not read anchor by
    anchor (58 pages are 21 MB).
    """
    mime = (content_type or "").split(";", 1)[0].strip().lower()
    if mime == JSON_CONTENT_TYPE or data.lstrip().startswith(b"{"):
        return _parse_json(data, page_url, keep)
    text = _decode(data, page_url, _charset(content_type))
    if keep is not None:
        text = _preselect(text, keep, needles)
    return _parse_html(text, page_url)


# One anchor of a simple page; only used to skip anchors early, HTMLParser reads what is kept.
_ANCHOR = re.compile(r"<a\b[^>]*>([^<]*)</a\s*>", re.IGNORECASE)
_HEAD_TAGS = re.compile(r"<(?:base|meta)\b[^>]*>", re.IGNORECASE)


def _preselect(text: str, keep: Callable[[str], bool], needles: Sequence[str] = ()) -> str:
    """The page's <base>/<meta> tags and the anchors whose text `keep` accepts."""
    lower = text.lower()
    found = _anchors_with(text, lower, needles) if needles and "&#" not in text else None
    if found is None:
        if lower.count("<a") != len(_ANCHOR.findall(text)):
            return text  # anchors this scanner cannot delimit: let the full parser read everything
        found = list(_ANCHOR.finditer(text))
    head = [m.group(0) for tag in ("<base", "<meta") for m in _tags_at(text, lower, tag)]
    return "\n".join(head + [m.group(0) for m in found if keep(html.unescape(m.group(1)).strip())])


def _anchors_with(text: str, lower: str, needles: Sequence[str]) -> list[re.Match] | None:
    """The anchors in which a needle occurs, found by searching for the needles; None if one of
    them is not an anchor this scanner can delimit (the whole page is read then)."""
    starts = set()
    for needle in needles:
        at = text.find(needle)
        while at != -1:
            start = lower.rfind("<a", 0, at)
            if start != -1:
                starts.add(start)
            at = text.find(needle, at + 1)
    found = [_ANCHOR.match(text, start) for start in sorted(starts)]
    return None if any(m is None for m in found) else found


def _tags_at(text: str, lower: str, tag: str):
    """The <base>/<meta> tags of the page (found by searching, not by a scan of every character)."""
    at = lower.find(tag)
    while at != -1:
        match = _HEAD_TAGS.match(text, at)
        if match:
            yield match
        at = lower.find(tag, at + 1)


def _charset(content_type: str | None) -> str:
    for param in (content_type or "").split(";")[1:]:
        key, _, value = param.partition("=")
        if key.strip().lower() == "charset" and value.strip():
            return value.strip().strip('"')
    return "utf-8"


def _check_version(version: object, page_url: str) -> None:
    if version is not None and not str(version).startswith("1."):
        raise ResolutionError(f"{redact_url(page_url)}: unsupported simple repository API version {version} "
                              "(pylayers reads version 1.x)")


def _hashes(pairs: Mapping[object, object], fragment: str) -> tuple[tuple[str, str], ...]:
    found = {str(k).lower(): str(v).lower() for k, v in pairs.items() if isinstance(v, str) and v}
    match = _HASH.match(fragment)
    if match and not found:
        found[match.group(1).lower()] = match.group(2).lower()
    return tuple(sorted(found.items()))


def _core_metadata(value: object) -> bool | str:
    """PEP 658/714: true, a dict of hashes (JSON) or "<algo>=<hex>" (HTML) → True / "sha256=<hex>"."""
    if isinstance(value, dict):
        return f"sha256={value['sha256'].lower()}" if isinstance(value.get("sha256"), str) else True
    if isinstance(value, str):
        algo, sep, digest = value.partition("=")
        if sep and algo.lower() == "sha256" and digest:
            return f"sha256={digest.lower()}"
        return value.lower() != "false" and value != ""
    return bool(value)


def _parse_json(data: bytes, page_url: str, keep: Callable[[str], bool] | None = None) -> tuple[Link, ...]:
    try:
        doc = json.loads(data)
    except ValueError as exc:
        raise ResolutionError(f"{redact_url(page_url)}: invalid JSON project page ({exc})") from None
    if not isinstance(doc, dict) or not isinstance(doc.get("files"), list):
        raise ResolutionError(f'{redact_url(page_url)}: not a PEP 691 project page (no "files" list)')
    meta = doc.get("meta")
    _check_version(meta.get("api-version") if isinstance(meta, dict) else None, page_url)
    files = doc["files"]
    if keep is not None:  # before the links are made: a big project's thousands of URLs to join
        files = [e for e in files if not (isinstance(e, dict) and isinstance(e.get("filename"), str))
                 or keep(e["filename"])]
    return tuple(_json_link(entry, page_url) for entry in files)


def _json_link(entry: object, page_url: str) -> Link:
    if not (isinstance(entry, dict) and isinstance(entry.get("filename"), str)
            and isinstance(entry.get("url"), str)):
        raise ResolutionError(f"{redact_url(page_url)}: invalid file entry in the project page: "
                              f"{entry!r:.200}")
    url, fragment = urldefrag(urljoin(page_url, entry["url"]))
    hashes = entry.get("hashes")
    yanked = entry.get("yanked", False)
    requires_python = entry.get("requires-python")
    requires_python = requires_python if isinstance(requires_python, str) and requires_python else None
    metadata = entry.get("core-metadata", entry.get("dist-info-metadata", False))
    return Link(filename=entry["filename"], url=url,
                hashes=_hashes(hashes if isinstance(hashes, dict) else {}, fragment),
                requires_python=requires_python,
                yanked=bool(yanked), yanked_reason=yanked if isinstance(yanked, str) and yanked else None,
                core_metadata=_core_metadata(metadata), size=file_size(entry.get("size")))


def file_size(value: object) -> int | None:
    """A "size" field of an index document, if it is a byte count."""
    return value if isinstance(value, int) and not isinstance(value, bool) and value >= 0 else None


class _AnchorParser(HTMLParser):
    """Collects <a> (attributes, text), the first <base href> and the repository version."""

    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.base: str | None = None
        self.version: str | None = None
        self.anchors: list[tuple[dict[str, str | None], str]] = []
        self._current: dict[str, str | None] | None = None
        self._text: list[str] = []

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        values = dict(attrs)
        if tag == "base" and self.base is None and values.get("href"):
            self.base = values["href"]
        elif tag == "meta" and values.get("name") == "pypi:repository-version":
            self.version = values.get("content")
        elif tag == "a":
            self.finish()
            self._current, self._text = values, []

    def handle_endtag(self, tag: str) -> None:
        if tag == "a":
            self.finish()

    def handle_data(self, data: str) -> None:
        if self._current is not None:
            self._text.append(data)

    def finish(self) -> None:
        if self._current is not None:
            self.anchors.append((self._current, "".join(self._text).strip()))
        self._current = None


def _decode(data: bytes, page_url: str, charset: str) -> str:
    try:
        return data.decode(charset, errors="replace")
    except LookupError as exc:
        raise ResolutionError(f"{redact_url(page_url)}: invalid HTML project page ({exc})") from None


def _parse_html(text: str, page_url: str) -> tuple[Link, ...]:
    parser = _AnchorParser()
    try:
        parser.feed(text)
        parser.close()
    except (LookupError, ValueError, AssertionError) as exc:
        raise ResolutionError(f"{redact_url(page_url)}: invalid HTML project page ({exc})") from None
    parser.finish()
    _check_version(parser.version, page_url)
    base = urljoin(page_url, parser.base) if parser.base else page_url
    return tuple(_html_link(attrs, text, base) for attrs, text in parser.anchors if attrs.get("href"))


def _html_link(attrs: Mapping[str, str | None], text: str, base: str) -> Link:
    href = attrs["href"] or ""
    if href.startswith(("https://", "http://")) and "/." not in href:  # as PyPI's: urljoin keeps it
        url, _, fragment = href.partition("#")  # (urljoin took half of a reused page's parse)
    else:
        url, fragment = urldefrag(urljoin(base, href))
    filename = text or unquote(posixpath.basename(urlsplit(url).path))
    key = next((k for k in ("data-core-metadata", "data-dist-info-metadata") if k in attrs), None)
    metadata = False if key is None else _core_metadata(True if attrs[key] is None else attrs[key])
    return Link(filename=filename, url=url, hashes=_hashes({}, fragment),
                requires_python=attrs.get("data-requires-python") or None,
                yanked="data-yanked" in attrs, yanked_reason=attrs.get("data-yanked") or None,
                core_metadata=metadata)
