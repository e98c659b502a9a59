"""The in-build wheel installer: scheme paths, scripts, RECORD, bytecode, reproducibility, safety."""

import base64
import hashlib
import io
import json
import os
import stat
import subprocess
import sys
import zipfile
from pathlib import Path

import pytest

from frontend.installer import installer_zipapp
from tests.wheelzip import add_entries, zip_entry

SCHEME = {"purelib": "/opt/venv/lib/python3/site-packages", "platlib": "/opt/venv/lib64/python3/site-packages",
          "headers": "/opt/venv/include/site/python3", "scripts": "/opt/venv/bin", "data": "/opt/venv"}
SITE = SCHEME["purelib"].lstrip("/")
DEMO = {
    "demo/__init__.py": b"BIG = {%s}\ndef main():\n    print('hi')\n" % b", ".join(b"'s%d'" % i for i in range(40)),
    "demo/sub/mod.py": b"def f(x):\n    return x in {'a', 'b', 'c', 'd', 'e', 'f', 'g', 'h', 'i'}\n",
    "demo-1.0.dist-info/entry_points.txt": b"[console_scripts]\ndemo = demo:main\n",
    "demo-1.0.data/scripts/demo-tool": b"#!python\nprint('tool')\n",
    "demo-1.0.data/data/share/demo/readme.txt": b"data\n",
    "demo-1.0.data/headers/demo.h": b"int demo;\n",
}


def _record_hash(data: bytes) -> str:
    return "sha256=" + base64.urlsafe_b64encode(hashlib.sha256(data).digest()).rstrip(b"=").decode()


def build_wheel(directory: Path, files: dict = DEMO, extra: dict = (), links: dict = ()) -> Path:
    """demo-1.0-py3-none-any.whl with `files` in RECORD; `extra` entries and `links` (symlinks) unrecorded."""
    files = dict(files)
    info = "demo-1.0.dist-info"
    files[f"{info}/METADATA"] = b"Metadata-Version: 2.1\nName: Demo\nVersion: 1.0\n"
    files[f"{info}/WHEEL"] = b"Wheel-Version: 1.0\nGenerator: test\nRoot-Is-Purelib: true\nTag: py3-none-any\n"
    record = "".join(f"{p},{_record_hash(d)},{len(d)}\n" for p, d in files.items()) + f"{info}/RECORD,,\n"
    files[f"{info}/RECORD"] = record.encode()
    path = directory / "demo-1.0-py3-none-any.whl"
    with zipfile.ZipFile(path, "w", zipfile.ZIP_DEFLATED) as archive:
        for name, data in {**files, **dict(extra)}.items():
            entry = zipfile.ZipInfo(name, date_time=(2021, 2, 3, 4, 5, 6))
            entry.external_attr = (0o100755 if name.endswith("-tool") else 0o100644) << 16
            archive.writestr(entry, data)
        for name, target in dict(links).items():
            entry = zipfile.ZipInfo(name, date_time=(2021, 2, 3, 4, 5, 6))
            entry.external_attr = 0o120777 << 16
            archive.writestr(entry, target)
    return path


@pytest.fixture(scope="module")
def zipapp(tmp_path_factory) -> Path:
    path = tmp_path_factory.mktemp("app") / "installer.pyz"
    path.write_bytes(installer_zipapp())
    return path


def install(zipapp: Path, dest: Path, *wheels: Path, **env) -> subprocess.CompletedProcess:
    return subprocess.run([sys.executable, str(zipapp), "--dest", str(dest), "--scheme-json", json.dumps(SCHEME),
                           "--interpreter", "/opt/venv/bin/python", *map(str, wheels)],
                          capture_output=True, text=True, env={**os.environ, **env})


def tree(root: Path) -> dict:
    """Every path under root (root included) → (bytes or None, mode, mtime)."""
    out = {}
    for path in [root, *sorted(root.rglob("*"))]:
        st = path.lstat()
        out[str(path.relative_to(root))] = (path.read_bytes() if stat.S_ISREG(st.st_mode) else None,
                                            st.st_mode, st.st_mtime_ns)
    return out


