from __future__ import annotations

import json

import pytest

from frontend.errors import ResolutionError
from frontend.resolve.index import JSON_CONTENT_TYPE, Link, parse_project_page, project_url, redact_url

PAGE = "https://pypi.org/simple/markupsafe/"
FILES = "https://files.pythonhosted.org/packages"
H1, H2, H3, H4, M1 = ("1" * 64, "2" * 64, "3" * 64, "4" * 64, "9" * 64)

# The shape of https://pypi.org/simple/markupsafe/ (a few of its files; hashes shortened to digits).
PYPI_HTML = f"""<!DOCTYPE html>
<html>
  <head>
    <meta name="pypi:repository-version" content="1.4">
    <meta name="pypi:project-status" content="active">
    <title>Links for markupsafe</title>
  </head>
  <body>
    <h1>Links for markupsafe</h1>
    <a href="{FILES}/b2/fb/MarkupSafe-2.1.5.tar.gz#sha256={H4}" data-requires-python="&gt;=3.7" >MarkupSafe-2.1.5.tar.gz</a><br />
    <a href="{FILES}/22/09/MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl#sha256={H1}" data-requires-python="&gt;=3.9" data-dist-info-metadata="sha256={M1}" data-core-metadata="sha256={M1}">MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl</a><br />
    <a href="{FILES}/0f/2a/MarkupSafe-3.0.2-cp313-cp313-musllinux_1_2_x86_64.whl#sha256={H2}" data-requires-python="&gt;=3.9" data-core-metadata="true">MarkupSafe-3.0.2-cp313-cp313-musllinux_1_2_x86_64.whl</a><br />
    <a href="{FILES}/3f/14/MarkupSafe-3.0.2-cp313-cp313-win_amd64.whl#sha256={H3}" data-requires-python="&gt;=3.9" data-yanked="">MarkupSafe-3.0.2-cp313-cp313-win_amd64.whl</a><br />
    <a href="{FILES}/b2/97/markupsafe-3.0.2.tar.gz#sha256={H4}" data-requires-python="&gt;=3.9" data-yanked="broken &amp; bad">markupsafe-3.0.2.tar.gz</a><br />
  </body>
</html>
<!--SERIAL 25691234-->
"""

PYPI_JSON = {
    "meta": {"api-version": "1.4", "_last-serial": 25691234},
    "name": "markupsafe",
    "versions": ["3.0.2"],
    "files": [
        {"filename": "MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "url": f"{FILES}/22/09/MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
         "hashes": {"sha256": H1.upper()}, "requires-python": ">=3.9", "yanked": False,
         "core-metadata": {"sha256": M1}, "dist-info-metadata": {"sha256": M1}, "size": 23000,
         "upload-time": "2024-10-18T15:21:38.184145Z"},
        {"filename": "markupsafe-3.0.2.tar.gz", "url": "../../files/markupsafe-3.0.2.tar.gz",
         "hashes": {"sha256": H4, "blake2b_256": "ab"}, "requires-python": None,
         "yanked": "broken", "dist-info-metadata": True},
        {"filename": "MarkupSafe-3.0.2-py3-none-any.whl", "url": "/f/MarkupSafe-3.0.2-py3-none-any.whl",
         "hashes": {}, "yanked": True},
    ],
}


def test_project_url_normalizes_the_index_and_the_name():
    assert project_url("https://pypi.org/simple", "MarkupSafe") == PAGE
    assert project_url("https://pypi.org/simple/", "Foo.Bar_baz") == "https://pypi.org/simple/foo-bar-baz/"
    assert project_url("http://localhost:8080/root/pypi/+simple//", "x") == "http://localhost:8080/root/pypi/+simple/x/"


