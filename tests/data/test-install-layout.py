#!/usr/bin/env python3
"""Installs the build into a temporary DESTDIR and checks that every file lands where
the freedesktop.org specifications, GLib and systemd look for it.

Usage: test-install-layout.py BUILD_SERVER BUILD_GUI (each true or false; run by meson
test, which sets MIST_BUILD_ROOT). The build must be complete: meson test builds before it runs tests.
"""
import json
import os
import subprocess
import sys
import tempfile

sys.path.insert(0, os.path.join(os.environ["MIST_SOURCE_ROOT"], "tests"))
from mist_test import Tap, build_root  # noqa: E402

APP_ID = "example.mist.Launcher"


def introspect(section):
    output = subprocess.run(["meson", "introspect", build_root(), f"--{section}"],
                            check=True, capture_output=True, text=True).stdout
    return json.loads(output)


def under(destdir, path):
    return os.path.join(destdir, path.lstrip("/"))


def expected_paths(options, build_server):
    prefix = options["prefix"]
    datadir = os.path.join(prefix, options["datadir"])
    paths = [
        f"{datadir}/applications/{APP_ID}.desktop",
        f"{datadir}/metainfo/{APP_ID}.metainfo.xml",
        f"{datadir}/glib-2.0/schemas/{APP_ID}.gschema.xml",
        f"{datadir}/icons/hicolor/scalable/apps/{APP_ID}.svg",
        f"{datadir}/icons/hicolor/symbolic/apps/{APP_ID}-symbolic.svg",
    ]
    if build_server:
        sysconfdir = os.path.join(prefix, options["sysconfdir"])
        paths += [
            f"{sysconfdir}/mist/backend-stub.conf",
            f"{prefix}/lib/sysusers.d/mist.conf",
            f"{datadir}/mist/admin/index.html",
            f"{datadir}/mist/admin/js/main.js",
        ]
    return paths


def check_introspected_files(tap, destdir):
    """Check that every file in meson's install list, and each file of an installed
    folder, is in DESTDIR."""
    missing = []
    for source, target in introspect("installed").items():
        if os.path.isdir(source):
            for folder, _, names in os.walk(source):
                for name in names:
                    relative = os.path.relpath(os.path.join(folder, name), source)
                    if not os.path.isfile(under(destdir, os.path.join(target, relative))):
                        missing.append(os.path.join(target, relative))
        elif not os.path.exists(under(destdir, target)):
            missing.append(target)
    tap.check(not missing, "every file meson installs is in DESTDIR", "\n".join(missing))


def check_executables(tap, destdir, expected_names):
    targets = [t for t in introspect("targets") if t["type"] == "executable" and t["installed"]]
    names = {target["name"] for target in targets}
    tap.check(expected_names <= names, "every program is installed",
              f"missing: {sorted(expected_names - names)}, installed: {sorted(names)}")
    for target in targets:
        for path in target["install_filename"]:
            installed = under(destdir, path)
            tap.check(os.path.isfile(installed) and os.access(installed, os.X_OK),
                      f"{os.path.basename(path)} is installed executable", f"{path} missing")


def check_server_unit(tap, destdir, options):
    units = [target for target in introspect("installed").values()
             if target.endswith("/mist-backend-stub.service")]
    if not tap.check(len(units) == 1 and "/lib/systemd/system/" in units[0],
                     "server unit is in a systemd unit folder", f"installed units: {units}"):
        return
    with open(under(destdir, units[0]), encoding="utf-8") as unit:
        exec_start = [line for line in unit if line.startswith("ExecStart=")]
    prefix = options["prefix"]
    binary = os.path.join(prefix, options["bindir"], "mist-backend-stub")
    config = os.path.join(prefix, options["sysconfdir"], "mist", "backend-stub.conf")
    tap.check(exec_start == [f"ExecStart={binary} --config {config}\n"],
              "server unit starts the installed binary with the installed config",
              f"found {exec_start}, expected binary {binary} and config {config}")


def main():
    build_server = sys.argv[1] == "true"
    build_gui = sys.argv[2] == "true"
    programs = {"mist-cli", "mist-delta"}
    if build_gui:
        programs.add("mist")
    if build_server:
        programs |= {"mist-backend-stub", "mistpipe"}
    options = {o["name"]: o["value"] for o in introspect("buildoptions")}
    tap = Tap()
    with tempfile.TemporaryDirectory(prefix="mist-install-") as destdir:
        install = subprocess.run(
            ["meson", "install", "-C", build_root(), "--no-rebuild", "--quiet",
             "--destdir", destdir],
            capture_output=True, text=True)
        if not tap.check(install.returncode == 0, "meson install into DESTDIR succeeds",
                         install.stdout + install.stderr):
            return tap.done()

        for path in expected_paths(options, build_server):
            tap.check(os.path.isfile(under(destdir, path)), f"{path} is installed",
                      f"{under(destdir, path)} does not exist")
        check_introspected_files(tap, destdir)
        check_executables(tap, destdir, programs)
        if build_server:
            check_server_unit(tap, destdir, options)

        # validate-tree reads the metainfo together with the desktop file it launches.
        tap.run("installed metainfo and desktop file validate together",
                ["appstreamcli", "validate-tree", "--no-net", "--pedantic",
                 under(destdir, options["prefix"])])
        schemas = under(destdir, os.path.join(options["prefix"], options["datadir"],
                                              "glib-2.0", "schemas"))
        tap.run("installed schemas compile strictly",
                ["glib-compile-schemas", "--strict", "--dry-run", schemas])
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
