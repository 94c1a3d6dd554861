#!/usr/bin/env python3
"""Builds the Debian packages with packaging/build-deb, checks their contents and
control files, runs lintian, unpacks them into a scratch root and runs the programs
from there.

Usage: test-debian-packages.py PROJECT_VERSION (run by meson test, which sets
MIST_SOURCE_ROOT). One package build takes a few minutes on two cores.
"""
import json
import os
import re
import shutil
import socket
import subprocess
import sys
import tempfile
import time
import urllib.error
import urllib.request

sys.path.insert(0, os.path.join(os.environ["MIST_SOURCE_ROOT"], "tests"))
from mist_test import Tap, describe, source_root  # noqa: E402

APP_ID = "example.mist.Launcher"
PACKAGE_FILES = {
    "mist": [
        "usr/bin/mist",
        "usr/bin/mist-cli",
        "usr/bin/mist-delta",
        f"usr/share/applications/{APP_ID}.desktop",
        f"usr/share/metainfo/{APP_ID}.metainfo.xml",
        f"usr/share/glib-2.0/schemas/{APP_ID}.gschema.xml",
        f"usr/share/icons/hicolor/scalable/apps/{APP_ID}.svg",
        f"usr/share/icons/hicolor/symbolic/apps/{APP_ID}-symbolic.svg",
    ],
    "mist-server": [
        "usr/bin/mist-backend-stub",
        "usr/bin/mistpipe",
        "lib/systemd/system/mist-backend-stub.service",
        "usr/lib/sysusers.d/mist.conf",
        "etc/mist/backend-stub.conf",
        "usr/share/mist/admin/index.html",
    ],
}
# Commands run from the unpacked packages, with a pattern their output must match
# (VERSION is the project version).
COMMANDS = [
    (["usr/bin/mist-cli", "--version"], r"VERSION"),
    (["usr/bin/mist-backend-stub", "--help"], r"--config"),
    (["usr/bin/mistpipe", "--help"], r"--data-dir"),
    (["usr/bin/mist-delta", "--help"], None),
]


def run(argv, **kwargs):
    return subprocess.run(argv, capture_output=True, text=True, **kwargs)


def build_packages(tap, output_dir):
    environment = dict(os.environ, DEB_BUILD_OPTIONS="nocheck parallel=2")
    result = run([os.path.join(source_root(), "packaging", "build-deb"), output_dir],
                 env=environment)
    # The full log is long: the failure's cause is near its end.
    tail = "\n".join(describe(result).splitlines()[-60:])
    return tap.check(result.returncode == 0, "dpkg-buildpackage builds both packages", tail)


def host_architecture():
    return run(["dpkg", "--print-architecture"], check=True).stdout.strip()


def package_path(output_dir, name, version):
    return os.path.join(output_dir, f"{name}_{version}_{host_architecture()}.deb")


def check_contents(tap, output_dir, version):
    owners = {}
    for name, expected in PACKAGE_FILES.items():
        deb = package_path(output_dir, name, version)
        if not tap.check(os.path.isfile(deb), f"{name} {version} is built",
                         f"{deb} missing; built: {sorted(os.listdir(output_dir))}"):
            continue
        listing = run(["dpkg-deb", "-c", deb]).stdout
        # Lines read "MODE OWNER SIZE DATE TIME ./PATH", and folders are left out.
        paths = {line.split()[-1].removeprefix("./")
                 for line in listing.splitlines() if not line.startswith("d")}
        missing = [path for path in expected if path not in paths]
        tap.check(not missing, f"{name} contains its files", "missing: " + ", ".join(missing))
        for path in paths:
            owners.setdefault(path, []).append(name)
    shared = {path: names for path, names in owners.items() if len(names) > 1}
    tap.check(not shared, "no file is in both packages", str(shared))


def check_control(tap, output_dir, version):
    deb = package_path(output_dir, "mist-server", version)
    with tempfile.TemporaryDirectory() as control:
        run(["dpkg-deb", "-e", deb, control], check=True)
        with open(os.path.join(control, "conffiles"), encoding="utf-8") as conffiles:
            listed = conffiles.read().split()
        with open(os.path.join(control, "postinst"), encoding="utf-8") as postinst:
            script = postinst.read()
    tap.check("/etc/mist/backend-stub.conf" in listed, "server config is a conffile",
              f"conffiles: {listed}")
    tap.check(script.find("systemd-sysusers") < script.find("deb-systemd-invoke"),
              "postinst creates the user before starting the service", script)


