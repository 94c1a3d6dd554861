#!/usr/bin/env python3
"""Validates the desktop file, AppStream metainfo, GSettings schema and icons, and checks
that they all name the same application ID.

Usage: test-data-files.py PROJECT_VERSION (run by meson test, which sets
MIST_SOURCE_ROOT and MIST_BUILD_ROOT).
"""
import os
import re
import shutil
import sys
import tempfile
import xml.etree.ElementTree as ElementTree

sys.path.insert(0, os.path.join(os.environ["MIST_SOURCE_ROOT"], "tests"))
from mist_test import Tap, build_root, read_desktop_entry, source_root  # noqa: E402

APP_ID = "example.mist.Launcher"
SCHEMA_PATH = "/example/mist/Launcher/"
SCHEMA_KEYS = {
    "server-url", "last-username", "install-folder", "bandwidth-limit",
    "parallel-downloads", "update-behaviour", "window-width", "window-height",
    "window-maximized", "library-filter",
}
# Views the launcher's screenshots show, each in the light and the dark style.
SCREENSHOT_VIEWS = ["library", "game", "downloads", "login", "preferences"]
SYMBOLIC_COLORS = {"#2e3436", "none"}


def check_desktop_file(tap, path):
    tap.run("desktop file is valid", ["desktop-file-validate", path])
    entry = read_desktop_entry(path)
    tap.check(entry.get("Exec", "").split()[0:1] == ["mist"], "desktop file runs mist",
              f"Exec={entry.get('Exec')}")
    tap.check(entry.get("Icon") == APP_ID, "desktop file icon is the app ID",
              f"Icon={entry.get('Icon')}")


def check_metainfo_ids(tap, root):
    tap.check(root.findtext("id") == APP_ID, "metainfo id is the app ID", root.findtext("id"))
    launchable = root.find("launchable[@type='desktop-id']")
    tap.check(launchable is not None and launchable.text == APP_ID + ".desktop",
              "metainfo launchable is the desktop file",
              "missing" if launchable is None else launchable.text)
    tap.check(root.findtext("icon[@type='stock']") == APP_ID, "metainfo icon is the app ID",
              root.findtext("icon[@type='stock']"))


def check_metainfo_release(tap, root, project_version):
    versions = [release.get("version") for release in root.findall("releases/release")]
    tap.check(versions[:1] == [project_version],
              "newest metainfo release is the project version",
              f"releases {versions}, meson.build version {project_version}: add a <release> "
              "for the new version at the top of <releases>")


def check_metainfo_screenshots(tap, root):
    screenshots = root.findall("screenshots/screenshot")
    images = {}
    for screenshot in screenshots:
        name = os.path.basename(screenshot.findtext("image", ""))
        images[name] = screenshot.get("environment")
    expected = {}
    for view in SCREENSHOT_VIEWS:
        expected[f"{view}.png"] = None
        expected[f"{view}-dark.png"] = "gnome:dark"
    tap.check(images == expected, "metainfo shows every view light and dark",
              f"found {images}\nexpected {expected}")
    folder = os.path.join(source_root(), "docs", "screenshots")
    missing = [name for name in expected if not os.path.isfile(os.path.join(folder, name))]
    tap.check(not missing, "every screenshot is in docs/screenshots", f"missing: {missing}")
    defaults = [s for s in screenshots if s.get("type") == "default"]
    tap.check(len(defaults) == 1, "metainfo has one default screenshot",
              f"{len(defaults)} screenshots have type=\"default\"")


def check_metainfo(tap, path, project_version):
    tap.run("metainfo is valid", ["appstreamcli", "validate", "--no-net", "--pedantic", path])
    root = ElementTree.parse(path).getroot()
    check_metainfo_ids(tap, root)
    check_metainfo_release(tap, root, project_version)
    check_metainfo_screenshots(tap, root)
    rating = root.find("content_rating")
    tap.check(rating is not None and rating.get("type") == "oars-1.1",
              "metainfo has an OARS 1.1 content rating", "missing <content_rating type=\"oars-1.1\">")


def check_schema(tap, path):
    with tempfile.TemporaryDirectory() as folder:
        shutil.copy(path, folder)
        tap.run("schema compiles strictly",
                ["glib-compile-schemas", "--strict", "--dry-run", folder])
    root = ElementTree.parse(path).getroot()
    schema = root.find("schema")
    tap.check(schema.get("id") == APP_ID and schema.get("path") == SCHEMA_PATH,
              "schema id and path follow the app ID", f"id={schema.get('id')} path={schema.get('path')}")
    keys = {key.get("name") for key in schema.findall("key")}
    tap.check(SCHEMA_KEYS <= keys, "schema has every preference key",
              f"missing: {sorted(SCHEMA_KEYS - keys)}")
    enum_id = schema.find("key[@name='update-behaviour']").get("enum")
    nicks = [value.get("nick") for value in root.findall(f"enum[@id='{enum_id}']/value")]
    tap.check(nicks == ["ask", "automatic"], "update behaviour is ask or automatic", f"nicks {nicks}")


def svg_colors(root):
    colors = set()
    for element in root.iter():
        for attribute in ("fill", "stroke"):
            if attribute in element.attrib:
                colors.add(element.get(attribute).lower())
    return colors


def check_icons(tap):
    icons = os.path.join(source_root(), "data", "icons", "hicolor")
    scalable = os.path.join(icons, "scalable", "apps", APP_ID + ".svg")
    symbolic = os.path.join(icons, "symbolic", "apps", APP_ID + "-symbolic.svg")
    for path in (scalable, symbolic):
        root = ElementTree.parse(path).getroot()
        tap.check(root.tag == "{http://www.w3.org/2000/svg}svg" and root.get("viewBox"),
                  f"{os.path.basename(path)} is an SVG with a viewBox", f"root <{root.tag}>")
    colors = svg_colors(ElementTree.parse(symbolic).getroot())
    tap.check(colors <= SYMBOLIC_COLORS, "symbolic icon uses only the recolorable gray",
              f"colors {sorted(colors)}, allowed {sorted(SYMBOLIC_COLORS)}")


def check_config_header(tap):
    with open(os.path.join(build_root(), "mist-config.h"), encoding="utf-8") as header:
        defined = re.search(r'#define MIST_APP_ID "([^"]*)"', header.read())
    tap.check(defined and defined.group(1) == APP_ID, "MIST_APP_ID is the app ID",
              defined.group(0) if defined else "MIST_APP_ID not defined in mist-config.h")


def main():
    project_version = sys.argv[1]
    data_build = os.path.join(build_root(), "data")
    tap = Tap()
    check_desktop_file(tap, os.path.join(data_build, APP_ID + ".desktop"))
    check_metainfo(tap, os.path.join(data_build, APP_ID + ".metainfo.xml"), project_version)
    check_schema(tap, os.path.join(source_root(), "data", APP_ID + ".gschema.xml"))
    check_icons(tap)
    check_config_header(tap)
    return tap.done()


if __name__ == "__main__":
    sys.exit(main())
