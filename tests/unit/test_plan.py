from __future__ import annotations

import dataclasses

import random

import pytest

from frontend.errors import FrontendError
from frontend.plan import (DEFAULT_MAX_LAYERS, EXEC_GROUPS, GROUP_BYTES, GROUP_LAYERS, LARGE_WHEEL_BYTES, TINY_BUCKETS, TINY_BYTES, LayerCount,
                           PackageChoice, bucket, check_total, context_name, default_budget, plan_layers)


def pkg(name: str, version: str = "1.0", size: int | None = 1000, tag: str = "py3-none-any") -> PackageChoice:
    return PackageChoice(name=name, version=version, filename=f"{name}-{version}-{tag}.whl",
                         url=f"https://files.example/{name}-{version}.whl", sha256="0" * 64, tag=tag,
                         size=size)


def big(name: str, version: str = "1.0") -> PackageChoice:
    return pkg(name, version, size=LARGE_WHEEL_BYTES * 3, tag="cp313-cp313-manylinux_2_17_x86_64")


def where(plan) -> dict[str, str]:
    """package name → context of its layer"""
    return {p.name: layer.context for layer in plan.layers for p in layer.packages}


def names(n: int, seed: int = 0) -> list[str]:
    rng = random.Random(seed)
    return sorted({"".join(rng.choice("abcdefghijklmnopqrstuvwxyz-") for _ in range(rng.randint(3, 12))).strip("-")
                   or "x" for _ in range(n)})


def test_one_layer_per_package_ordered_by_name_whatever_the_input_order():
    names_ = ["requests", "flask", "zope.interface", "charset-normalizer", "idna"]
    shuffled = names_[:]
    random.Random(1).shuffle(shuffled)
    a = plan_layers([pkg(n) for n in names_], "pylayers-1")
    b = plan_layers([pkg(n) for n in shuffled], "pylayers-1")
    assert a == b
    assert [layer.packages[0].name for layer in a.layers] == sorted(names_)
    assert a.contexts[0] == "pylayers-1-charset-normalizer"


def test_large_wheels_go_below_small_ones_then_volatile_on_top():
    plan = plan_layers([pkg("a"), big("zeta"), pkg("b"), big("numpy"), pkg("mine"), pkg("app")], "p",
                       volatile=("mine", "app", "not-installed"))
    assert [layer.label for layer in plan.layers] == [
        "numpy 1.0", "zeta 1.0", "a 1.0", "b 1.0", "mine 1.0", "app 1.0"]


def test_unknown_size_counts_platform_wheels_as_large():
    plan = plan_layers([pkg("a", size=None), pkg("z", size=None, tag="cp313-cp313-linux_x86_64")], "p")
    assert [layer.label for layer in plan.layers] == ["z 1.0", "a 1.0"]


def test_an_sdist_counts_as_large_whatever_its_size():
    sdist = dataclasses.replace(pkg("s", size=10, tag="source"), sdist=True)
    plan = plan_layers([pkg("a", size=None), sdist], "p")
    assert [layer.label for layer in plan.layers] == ["s 1.0", "a 1.0"]


def test_a_pin_change_moves_no_other_package():
    base = [pkg(n) for n in ("a", "b", "c", "d")]
    changed = [pkg("a"), pkg("b", "2.0"), pkg("c"), pkg("d")]
    before, after = plan_layers(base, "p"), plan_layers(changed, "p")
    diff = [(x, y) for x, y in zip(before.layers, after.layers) if x != y]
    assert len(diff) == 1 and diff[0][1].label == "b 2.0"
    assert before.contexts == after.contexts


def test_past_the_budget_packages_share_buckets_and_the_budget_holds():
    packages = [pkg(n) for n in names(250)] + [big(f"heavy{i}") for i in range(12)]
    plan = plan_layers(packages, "p", max_layers=40, volatile=("heavy3", names(250)[7]))
    assert len(plan.layers) <= 40
    assert sorted(where(plan)) == sorted(p.name for p in packages)
    heavy = [layer for layer in plan.layers if layer.packages[0].name.startswith("heavy")]
    assert all(len(layer.packages) == 1 for layer in heavy)  # 11 large ones fit their 19 slots
    assert plan.layers[-2].label == "heavy3 1.0" and plan.layers[-1].packages[0].name == names(250)[7]
    assert len(set(plan.contexts)) == len(plan.contexts)


