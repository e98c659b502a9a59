from __future__ import annotations

from frontend.dockerfile.pipargs import parse_install_args


def test_pre_and_constraints_on_the_command_line():
    parsed = parse_install_args(["--pre", "-r", "req.txt", "-c", "c.txt", "--no-deps"])
    assert parsed is not None
    options = parsed.options
    assert (options.pre, options.requirements, options.constraints, options.no_deps) == (
        True, ("req.txt",), ("c.txt",), True)
    assert parse_install_args(["-r", "req.txt"]).options.pre is False


def test_only_binary_values_in_force():
    def only(*args):
        return parse_install_args(["-r", "r.txt", *args]).options.only_binary
    assert only() == ()
    assert only("--only-binary", "Foo_Bar,baz", "--only-binary=qux") == ("foo-bar", "baz", "qux")
    assert only("--only-binary", "foo", "--only-binary", ":all:") == (":all:",)
    assert only("--only-binary", ":all:", "--only-binary", ":none:", "--only-binary", "x") == ("x",)
