#!/usr/bin/python3
# End-to-end test of the launcher: starts a mist-backend-stub with two games (one with
# three versions, one private), then the real mist under Xvfb, and drives it through
# the accessibility tree with dogtail as a user would. Prints TAP. Run by e2e-test,
# which provides the private D-Bus session and home folder.
#
# SPDX-License-Identifier: GPL-3.0-or-later

import os
import random
import re
import shutil
import subprocess
import sys
import tempfile
import time

BUILD = os.environ["MIST_BUILD_ROOT"]
SOURCE = os.environ["MIST_SOURCE_ROOT"]
MISTPIPE = os.path.join(BUILD, "backend-stub", "mistpipe")
SERVER = os.path.join(BUILD, "backend-stub", "mist-backend-stub")
MIST = os.path.join(BUILD, "client", "gui", "mist")
ADMIN_PASSWORD = "admin-password-e2e"
PLAYER_PASSWORD = "player-password-e2e"
KEYRING_PASSWORD = "keyring-password"

# dogtail prints its own progress ("click on ...") to standard output, which is the TAP
# stream: the TAP lines go to a duplicate of it, and everything else, the output of the
# programs started here included, to standard error.
TAP = os.fdopen(os.dup(sys.stdout.fileno()), "w")
sys.stdout.flush()
os.dup2(sys.stderr.fileno(), sys.stdout.fileno())
sys.stdout = sys.stderr

work = tempfile.mkdtemp(prefix="mist-e2e-")
processes = []
step = 0


def start(args, **kwargs):
    process = subprocess.Popen(args, **kwargs)
    processes.append(process)
    return process


def ok(description):
    global step
    step += 1
    print(f"ok {step} - {description}", file=TAP, flush=True)


def bail(description, detail=""):
    # A picture of the screen helps to see why; kept when MIST_E2E_SCREENSHOT names a file.
    if os.environ.get("MIST_E2E_SCREENSHOT") and os.environ.get("DISPLAY"):
        subprocess.run(["import", "-window", "root", os.environ["MIST_E2E_SCREENSHOT"]],
                       capture_output=True)
    print(f"not ok {step + 1} - {description}", file=TAP, flush=True)
    for line in detail.splitlines():
        print(f"# {line}", file=TAP)
    print(f"Bail out! {description}", file=TAP, flush=True)
    raise SystemExit(1)


def wait_for(description, condition, timeout=60.0):
    """Polls condition until it returns a true value, which is returned."""
    deadline = time.monotonic() + timeout
    last_error = None
    while time.monotonic() < deadline:
        try:
            value = condition()
            if value:
                return value
        except Exception as error:  # the tree changes while it is searched
            last_error = error
        time.sleep(0.25)
    bail(f"{description} (timed out after {timeout:.0f} s)", repr(last_error or ""))


def start_display():
    """Starts Xvfb on a display number it picks itself and writes into a file."""
    global xvfb
    number_path = os.path.join(work, "display")
    with open(number_path, "w") as number_file:
        xvfb = start(["Xvfb", "-displayfd", str(number_file.fileno()), "-screen", "0",
                      "1280x800x24", "-nolisten", "tcp", "-noreset"],
                     pass_fds=[number_file.fileno()], stdout=subprocess.DEVNULL,
                     stderr=open(os.path.join(work, "xvfb.log"), "w"))
    number = wait_for("Xvfb opens a display",
                      lambda: open(number_path).read().strip() or
                      (xvfb.poll() is not None and bail("Xvfb starts",
                                                        open(os.path.join(work, "xvfb.log")).read())),
                      timeout=20)
    os.environ["DISPLAY"] = ":" + number
    os.environ["GDK_BACKEND"] = "x11"
    os.environ["GSK_RENDERER"] = "cairo"
    os.environ["GDK_DEBUG"] = "gl-disable"


def start_session_services():
    # Services the bus starts on demand (the accessibility registry) need the display.
    subprocess.run(["dbus-update-activation-environment", "DISPLAY", "GDK_BACKEND",
                    "XDG_RUNTIME_DIR", "HOME"], check=True)
    subprocess.run(["gsettings", "set", "org.gnome.desktop.interface",
                    "toolkit-accessibility", "true"], check=True)
    start(["/usr/libexec/at-spi-bus-launcher", "--launch-immediately"])
    deadline = time.monotonic() + 10
    while subprocess.run(["dbus-send", "--session", "--print-reply", "--dest=org.a11y.Bus",
                          "/org/a11y/bus", "org.a11y.Bus.GetAddress"],
                         capture_output=True).returncode != 0:
        if time.monotonic() > deadline:
            bail("the accessibility bus starts")
        time.sleep(0.1)
    keyring = subprocess.run(["gnome-keyring-daemon", "--unlock", "--components=secrets",
                              "--daemonize"], input=KEYRING_PASSWORD.encode(),
                             capture_output=True, check=True)
    for line in keyring.stdout.decode().splitlines():
        name, _, value = line.partition("=")
        if value:
            os.environ[name] = value