def test_installs_into_scheme_paths_under_dest(zipapp, tmp_path):
    dest = tmp_path / "out"
    proc = install(zipapp, dest, build_wheel(tmp_path))
    assert proc.returncode == 0, proc.stderr
    site = dest / SITE
    assert (site / "demo" / "__init__.py").read_bytes() == DEMO["demo/__init__.py"]
    assert (site / "demo" / "sub" / "mod.py").exists()
    info = site / "demo-1.0.dist-info"
    assert (info / "INSTALLER").read_text() == "pylayers\n"
    record = (info / "RECORD").read_text()
    assert "demo/__init__.py,sha256=" in record and "../../../bin/demo," in record
    script = dest / "opt/venv/bin/demo"
    assert script.read_text().startswith("#!/opt/venv/bin/python\n") and "from demo import main" in script.read_text()
    assert stat.S_IMODE(script.stat().st_mode) == 0o755
    tool = dest / "opt/venv/bin/demo-tool"
    assert tool.read_text() == "#!/opt/venv/bin/python\nprint('tool')\n" and stat.S_IMODE(tool.stat().st_mode) == 0o755
    assert (dest / "opt/venv/share/demo/readme.txt").read_text() == "data\n"
    assert (dest / "opt/venv/include/site/python3/Demo/demo.h").read_text() == "int demo;\n"
    assert sorted(p.relative_to(dest).parts[:2] for p in dest.iterdir()) == [("opt",)]


def test_bytecode_is_checked_hash_based_and_names_the_final_path(zipapp, tmp_path):
    dest = tmp_path / "out"
    assert install(zipapp, dest, build_wheel(tmp_path)).returncode == 0
    tag = sys.implementation.cache_tag
    pyc = dest / SITE / "demo" / "sub" / "__pycache__" / f"mod.{tag}.pyc"
    data = pyc.read_bytes()
    assert int.from_bytes(data[4:8], "little") == 0b11  # hash-based, checked against the source
    import marshal
    code = marshal.loads(data[16:])
    assert code.co_filename == f"{SCHEME['purelib']}/demo/sub/mod.py"
    assert (dest / SITE / "demo" / "__pycache__" / f"__init__.{tag}.pyc").exists()


def test_a_directory_stands_for_the_one_wheel_it_holds(zipapp, tmp_path):
    built = tmp_path / "built"
    built.mkdir()
    build_wheel(built)
    assert install(zipapp, tmp_path / "a", built).returncode == 0
    assert install(zipapp, tmp_path / "b", build_wheel(tmp_path)).returncode == 0
    assert sorted(p.relative_to(tmp_path / "a") for p in (tmp_path / "a").rglob("*")) == \
        sorted(p.relative_to(tmp_path / "b") for p in (tmp_path / "b").rglob("*"))
    (built / "other-1.0-py3-none-any.whl").write_bytes((built / "demo-1.0-py3-none-any.whl").read_bytes())
    proc = install(zipapp, tmp_path / "c", built)
    assert proc.returncode == 2 and "holds 2 wheels, not one" in proc.stderr


def test_same_wheel_gives_identical_trees(zipapp, tmp_path):
    wheel = build_wheel(tmp_path)
    assert install(zipapp, tmp_path / "a", wheel, PYTHONHASHSEED="1").returncode == 0
    assert install(zipapp, tmp_path / "b", wheel, PYTHONHASHSEED="2").returncode == 0
    first, second = tree(tmp_path / "a"), tree(tmp_path / "b")
    assert first == second
    assert {mtime for _, _, mtime in first.values()} == {315532800 * 10**9}
    modes = {stat.S_IMODE(mode) for _, mode, _ in first.values()}
    assert modes == {0o644, 0o755}


@pytest.mark.parametrize("entry", ["../evil.py", "/etc/evil.py", "demo/../../evil.py",
                                   "demo-1.0.data/data/../../evil.py", "C:/evil.py", "demo\\..\\..\\evil.py"])
