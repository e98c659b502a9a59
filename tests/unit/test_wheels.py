from __future__ import annotations

import pytest
from packaging import tags as ptags

from frontend.errors import InputError, ResolutionError
from frontend.inputs.requirements import Pin
from frontend.resolve.index import Link, parse_project_page
from frontend.resolve.wheels import PackageChoice, select_wheel

PAGE = "https://pypi.org/simple/markupsafe/"
FILES = "https://files.pythonhosted.org/packages/00/00"


def target_tags(platforms: list[str], version=(3, 13), abi="cp313") -> tuple[str, ...]:
    return tuple(str(t) for t in [*ptags.cpython_tags(version, [abi], platforms),
                                  *ptags.compatible_tags(version, f"cp{version[0]}{version[1]}", platforms)])


MANYLINUX = target_tags([f"manylinux_2_{m}_x86_64" for m in range(36, 16, -1)]
                        + ["manylinux2014_x86_64", "linux_x86_64"])
MUSL = target_tags(["musllinux_1_2_x86_64", "musllinux_1_1_x86_64", "linux_x86_64"])


def sha(n: int) -> str:
    return f"{n:064x}"


def link(filename: str, n: int | None = 1, requires_python: str | None = ">=3.9", yanked: bool = False) -> Link:
    return Link(filename, f"{FILES}/{filename}", (("sha256", sha(n)),) if n is not None else (),
                requires_python, yanked)


def pin(spec: str = "3.0.2", hashes: tuple[str, ...] = (), name: str = "markupsafe") -> Pin:
    return Pin(name, spec, (), None, hashes, "/app/requirements.txt", 7, f"{name}=={spec}")


def choose(links, p=None, tags=MANYLINUX, python="3.13.1"):
    return select_wheel(p or pin(), links, tags, python, PAGE)


