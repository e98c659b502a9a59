from __future__ import annotations

import json
from dataclasses import dataclass, field
from types import MappingProxyType

import pytest
from packaging import tags as ptags
from packaging.markers import default_environment

from frontend.errors import InputError, InputErrors, ResolutionError
from frontend.inputs.requirements import Pin, RequirementSet, parse_requirements
from frontend.resolve.steps import (DEFAULT_INDEX_URL, all_pinned, choose_wheels, environment, index_urls,
                                   window_urls)
from frontend.resolve.wheels import PackageChoice

PYPI = "https://pypi.org/simple/"
FILES = "https://files.pythonhosted.org/packages/ab/cd"
REQ = "/app/requirements.txt"


def sha(n: int) -> str:
    return f"{n:064x}"


MARKERS = {**default_environment(), "python_version": "3.13", "python_full_version": "3.13.1",
           "sys_platform": "linux", "platform_system": "Linux", "platform_machine": "x86_64",
           "implementation_name": "cpython", "platform_python_implementation": "CPython",
           "os_name": "posix", "implementation_version": "3.13.1"}


@dataclass(frozen=True)
class Target:
    tags: tuple[str, ...] = tuple(str(t) for t in [
        *ptags.cpython_tags((3, 13), ["cp313"], ["manylinux_2_36_x86_64", "manylinux_2_17_x86_64"]),
        *ptags.compatible_tags((3, 13), "cp313", ["manylinux_2_36_x86_64", "manylinux_2_17_x86_64"])])
    python_full_version: str = "3.13.1"
    markers: MappingProxyType = field(default_factory=lambda: MappingProxyType(MARKERS))


@dataclass(frozen=True)
class Options:
    index_url: str | None = None
    extra_index_urls: tuple[str, ...] = ()
    no_deps: bool = False
    only_binary: tuple[str, ...] = ()


def html(*files: tuple[str, int]) -> bytes:
    return "\n".join(f'<a href="{FILES}/{name}#sha256={sha(n)}">{name}</a><br/>' for name, n in files).encode()


class Index:
    """A fake fetch_all: URL → body; unknown URLs are 404 (None). Records each batch."""

    def __init__(self, pages: dict[str, bytes]) -> None:
        self.pages = pages
        self.batches: list[list[str]] = []

    def __call__(self, urls):
        self.batches.append(list(urls))
        return [self.pages.get(url) for url in urls]