def test_large_wheels_beyond_half_the_budget_share_heavy_buckets():
    plan = plan_layers([big(f"h{i}") for i in range(30)] + [pkg(n) for n in names(30)], "p", max_layers=20)
    assert len(plan.layers) <= 20
    assert all(all(p.name.startswith("h") for p in layer.packages)
               for layer in plan.layers if "--heavy-" in layer.context)


def _random_plan_properties(change, runs: int = 1000, budget: int = 30):
    rng = random.Random(7)
    universe = names(400, seed=3)
    for _ in range(runs):
        chosen = rng.sample(universe, rng.randint(budget + 1, 300))
        packages = {n: (big(n) if rng.random() < 0.1 else pkg(n)) for n in chosen}
        before = plan_layers(list(packages.values()), "p", max_layers=budget)
        moved, after = change(rng, packages, universe)
        plan = plan_layers(list(after.values()), "p", max_layers=budget)
        yield before, plan, moved


def test_1000_random_pin_changes_move_no_other_package_and_change_one_layer():
    def change(rng, packages, universe):
        name = rng.choice(sorted(packages))
        old = packages[name]
        new = pkg(name, "2.0", size=old.size, tag=old.tag)
        return name, {**packages, name: new}

    for before, after, moved in _random_plan_properties(change):
        a, b = where(before), where(after)
        assert {n for n in a if a[n] != b[n]} == set()  # nobody moves, not even the changed one
        assert len(set(before.layers) - set(after.layers)) == 1  # exactly one layer changes
        assert before.contexts == after.contexts


def test_1000_random_additions_and_removals_change_at_most_one_layer():
    def change(rng, packages, universe):
        if rng.random() < 0.5:
            name = rng.choice([n for n in universe if n not in packages])
            return name, {**packages, name: pkg(name)}
        name = rng.choice(sorted(packages))
        return name, {n: p for n, p in packages.items() if n != name}

    for before, after, moved in _random_plan_properties(change):
        if min(len(where(before)), len(where(after))) > 30:  # both past the budget
            a, b = where(before), where(after)
            assert {n for n in a.keys() & b.keys() if a[n] != b[n]} == set()
            assert len(set(before.layers) ^ set(after.layers)) <= 2  # one layer replaced (or added/removed)


def test_a_package_bucket_depends_on_its_name_and_the_budget_only():
    alone = where(plan_layers([pkg(n) for n in names(100)], "p", max_layers=10))
    with_others = where(plan_layers([pkg(n) for n in names(100) + names(100, seed=9)], "p", max_layers=10))
    assert all(with_others[n] == ctx for n, ctx in alone.items())
    assert bucket("requests", 30) == 2  # sha256 based: the same everywhere


def test_budget_too_small_for_the_volatile_packages_is_refused():
    with pytest.raises(FrontendError, match="PYLAYERS_MAX_LAYERS"):
        plan_layers([pkg(n) for n in "abcdef"], "p", max_layers=3, volatile=("a", "b"))


def test_default_budget_and_total_check():
    assert default_budget(10) == DEFAULT_MAX_LAYERS and default_budget(50) == 40 and default_budget(200) == 2
    assert check_total(LayerCount(5, 10, 60), "s") is None
    assert "lower PYLAYERS_MAX_LAYERS" in check_total(LayerCount(5, 30, 60), "s")
    with pytest.raises(FrontendError, match="PYLAYERS_MAX_LAYERS=70 or lower"):
        check_total(LayerCount(5, 50, 80), "final")


def test_context_names_are_valid_reference_components():
    assert context_name("pylayers-2", pkg("zope.interface")) == "pylayers-2-zope-interface"
    assert context_name("pylayers-1", pkg("a_b")) == "pylayers-1-a-b"


def test_duplicates_are_refused():
    with pytest.raises(ValueError):
        plan_layers([pkg("a"), pkg("a", "2")], "p")


