"""Debian's headless Chromium, as the tests that render pages run it."""

from __future__ import annotations

import os
import shutil
import subprocess
from pathlib import Path

import pytest

#: without the networking flags Chromium tries hosts this machine cannot reach, at every start
FLAGS = (
    "--headless",
    "--no-sandbox",
    "--disable-gpu",
    "--disable-quic",
    "--no-first-run",
    "--disable-background-networking",
    "--disable-component-update",
    "--disable-sync",
)


def require(*missing: str) -> None:
    """Skip with the reasons outside CI, fail in CI, when anything is `missing`."""
    reasons = [reason for reason in missing if reason]
    if shutil.which("chromium") is None:
        reasons.insert(0, "Debian's `chromium` is not installed")
    if reasons:
        if os.environ.get("CI") == "true":
            pytest.fail("; ".join(reasons))
        pytest.skip("; ".join(reasons))


def run(profile: Path, *args: str, timeout: int = 180) -> subprocess.CompletedProcess[str]:
    """`chromium --headless ... ARGS` with a fresh profile in `profile`."""
    require()
    return subprocess.run(
        ["chromium", *FLAGS, f"--user-data-dir={profile / 'profile'}", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
    )
