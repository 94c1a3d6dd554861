"""Helpers for the Python test scripts run by `meson test`: a TAP 13 producer and
readers of the project's files.

Each check prints one `ok`/`not ok` line, and the details of a failure follow as `#`
comment lines so that meson's log shows why. The plan line comes last, so the TAP parser
reports a script that dies half way as failed.
"""
import configparser
import os
import shutil
import subprocess
import sys


class Tap:
    def __init__(self):
        self.count = 0
        self.failed = 0
        print("TAP version 13", flush=True)

    def _emit(self, passed, name, details="", directive=""):
        self.count += 1
        status = "ok" if passed else "not ok"
        line = f"{status} {self.count} - {name}"
        if directive:
            line += f" # {directive}"
        print(line)
        for detail in str(details).rstrip().splitlines():
            print(f"#   {detail}")
        sys.stdout.flush()
        if not passed:
            self.failed += 1
        return passed

    def check(self, passed, name, details=""):
        """Report one check; details are printed only when it failed."""
        return self._emit(bool(passed), name, "" if passed else details)

    def skip(self, name, reason):
        return self._emit(True, name, directive=f"SKIP {reason}")

    def run(self, name, argv, **kwargs):
        """Run a command as one check: it passes when the command exits with 0.

        The check is skipped, naming the missing program, when argv[0] is not
        installed.
        """
        if shutil.which(argv[0]) is None:
            return self.skip(name, f"{argv[0]} is not installed (build-aux/install-deps test)")
        result = subprocess.run(argv, capture_output=True, text=True, **kwargs)
        return self.check(result.returncode == 0, name, describe(result))

    def done(self):
        print(f"1..{self.count}", flush=True)
        return 1 if self.failed else 0


def describe(result):
    """Format a finished subprocess as the command line, its output and exit status."""
    command = " ".join(map(str, result.args))
    return f"$ {command}\n{result.stdout}{result.stderr}exit status {result.returncode}"


def read_desktop_entry(path):
    """Parse the [Desktop Entry] group of a desktop file, keeping the keys' case."""
    parser = configparser.ConfigParser(interpolation=None)
    parser.optionxform = str
    parser.read(path, encoding="utf-8")
    return parser["Desktop Entry"]


def source_root():
    return os.environ["MIST_SOURCE_ROOT"]


def build_root():
    return os.environ["MIST_BUILD_ROOT"]
