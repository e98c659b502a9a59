"""Check the pins against what each chosen wheel declares it needs (Requires-Dist).

`pip install -r` of a fully pinned file installs the pins and their dependencies; pylayers installs
exactly the pins, so a dependency that is missing or pinned to a version the package does not
accept must fail the build, naming the package, the requirement and the file, rather than give
a silently broken image.
"""

from __future__ import annotations

from email.parser import BytesParser
from typing import Mapping, Sequence

from packaging.requirements import InvalidRequirement, Requirement
from packaging.utils import canonicalize_name

from ..errors import InputError
from ..inputs.requirements import Pin
from .wheels import PackageChoice


class MissingDependency(InputError):
    """A chosen wheel needs a project that is not pinned (pip would install it: so does the resolver)."""


def requires_dist(metadata: bytes) -> tuple[str, ...]:
    message = BytesParser().parsebytes(metadata, headersonly=True)
    return tuple(message.get_all("Requires-Dist") or ())


def needed(requirement: Requirement, extras: Sequence[str], markers: Mapping[str, str]) -> bool:
    """Whether the requirement applies to the target for the pin's extras."""
    if requirement.marker is None:
        return True
    return any(requirement.marker.evaluate({**markers, "extra": extra}) for extra in ("", *extras))


def dependency_errors(choices: Sequence[PackageChoice], pins: Mapping[str, Pin],
                      metadata: Mapping[str, bytes], markers: Mapping[str, str]) -> list[InputError]:
    errors = []
    for choice in choices:
        if choice.name not in metadata:
            continue
        pin = pins[choice.name]
        for line in requires_dist(metadata[choice.name]):
            error = _check(choice, pin, line, pins, markers)
            if error is not None:
                errors.append(error)
    return errors


def _check(choice: PackageChoice, pin: Pin, line: str, pins: Mapping[str, Pin],
           markers: Mapping[str, str]) -> InputError | None:
    try:
        requirement = Requirement(line)
    except InvalidRequirement:
        return None  # a broken declaration in someone else's wheel is not the user's error
    if not needed(requirement, pin.extras, markers):
        return None
    dep = canonicalize_name(requirement.name)
    shown = str(requirement).split(";")[0].strip()
    if dep not in pins:
        return MissingDependency(pin.file, pin.line, f"{choice.name}=={choice.version} requires '{shown}', "
                          f"which is not pinned; add a pin for {dep} (pylayers installs exactly the "
                          f"pinned packages)")
    dep_pin = pins[dep]
    if not requirement.specifier.contains(dep_pin.version, prereleases=True):
        return InputError(dep_pin.file, dep_pin.line, f"{dep}=={dep_pin.version} does not satisfy "
                          f"'{shown}', required by {choice.name}=={choice.version} ({pin.file}:{pin.line})")
    return None