def test_unsafe_entries_are_refused_and_nothing_is_written(zipapp, tmp_path, entry):
    wheel = build_wheel(tmp_path, extra={entry: b"x = 1\n"})
    dest = tmp_path / "sandbox" / "out"
    dest.parent.mkdir()
    proc = install(zipapp, dest, wheel)
    assert proc.returncode == 2, proc.stderr
    assert "unsafe path in archive" in proc.stderr and repr(entry) in proc.stderr
    assert "demo-1.0-py3-none-any.whl" in proc.stderr
    assert sorted(p.name for p in tmp_path.rglob("*")) == ["demo-1.0-py3-none-any.whl", "sandbox"]


def test_symlink_entries_are_refused(zipapp, tmp_path):
    wheel = build_wheel(tmp_path, links={"demo/passwd": b"/etc/passwd"})
    proc = install(zipapp, tmp_path / "out", wheel)
    assert proc.returncode == 2 and "link or special file in archive: 'demo/passwd'" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_unsafe_second_wheel_stops_the_first_too(zipapp, tmp_path):
    good = build_wheel(tmp_path)
    (tmp_path / "bad").mkdir()
    bad = build_wheel(tmp_path / "bad", extra={"../evil.py": b""})
    proc = install(zipapp, tmp_path / "out", good, bad)
    assert proc.returncode == 2 and not (tmp_path / "out").exists()


def install_layers(zipapp: Path, *layers: tuple) -> subprocess.CompletedProcess:
    """One installer process for several layers: (dest, wheel...) each."""
    args = [a for dest, *wheels in layers for a in ("--layer", str(dest), *map(str, wheels))]
    return subprocess.run([sys.executable, str(zipapp), *args, "--scheme-json", json.dumps(SCHEME),
                           "--interpreter", "/opt/venv/bin/python"], capture_output=True, text=True)


def test_layers_installed_by_one_process_are_the_trees_each_gives_alone(zipapp, tmp_path):
    first = build_wheel(tmp_path)
    (tmp_path / "other").mkdir()
    second = build_wheel(tmp_path / "other", files={**DEMO, "demo/extra.py": b"Y = 2\n"})
    assert install(zipapp, tmp_path / "alone-1", first).returncode == 0
    assert install(zipapp, tmp_path / "alone-2", second).returncode == 0
    proc = install_layers(zipapp, (tmp_path / "one", first), (tmp_path / "two", second))
    assert proc.returncode == 0, proc.stderr
    assert tree(tmp_path / "one") == tree(tmp_path / "alone-1")
    assert tree(tmp_path / "two") == tree(tmp_path / "alone-2")
    assert tree(tmp_path / "one") != tree(tmp_path / "two")


def test_an_unsafe_wheel_of_a_later_layer_stops_every_layer(zipapp, tmp_path):
    good = build_wheel(tmp_path)
    (tmp_path / "bad").mkdir()
    bad = build_wheel(tmp_path / "bad", extra={"../evil.py": b""})
    proc = install_layers(zipapp, (tmp_path / "one", good), (tmp_path / "two", bad))
    assert proc.returncode == 2 and "unsafe path in archive" in proc.stderr
    assert not (tmp_path / "one").exists() and not (tmp_path / "two").exists()


def test_a_failing_wheel_of_any_layer_fails_the_install_naming_it(zipapp, tmp_path):
    good = build_wheel(tmp_path)
    bad = with_member_replaced(good, "demo/sub/mod.py", b"tampered = True\n")
    for layers in ([(tmp_path / "a1", good), (tmp_path / "a2", bad)], [(tmp_path / "b1", bad), (tmp_path / "b2", good)],
                   [(tmp_path / "c1", good), (tmp_path / "c2", good), (tmp_path / "c3", bad)]):
        proc = install_layers(zipapp, *layers)
        assert proc.returncode == 1, proc.stderr
        assert "cannot install demo-1.0-py3-none-any.whl" in proc.stderr and "demo/sub/mod.py" in proc.stderr


@pytest.mark.parametrize("args, message", [
    (["--layer", "/out"], "each layer needs a dest and at least one wheel"),
    (["w.whl"], "wheels given without --dest"),
    ([], "each layer needs a dest and at least one wheel"),
])
def test_a_layer_without_dest_or_wheels_is_a_usage_error(zipapp, args, message):
    proc = subprocess.run([sys.executable, str(zipapp), *args, "--scheme-json", "{}", "--interpreter", "python"],
                          capture_output=True, text=True)
    assert proc.returncode == 2 and message in proc.stderr