def test_pypi_html_page():
    links = parse_project_page(PYPI_HTML.encode(), PAGE)
    assert links == (
        Link("MarkupSafe-2.1.5.tar.gz", f"{FILES}/b2/fb/MarkupSafe-2.1.5.tar.gz", (("sha256", H4),), ">=3.7"),
        Link("MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
             f"{FILES}/22/09/MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
             (("sha256", H1),), ">=3.9", core_metadata=f"sha256={M1}"),
        Link("MarkupSafe-3.0.2-cp313-cp313-musllinux_1_2_x86_64.whl",
             f"{FILES}/0f/2a/MarkupSafe-3.0.2-cp313-cp313-musllinux_1_2_x86_64.whl",
             (("sha256", H2),), ">=3.9", core_metadata=True),
        Link("MarkupSafe-3.0.2-cp313-cp313-win_amd64.whl", f"{FILES}/3f/14/MarkupSafe-3.0.2-cp313-cp313-win_amd64.whl",
             (("sha256", H3),), ">=3.9", yanked=True),
        Link("markupsafe-3.0.2.tar.gz", f"{FILES}/b2/97/markupsafe-3.0.2.tar.gz", (("sha256", H4),), ">=3.9",
             yanked=True, yanked_reason="broken & bad"),
    )
    assert links[1].sha256 == H1


def test_html_relative_links_base_href_and_missing_text():
    html = b"""<html><head><base href="/other/"></head><body>
      <a href="../files/foo-1.0-py3-none-any.whl#sha256=ABCDEF">foo-1.0-py3-none-any.whl</a>
      <a href="https://elsewhere/x/foo-1.1.tar.gz#md5=0123"></a>
      <a name="no-href">anchor</a>
      <a href="foo%2B-2.0.zip" data-yanked data-dist-info-metadata>  </a>
    </body></html>"""
    links = parse_project_page(html, "https://idx.example/simple/foo/")
    assert [(l.filename, l.url, l.hashes, l.sha256) for l in links] == [
        ("foo-1.0-py3-none-any.whl", "https://idx.example/files/foo-1.0-py3-none-any.whl",
         (("sha256", "abcdef"),), "abcdef"),
        ("foo-1.1.tar.gz", "https://elsewhere/x/foo-1.1.tar.gz", (("md5", "0123"),), None),
        ("foo+-2.0.zip", "https://idx.example/other/foo%2B-2.0.zip", (), None),
    ]
    assert (links[2].yanked, links[2].yanked_reason, links[2].core_metadata) == (True, None, True)
    assert links[0].core_metadata is False and links[0].requires_python is None


def test_html_without_base_resolves_against_the_page():
    links = parse_project_page(b'<a href="../../packages/foo-1.0.tar.gz">foo-1.0.tar.gz</a>',
                               "https://idx.example/simple/foo/")
    assert links[0].url == "https://idx.example/packages/foo-1.0.tar.gz"


@pytest.mark.parametrize("href", [
    f"{FILES}/ab/cd/foo-1.0-py3-none-any.whl#sha256=ABCDEF",  # PyPI's: absolute, taken as it is
    "https://idx.example/a/../files/foo-1.0.tar.gz#md5=0123",  # dot segments: joined
    "http://idx.example/./foo-1.0.tar.gz",
    "../files/foo-1.0.tar.gz#sha256=AA",  # relative: joined
    "HTTPS://IDX.example/foo-1.0.tar.gz",
])
def test_a_link_is_the_url_urljoin_makes_of_its_href(href):
    from urllib.parse import urldefrag, urljoin

    (link,) = parse_project_page(f'<a href="{href}">foo-1.0.tar.gz</a>'.encode(), "https://idx.example/simple/foo/")
    url, fragment = urldefrag(urljoin("https://idx.example/simple/foo/", href))
    assert link.url == url and link.hashes == ((tuple(fragment.lower().split("=")),) if fragment else ())


def test_html_with_a_charset():
    html = '<a href="f\u00e9-1.0.tar.gz">f\u00e9-1.0.tar.gz</a>'.encode("latin-1")
    links = parse_project_page(html, PAGE, "text/html; charset=ISO-8859-1")
    assert links[0].filename == "f\u00e9-1.0.tar.gz"