def run_unpacked(tap, root, version):
    for argv, pattern in COMMANDS:
        program = os.path.join(root, argv[0])
        if not tap.check(os.access(program, os.X_OK), f"{argv[0]} is executable",
                         f"{program} is missing or not executable"):
            continue
        result = run([program, *argv[1:]], timeout=60)
        if pattern is not None:
            pattern = pattern.replace("VERSION", re.escape(version))
        passed = result.returncode == 0 and (
            pattern is None or re.search(pattern, result.stdout + result.stderr))
        tap.check(passed, f"{' '.join(argv)} runs from the package", describe(result))


def check_unit_and_user(tap, root):
    unit = os.path.join(root, "lib/systemd/system/mist-backend-stub.service")
    with tempfile.TemporaryDirectory() as folder:
        # systemd-analyze verify checks that ExecStart's program exists, so point it at
        # the unpacked copy.
        with open(unit, encoding="utf-8") as source:
            text = source.read().replace("ExecStart=/usr/bin/", f"ExecStart={root}/usr/bin/")
        copy = os.path.join(folder, "mist-backend-stub.service")
        with open(copy, "w", encoding="utf-8") as target:
            target.write(text)
        result = run(["systemd-analyze", "verify", copy])
        tap.check(result.returncode == 0 and not result.stderr.strip(),
                  "systemd-analyze verifies the unit", describe(result))

    result = run(["systemd-sysusers", f"--root={root}", "mist.conf"])
    passwd = ""
    if os.path.exists(os.path.join(root, "etc/passwd")):
        with open(os.path.join(root, "etc/passwd"), encoding="utf-8") as accounts:
            passwd = accounts.read()
    tap.check(result.returncode == 0 and re.search(r"^mist:x:\d+:\d+:.*:/var/lib/mist:", passwd, re.M),
              "sysusers.d creates the mist user", describe(result) + "\n/etc/passwd:\n" + passwd)


def free_loopback_port():
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return probe.getsockname()[1]


def shipped_config_for_test(root, data_dir, port):
    """Return the packaged configuration with only data-dir and listen changed, so the
    server runs as a normal user on a free loopback port."""
    with open(os.path.join(root, "etc/mist/backend-stub.conf"), encoding="utf-8") as config:
        text = config.read()
    text, data_dirs = re.subn(r"(?m)^data-dir=.*$", f"data-dir={data_dir}", text)
    text, listens = re.subn(r"(?m)^listen=.*$", f"listen=127.0.0.1:{port}", text)
    if data_dirs != 1 or listens != 1:
        raise ValueError(f"{config.name}: expected one data-dir= line and one listen= line")
    return text


def fetch_server_info(port, server, deadline):
    """Poll GET /api/v1/server until it responds, the server exits or the deadline passes."""
    url = f"http://127.0.0.1:{port}/api/v1/server"
    while time.monotonic() < deadline and server.poll() is None:
        try:
            with urllib.request.urlopen(url, timeout=5) as response:
                return json.load(response)
        except (urllib.error.URLError, ConnectionError):
            time.sleep(0.2)
    return None


def mistpipe(root, work, arguments, password=None):
    """Run the packaged mistpipe with its session token kept under work."""
    environment = dict(os.environ, XDG_CONFIG_HOME=os.path.join(work, "config"))
    environment.pop("MIST_SERVER", None)
    environment.pop("MIST_TOKEN", None)
    return run([os.path.join(root, "usr/bin/mistpipe"), *arguments], env=environment,
               input=None if password is None else password + "\n", timeout=120)


def make_build_folder(work):
    folder = os.path.join(work, "game-1.0")
    os.makedirs(os.path.join(folder, "data"))
    with open(os.path.join(folder, "start.sh"), "w", encoding="utf-8") as script:
        script.write("#!/bin/sh\necho started\n")
    with open(os.path.join(folder, "data", "level1.dat"), "wb") as level:
        level.write(bytes(range(256)) * 64)
    return folder


def fetch_text(url):
    """Return the body of a GET request, or the error as text."""
    try:
        with urllib.request.urlopen(url, timeout=10) as response:
            return response.read().decode("utf-8", "replace")
    except (urllib.error.URLError, ConnectionError) as error:
        return f"request failed: {error}"