MARKUPSAFE = [
    link("MarkupSafe-3.0.1-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 11),
    link("MarkupSafe-3.0.2-cp313-cp313-macosx_11_0_arm64.whl", 1),
    link("MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 2),
    link("MarkupSafe-3.0.2-cp313-cp313-musllinux_1_2_x86_64.whl", 3),
    link("MarkupSafe-3.0.2-cp313-cp313-win_amd64.whl", 4),
    link("MarkupSafe-3.0.2-cp313-cp313t-manylinux_2_17_x86_64.manylinux2014_x86_64.whl", 5),
    link("markupsafe-3.0.2.tar.gz", 6),
    link("MarkupSafe2-3.0.2-py3-none-any.whl", 7),  # another project on the same page
    link("MarkupSafe-3.0.2-py3.whl", 8),
    link("MarkupSafe-3.0.2.exe", 9),
]


def test_picks_the_wheel_for_the_target():
    assert choose(MARKUPSAFE) == PackageChoice(
        name="markupsafe", version="3.0.2",
        filename="MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        url=f"{FILES}/MarkupSafe-3.0.2-cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64.whl",
        sha256=sha(2), tag="cp313-cp313-manylinux_2_17_x86_64", yanked=False)


def test_musllinux_target():
    choice = choose(MARKUPSAFE, tags=MUSL)
    assert (choice.filename, choice.tag) == ("MarkupSafe-3.0.2-cp313-cp313-musllinux_1_2_x86_64.whl",
                                             "cp313-cp313-musllinux_1_2_x86_64")


def test_version_comparison_is_by_version_not_text():
    choice = choose(MARKUPSAFE, pin("3.0.2.0"))
    assert choice.version == "3.0.2" and choice.sha256 == sha(2)


def test_the_best_tag_wins_then_the_highest_build():
    links = [link("foo-1.0-py3-none-any.whl", 1), link("foo-1.0-cp39-abi3-manylinux_2_28_x86_64.whl", 2),
             link("foo-1.0-cp313-cp313-manylinux_2_28_x86_64.whl", 3),
             link("foo-1.0-1-cp313-cp313-manylinux_2_28_x86_64.whl", 4),
             link("foo-1.0-2-cp313-cp313-manylinux_2_28_x86_64.whl", 5),
             link("foo-1.0-cp313-cp313-manylinux_2_17_x86_64.whl", 6)]
    assert choose(links, pin("1.0", name="foo")).sha256 == sha(5)
    assert choose(links[:2], pin("1.0", name="foo")).tag == "cp39-abi3-manylinux_2_28_x86_64"
    assert choose(links[:1], pin("1.0", name="foo")).tag == "py3-none-any"


def test_yanked_only_when_nothing_else_fits():
    links = [link("foo-1.0-cp313-cp313-manylinux_2_28_x86_64.whl", 1, yanked=True),
             link("foo-1.0-py3-none-any.whl", 2)]
    assert (choose(links, pin("1.0", name="foo")).sha256, choose(links, pin("1.0", name="foo")).yanked) == (sha(2), False)
    only = choose(links[:1], pin("1.0", name="foo"))
    assert (only.sha256, only.yanked) == (sha(1), True)


def test_requires_python_excludes_a_wheel():
    links = [link("foo-1.0-py3-none-any.whl", 1, requires_python=">=3.14"),
             link("foo-1.0-cp313-cp313-manylinux_2_28_x86_64.whl", 2, requires_python="<3.14,>=3.9")]
    assert choose(links, pin("1.0", name="foo")).sha256 == sha(2)
    with pytest.raises(InputError) as info:
        choose(links[:1], pin("1.0", name="foo"))
    assert str(info.value) == ("/app/requirements.txt:7: foo==1.0 requires Python >=3.14 and the target has "
                               "Python 3.13.1")


def test_unreadable_requires_python_excludes_nothing():
    assert choose([link("foo-1.0-py3-none-any.whl", 1, requires_python=">=3.9.*x")], pin("1.0", name="foo"))


def test_hashes_choose_among_their_wheels():
    links = [link("foo-1.0-cp313-cp313-manylinux_2_28_x86_64.whl", 1), link("foo-1.0-py3-none-any.whl", 2)]
    assert choose(links, pin("1.0", (f"sha256:{sha(2)}", f"sha256:{sha(9)}"), "foo")).sha256 == sha(2)
    assert choose(links, pin("1.0", (f"sha256:{sha(1)}", f"sha256:{sha(2)}"), "foo")).sha256 == sha(1)


def test_no_hash_matches():
    links = [link("foo-1.0-cp313-cp313-manylinux_2_28_x86_64.whl", 1), link("foo-1.0-py3-none-any.whl", 2)]
    with pytest.raises(InputError) as info:
        choose(links, pin("1.0", (f"sha256:{sha(9)}",), "foo"))
    assert str(info.value) == (
        "/app/requirements.txt:7: none of the --hash values of foo==1.0 match a wheel for this target (the "
        f"wheel for it is foo-1.0-cp313-cp313-manylinux_2_28_x86_64.whl, --hash=sha256:{sha(1)})")


def test_the_index_gives_no_sha256():
    with pytest.raises(ResolutionError) as info:
        choose([link("foo-1.0-py3-none-any.whl", None)], pin("1.0", name="foo"))
    assert str(info.value) == ("the index gives no sha256 for foo-1.0-py3-none-any.whl; pylayers needs one "
                               "to pin the download (https://pypi.org/simple/markupsafe/)")


def test_only_an_sdist_is_built_unless_only_binary_forbids_it():
    links = [link("foo-1.0.tar.gz"), link("foo-0.9-py3-none-any.whl"), link("foo-1.0-cp27-cp27m-win32.whl")]
    chosen = select_wheel(pin("1.0", name="foo"), links, MANYLINUX, "3.13.1", PAGE, allow_sdist=True)
    assert (chosen.filename, chosen.sdist, chosen.tag, chosen.version) == ("foo-1.0.tar.gz", True, "source", "1.0")
    with pytest.raises(InputError) as info:
        choose(links[:2], pin("1.0", name="foo"))
    assert str(info.value) == (
        "/app/requirements.txt:7: foo==1.0 has no wheel for the target (cp313-cp313-manylinux_2_36_x86_64, "
        "Python 3.13) on https://pypi.org/simple/markupsafe/; only a source distribution exists, and "
        "--only-binary forbids building it")


def test_no_binary_takes_the_sdist_even_where_a_wheel_fits():
    links = [link("foo-1.0.tar.gz"), link("foo-1.0-py3-none-any.whl")]
    chosen = select_wheel(pin("1.0", name="foo"), links, MANYLINUX, "3.13.1", PAGE, prefer_sdist=True)
    assert (chosen.filename, chosen.sdist) == ("foo-1.0.tar.gz", True)
    with pytest.raises(InputError) as info:
        select_wheel(pin("1.0", name="foo"), links[1:], MANYLINUX, "3.13.1", PAGE, prefer_sdist=True)
    assert str(info.value) == ("/app/requirements.txt:7: foo==1.0 has no source distribution on "
                               "https://pypi.org/simple/markupsafe/, and --no-binary foo excludes its wheels")


def test_a_fitting_wheel_wins_over_the_sdist():
    links = [link("foo-1.0.tar.gz"), link("foo-1.0-py3-none-any.whl")]
    chosen = select_wheel(pin("1.0", name="foo"), links, MANYLINUX, "3.13.1", PAGE, allow_sdist=True)
    assert (chosen.filename, chosen.sdist) == ("foo-1.0-py3-none-any.whl", False)


def test_wheels_only_for_other_targets():
    with pytest.raises(InputError) as info:
        choose(MARKUPSAFE, tags=target_tags(["macosx_14_0_x86_64"], (3, 12), "cp312"), python="3.12.7")
    assert str(info.value) == (
        "/app/requirements.txt:7: markupsafe==3.0.2 has no wheel for the target (cp312-cp312-macosx_14_0_x86_64, "
        "Python 3.12) on https://pypi.org/simple/markupsafe/; its wheels are for "
        "cp313-cp313-macosx_11_0_arm64, cp313-cp313-manylinux_2_17_x86_64.manylinux2014_x86_64, "
        "cp313-cp313-musllinux_1_2_x86_64, cp313-cp313-win_amd64, "
        "cp313-cp313t-manylinux_2_17_x86_64.manylinux2014_x86_64")


def test_version_not_found_lists_the_last_five():
    links = [link(f"foo-{v}-py3-none-any.whl") for v in ("1.0", "1.10", "1.2", "2.0rc1", "0.9", "1.9")]
    with pytest.raises(InputError) as info:
        choose(links + [link("foo-3.0.tar.gz")], pin("2.0", name="foo"))
    assert str(info.value) == ("/app/requirements.txt:7: foo==2.0 not found on https://pypi.org/simple/markupsafe/ "
                               "(available: 1.2, 1.9, 1.10, 2.0rc1, 3.0)")


def test_nothing_on_the_page():
    with pytest.raises(InputError, match=r"^/app/requirements.txt:7: foo==1 not found on "
                                         r"https://pypi.org/simple/markupsafe/ \(available: none\)$"):
        choose([], pin("1", name="foo"))


def test_from_a_parsed_pypi_page():
    html = "\n".join(f'<a href="{l.url}#sha256={l.sha256}" data-requires-python="&gt;=3.9">{l.filename}</a><br />'
                     for l in MARKUPSAFE)
    links = parse_project_page(html.encode(), PAGE)
    assert choose(links).sha256 == sha(2)
    with pytest.raises(InputError, match="requires Python >=3.9 and the target has Python 3.8.10"):
        choose(links, tags=target_tags(["manylinux_2_17_x86_64"], (3, 8), "cp38") + MANYLINUX, python="3.8.10")


def test_the_choice_carries_the_size_the_index_gives():
    sized = Link("six-1.17.0-py2.py3-none-any.whl", f"{FILES}/six.whl", (("sha256", sha(1)),), None, size=11050)
    assert choose([sized], pin("1.17.0", name="six")).size == 11050
    assert choose(MARKUPSAFE).size is None
