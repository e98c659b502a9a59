"""PyPI's per-release JSON documents: files with sha256, requires_dist, and anything odd → None."""

import json

from frontend.resolve.pypi import metadata_of, parse_release


def test_parse_release_reads_files_and_dependencies():
    doc = {"info": {"requires_dist": ["idna>=2.5", "socks; extra == 'socks'"]},
           "urls": [{"filename": "r-1.0-py3-none-any.whl", "url": "https://f/r.whl", "digests": {"sha256": "ab"},
                     "requires_python": ">=3.9", "yanked": True, "yanked_reason": "bad"}]}
    release = parse_release(json.dumps(doc).encode())
    [link] = release.links
    assert (link.filename, link.url, link.sha256, link.requires_python, link.yanked, link.yanked_reason) == (
        "r-1.0-py3-none-any.whl", "https://f/r.whl", "ab", ">=3.9", True, "bad")
    assert metadata_of(release) == b"Requires-Dist: idna>=2.5\nRequires-Dist: socks; extra == 'socks'\n"


def test_unknown_dependencies_and_malformed_documents():
    assert metadata_of(parse_release(b'{"info": {"requires_dist": null}, "urls": []}')) is None
    assert parse_release(b"<html>") is None
    assert parse_release(b'{"urls": [{"filename": "x"}], "info": {}}') is None
