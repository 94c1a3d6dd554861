#!/usr/bin/env python3
"""Checks the Flatpak manifest as far as this machine can without the GNOME runtime.

The manifest must parse and name the same application and command as the desktop file.
Every module source must be pinned and every permission documented. Its meson options
must configure a client-only build.

Run by meson test, which sets MIST_SOURCE_ROOT and MIST_BUILD_ROOT.
"""
import json
import os
import re
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["MIST_SOURCE_ROOT"], "tests"))
from mist_test import Tap, read_desktop_entry, source_root  # noqa: E402

APP_ID = "example.mist.Launcher"
HEX = {"sha256": 64, "commit": 40}


def load_manifest(tap, path):
    try:
        import yaml
    except ImportError:
        tap.skip("manifest parses as YAML", "python3-yaml is not installed (build-aux/install-deps test)")
        return None
    try:
        with open(path, encoding="utf-8") as manifest:
            return yaml.safe_load(manifest)
    except yaml.YAMLError as error:
        tap.check(False, "manifest parses as YAML", str(error))
        return None


def desktop_exec():
    entry = read_desktop_entry(os.path.join(source_root(), "data", APP_ID + ".desktop.in"))
    return entry["Exec"].split()[0]


def check_identity(tap, manifest):
    tap.check(manifest.get("app-id") == APP_ID, "manifest app-id is the app ID",
              f"app-id: {manifest.get('app-id')}")
    tap.check(manifest.get("command") == desktop_exec(), "manifest command is the desktop Exec",
              f"command: {manifest.get('command')}, desktop Exec: {desktop_exec()}")
    tap.check(manifest.get("runtime") == "org.gnome.Platform"
              and manifest.get("sdk") == "org.gnome.Sdk"
              and re.fullmatch(r"\d+", str(manifest.get("runtime-version", ""))),
              "manifest uses a GNOME runtime release",
              f"runtime {manifest.get('runtime')} {manifest.get('runtime-version')!r}, "
              f"sdk {manifest.get('sdk')}")


def source_problem(source, manifest_dir):
    """Return why a module source is not pinned, or None when it is."""
    kind = source.get("type")
    if kind in ("archive", "file"):
        key = "sha256"
    elif kind == "git":
        key = "commit"
    elif kind == "dir":
        path = os.path.realpath(os.path.join(manifest_dir, source.get("path", "")))
        if path != os.path.realpath(source_root()):
            return f"dir source {source.get('path')} is not this repository"
        return None
    elif kind in ("patch", "shell"):
        return None
    else:
        return f"source type {kind} is not one this test knows how to check"
    value = str(source.get(key, ""))
    if not re.fullmatch(f"[0-9a-f]{{{HEX[key]}}}", value):
        return f"{kind} source {source.get('url', source.get('path'))} has no {key}"
    return None


def check_sources(tap, manifest, manifest_dir):
    problems = []
    for module in manifest.get("modules", []):
        if not isinstance(module, dict):
            problems.append(f"module {module} is a file reference, not checked here")
            continue
        for source in module.get("sources", []):
            problem = source_problem(source, manifest_dir)
            if problem:
                problems.append(f"{module.get('name')}: {problem}")
    tap.check(not problems, "every module source is pinned", "\n".join(problems))


def check_permissions(tap, manifest):
    arguments = manifest.get("finish-args", [])
    with open(os.path.join(source_root(), "flatpak", "README.md"), encoding="utf-8") as readme:
        documented = readme.read()
    undocumented = [a for a in arguments if f"`{a}`" not in documented]
    tap.check(not undocumented, "every permission is explained in flatpak/README.md",
              f"not mentioned as `ARG`: {undocumented}")
    broad = [a for a in arguments
             if re.match(r"--(filesystem=(host|home)|socket=session-bus|device=all)", a)
             or "org.freedesktop.Flatpak" in a]
    tap.check(not broad, "manifest grants no host-wide access", f"broad permissions: {broad}")


def check_client_only_configure(tap, manifest):
    """Configures the tree with the manifest's options, as flatpak-builder would."""
    module = next(m for m in manifest["modules"] if isinstance(m, dict) and m.get("name") == "mist")
    options = module.get("config-opts", [])
    with tempfile.TemporaryDirectory(prefix="mist-flatpak-") as build:
        setup = subprocess.run(["meson", "setup", build, source_root(), *options],
                               capture_output=True, text=True)
        if not tap.check(setup.returncode == 0, "client-only meson configure succeeds",
                         f"meson setup {' '.join(options)}\n{setup.stdout}{setup.stderr}"):
            return
        targets = json.loads(subprocess.run(["meson", "introspect", build, "--targets"],
                                            check=True, capture_output=True, text=True).stdout)
    names = {target["name"] for target in targets}
    server = names & {"mist-backend-stub", "mistpipe"}
    tap.check(not server, "client-only build leaves the server out", f"server targets: {server}")
    client = {"mist", "mist-cli"}
    tap.check(client <= names, "client-only build has mist and mist-cli",
              f"missing: {sorted(client - names)}")


def main():
    manifest_path = os.path.join(source_root(), "flatpak", APP_ID + ".yml")
    tap = Tap()
    manifest = load_manifest(tap, manifest_path)
    if manifest is not None:
        tap.check(isinstance(manifest, dict), "manifest parses as YAML", "top level is not a mapping")
        check_identity(tap, manifest)
        check_sources(tap, manifest, os.path.dirname(manifest_path))
        check_permissions(tap, manifest)
        check_client_only_configure(tap, manifest)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