PAGES = {
    f"{PYPI}flask/": html(("flask-3.1.3-py3-none-any.whl", 1), ("flask-3.1.3.tar.gz", 2)),
    f"{PYPI}markupsafe/": html(("MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 3),
                               ("MarkupSafe-3.0.2-cp313-cp313-win_amd64.whl", 4), ("markupsafe-3.0.2.tar.gz", 5)),
    f"{PYPI}pywin32/": html(("pywin32-308-cp313-cp313-win_amd64.whl", 6)),
    f"{PYPI}legacy/": html(("legacy-1.0.tar.gz", 7)),
}


def reqs(files: dict[str, str], *tops: str) -> tuple[RequirementSet, ...]:
    def read(path: str) -> bytes:
        if path not in files:
            raise FileNotFoundError(path)
        return files[path].encode()
    return tuple(parse_requirements(top, read, {}) for top in tops or (REQ,))


def run(files: dict[str, str], *tops: str, index=None, options=Options(), env=None, fetch_files=None):
    return choose_wheels(index or Index(PAGES), reqs(files, *tops), options, Target(), env or {},
                         fetch_files=fetch_files)


def test_one_wheel_per_applicable_pin_sorted_by_name_pages_in_one_fetch():
    index = Index(PAGES)
    files = {REQ: 'MarkupSafe==3.0.2\npywin32==308 ; sys_platform == "win32"\nFlask==3.1.3\n'}
    choices = run(files, index=index)
    assert choices == (
        PackageChoice("flask", "3.1.3", "flask-3.1.3-py3-none-any.whl", f"{FILES}/flask-3.1.3-py3-none-any.whl",
                      sha(1), "py3-none-any"),
        PackageChoice("markupsafe", "3.0.2",
                      "MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                      f"{FILES}/MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
                      sha(3), "cp313-cp313-manylinux_2_17_x86_64"),
    )
    # only the simple API, every page in one batch (mirrors rarely serve PyPI's JSON API)
    assert index.batches == [[f"{PYPI}markupsafe/", f"{PYPI}flask/"]]


def test_pins_missing_dependencies_go_through_the_resolver_like_pip():
    from .fakeindex import FakeIndex, Release
    fake = FakeIndex({"flask": [Release("3.1.3", ("blinker>=1.9",))], "blinker": [Release("1.8"), Release("1.9.0")]})
    choices = run({REQ: "Flask==3.1.3\n"}, index=fake.fetch_all, fetch_files=fake.fetch_files)
    assert [(c.name, c.version) for c in choices] == [("blinker", "1.9.0"), ("flask", "3.1.3")]
    assert fake.page_batches[0] == ["https://pypi.org/simple/flask/"]  # the pinned path first


def test_in_hash_checking_mode_missing_dependencies_stay_errors():
    from .fakeindex import FakeIndex, Release, sha as fsha, wheel
    fake = FakeIndex({"flask": [Release("3.1.3", ("blinker>=1.9",))], "blinker": [Release("1.9.0")]})
    digest = fsha(wheel("flask", Release("3.1.3", ("blinker>=1.9",))))
    with pytest.raises(InputError) as info:
        run({REQ: f"Flask==3.1.3 --hash=sha256:{digest}\n"}, index=fake.fetch_all, fetch_files=fake.fetch_files)
    assert str(info.value) == ("/app/requirements.txt:1: flask==3.1.3 requires 'blinker>=1.9', which is not "
                               "pinned; add a pin for blinker (pylayers installs exactly the pinned packages)")


def test_unpinned_requirements_and_constraints_go_through_the_resolver():
    from .fakeindex import FakeIndex, Release
    fake = FakeIndex({"flask": [Release("3.0"), Release("3.1.3")]})
    files = {REQ: "flask\n-c c.txt\n", "/app/c.txt": "flask<3.1\n"}
    choices = run(files, index=fake.fetch_all, fetch_files=fake.fetch_files)
    assert [(c.name, c.version) for c in choices] == [("flask", "3.0")]
    assert fake.page_batches == [["https://pypi.org/simple/flask/"]]


def test_no_pins_fetch_nothing():
    index = Index(PAGES)
    assert run({REQ: "# nothing\n"}, index=index) == ()
    assert index.batches == []


def test_index_precedence():
    sets = reqs({REQ: "-i https://file/simple\n--extra-index-url https://file-extra/simple\n",
                 "/b.txt": "--extra-index-url https://file-extra/simple/\n"}, REQ, "/b.txt")
    env = {"PIP_INDEX_URL": "https://env/simple", "PIP_EXTRA_INDEX_URL": "https://e1/ https://e2/"}
    assert index_urls(Options("https://cli/simple", ("https://cli-extra/",)), sets, env) == (
        "https://cli/simple", "https://cli-extra/", "https://file-extra/simple", "https://e1/", "https://e2/")
    assert index_urls(Options(), sets, env)[0] == "https://file/simple"
    assert index_urls(Options(), sets[1:], env) == (
        "https://env/simple", "https://file-extra/simple/", "https://e1/", "https://e2/")
    assert index_urls(Options(extra_index_urls=(PYPI,)), (), {}) == (DEFAULT_INDEX_URL,)


def test_a_windows_pages_are_every_pinned_project_on_every_index_whatever_the_markers():
    """The window's exec starts before the probe: it fetches the pages of pins the target's
    markers may leave out, and so every page choose_wheels then asks the window for."""
    files = {REQ: "Flask==3.1.3\nmarkupsafe==3.0.2\npywin32==308 ; sys_platform == 'win32'\nMarkupSafe==3.0.2\n"}
    env = {"PIP_EXTRA_INDEX_URL": "https://extra/simple"}
    asked: list[list[str]] = []

    def reused(urls, spellings):
        asked.append(list(urls))
        return None  # not reused: the pages come from the index

    choose_wheels(Index(PAGES), reqs(files), Options(), Target(), env, reused=reused)
    urls = window_urls(reqs(files), Options(), env)
    assert urls == (f"{PYPI}flask/", "https://extra/simple/flask/", f"{PYPI}markupsafe/",
                    "https://extra/simple/markupsafe/", f"{PYPI}pywin32/", "https://extra/simple/pywin32/")
    assert set(asked[0]) <= set(urls) and f"{PYPI}pywin32/" not in asked[0]
    assert all_pinned(reqs(files))


def test_no_window_pages_with_find_links_or_no_index_and_unpinned_lines_are_left_out():
    assert window_urls(reqs({REQ: "--find-links https://links/\nsix==1.17.0\n"}), Options(), {}) == ()
    assert window_urls(reqs({REQ: "--no-index\nsix==1.17.0\n"}), Options(), {}) == ()
    sets = reqs({REQ: "six==1.17.0\nidna>=3\n"})
    assert window_urls(sets, Options(), {}) == (f"{PYPI}six/",) and not all_pinned(sets)


def test_environment_accepts_an_image_config_env_list():
    assert environment(["PATH=/usr/bin", "PIP_INDEX_URL=https://x/?a=b", "JUNK"]) == {
        "PATH": "/usr/bin", "PIP_INDEX_URL": "https://x/?a=b"}
    mapping = {"A": "1"}
    assert environment(mapping) is mapping


def test_every_index_is_asked_and_their_files_merged():
    mirror = "https://mirror.example/simple/"
    index = Index({f"{PYPI}flask/": html(("flask-3.1.3.tar.gz", 2)),
                   f"{mirror}flask/": html(("flask-3.1.3-py3-none-any.whl", 9)),
                   f"{PYPI}markupsafe/": PAGES[f"{PYPI}markupsafe/"]})
    choices = run({REQ: "flask==3.1.3\nmarkupsafe==3.0.2\n"}, index=index,
                  env=("PIP_EXTRA_INDEX_URL=https://mirror.example/simple",))
    assert [(c.name, c.sha256) for c in choices] == [("flask", sha(9)), ("markupsafe", sha(3))]
    assert index.batches == [[f"{PYPI}flask/", f"{mirror}flask/", f"{PYPI}markupsafe/", f"{mirror}markupsafe/"]]


def test_the_first_index_wins_a_tie():
    mirror = "https://mirror.example/simple/"
    index = Index({f"{PYPI}flask/": html(("flask-3.1.3-py3-none-any.whl", 1)),
                   f"{mirror}flask/": html(("flask-3.1.3-py3-none-any.whl", 9))})
    choices = run({REQ: "flask==3.1.3\n"}, index=index, options=Options(extra_index_urls=(mirror,)))
    assert choices[0].sha256 == sha(1)


def test_all_errors_of_the_step_are_reported_together():
    files = {REQ: "flask==9.9\nlegacy==1.0\nmarkupsafe==3.0.2\nnowhere==1\n--only-binary :all:\n",
             "/other.txt": "Flask==9.9.0\nMarkupSafe==3.0.1\n"}
    with pytest.raises(InputErrors) as info:
        run(files, REQ, "/other.txt")
    assert [str(e) for e in info.value.errors] == [
        "/other.txt:2: markupsafe==3.0.1 conflicts with markupsafe==3.0.2 at /app/requirements.txt:3",
        "/app/requirements.txt:1: flask==9.9 not found on https://pypi.org/simple/flask/ (available: 3.1.3)",
        "/app/requirements.txt:2: legacy==1.0 has no wheel for the target (cp313-cp313-manylinux_2_36_x86_64, "
        "Python 3.13) on https://pypi.org/simple/legacy/; only a source distribution exists, and "
        "--only-binary forbids building it",
        "/app/requirements.txt:4: nowhere: no such project on https://pypi.org/simple/nowhere/",
    ]


def test_conflicts_across_requirement_sets_are_at_the_later_one():
    with pytest.raises(InputError) as info:
        run({REQ: "flask==3.1.3\n", "/app/dev.txt": "\n\nflask==3.0.0\n"}, REQ, "/app/dev.txt")
    assert str(info.value) == "/app/dev.txt:3: flask==3.0.0 conflicts with flask==3.1.3 at /app/requirements.txt:1"


def test_markers_choose_between_versions():
    files = {REQ: 'markupsafe==2.1.5 ; python_version < "3.9"\nmarkupsafe==3.0.2 ; python_version >= "3.9"\n'}
    assert [c.version for c in run(files)] == ["3.0.2"]


def test_constraints():
    files = {REQ: "-c /c.txt\nflask==3.1.3\nmarkupsafe==3.0.2\n",
             "/c.txt": 'flask<3 ; sys_platform == "win32"\nmarkupsafe>=3,<4\nother==1\n'}
    assert [c.name for c in run(files)] == ["flask", "markupsafe"]
    files["/c.txt"] += "flask==3.1.2\n"
    with pytest.raises(InputError) as info:
        run(files)
    assert str(info.value) == ("/app/requirements.txt:2: flask==3.1.3 conflicts with the constraint "
                               "'flask==3.1.2' at /c.txt:4")


def test_constraints_of_other_sets_apply_too():
    with pytest.raises(InputError, match=r"^/app/requirements.txt:1: markupsafe==3.0.2 conflicts with the "
                                         r"constraint 'markupsafe<3' at /c.txt:1$"):
        run({REQ: "markupsafe==3.0.2\n", "/top2.txt": "-c /c.txt\n", "/c.txt": "markupsafe<3\n"},
            REQ, "/top2.txt")


def test_a_marker_that_cannot_be_evaluated():
    pin = Pin("flask", "3.1.3", (), 'python_version ~= "x"', (), REQ, 2, 'flask==3.1.3; python_version ~= "x"')
    rs = RequirementSet(REQ, (pin,), (), None, ())
    with pytest.raises(InputError) as info:
        choose_wheels(Index(PAGES), (rs,), Options(), Target(), {})
    assert str(info.value) == ("/app/requirements.txt:2: cannot evaluate the marker of 'flask==3.1.3; "
                               "python_version ~= \"x\"' for the target: Undefined <Op('~=')> on '3.13' and 'x'.")


def test_a_short_fetch_answer_is_a_resolution_error():
    with pytest.raises(ResolutionError, match=r"^fetched 0 index pages for 1 URLs$"):
        choose_wheels(lambda urls: [], reqs({REQ: "flask==3.1.3\n"}), Options(), Target(), {})


def test_a_malformed_page_is_a_resolution_error():
    index = Index({f"{PYPI}flask/": b'{"files": 3}'})
    with pytest.raises(ResolutionError, match=r'^https://pypi.org/simple/flask/: not a PEP 691 project page'):
        run({REQ: "flask==3.1.3\n"}, index=index)


def test_json_pages_work_too():
    page = {"meta": {"api-version": "1.1"}, "files": [
        {"filename": "flask-3.1.3-py3-none-any.whl", "url": "../../f/flask-3.1.3-py3-none-any.whl",
         "hashes": {"sha256": sha(4)}, "requires-python": ">=3.9"}]}
    index = Index({f"{PYPI}flask/": json.dumps(page).encode()})
    (choice,) = run({REQ: "flask==3.1.3\n"}, index=index)
    assert (choice.url, choice.sha256) == ("https://pypi.org/f/flask-3.1.3-py3-none-any.whl", sha(4))


def test_hashes_from_the_file_pick_the_wheel():
    files = {REQ: f"markupsafe==3.0.2 --hash=sha256:{sha(4)} --hash=sha256:{sha(5)}\n"}
    with pytest.raises(InputError) as info:
        run(files)
    assert str(info.value) == (
        "/app/requirements.txt:1: none of the --hash values of markupsafe==3.0.2 match a wheel for this "
        "target (the wheel for it is MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl, "
        f"--hash=sha256:{sha(3)})")


def test_messages_do_not_show_index_credentials():
    index = Index({})
    with pytest.raises(InputError) as info:
        run({REQ: "flask==3.1.3\n"}, index=index, env={"PIP_INDEX_URL": "https://me:${TOKEN}@idx.example/simple"})
    assert index.batches == [["https://me:${TOKEN}@idx.example/simple/flask/"]]
    assert str(info.value) == ("/app/requirements.txt:1: flask: no such project on "
                               "https://me:****@idx.example/simple/flask/")


def test_a_pinned_sdist_is_built_and_its_dependencies_checked_against_the_pins():
    built, wants = [], ["flask>=3"]

    def sdist_metadata(choices):
        built.append([(c.name, c.filename, c.sdist) for c in choices])
        return [f"Metadata-Version: 2.1\nName: legacy\nVersion: 1.0\nRequires-Dist: {wants[0]}\n".encode()
                for _ in choices]

    def fetch_files(items):  # flask's wheel's METADATA (the page announces no PEP 658 file)
        return [b"Metadata-Version: 2.1\nName: flask\nVersion: 3.1.3\n" for _ in items]

    files = {REQ: "legacy==1.0\nflask==3.1.3\n"}
    choices = choose_wheels(Index(PAGES), reqs(files), Options(), Target(), {}, fetch_files=fetch_files,
                            wheel_metadata=fetch_files, sdist_metadata=sdist_metadata)
    assert [(c.name, c.filename, c.sdist, c.tag) for c in choices] == [
        ("flask", "flask-3.1.3-py3-none-any.whl", False, "py3-none-any"),
        ("legacy", "legacy-1.0.tar.gz", True, "source")]
    assert built == [[("legacy", "legacy-1.0.tar.gz", True)]]
    wants[0] = "flask<3"
    with pytest.raises(InputError) as info:  # its dependencies count like a wheel's
        choose_wheels(Index(PAGES), reqs(files), Options(), Target(), {}, fetch_files=fetch_files,
                      wheel_metadata=fetch_files, sdist_metadata=sdist_metadata)
    assert str(info.value) == ("/app/requirements.txt:2: flask==3.1.3 does not satisfy 'flask<3', required by "
                               "legacy==1.0 (/app/requirements.txt:1)")


def test_only_binary_of_the_run_line_forbids_the_sdist():
    with pytest.raises(InputError) as info:
        run({REQ: "legacy==1.0\n"}, options=Options(only_binary=("legacy",)))
    assert str(info.value).endswith("only a source distribution exists, and --only-binary forbids building it")


def test_no_binary_builds_a_pinned_package_from_its_sdist_where_a_wheel_fits():
    (flask,) = run({REQ: "--no-binary flask\nflask==3.1.3\n"})
    assert (flask.filename, flask.sdist) == ("flask-3.1.3.tar.gz", True)


def test_early_hears_of_the_pinned_choice_before_the_dependency_check():
    heard, checked = [], []

    def fetch_files(items):
        checked.append(len(heard))  # what early had heard by the time metadata was fetched
        return [b"Metadata-Version: 2.1\nName: flask\nVersion: 3.1.3\n" for _ in items]

    choices = choose_wheels(Index(PAGES), reqs({REQ: "flask==3.1.3\n"}), Options(), Target(), {},
                            fetch_files=fetch_files, wheel_metadata=fetch_files, early=heard.append)
    assert heard == [choices] and checked and checked[0] == 1


class Reused(Index):
    """A fake ReusedPages: the pages of an earlier build, or None (none to reuse)."""

    def __call__(self, urls, spellings):
        assert len(spellings) == len(urls)
        self.batches.append(list(urls))
        return None if self.pages is None else [self.pages.get(url, b"") for url in urls]


def choose(files: dict[str, str], reused: Reused, index: Index):
    return choose_wheels(index, reqs(files), Options(), Target(), {}, reused=reused)


def test_reused_pages_are_used_when_every_pin_finds_its_file_there():
    reused, index = Reused(PAGES), Index({})
    (flask,) = choose({REQ: "flask==3.1.3\n"}, reused, index)
    assert flask.filename == "flask-3.1.3-py3-none-any.whl"
    assert reused.batches == [[f"{PYPI}flask/"]] and index.batches == []


def test_a_version_missing_from_the_reused_pages_fetches_them_all_again():
    new = {**PAGES, f"{PYPI}flask/": html(("flask-3.1.3-py3-none-any.whl", 1), ("flask-3.2.0-py3-none-any.whl", 8))}
    reused, index = Reused(PAGES), Index(new)
    choices = choose({REQ: "flask==3.2.0\nMarkupSafe==3.0.2\n"}, reused, index)
    assert [c.filename for c in choices] == ["flask-3.2.0-py3-none-any.whl",
                                             "MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl"]
    assert index.batches == [[f"{PYPI}flask/", f"{PYPI}markupsafe/"]]


def test_without_reused_pages_they_are_fetched_and_errors_come_from_the_fresh_pages():
    reused, index = Reused(None), Index(PAGES)
    with pytest.raises(InputError, match=r"requirements.txt:1: flask==9.9 not found on https://pypi.org/simple/flask/"):
        choose({REQ: "flask==9.9\n"}, reused, index)
    assert reused.batches and index.batches == [[f"{PYPI}flask/"]]