def with_member_replaced(wheel: Path, member: str, data: bytes) -> Path:
    """A copy of `wheel` (same file name, in t/) whose `member` holds `data`: its RECORD now lies."""
    copy = wheel.parent / "t" / wheel.name
    copy.parent.mkdir()
    with zipfile.ZipFile(wheel) as src, zipfile.ZipFile(copy, "w") as out:
        for item in src.infolist():
            out.writestr(item, data if item.filename == member else src.read(item))
    return copy


@pytest.mark.parametrize("member, data", [
    ("demo/__init__.py", b"EVIL = 1\n"),  # another hash, another size
    ("demo/__init__.py", b"X" * len(DEMO["demo/__init__.py"])),  # the same size
    ("demo-1.0.data/scripts/demo-tool", b"#!python\nprint('evil')\n"),  # read twice (its shebang)
    ("demo-1.0.dist-info/METADATA", b"Metadata-Version: 2.1\nName: Demo\nVersion: 6.6\n"),
])
def test_a_tampered_wheel_fails_with_its_name_and_the_file(zipapp, tmp_path, member, data):
    tampered = with_member_replaced(build_wheel(tmp_path), member, data)
    proc = install(zipapp, tmp_path / "o", tampered)
    assert proc.returncode == 1 and "cannot install demo-1.0-py3-none-any.whl" in proc.stderr
    assert f"hash / size of {member} didn't match RECORD" in proc.stderr


def test_bad_scheme_is_refused(zipapp, tmp_path):
    proc = subprocess.run([sys.executable, str(zipapp), "--dest", str(tmp_path / "o"), "--scheme-json",
                           json.dumps({**SCHEME, "data": "relative"}), "--interpreter", "/x/python",
                           str(build_wheel(tmp_path))], capture_output=True, text=True)
    assert proc.returncode == 2 and "absolute paths for data" in proc.stderr


def test_zipapp_is_deterministic_and_self_contained():
    data = installer_zipapp()
    assert data is installer_zipapp()
    with zipfile.ZipFile(io.BytesIO(data)) as archive:
        names = archive.namelist()
        assert names == sorted(names) and "__main__.py" in names and "installer/destinations.py" in names
        assert all(n.endswith(".py") for n in names)
        assert {i.date_time for i in archive.infolist()} == {(1980, 1, 1, 0, 0, 0)}
        assert {i.external_attr >> 16 for i in archive.infolist()} == {0o100644}
        assert b"from __future__ import annotations" in archive.read("installer/utils.py")
    code = ("import hashlib; from frontend.installer import installer_zipapp; "
            "print(hashlib.sha256(installer_zipapp()).hexdigest())")
    runs = {subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True,
                           cwd=Path(__file__).resolve().parents[2]).stdout for _ in range(2)}
    assert runs == {hashlib.sha256(data).hexdigest() + "\n"}


# hostile wheels: the demo wheel with entries added by zipfile directly

WHEEL = "demo-1.0-py3-none-any.whl"


def hostile_wheel(directory: Path, *entries: tuple, patch: tuple = (b"", b"")) -> Path:
    """The demo wheel plus (ZipInfo, data) `entries`; `patch` then swaps name bytes (same length)."""
    path = build_wheel(directory)
    path.write_bytes(add_entries(path.read_bytes(), *entries, patch=patch))
    return path


def assert_refused(zipapp: Path, tmp_path: Path, wheel: Path, reason: str, entry, code: int = 2, **env) -> None:
    dest = tmp_path / "out"
    proc = install(zipapp, dest, wheel, **env)
    assert proc.returncode == code, proc.stderr
    assert proc.stderr == "pylayers installer: refusing {}: {}: {!r}\n".format(WHEEL, reason, entry)
    assert not dest.exists()


