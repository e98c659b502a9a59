"""A fake simple index for resolver tests: projects → PEP 503 pages and PEP 658 metadata files.

`FakeIndex.fetch_all` / `fetch_files` stand for the daemon's fetches and record each batch, so the
tests can count rounds. Pages are real PEP 503 HTML (the format the daemon gets from PyPI).
"""

from __future__ import annotations

import hashlib
import html
import io
import zipfile
from dataclasses import dataclass, field

from packaging import tags as ptags
from packaging.markers import default_environment

INDEX = "https://pypi.org/simple/"
FILES = "https://files.example/packages"
TAGS = tuple(str(t) for t in [
    *ptags.cpython_tags((3, 13), ["cp313"], ["manylinux_2_36_x86_64", "manylinux_2_17_x86_64"]),
    *ptags.compatible_tags((3, 13), "cp313", ["manylinux_2_36_x86_64", "manylinux_2_17_x86_64"])])
MARKERS = {**default_environment(), "python_version": "3.13", "python_full_version": "3.13.1",
           "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
           "implementation_name": "cpython", "platform_python_implementation": "CPython",
           "os_name": "posix", "implementation_version": "3.13.1"}


def sha(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass
class Release:
    version: str
    requires: tuple[str, ...] = ()
    tag: str = "py3-none-any"  # "sdist" for a source distribution only
    requires_python: str | None = None
    yanked: bool = False
    metadata_file: bool = True  # PEP 658 metadata served next to the wheel
    page_requires_python: bool = True  # the page repeats Requires-Python (data-requires-python)


def metadata(name: str, release: Release) -> bytes:
    lines = ["Metadata-Version: 2.1", f"Name: {name}", f"Version: {release.version}"]
    lines += [f"Requires-Dist: {r}" for r in release.requires]
    if release.requires_python:
        lines.append(f"Requires-Python: {release.requires_python}")
    return ("\n".join(lines) + "\n").encode()


def wheel(name: str, release: Release) -> bytes:
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as archive:
        archive.writestr(f"{name.replace('-', '_')}-{release.version}.dist-info/METADATA", metadata(name, release))
    return buf.getvalue()


@dataclass
class FakeIndex:
    projects: dict[str, list[Release]]
    base: str = INDEX
    page_batches: list[list[str]] = field(default_factory=list)
    file_batches: list[list[tuple[str, str | None]]] = field(default_factory=list)
    extra_files: dict[str, bytes] = field(default_factory=dict)
    serves_unannounced_metadata: bool = False  # like PyPI mirrors: .metadata files the page does not announce
    sdist_builds: list[list[str]] = field(default_factory=list)  # file names, per call of sdist_metadata

    def filename(self, name: str, release: Release) -> str:
        stem = f"{name.replace('-', '_')}-{release.version}"
        return f"{stem}.tar.gz" if release.tag == "sdist" else f"{stem}-{release.tag}.whl"

    def page(self, name: str) -> bytes:
        anchors = []
        for release in self.projects[name]:
            filename = self.filename(name, release)
            body = wheel(name, release) if release.tag != "sdist" else b"sdist"
            attrs = ""
            if release.requires_python and release.page_requires_python:
                attrs += f' data-requires-python="{html.escape(release.requires_python)}"'
            if release.yanked:
                attrs += ' data-yanked=""'
            if release.metadata_file and release.tag != "sdist":
                attrs += f' data-dist-info-metadata="sha256={sha(metadata(name, release))}"'
            anchors.append(f'<a href="{FILES}/{filename}#sha256={sha(body)}"{attrs}>{filename}</a><br/>')
        return ("<!DOCTYPE html><html><body>\n" + "\n".join(anchors) + "\n</body></html>\n").encode()

    def files(self) -> dict[str, bytes]:
        found = dict(self.extra_files)
        for name, releases in self.projects.items():
            for release in releases:
                if release.tag == "sdist":
                    continue
                url = f"{FILES}/{self.filename(name, release)}"
                found[url] = wheel(name, release)
                found[url + ".metadata"] = metadata(name, release)
        return found

    def sdist_metadata(self, choices):
        """Stands for the build of each sdist: the METADATA of the wheel it gives."""
        self.sdist_builds.append([c.filename for c in choices])
        releases = {self.filename(n, r): (n, r) for n, rs in self.projects.items() for r in rs}
        assert all(c.sdist and c.sha256 == sha(b"sdist") for c in choices)
        return [metadata(*releases[c.filename]) for c in choices]

    def fetch_all(self, urls):
        self.page_batches.append(list(urls))
        pages = {f"{self.base}{name}/": self.page(name) for name in self.projects}
        pages.update(self.extra_files)
        if self.serves_unannounced_metadata:
            pages.update((url, body) for url, body in self.files().items() if url.endswith(".metadata"))
        return [pages.get(url) for url in urls]

    def fetch_files(self, items):
        self.file_batches.append(list(items))
        files = self.files()
        out = []
        for url, digest in items:
            body = files[url]
            assert digest is None or sha(body) == digest, url
            out.append(body)
        return out