def test_layers_go_by_size_class_biggest_at_the_bottom_then_by_name():
    installed = {"a": 3_000_000, "b": 100_000, "c": 120_000, "d": 5_000_000, "e": 2_000}
    packages = [pkg(n) for n in "edcba"]
    plan = plan_layers(packages, "p", installed=installed)
    assert [layer.label for layer in plan.layers] == ["a 1.0", "d 1.0", "b 1.0", "c 1.0", "e 1.0"]
    # a package the check did not measure goes by its wheel's size
    plan = plan_layers([*packages, pkg("f", size=4_000_000)], "p", installed=installed)
    assert [layer.packages[0].name for layer in plan.layers] == ["a", "d", "f", "b", "c", "e"]


def test_a_version_moves_only_when_its_size_crosses_a_power_of_4_and_then_only_it_moves():
    installed = {"a": 3_000_000, "b": 300_000, "c": 400_000, "e": 70_000}
    packages = [pkg(n) for n in "abce"]
    before = plan_layers(packages, "p", installed=installed)
    same = plan_layers(packages, "p", installed={**installed, "b": 310_000})
    assert same.contexts == before.contexts
    moved = plan_layers(packages, "p", installed={**installed, "b": 100_000})  # now with e, by name
    assert moved.contexts == ("p-a", "p-c", "p-b", "p-e") and before.contexts == ("p-a", "p-b", "p-c", "p-e")


def test_tiny_packages_share_a_few_layers_by_name_on_top_of_the_others_below_the_volatile_ones():
    tiny = names(12, seed=3)
    installed = {**{n: 20_000 for n in tiny}, "big": 5_000_000, "mid": 300_000, "mine": 1_000}
    packages = [pkg(n) for n in (*tiny, "big", "mid", "mine")]
    plan = plan_layers(packages, "p", installed=installed, volatile=("mine",))
    assert [layer.context for layer in plan.layers[:2]] == ["p-big", "p-mid"]
    assert plan.layers[-1].context == "p-mine"  # volatile: its own layer, whatever its size
    shared = plan.layers[2:-1]
    assert 1 < len(shared) <= TINY_BUCKETS and all(layer.context.startswith("p--tiny-") for layer in shared)
    assert sorted(p.name for layer in shared for p in layer.packages) == sorted(tiny)
    assert all(where(plan)[n] == f"p--tiny-{bucket(n, TINY_BUCKETS):02d}" for n in tiny)
    # one more tiny package changes its bucket's layer only; a bigger version of one moves it alone
    more = plan_layers([*packages, pkg("zz-new")], "p", installed={**installed, "zz-new": 5_000}, volatile=("mine",))
    old = {layer.context: layer for layer in plan.layers}
    assert [layer.context for layer in more.layers if old.get(layer.context) != layer] == [
        f"p--tiny-{bucket('zz-new', TINY_BUCKETS):02d}"]
    assert set(old) <= {layer.context for layer in more.layers}
    grown = plan_layers(packages, "p", installed={**installed, tiny[0]: TINY_BYTES}, volatile=("mine",))
    assert where(grown)[tiny[0]] == context_name("p", pkg(tiny[0]))
    assert {n: where(grown)[n] for n in tiny[1:]} == {n: where(plan)[n] for n in tiny[1:]}


def test_a_package_is_tiny_only_when_the_check_measured_it_and_never_when_built_from_source():
    unmeasured = plan_layers([pkg("a", size=100), pkg("b")], "p", installed={"b": 100})
    assert where(unmeasured) == {"a": "p-a", "b": f"p--tiny-{bucket('b', TINY_BUCKETS):02d}"}
    sdist = dataclasses.replace(pkg("c"), sdist=True)
    assert where(plan_layers([sdist], "p", installed={"c": 100})) == {"c": "p-c"}


