#!/usr/bin/env python3
"""Checks that each engine layer includes only the headers of the layers it may use.

A layer is a folder under engine/; the headers directly in engine/ (errors, hashing) are
open to every layer. The rules are the ones the engine's folders are built around:
model is pure logic, net talks to the server and keeps state, install applies content,
and jobs run net, install and state together.

Usage: test-layers.py (run by meson test, which sets MIST_SOURCE_ROOT).
"""
import os
import re
import sys

sys.path.insert(0, os.path.join(os.environ["MIST_SOURCE_ROOT"], "tests"))
from mist_test import Tap, source_root  # noqa: E402

ALLOWED = {
    "delta": set(),
    "model": set(),
    "state": {"model"},
    "install": {"delta", "model", "state"},
    "net": {"model", "state"},
    "jobs": {"net", "install", "model", "state"},
    "tools": {"delta"},
}
INCLUDE = re.compile(r'^\s*#\s*include\s+"([^"]+)"', re.MULTILINE)


def header_owners(engine):
    """Map every header under engine/ to the layer folder that contains it."""
    owners = {}
    for layer in ALLOWED:
        folder = os.path.join(engine, layer)
        for name in os.listdir(folder):
            if name.endswith(".h"):
                owners[name] = layer
    return owners


def layer_violations(engine, layer, owners):
    """List "file includes header (layer)" for every include the layer may not use."""
    violations = []
    folder = os.path.join(engine, layer)
    for name in sorted(os.listdir(folder)):
        if not name.endswith((".c", ".h")):
            continue
        with open(os.path.join(folder, name), encoding="utf-8") as source:
            text = source.read()
        for header in INCLUDE.findall(text):
            owner = owners.get(header)
            if owner is not None and owner != layer and owner not in ALLOWED[layer]:
                violations.append(f"engine/{layer}/{name} includes {header} ({owner})")
    return violations


def main():
    tap = Tap()
    engine = os.path.join(source_root(), "engine")
    owners = header_owners(engine)
    for layer in ALLOWED:
        violations = layer_violations(engine, layer, owners)
        allowed = ", ".join(sorted(ALLOWED[layer])) or "none"
        tap.check(not violations, f"{layer} includes only its own layer and: {allowed}",
                  "\n".join(violations))
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
