"""frontend.localpkgs: local directories → their built wheels' names and dependencies as pins."""

from __future__ import annotations

from packaging.markers import default_environment

from frontend.inputs.requirements import parse_requirements
from frontend.localpkgs import build_locals

REQ = "/app/requirements.txt"
MARKERS = {**default_environment(), "python_version": "3.13", "sys_platform": "linux"}
META = {
    "/app": b"Metadata-Version: 2.1\nName: My_App\nVersion: 0.1\nRequires-Dist: requests>=2\n"
            b"Requires-Dist: foo\nRequires-Dist: pytest; extra == 'dev'\nRequires-Dist: six==1.17.0\n"
            b"Requires-Dist: pywin32; sys_platform == 'win32'\n",
    "/app/libs/foo": b"Metadata-Version: 2.1\nName: foo\nVersion: 2.0\n",
}


class Builds:
    def __init__(self) -> None:
        self.built = []

    def local_metadata(self, paths):
        self.built.append(list(paths))
        return [META[p] for p in paths]


def sets(text: str):
    return (parse_requirements(REQ, lambda p: text.encode(), {}),)


def test_each_directory_built_once_named_by_its_metadata_and_its_dependencies_pinned_at_its_line():
    builds = Builds()
    given = sets("-e .\nsix==1.17.0\n./libs/foo\n-e /app/\nmy-app==0.1\n")
    local = build_locals(builds, "/app", given, MARKERS)
    assert builds.built == [["/app", "/app/libs/foo"]]
    assert [(c.name, c.version, c.local, c.tag) for c in local.choices] == [
        ("my-app", "0.1", "/app", "local"), ("foo", "2.0", "/app/libs/foo", "local")]
    assert [(p.name, p.version, p.specifier, p.marker, p.line) for p in local.dependencies] == [
        ("requests", "", ">=2", None, 1), ("six", "1.17.0", "==1.17.0", None, 1)]
    kept, deps = local.requirement_sets(given)
    assert [p.name for p in kept.pins] == ["six"] and kept.locals == ()  # my-app==0.1 is the local one
    assert deps.pins == local.dependencies


def test_no_local_directories_build_nothing():
    builds = Builds()
    local = build_locals(builds, "/app", sets("six==1.17.0\n"), MARKERS)
    assert (local.choices, builds.built) == ((), [])


def test_extras_of_a_directory_add_their_dependencies():
    local = build_locals(Builds(), "/app", sets("-e .[Dev]\n"), MARKERS)
    assert [p.name for p in local.dependencies] == ["requests", "foo", "pytest", "six"]
