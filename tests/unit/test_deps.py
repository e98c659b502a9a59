"""Dependency check of the pins against each chosen wheel's Requires-Dist."""

import pytest

from frontend.errors import InputError, InputErrors
from frontend.inputs.requirements import Pin
from frontend.resolve.deps import dependency_errors
from frontend.resolve.steps import check_dependencies
from frontend.resolve.wheels import PackageChoice

MARKERS = {"python_version": "3.13", "python_full_version": "3.13.5", "sys_platform": "linux",
           "platform_system": "Linux", "platform_machine": "x86_64", "os_name": "posix",
           "implementation_name": "cpython", "platform_python_implementation": "CPython",
           "implementation_version": "3.13.5", "platform_release": "", "platform_version": ""}


def pin(name, version, line, extras=()):
    return Pin(name=name, version=version, extras=tuple(extras), marker=None, hashes=(),
               file="/r/prod.txt", line=line, text=f"{name}=={version}")


def choice(name, version):
    return PackageChoice(name=name, version=version, filename=f"{name}-{version}-py3-none-any.whl",
                         url=f"https://f/{name}.whl", sha256="0" * 64, tag="py3-none-any",
                         metadata=True, metadata_sha256="1" * 64)


FLASK = (b"Metadata-Version: 2.1\nName: Flask\nVersion: 3.1.3\n"
         b"Requires-Dist: Werkzeug>=3.1\nRequires-Dist: blinker>=1.9.0\n"
         b"Requires-Dist: importlib-metadata>=3.6; python_version < '3.10'\n"
         b"Requires-Dist: asgiref>=3.2; extra == 'async'\n\nlong description\nRequires-Dist: fake\n")


def test_satisfied_pins_and_inapplicable_markers_pass():
    pins = {p.name: p for p in (pin("flask", "3.1.3", 1), pin("werkzeug", "3.1.9", 2), pin("blinker", "1.9.0", 3))}
    assert dependency_errors([choice("flask", "3.1.3")], pins, {"flask": FLASK}, MARKERS) == []


def test_missing_dependency_names_package_requirement_file_and_line():
    pins = {p.name: p for p in (pin("flask", "3.1.3", 4), pin("werkzeug", "3.1.9", 2))}
    [error] = dependency_errors([choice("flask", "3.1.3")], pins, {"flask": FLASK}, MARKERS)
    assert str(error) == ("/r/prod.txt:4: flask==3.1.3 requires 'blinker>=1.9.0', which is not pinned; "
                          "add a pin for blinker (pylayers installs exactly the pinned packages)")


def test_conflicting_pin_is_reported_at_the_dependency_line():
    pins = {p.name: p for p in (pin("flask", "3.1.3", 1), pin("werkzeug", "2.3.0", 7), pin("blinker", "1.9.0", 3))}
    [error] = dependency_errors([choice("flask", "3.1.3")], pins, {"flask": FLASK}, MARKERS)
    assert str(error) == ("/r/prod.txt:7: werkzeug==2.3.0 does not satisfy 'Werkzeug>=3.1', "
                          "required by flask==3.1.3 (/r/prod.txt:1)")


def test_extras_of_the_pin_turn_on_extra_requirements():
    pins = {p.name: p for p in (pin("flask", "3.1.3", 1, ["async"]), pin("werkzeug", "3.1.9", 2),
                                pin("blinker", "1.9.0", 3))}
    [error] = dependency_errors([choice("flask", "3.1.3")], pins, {"flask": FLASK}, MARKERS)
    assert "requires 'asgiref>=3.2'" in str(error)


def test_check_dependencies_fetches_pinned_metadata_and_collects_errors():
    seen = []

    def fetch_files(items):
        seen.extend(items)
        return [FLASK, b"Name: werkzeug\nRequires-Dist: markupsafe>=2.1.1\n"]

    pins = [pin("flask", "3.1.3", 1), pin("werkzeug", "3.1.9", 2)]
    with pytest.raises(InputErrors) as info:
        check_dependencies(fetch_files, [choice("flask", "3.1.3"), choice("werkzeug", "3.1.9")], pins,
                           type("T", (), {"markers": MARKERS})())
    assert seen == [("https://f/flask.whl.metadata", "1" * 64), ("https://f/werkzeug.whl.metadata", "1" * 64)]
    assert len(info.value.errors) == 2 and all(isinstance(e, InputError) for e in info.value.errors)