@pytest.mark.parametrize("kind", [stat.S_IFIFO, stat.S_IFCHR, stat.S_IFBLK, stat.S_IFSOCK])
def test_devices_fifos_and_sockets_are_refused(zipapp, tmp_path, kind):
    wheel = hostile_wheel(tmp_path, (zip_entry("demo/special", kind | 0o644), b""))
    assert_refused(zipapp, tmp_path, wheel, "link or special file in archive", "demo/special")


@pytest.mark.parametrize("entry", ["demo/__init__.py", "demo/./__init__.py", "demo//__init__.py",
                                   "demo-1.0.dist-info/RECORD"])
def test_duplicate_entry_names_are_refused(zipapp, tmp_path, entry):
    wheel = hostile_wheel(tmp_path, (zip_entry(entry), b"EVIL = 1\n"))
    assert_refused(zipapp, tmp_path, wheel, "duplicate entry name", entry)


@pytest.mark.parametrize("entry", ["demo/\x1b[2Jevil.py", "demo/evil\n.py", "demo/\x7f.py", "demo/\ufffd.py",
                                   "demo/\x9bevil.py"])
def test_control_characters_in_names_are_refused(zipapp, tmp_path, entry):
    wheel = hostile_wheel(tmp_path, (zip_entry(entry), b"x = 1\n"))
    assert_refused(zipapp, tmp_path, wheel, "unsafe file name", entry)


def test_a_nul_in_a_name_is_refused(zipapp, tmp_path):
    wheel = hostile_wheel(tmp_path, (zip_entry("demo/aXb.py"), b"x = 1\n"), patch=(b"demo/aXb.py", b"demo/a\0b.py"))
    assert_refused(zipapp, tmp_path, wheel, "unsafe file name", "demo/a\0b.py")


def test_a_non_ascii_name_not_flagged_utf8_is_refused(zipapp, tmp_path):
    wheel = hostile_wheel(tmp_path, (zip_entry("demo/cafX.py"), b"x = 1\n"),
                          patch=(b"demo/cafX.py", b"demo/caf\x82.py"))
    assert_refused(zipapp, tmp_path, wheel, "unsafe file name", "demo/caf\u00e9.py")  # as zipfile decodes cp437


def test_an_undecodable_utf8_name_is_refused(zipapp, tmp_path):
    wheel = hostile_wheel(tmp_path, (zip_entry("demo/\u00e9.py"), b"x = 1\n"),
                          patch=(b"demo/\xc3\xa9.py", b"demo/\xff\xfe.py"))
    assert_refused(zipapp, tmp_path, wheel, "unsafe file name", b"demo/\xff\xfe.py")


def test_a_utf8_name_installs(zipapp, tmp_path):
    files = {**DEMO, "demo/caf\u00e9.py": b"x = 1\n"}
    proc = install(zipapp, tmp_path / "out", build_wheel(tmp_path, files=files))
    assert proc.returncode == 0, proc.stderr
    assert (tmp_path / "out" / SITE / "demo" / "caf\u00e9.py").exists()


@pytest.mark.parametrize("entry", ["demo-1.0.data/bogus/x.txt", "demo-1.0.data/purelib", "demo-1.0.data",
                                   "demo-1.0.data/x.txt", "demo-1.0.data//x.txt", "other.data/lib/x.py"])
def test_data_entries_outside_the_scheme_keys_are_refused(zipapp, tmp_path, entry):
    wheel = hostile_wheel(tmp_path, (zip_entry(entry), b"x = 1\n"))
    assert_refused(zipapp, tmp_path, wheel, "not in a .data/<purelib|platlib|headers|scripts|data>/ directory", entry)


def test_a_zip_bomb_entry_is_refused(zipapp, tmp_path):
    wheel = hostile_wheel(tmp_path, (zip_entry("demo/zeros.bin", compress_type=zipfile.ZIP_DEFLATED), bytes(30 << 20)))
    assert wheel.stat().st_size < 1 << 20
    assert_refused(zipapp, tmp_path, wheel, "compression ratio above 200", "demo/zeros.bin")


def test_the_total_uncompressed_size_is_limited(zipapp, tmp_path):
    wheel = hostile_wheel(tmp_path, (zip_entry("demo/big.txt"), b"x" * 2000))
    assert_refused(zipapp, tmp_path, wheel, "more than 1500 bytes uncompressed", "demo/big.txt",
                   PYLAYERS_MAX_WHEEL_BYTES="1500")


