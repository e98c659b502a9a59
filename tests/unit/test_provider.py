"""The resolver over a fake index: pip's choices, batching of fetches, and its error messages."""

from __future__ import annotations

import pytest

from frontend.errors import InputError
from frontend.inputs.requirements import parse_requirements
from frontend.resolve.provider import Settings
from frontend.resolve.resolver import Request, Sources, resolve

from .fakeindex import FILES, INDEX, MARKERS, TAGS, FakeIndex, Release, sha, wheel

REQ = "/app/requirements.txt"


def run(index: FakeIndex, text: str, pre: bool = False, no_deps: bool = False, constraints: str = "",
        find_links: tuple[str, ...] = (), python: str = "3.13.1", sdists: bool = True) -> dict[str, str]:
    files = {REQ: text.encode(), "/app/c.txt": constraints.encode()}
    rs = parse_requirements(REQ, lambda p: files[p], {})
    cs = parse_requirements("/app/c.txt", lambda p: files[p], {}) if constraints else None
    request = Request(roots=rs.pins, constraints=cs.pins if cs else (),
                      settings=Settings(python, {**MARKERS, "python_full_version": python,
                                                  "python_version": ".".join(python.split(".")[:2])},
                                        pre=pre or rs.pre, no_deps=no_deps,
                                        only_binary=frozenset(rs.only_binary)), tags=TAGS)
    choices = resolve(request, Sources((INDEX,), find_links or rs.find_links), index.fetch_all,
                      index.fetch_files, index.sdist_metadata if sdists else None)
    return {c.name: c.version for c in choices}


def error_of(index: FakeIndex, text: str, **kw) -> str:
    with pytest.raises(InputError) as info:
        run(index, text, **kw)
    return str(info.value)


WEB = {
    "flask": [Release("2.0.0", ("werkzeug>=2.0", "click>=7")),
              Release("3.1.0", ("werkzeug>=3.1", "click>=8.1", "blinker>=1.9",
                                'importlib-metadata>=3.6; python_version < "3.10"'))],
    "werkzeug": [Release("2.3.0"), Release("3.1.3", ("markupsafe>=2.1.1",)), Release("3.2.0rc1")],
    "click": [Release("8.1.8"), Release("8.2.0", requires_python=">=3.14")],
    "blinker": [Release("1.9.0"), Release("1.10.0", yanked=True)],
    "markupsafe": [Release("3.0.2", tag="cp313-cp313-manylinux_2_17_x86_64"),
                   Release("3.0.3", tag="cp312-cp312-manylinux_2_17_x86_64"),
                   Release("3.0.3", tag="sdist")],
    "importlib-metadata": [Release("8.0.0")],
}


def test_newest_compatible_versions_like_pip():
    index = FakeIndex(WEB)
    # click 8.2 needs Python 3.14, blinker 1.10 is yanked, werkzeug 3.2.0rc1 is a pre-release,
    # markupsafe 3.0.3 has only an sdist for cp313 (pip would build it: so would be chosen)...
    index.projects["markupsafe"] = WEB["markupsafe"][:2]
    assert run(index, "flask\n") == {"flask": "3.1.0", "werkzeug": "3.1.3", "click": "8.1.8",
                                     "blinker": "1.9.0", "markupsafe": "3.0.2"}


def test_fetches_in_few_rounds():
    index = FakeIndex({k: v[:2] for k, v in WEB.items()})
    run(index, "flask\n")
    # pages of flask; flask's metadata + pages of its deps; their metadata + markupsafe's page;
    # markupsafe's metadata
    assert len(index.page_batches) + len(index.file_batches) <= 8
    assert [len(b) for b in index.page_batches] == [1, 3, 1]
    assert sum(len(b) for b in index.file_batches) == 5  # one metadata file per chosen package


def test_pins_constraints_pre_and_exactly_pinned_yanked():
    index = FakeIndex(WEB)
    assert run(index, "flask==2.0.0\nwerkzeug<3\nblinker==1.10.0\n")["werkzeug"] == "2.3.0"
    assert run(index, "blinker==1.10.0\n") == {"blinker": "1.10.0"}
    assert run(index, "werkzeug\n", pre=True)["werkzeug"] == "3.2.0rc1"
    assert run(index, "werkzeug>=3.2.0rc1\n")["werkzeug"] == "3.2.0rc1"  # a pre-release spec allows them
    assert run(index, "flask\n", constraints="werkzeug<3.1\nflask<3\n")["flask"] == "2.0.0"
    assert run(index, "flask\n", no_deps=True) == {"flask": "3.1.0"}


