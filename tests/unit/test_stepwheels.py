"""stepwheels.MetadataHandoff: the overlap check's METADATA, handed to the dependency check."""

from __future__ import annotations

import threading

from frontend.resolve.wheels import PackageChoice
from frontend.stepwheels import MetadataHandoff


def choice(name: str, version: str = "1.0") -> PackageChoice:
    return PackageChoice(name, version, f"{name}-{version}-py3-none-any.whl", f"https://f/{name}.whl", "0" * 64,
                         "py3-none-any")


def test_nothing_expected_gives_nothing_without_waiting():
    assert MetadataHandoff()([choice("a")]) == {}


def test_the_dependency_check_waits_for_the_guess_and_gets_only_the_same_files():
    guess = (choice("a"), choice("b"))
    handoff = MetadataHandoff()
    handoff.expect(guess)
    got = []
    waiter = threading.Thread(target=lambda: got.append(handoff([choice("a"), choice("b", "2.0"), choice("c")])))
    waiter.start()
    handoff.publish((choice("a"),), {"a": b"not the guess"})  # another run's check: ignored
    waiter.join(0.2)
    assert waiter.is_alive() and not got
    handoff.publish(guess, {"a": b"Name: a\n", "b": b"Name: b\n"})
    waiter.join(5)
    assert got == [{"a": b"Name: a\n"}]  # b 2.0 is not the file the check read; c was not in it


def test_a_failed_check_publishes_nothing_and_the_metadata_is_fetched_as_before():
    handoff = MetadataHandoff()
    handoff.expect((choice("a"),))
    handoff.publish((choice("a"),), {})
    assert handoff([choice("a")]) == {}