def test_a_wheel_within_the_size_limit_installs(zipapp, tmp_path):
    proc = install(zipapp, tmp_path / "out", build_wheel(tmp_path), PYLAYERS_MAX_WHEEL_BYTES="100000")
    assert proc.returncode == 0, proc.stderr


def test_a_bad_size_limit_is_refused(zipapp, tmp_path):
    proc = install(zipapp, tmp_path / "out", build_wheel(tmp_path), PYLAYERS_MAX_WHEEL_BYTES="2G")
    assert proc.returncode == 2 and "PYLAYERS_MAX_WHEEL_BYTES is not a number of bytes: '2G'" in proc.stderr
    assert not (tmp_path / "out").exists()


def test_a_lying_record_fails_naming_the_wheel_and_the_entry(zipapp, tmp_path):
    lying = with_member_replaced(build_wheel(tmp_path), "demo/sub/mod.py", b"EVIL = 1\n")
    proc = install(zipapp, tmp_path / "o", lying)
    assert proc.returncode == 1
    assert "cannot install demo-1.0-py3-none-any.whl" in proc.stderr and "demo/sub/mod.py" in proc.stderr
    assert "didn't match RECORD" in proc.stderr


def test_a_file_missing_from_record_fails_naming_it(zipapp, tmp_path):
    proc = install(zipapp, tmp_path / "o", build_wheel(tmp_path, extra={"demo/extra.py": b"x = 1\n"}))
    assert proc.returncode == 1 and WHEEL in proc.stderr and "demo/extra.py is not mentioned in RECORD" in proc.stderr


def test_zipapp_is_deflated_to_keep_layer_definitions_small():
    # it is part of every package layer's LLB definition; BuildKit takes 4 MiB per Solve
    import zipfile as zf
    data = installer_zipapp()
    assert len(data) < 30_000
    assert all(i.compress_type == zf.ZIP_DEFLATED for i in zf.ZipFile(__import__("io").BytesIO(data)).infolist())


def test_two_wheels_of_one_layer_may_share_a_file_only_with_the_same_content(zipapp, tmp_path):
    from tests.e2e.localindex import make_wheel

    def wheel(name: str, shared: bytes) -> Path:
        filename, data = make_wheel(name, "1.0", files={"ns/__init__.py": shared, f"{name}/x.py": b""})
        (tmp_path / filename).write_bytes(data)
        return tmp_path / filename

    same = install(zipapp, tmp_path / "same", wheel("one", b"# ns\n"), wheel("two", b"# ns\n"))
    assert same.returncode == 0, same.stderr
    assert (tmp_path / "same" / SITE / "ns" / "__init__.py").read_bytes() == b"# ns\n"
    differ = install(zipapp, tmp_path / "differ", wheel("one", b"# ns\n"), wheel("three", b"# other\n"))
    assert differ.returncode == 1
    assert "cannot install three-1.0-py3-none-any.whl" in differ.stderr
    assert "ns/__init__.py is also installed, with other content, by another wheel" in differ.stderr


def test_the_installer_compiled_by_the_images_python_is_the_same_every_time_and_installs_the_same(zipapp, tmp_path):
    from frontend.layerdefs import COMPILE_INSTALLER

    compiled = []
    for n in (1, 2):
        out = tmp_path / f"compiled{n}"
        subprocess.run([sys.executable, "-c", COMPILE_INSTALLER, str(zipapp), str(out)], check=True,
                       env={**os.environ, "PYTHONHASHSEED": "0", "PYTHONDONTWRITEBYTECODE": "1"})
        compiled.append(out)
    assert tree(compiled[0]) == tree(compiled[1])
    assert [p.name for p in compiled[0].rglob("__main__*.pyc")]  # the modules come as bytecode
    wheel = build_wheel(tmp_path)
    assert install(compiled[0], tmp_path / "a", wheel).returncode == 0  # `python <directory>`
    assert install(zipapp, tmp_path / "b", wheel).returncode == 0
    assert tree(tmp_path / "a") == tree(tmp_path / "b")