def mistpipe(*args, password=None, server=True):
    command = [MISTPIPE]
    if server:
        command += ["--server", server_url]
    result = subprocess.run(command + list(args), capture_output=True, text=True,
                            input=(password + "\n") if password else None)
    if result.returncode != 0:
        bail("mistpipe " + " ".join(args), result.stderr)
    return result.stdout


def make_build(folder, version):
    """A game folder whose data file changes a little between versions."""
    os.makedirs(os.path.join(folder, "bin"), exist_ok=True)
    script = os.path.join(folder, "bin", "hello")
    with open(script, "w") as f:
        f.write(f"#!/bin/sh\necho 'Hello {version}'\n")
    os.chmod(script, 0o755)
    data = bytearray(random.Random(7).randbytes(4 * 1024 * 1024))
    data[1000:1000 + len(version)] = version.encode()
    with open(os.path.join(folder, "world.dat"), "wb") as f:
        f.write(data)


def start_server():
    global server_url
    data = os.path.join(work, "server")
    os.makedirs(data)
    subprocess.run([MISTPIPE, "--data-dir", data, "user", "add", "admin", "--admin"],
                   input=ADMIN_PASSWORD + "\n", text=True, check=True, capture_output=True)
    subprocess.run([MISTPIPE, "--data-dir", data, "user", "add", "player"],
                   input=PLAYER_PASSWORD + "\n", text=True, check=True, capture_output=True)
    server = start([SERVER, "--data-dir", data, "--listen", "127.0.0.1:0"],
                   stdout=subprocess.PIPE, stderr=open(os.path.join(work, "server.log"), "w"),
                   text=True)
    line = server.stdout.readline()
    match = re.match(r"Listening on (\S+)", line)
    if not match:
        bail("the server starts", open(os.path.join(work, "server.log")).read())
    server_url = match.group(1)
    mistpipe("login", "admin", password=ADMIN_PASSWORD)
    os.environ["MIST_SERVER"] = server_url


def publish(version, changelog, extra_mib=0):
    folder = os.path.join(work, "hello-" + version)
    make_build(folder, version)
    if extra_mib:
        # New content has no delta, so the update downloads it in full and can be paused.
        with open(os.path.join(folder, "level2.dat"), "wb") as f:
            f.write(random.Random(version).randbytes(extra_mib * 1024 * 1024))
    mistpipe("push", "hello", "--version", version, "--changelog", changelog, folder)


def seed_games():
    mistpipe("game", "create", "hello", "--title", "Hello Shell", "--public",
             "--description", "Says hello.")
    for version in ("1.0", "1.1", "1.2"):
        publish(version, f"Release {version}.")
    mistpipe("launch-config", "hello", "--executable", "bin/hello")
    mistpipe("game", "create", "secret", "--title", "Secret Project", "--private")
    folder = os.path.join(work, "secret")
    make_build(folder, "0.1")
    mistpipe("push", "secret", "--version", "0.1", "--changelog", "Hidden.", folder)


