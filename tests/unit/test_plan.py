from __future__ import annotations

import random

import pytest

from frontend.plan import PackageChoice, context_name, plan_layers


def pkg(name: str, version: str = "1.0") -> PackageChoice:
    return PackageChoice(name=name, version=version, filename=f"{name}-{version}-py3-none-any.whl",
                         url=f"https://files.example/{name}.whl", sha256="0" * 64, tag="py3-none-any")


def test_one_layer_per_package_ordered_by_name_whatever_the_input_order():
    names = ["requests", "flask", "zope.interface", "charset-normalizer", "idna"]
    shuffled = names[:]
    random.Random(1).shuffle(shuffled)
    a = plan_layers([pkg(n) for n in names], "pylayers-1")
    b = plan_layers([pkg(n) for n in shuffled], "pylayers-1")
    assert a == b
    assert [layer.packages[0].name for layer in a.layers] == sorted(names)
    assert a.contexts[0] == "pylayers-1-charset-normalizer"


def test_a_pin_change_moves_no_other_package():
    base = [pkg(n) for n in ("a", "b", "c", "d")]
    changed = [pkg("a"), pkg("b", "2.0"), pkg("c"), pkg("d")]
    before, after = plan_layers(base, "p"), plan_layers(changed, "p")
    diff = [(x, y) for x, y in zip(before.layers, after.layers) if x != y]
    assert len(diff) == 1 and diff[0][1].label == "b 2.0"
    assert before.contexts == after.contexts


def test_context_names_are_valid_reference_components():
    assert context_name("pylayers-2", pkg("zope.interface")) == "pylayers-2-zope-interface"
    assert context_name("pylayers-1", pkg("a_b")) == "pylayers-1-a-b"


def test_duplicates_are_refused():
    with pytest.raises(ValueError):
        plan_layers([pkg("a"), pkg("a", "2")], "p")