def check_admin_workflow(tap, root, version, work):
    """Follow README.md's server section with the packaged programs and configuration:
    create the first admin offline, start the server as the unit does, log in, create a
    game and push a version of it."""
    server_program = os.path.join(root, "usr/bin/mist-backend-stub")
    if not os.access(server_program, os.X_OK):
        tap.check(False, "packaged server starts with the packaged config",
                  "usr/bin/mist-backend-stub is not in the package")
        return
    data_dir = os.path.join(work, "server-data")
    os.mkdir(data_dir)
    password = "packaged admin password"
    added = mistpipe(root, work, ["--data-dir", data_dir, "user", "add", "--admin", "admin"],
                     password)
    tap.check(added.returncode == 0, "mistpipe adds the first admin offline", describe(added))

    port = free_loopback_port()
    config = os.path.join(work, "backend-stub.conf")
    with open(config, "w", encoding="utf-8") as target:
        target.write(shipped_config_for_test(root, data_dir, port))
    url = f"http://127.0.0.1:{port}"
    log_path = os.path.join(work, "server.log")
    with open(log_path, "w", encoding="utf-8") as log:
        # The packages are unpacked, not installed, so point the server at the unpacked
        # portal pages instead of /usr/share/mist/admin.
        environment = dict(os.environ,
                           MIST_ADMIN_PORTAL_DIR=os.path.join(root, "usr/share/mist/admin"))
        server = subprocess.Popen([server_program, "--config", config], env=environment,
                                  stdout=log, stderr=subprocess.STDOUT)
    try:
        info = fetch_server_info(port, server, time.monotonic() + 30)
        steps = [
            ("mistpipe logs in as the admin", ["login", "admin"], password),
            ("mistpipe creates a game", ["game", "create", "demo", "--title", "Demo", "--public"], None),
            ("mistpipe pushes a version",
             ["push", "demo", "--version", "1.0", make_build_folder(work)], None),
            ("mistpipe sets the launch command",
             ["launch-config", "demo", "--executable", "start.sh"], None),
            ("mistpipe adds a user online", ["user", "add", "friend"], "friend's password"),
        ]
        results = [(name, mistpipe(root, work, ["--server", url, *arguments], stdin))
                   for name, arguments, stdin in steps]
        listed = mistpipe(root, work, ["--server", url, "game", "list"])
        portal = fetch_text(f"{url}/admin/")
    finally:
        server.terminate()
        server.wait(timeout=30)

    with open(log_path, encoding="utf-8") as log:
        output = log.read()
    tap.check(info is not None and info.get("server") == "mist-backend-stub"
              and info.get("version") == version,
              "packaged server starts with the packaged config",
              f"GET /api/v1/server on port {port}: {info}\nserver output:\n{output}")
    for name, result in results:
        tap.check(result.returncode == 0, name, describe(result) + "\nserver output:\n" + output)
    tap.check(listed.returncode == 0 and "demo" in listed.stdout, "mistpipe lists the game",
              describe(listed))
    tap.check("<html" in portal.lower(), "packaged server serves the admin portal",
              f"GET /admin/: {portal[:500]}")


def main():
    version = sys.argv[1]
    tap = Tap()
    for tool in ("dpkg-buildpackage", "dh", "lintian", "systemd-analyze", "systemd-sysusers"):
        if shutil.which(tool) is None:
            tap.skip("package build", f"{tool} is not installed (build-aux/install-deps test)")
            return tap.done()

    with tempfile.TemporaryDirectory(prefix="mist-deb-test-") as work:
        output_dir = os.path.join(work, "out")
        root = os.path.join(work, "root")
        if not build_packages(tap, output_dir):
            return tap.done()
        check_contents(tap, output_dir, version)
        check_control(tap, output_dir, version)
        for name in PACKAGE_FILES:
            run(["dpkg", "-x", package_path(output_dir, name, version), root], check=True)
        run_unpacked(tap, root, version)
        check_unit_and_user(tap, root)
        check_admin_workflow(tap, root, version, work)

        changes = os.path.join(output_dir, f"mist_{version}_{host_architecture()}.changes")
        tap.run("lintian reports no errors", ["lintian", "--fail-on", "error", changes])
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