def test_markers_and_extras_for_the_target():
    index = FakeIndex({
        "app": [Release("1.0", ('uvloop; sys_platform == "win32"', "anyio>=4",
                                'rich; extra == "cli"', 'colorama; extra == "cli" and os_name == "nt"'))],
        "anyio": [Release("4.5.0", ("idna>=2.8", 'exceptiongroup; python_version < "3.11"'))],
        "idna": [Release("3.10")], "rich": [Release("13.9.0")], "uvloop": [Release("0.21")],
        "colorama": [Release("0.4.6")], "exceptiongroup": [Release("1.2.0")],
    })
    assert run(index, "app\n") == {"app": "1.0", "anyio": "4.5.0", "idna": "3.10"}
    assert run(index, "APP[CLI]\n") == {"app": "1.0", "anyio": "4.5.0", "idna": "3.10", "rich": "13.9.0"}
    assert run(index, "app[cli] ; python_version >= '3.9'\n")["rich"] == "13.9.0"
    markers_311 = run(index, "anyio\n", python="3.10.4")
    assert markers_311 == {"anyio": "4.5.0", "idna": "3.10", "exceptiongroup": "1.2.0"}


def test_backtracking_fetches_older_versions_on_demand():
    index = FakeIndex({
        "a": [Release("1.0", ("b<2",)), Release("2.0", ("b>=2", "c<1"))],
        "b": [Release("1.5"), Release("2.0")],
        "c": [Release("0.5"), Release("1.0")],
        "d": [Release("1.0", ("c>=1",))],
    })
    assert run(index, "a\nd\n") == {"a": "1.0", "b": "1.5", "d": "1.0", "c": "1.0"}


def test_the_walk_skips_versions_the_users_own_pins_rule_out():
    index = FakeIndex({
        "django": [Release("5.1.5"), Release("5.2.1")],
        "drf": [Release("3.15", ("django>=4.2",)), Release("3.16", ("django>=4.2",)),
                Release("3.17", ("django>=5.2",)), Release("3.18", ("django>=5.2",))],
    })
    assert run(index, "django==5.1.*\ndrf\n") == {"django": "5.1.5", "drf": "3.16"}
    # pages; newest metadata; the two next older at once (3.17 is ruled out too): no round per version
    assert len(index.page_batches) + len(index.file_batches) <= 4


def test_metadata_from_the_wheel_when_the_index_serves_none():
    index = FakeIndex({"a": [Release("1.0", ("b",), metadata_file=False)], "b": [Release("2.0")]})
    assert run(index, "a\n") == {"a": "1.0", "b": "2.0"}
    assert f"{FILES}/a-1.0-py3-none-any.whl" in [u for batch in index.file_batches for u, _ in batch]


def test_metadata_files_the_page_does_not_announce_are_tried_first():
    index = FakeIndex({"a": [Release("1.0", ("b",), metadata_file=False)], "b": [Release("2.0", metadata_file=False)]},
                      serves_unannounced_metadata=True)
    assert run(index, "a\n") == {"a": "1.0", "b": "2.0"}
    assert index.file_batches == []  # no wheel downloaded
    assert index.page_batches[1] == [f"{FILES}/a-1.0-py3-none-any.whl.metadata"]


def test_direct_url_wheel_and_find_links():
    release = Release("0.9", ("b",))
    body = wheel("a", release)
    url = "https://example.com/w/a-0.9-py3-none-any.whl"
    links = "https://example.com/links/"
    index = FakeIndex({"b": [Release("1.0")]}, extra_files={
        url: body, links: f'<a href="{FILES}/c-2.0-py3-none-any.whl#sha256={sha(wheel("c", Release("2.0")))}">'
                          'c-2.0-py3-none-any.whl</a>'.encode(),
        f"{FILES}/c-2.0-py3-none-any.whl": wheel("c", Release("2.0"))})
    assert run(index, f"a @ {url}#sha256={sha(body)}\nc\n-f {links}\n") == {"a": "0.9", "b": "1.0", "c": "2.0"}


def test_conflict_explained_like_pip_naming_the_lines():
    index = FakeIndex({"a": [Release("1.0", ("c<1",))], "b": [Release("2.0", ("c>=1",))],
                       "c": [Release("0.5"), Release("1.0")]})
    assert error_of(index, "a==1.0\nb==2.0\n") == (
        "/app/requirements.txt:1: Cannot install a==1.0 (/app/requirements.txt:1) and b==2.0 "
        "(/app/requirements.txt:2) because these package versions have conflicting dependencies.\n"
        "The conflict is caused by:\n"
        "    a 1.0 depends on c<1\n"
        "    b 2.0 depends on c>=1\n"
        "To fix this, loosen the range of package versions you've specified, or remove package versions "
        "to allow the dependency conflict to be solved.")