def main():
    print("1..14", file=TAP, flush=True)
    start_display()
    start_session_services()
    start_server()
    seed_games()
    ok("server with two games, one of them private")

    if xvfb.poll() is not None:
        bail(f"Xvfb still runs (it exited with {xvfb.returncode})",
             open(os.path.join(work, "xvfb.log")).read())
    # 512 KiB/s makes a 4 MiB download last long enough to pause it.
    settings = os.path.join(os.environ["XDG_CONFIG_HOME"], "glib-2.0", "settings")
    os.makedirs(settings, exist_ok=True)
    with open(os.path.join(settings, "keyfile"), "w") as f:
        f.write("[example/mist/Launcher]\nbandwidth-limit=uint32 512\n")
    env = dict(os.environ, GSETTINGS_BACKEND="keyfile",
               GSETTINGS_SCHEMA_DIR=os.path.join(BUILD, "data"))
    start([MIST], env=env)

    from dogtail import config, rawinput
    from dogtail.tree import root
    config.searchShowingOnly = False
    config.logDebugToFile = False
    config.logDebugToStdOut = False

    app = wait_for("mist shows up on the accessibility bus", lambda: root.application("mist"))

    def find(role, name=None, parent=None, showing=False):
        """The first node with role and name (a regular expression), or None."""
        nodes = (parent or app).findChildren(
            lambda n: n.roleName == role and (name is None or re.search(name, n.name or ""))
            and (not showing or n.showing))
        return nodes[0] if nodes else None

    def button(label):
        """The push button labelled label. GTK 4.8 names a button with a mnemonic
        "_Label Label", the text with its underscore and then the shown text."""
        return find("push button", "^_?" + re.escape(label) + "( " + re.escape(label) + ")?$")

    def login_fields():
        fields = [find(role, name, showing=False) for role, name in
                  (("text", "Server Address"), ("text", "User Name"), ("text", "Password"))]
        return fields if all(fields) else None

    def log_in(password):
        fields = wait_for("login fields", login_fields)
        fields[0].text = server_url
        fields[1].text = "player"
        fields[2].text = password
        find("push button", "^Log In$").doActionNamed("click")

    log_in("wrong password")
    wait_for("a wrong password is explained",
             lambda: find("label", "Wrong user name or password"))
    ok("a wrong password gets a clear error")

    log_in(PLAYER_PASSWORD)
    wait_for("the library shows the public game", lambda: find("panel", "Hello Shell")
             or find("grouping", "Hello Shell"))
    ok("logging in shows the library")

    if find("panel", "Secret Project") or find("grouping", "Secret Project"):
        bail("a player does not see the private game")
    ok("the private game is hidden from a player")

    search = wait_for("search entry", lambda: app.findChildren(
        lambda n: (n.name or "").startswith("Search games") and n.roleName != "label" and
        n.roleName != "push button")[0])
    # Keys go to the window under the pointer: Xvfb runs no window manager.
    rawinput.absoluteMotion(300, 300)
    rawinput.keyCombo("<Control>f")
    search.text = "hello"
    rawinput.pressKey("Return")
    install = wait_for("the game page offers Install", lambda: button("Install"))
    ok("searching and opening the game page")

    install.doActionNamed("click")
    wait_for("a download shows progress", lambda: find("progress bar") or button("Play"))
    ok("installing shows progress")

    wait_for("Play once installed", lambda: button("Play"), timeout=120)
    ok("Play is offered once the game is installed")

    publish("1.3", "Release 1.3 with a second level.", extra_mib=4)
    ok("a new version is published with mistpipe")

    rawinput.keyCombo("<Control>r")
    wait_for("Update after the refresh", lambda: button("Update"))
    route = wait_for("the update shows its route and size",
                     lambda: find("label", r"1\.2 → 1\.3: .*B"))
    ok("the game offers the update with its size: " + route.name)

    button("Update").doActionNamed("click")
    pause = wait_for("Pause while updating", lambda: button("Pause") or
                     button("Play"))
    if pause.name.lstrip("_").startswith("Pause"):
        pause.doActionNamed("click")
        resume = wait_for("Resume after pausing", lambda: button("Resume"))
        ok("pausing a download offers Resume")
        resume.doActionNamed("click")
    else:
        bail("pausing a download offers Resume", "the update finished before it could be paused")
    wait_for("Play after the update", lambda: button("Play"), timeout=120)
    ok("the resumed update finishes")

    def click_any(role, name):
        """Clicks the first live node with role and name; GtkMenuButton shows two."""
        for node in app.findChildren(lambda n: n.roleName == role and
                                     re.search(name, n.name or "")):
            try:
                node.doActionNamed("click")
                return True
            except Exception:
                continue
        return False

    wait_for("the main menu opens", lambda: click_any("push button", "^Main menu$"))
    wait_for("Log Out in the main menu", lambda: click_any("menu item", "Log Out") or
             click_any("push button", "^_?Log Out"))
    wait_for("the login page after logging out", lambda: find("push button", "^Log In$"))
    ok("logging out returns to the login page")

    log_in(PLAYER_PASSWORD)
    wait_for("the library after logging in again", lambda: find("panel", "Hello Shell, Installed")
             or find("grouping", "Hello Shell, Installed"))
    ok("logging in again shows the game installed")

    if not os.path.isfile(os.path.join(os.environ["XDG_DATA_HOME"], "mist", "games", "hello",
                                       "bin", "hello")):
        bail("the game's files are in the install folder")
    ok("the game's files are in the install folder")


try:
    main()
finally:
    for process in reversed(processes):
        process.terminate()
        try:
            process.wait(timeout=10)
        except subprocess.TimeoutExpired:
            process.kill()
    shutil.rmtree(work, ignore_errors=True)
