"""The pipeline's one-way imports: inputs → resolve → plan → llb → gateway; only build.py sees all."""

from __future__ import annotations

import ast
from pathlib import Path

PKG = Path(__file__).resolve().parents[2] / "frontend"
FORBIDDEN = {
    "inputs": ("grpc", "frontend.llb", "frontend.gateway", "frontend._pb", "frontend.resolve", "frontend.plan"),
    "resolve": ("grpc", "frontend.llb", "frontend.gateway", "frontend._pb", "frontend.plan"),
    "plan": ("grpc", "frontend.llb", "frontend.gateway", "frontend._pb"),
    "target": ("grpc", "frontend.llb", "frontend.gateway", "frontend._pb"),
    "llb": ("grpc", "frontend.gateway", "frontend.inputs", "frontend.resolve", "frontend.plan", "packaging"),
    "gateway": ("frontend.inputs", "frontend.resolve", "frontend.plan", "frontend.llb", "packaging", "resolvelib"),
}


def _imports(path: Path) -> set[str]:
    tree = ast.parse(path.read_text())
    pkg = ".".join(path.relative_to(PKG.parent).with_suffix("").parts[:-1])
    found = set()
    for node in ast.walk(tree):
        if isinstance(node, ast.Import):
            found.update(alias.name for alias in node.names)
        elif isinstance(node, ast.ImportFrom):
            if node.level:
                base = pkg.split(".")[: len(pkg.split(".")) - node.level + 1]
                mod = ".".join(base + ([node.module] if node.module else []))
                found.add(mod)
                found.update(f"{mod}.{a.name}" for a in node.names)
            else:
                found.add(node.module or "")
    return found


def _files(stage: str) -> list[Path]:
    single = PKG / f"{stage}.py"
    return [single] if single.exists() else sorted((PKG / stage).rglob("*.py"))


def test_imports_only_flow_one_way():
    problems = []
    for stage, forbidden in FORBIDDEN.items():
        for path in _files(stage):
            for name in _imports(path):
                if any(name == f or name.startswith(f + ".") for f in forbidden):
                    problems.append(f"{path.relative_to(PKG.parent)} imports {name}")
    assert problems == []