def test_conflict_with_a_constraint():
    index = FakeIndex({"a": [Release("1.0", ("c>=1",))], "c": [Release("0.5"), Release("1.0")]})
    assert error_of(index, "a\n", constraints="c<1\n") == (
        "/app/requirements.txt:1: Cannot install a==1.0 (/app/requirements.txt:1) because these package "
        "versions have conflicting dependencies.\n"
        "The conflict is caused by:\n"
        "    a 1.0 depends on c>=1\n"
        "    The user requested (constraint) c<1 (/app/c.txt:1)\n"
        "To fix this, loosen the range of package versions you've specified, or remove package versions "
        "to allow the dependency conflict to be solved.")


def test_no_version_no_project_and_no_wheel_for_the_target():
    index = FakeIndex({"a": [Release("1.0")], "native": [Release("1.0", tag="cp27-cp27mu-manylinux1_x86_64")],
                       "b": [Release("1.0", ("nosuch",))]})
    assert error_of(index, "flask\na>=2\n") == (
        "/app/requirements.txt:1: flask: no such project on https://pypi.org/simple/flask/")
    assert error_of(index, "a>=2\n") == (
        "/app/requirements.txt:1: Could not find a version that satisfies the requirement a>=2 "
        "(from versions: 1.0)")
    assert error_of(index, "b\n") == (
        "/app/requirements.txt:1: nosuch (required by b 1.0): no such project on https://pypi.org/simple/nosuch/")
    assert error_of(index, "native\n") == (
        "/app/requirements.txt:1: Could not find a version that satisfies the requirement native "
        "(from versions: none); none of its files fits the target (cp313-cp313-manylinux_2_36_x86_64, "
        "Python 3.13): wheels for other platforms or Python versions only")


def test_sdist_only_forbidden_by_only_binary_is_a_clear_error_naming_the_line():
    index = FakeIndex({"app": [Release("1.0", ("legacy>=1",))], "legacy": [Release("1.2", tag="sdist")]})
    assert error_of(index, "--only-binary legacy\napp\n") == (
        "/app/requirements.txt:2: legacy==1.2 (needed by app 1.0) has no wheel for the target "
        "(cp313-cp313-manylinux_2_36_x86_64, Python 3.13); only a source distribution exists "
        "(legacy-1.2.tar.gz), and --only-binary forbids building it")
    assert index.sdist_builds == []


def test_an_sdist_without_a_fitting_wheel_is_built_for_its_dependencies():
    index = FakeIndex({"app": [Release("1.0", ("legacy>=1",))],
                       "legacy": [Release("1.1"), Release("1.2", ("six",), tag="sdist"),
                                  Release("1.3", tag="cp27-cp27m-win32"), Release("1.3", ("six",), tag="sdist")],
                       "six": [Release("1.17.0")]})
    choices = {c.name: c for c in resolve_choices(index, "app\n")}
    assert {n: (c.version, c.sdist, c.filename) for n, c in choices.items()} == {
        "app": ("1.0", False, "app-1.0-py3-none-any.whl"), "legacy": ("1.3", True, "legacy-1.3.tar.gz"),
        "six": ("1.17.0", False, "six-1.17.0-py3-none-any.whl")}
    assert index.sdist_builds == [["legacy-1.3.tar.gz"]]  # built once, newest only (pip's choice)


def test_no_binary_resolves_to_the_newest_sdist_even_where_wheels_fit():
    index = FakeIndex({"legacy": [Release("1.1"), Release("1.1", tag="sdist"), Release("1.2")],
                       "six": [Release("1.17.0")]})
    choices = {c.name: c for c in resolve_choices(index, "--no-binary legacy\nlegacy\nsix\n")}
    assert (choices["legacy"].filename, choices["legacy"].sdist) == ("legacy-1.1.tar.gz", True)
    assert (choices["six"].sdist, index.sdist_builds) == (False, [["legacy-1.1.tar.gz"]])


def resolve_choices(index: FakeIndex, text: str):
    rs = parse_requirements(REQ, lambda p: text.encode(), {})
    settings = Settings("3.13.1", MARKERS, no_binary=frozenset(rs.no_binary))
    return resolve(Request(rs.pins, (), settings, TAGS), Sources((INDEX,)), index.fetch_all, index.fetch_files,
                   index.sdist_metadata)


def test_requires_python_of_the_metadata():
    index = FakeIndex({"a": [Release("1.0"), Release("2.0", requires_python=">=3.14", page_requires_python=False)],
                       "b": [Release("1.0", ("a>=2",))]})
    assert run(index, "a\n") == {"a": "1.0"}  # 2.0 said so only in its metadata: pip backtracks too
    assert error_of(index, "b\n") == (
        "/app/requirements.txt:1: a 2.0 requires a different Python: 3.13.1 not in '>=3.14'")