def test_empty_html_page_has_no_links():
    assert parse_project_page(b"<html><body><h1>Links for x</h1></body></html>", PAGE) == ()


@pytest.mark.parametrize("content_type", [JSON_CONTENT_TYPE, None, "application/octet-stream"])
def test_pep691_json_page(content_type):
    links = parse_project_page(json.dumps(PYPI_JSON).encode(), PAGE, content_type)
    wheel, sdist, anywheel = links
    assert wheel == Link(PYPI_JSON["files"][0]["filename"], PYPI_JSON["files"][0]["url"], (("sha256", H1),),
                         ">=3.9", core_metadata=f"sha256={M1}", size=23000)
    assert sdist == Link("markupsafe-3.0.2.tar.gz", "https://pypi.org/files/markupsafe-3.0.2.tar.gz",
                         (("blake2b_256", "ab"), ("sha256", H4)), None, True, "broken", True)
    assert anywheel == Link("MarkupSafe-3.0.2-py3-none-any.whl",
                            "https://pypi.org/f/MarkupSafe-3.0.2-py3-none-any.whl", (), None, True, None, False)
    assert anywheel.sha256 is None


def test_json_detected_by_content_type_even_with_leading_whitespace():
    data = b'\n  {"meta": {"api-version": "1.0"}, "files": []}'
    assert parse_project_page(data, PAGE, JSON_CONTENT_TYPE + "; charset=utf-8") == ()


@pytest.mark.parametrize("data, message", [
    (b"{not json", "https://pypi.org/simple/markupsafe/: invalid JSON project page (Expecting property "
                   "name enclosed in double quotes: line 1 column 2 (char 1))"),
    (b'{"meta": {}}', 'https://pypi.org/simple/markupsafe/: not a PEP 691 project page (no "files" list)'),
    (b'{"files": [{"filename": "x.whl"}]}',
     "https://pypi.org/simple/markupsafe/: invalid file entry in the project page: {'filename': 'x.whl'}"),
    (b'{"meta": {"api-version": "2.0"}, "files": []}',
     "https://pypi.org/simple/markupsafe/: unsupported simple repository API version 2.0 "
     "(pylayers reads version 1.x)"),
])
def test_malformed_json_pages(data, message):
    with pytest.raises(ResolutionError) as info:
        parse_project_page(data, PAGE)
    assert str(info.value) == message


def test_html_page_of_an_unsupported_api_version():
    with pytest.raises(ResolutionError, match=r"^https://pypi.org/simple/markupsafe/: unsupported simple "
                                              r"repository API version 2.1 "):
        parse_project_page(b'<meta name="pypi:repository-version" content="2.1"><a href="x">x</a>', PAGE)


def test_html_page_with_an_unknown_charset():
    with pytest.raises(ResolutionError, match=r"^https://pypi.org/simple/markupsafe/: invalid HTML project page"):
        parse_project_page(b"<a href='x'>x</a>", PAGE, "text/html; charset=nope")


def test_redact_url():
    assert redact_url("https://user:s3cret@idx.example/simple/x/") == "https://user:****@idx.example/simple/x/"
    assert redact_url("https://t0ken@idx.example/simple/") == "https://****@idx.example/simple/"
    assert redact_url("https://idx.example/simple/") == "https://idx.example/simple/"


def test_errors_do_not_show_credentials():
    with pytest.raises(ResolutionError) as info:
        parse_project_page(b"{", "https://u:pw@idx.example/simple/x/")
    assert str(info.value).startswith("https://u:****@idx.example/simple/x/: invalid JSON project page")