def test_tiny_packages_share_layers_only_while_each_package_would_fit_the_budget():
    tiny = names(10, seed=5)
    packages = [pkg(n) for n in (*tiny, "x", "y")]
    installed = {**{n: 100 for n in tiny}, "x": 500_000, "y": 500_000}
    buckets = len({bucket(n, TINY_BUCKETS) for n in tiny})
    within = plan_layers(packages, "p", max_layers=12, installed=installed)
    assert len(within.layers) == 2 + buckets and where(within)["x"] == "p-x"
    # past the budget the tiny packages are small ones: they share the budget's buckets (as many
    # as the budget leaves), not a few of their own
    past = plan_layers(packages, "p", max_layers=11, installed=installed)
    assert not any(c.startswith("p--tiny-") for c in past.contexts) and len(past.layers) <= 11


def exec_of(plan) -> dict[str, tuple[str, ...]]:
    """layer context → the contexts its install exec writes"""
    return {plan.layers[i].context: tuple(plan.layers[j].context for j in group)
            for group in plan.execs for i in group}


def test_small_layers_share_install_execs_by_group_and_the_others_have_their_own():
    small = names(40, seed=5)
    installed = {**{n: 200_000 for n in small}, "huge": 30_000_000, "mid": GROUP_BYTES, "mine": 1_000}
    packages = [pkg(n) for n in (*small, "huge", "mid", "mine", "unmeasured")]
    plan = plan_layers(packages, "p", volatile=("mine",), installed=installed)
    execs = exec_of(plan)
    for alone in ("huge", "mid", "mine", "unmeasured"):
        assert execs[f"p-{alone}"] == (f"p-{alone}",)
    shared = {execs[f"p-{n}"] for n in small}
    count = max(EXEC_GROUPS, -(-len(small) // GROUP_LAYERS))  # 40 small layers: 10 groups
    assert len(shared) <= count and max(map(len, shared)) > 1
    assert sorted(c for group in shared for c in group) == sorted(f"p-{n}" for n in small)
    for group in shared:
        assert len({bucket(context, count) for context in group}) == 1
    assert sorted(i for group in plan.execs for i in group) == list(range(len(plan.layers)))
    assert [group[0] for group in plan.execs] == sorted(group[0] for group in plan.execs)


def test_adding_or_changing_a_small_package_changes_one_install_exec():
    small = names(30, seed=6)
    installed = {n: 100_000 for n in small}
    before = exec_of(plan_layers([pkg(n) for n in small], "p", installed=installed))
    added = exec_of(plan_layers([pkg(n) for n in (*small, "newcomer")], "p", installed={**installed, "newcomer": 200_000}))
    changed = [c for c, group in added.items() if c in before and group != before[c]]
    assert changed and all("p-newcomer" in added[c] for c in changed)
    bumped = plan_layers([pkg(n, "2.0" if n == small[3] else "1.0") for n in small], "p", installed=installed)
    assert exec_of(bumped) == before


def test_no_shared_execs_with_zero_groups_or_for_sdists():
    small = names(10, seed=7)
    installed = {n: 1_000 for n in small}
    plan = plan_layers([pkg(n, size=100_000) for n in small], "p", installed=installed, exec_groups=0)
    assert plan.execs == tuple((i,) for i in range(len(plan.layers)))
    sdist = dataclasses.replace(pkg("built"), sdist=True)
    plan = plan_layers([sdist, *(pkg(n) for n in small)], "p", installed={**installed, "built": 1_000})
    assert exec_of(plan)["p-built"] == ("p-built",)


def test_one_group_puts_a_few_small_layers_in_one_exec():
    small = names(GROUP_LAYERS, seed=8)
    plan = plan_layers([pkg(n) for n in (*small, "huge")], "p", installed={**{n: 100_000 for n in small},
                                                                           "huge": 9_000_000}, exec_groups=1)
    assert sorted(len(group) for group in plan.execs) == [1, len(small)]


def test_many_small_layers_get_a_group_per_few_of_them():
    small = names(120, seed=9)
    plan = plan_layers([pkg(n) for n in small], "p", max_layers=125, installed=dict.fromkeys(small, 1_000_000 // 4))
    assert len(plan.layers) == len(small)
    assert len(plan.execs) == -(-len(small) // GROUP_LAYERS) > EXEC_GROUPS