def test_keep_filter_reads_only_the_kept_anchors_and_keeps_base_and_attributes():
    page = (b'<html><head><base href="https://files.example/base/">'
            b'<meta name="pypi:repository-version" content="1.1"></head><body>\n'
            b'<a href="a-1.0-py3-none-any.whl#sha256=aa" data-requires-python="&gt;=3.8">a-1.0-py3-none-any.whl</a>\n'
            b'<A HREF="a-2.0-py3-none-any.whl#sha256=bb" data-yanked="">a-2.0-py3-none-any.whl</A>\n'
            b"</body></html>")
    [link] = parse_project_page(page, "https://idx.example/simple/a/", keep=lambda f: "2.0" in f)
    assert link.filename == "a-2.0-py3-none-any.whl" and link.yanked
    assert link.url == "https://files.example/base/a-2.0-py3-none-any.whl" and link.sha256 == "bb"
    [old] = parse_project_page(page, "https://idx.example/simple/a/", keep=lambda f: "1.0" in f)
    assert old.requires_python == ">=3.8"
    assert len(parse_project_page(page, "https://idx.example/simple/a/")) == 2


def test_keep_filter_falls_back_to_the_full_parser_on_anchors_it_cannot_delimit():
    page = b'<a href="a-1.0.whl#sha256=aa"><span>a-1.0-py3-none-any.whl</span></a>'
    links = parse_project_page(page, "https://idx.example/simple/a/", keep=lambda f: "1.0" in f)
    assert [link.filename for link in links] == ["a-1.0-py3-none-any.whl"]


def test_keep_filter_on_a_json_page_still_reports_a_malformed_entry():
    files = [{"filename": f"a-{v}-py3-none-any.whl", "url": f"../../f/a-{v}.whl", "hashes": {}}
             for v in ("1.0", "2.0")]
    page = json.dumps({"meta": {"api-version": "1.1"}, "files": files}).encode()
    [link] = parse_project_page(page, "https://idx.example/simple/a/", keep=lambda f: "2.0" in f)
    assert link.url == "https://idx.example/f/a-2.0.whl"
    bad = json.dumps({"meta": {"api-version": "1.1"}, "files": [*files, {"url": "x"}]}).encode()
    with pytest.raises(ResolutionError, match="invalid file entry"):
        parse_project_page(bad, "https://idx.example/simple/a/", keep=lambda f: "2.0" in f)


def test_needles_find_the_same_anchors_as_reading_every_anchor():
    page = (b'<html><head><base href="https://files.example/base/"></head><body>\n'
            b'<a href="a-3.12-py3-none-any.whl#sha256=aa">a-3.12-py3-none-any.whl</a>\n'
            b'<a href="a-2.0-py3-none-any.whl#sha256=bb" data-requires-python="&gt;=3.12">a-2.0-py3-none-any.whl</a>\n'
            b'<A HREF="a-3.12.tar.gz#sha256=cc">a-3.12.tar.gz</A>\n'
            b'<meta name="pypi:repository-version" content="1.1"></body></html>')
    keep = lambda f: "3.12" in f  # noqa: E731
    searched = parse_project_page(page, "https://idx.example/simple/a/", keep=keep, needles=("3.12",))
    assert searched == parse_project_page(page, "https://idx.example/simple/a/", keep=keep)
    assert [link.url for link in searched] == ["https://files.example/base/a-3.12-py3-none-any.whl",
                                               "https://files.example/base/a-3.12.tar.gz"]


@pytest.mark.parametrize("page", [
    b'<a href="a-1.0.whl#sha256=aa"><span>a-1.0-py3-none-any.whl</span></a>',  # not delimited: full parser
    b'<a href="a-1&#46;0.whl#sha256=aa">a-1&#46;0-py3-none-any.whl</a>',  # a character reference: every anchor
])
def test_needles_fall_back_to_reading_the_whole_page(page):
    links = parse_project_page(page, "https://idx.example/simple/a/", keep=lambda f: "1.0" in f, needles=("1.0",))
    assert [link.filename for link in links] == ["a-1.0-py3-none-any.whl"]
