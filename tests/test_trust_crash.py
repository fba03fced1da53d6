"""Crash safety (issue #8): a run killed by a real signal leaves the previous package byte-identical.

``interop convert`` runs as a subprocess over an existing package (made from cohort A) while converting a
different cohort (B), so a package that was half-replaced would show. It is killed with SIGKILL or SIGTERM
at points observed from outside: early (still reading), once its partial folder exists (writing started),
and once the partial folder holds a define.xml (deep into writing). The swap itself is cut with a SIGKILL
sent from inside the process at the exact step (a wrapper around the rename functions).
"""

from __future__ import annotations

import signal
import subprocess
import sys
import time
from pathlib import Path

import pyreadstat
import pytest

from interop.package import OLD_MARK, PARTIAL_MARK
from interop.pipeline import ConvertOptions, convert
from tests.test_trust_support import INTEROP, REPO, generate_cohort, package_files

STUDY = "len-cdm"


@pytest.fixture(scope="module")
def cohorts(tmp_path_factory):
    root = tmp_path_factory.mktemp("crash")
    return generate_cohort(STUDY, 4, 3, root / "a"), generate_cohort(STUDY, 5, 11, root / "b")


@pytest.fixture()
def existing(cohorts, tmp_path):
    """A complete package from cohort A, and its bytes."""
    out = tmp_path / "out" / "pkg"
    convert(ConvertOptions((cohorts[0],), STUDY, out))
    return out, package_files(out)


def siblings(out: Path) -> list[str]:
    return sorted(p.name for p in out.parent.iterdir() if p.name != out.name)


def partial_folder(out: Path) -> Path | None:
    found = [p for p in out.parent.iterdir() if p.name.startswith(f".{out.name}{PARTIAL_MARK}")]
    return found[0] if found else None


def reached(point: str, out: Path, started: float) -> bool:
    partial = partial_folder(out)
    if point == "early":
        return time.monotonic() - started > 1.0
    if point == "writing started":
        return partial is not None
    if point == "define written":
        return partial is not None and (partial / "define.xml").exists()
    raise ValueError(point)


def kill_at(point: str, sig: signal.Signals, source: Path, out: Path) -> tuple[int, bool]:
    """Start a convert of ``source`` into ``out``; send ``sig`` once ``point`` is reached.

    Returns the exit status and whether the partial folder existed when the signal was sent; a run that
    ends by itself fails the test with its stderr.
    """
    log = out.parent.parent / "stderr.log"
    proc = subprocess.Popen([str(INTEROP), "convert", str(source), "--study", STUDY, "--out", str(out),
                             "--format", "json"], cwd=REPO, stdout=subprocess.DEVNULL, stderr=log.open("wb"))
    started = time.monotonic()
    try:
        while proc.poll() is None and not reached(point, out, started):
            if time.monotonic() - started > 240:
                raise AssertionError(f"{point!r} not reached in 240 s")
            time.sleep(0.002)
        writing = partial_folder(out) is not None
        assert proc.poll() is None, f"the run ended by itself ({proc.returncode}): {log.read_text()[-2000:]}"
        proc.send_signal(sig)
        return proc.wait(timeout=60), writing
    finally:
        if proc.poll() is None:
            proc.kill()
            proc.wait()


@pytest.mark.parametrize(("point", "sig"), [
    ("early", signal.SIGKILL),
    ("writing started", signal.SIGKILL),
    ("writing started", signal.SIGTERM),
    ("define written", signal.SIGKILL),
])
def test_killed_run_leaves_previous_package_byte_identical(point, sig, cohorts, existing):
    out, before = existing
    status, writing = kill_at(point, sig, cohorts[1], out)
    assert status == -sig
    if point != "early":
        assert writing, "the signal must arrive after the run started writing"
    assert package_files(out) == before
    assert all(name.startswith(f".{out.name}{PARTIAL_MARK}") for name in siblings(out))


def subjects_in(out: Path) -> int:
    return len(pyreadstat.read_xport(str(out / "dm.xpt"))[0])


def test_next_run_removes_the_stale_partial_folder(cohorts, existing):
    out, _ = existing
    status, writing = kill_at("define written", signal.SIGKILL, cohorts[1], out)
    assert status == -signal.SIGKILL and writing
    assert len(siblings(out)) == 1
    convert(ConvertOptions((cohorts[1],), STUDY, out))
    assert siblings(out) == []
    assert subjects_in(out) == 3      # cohort B (3 subjects; cohort A has 2) is now in place


KILL_INSIDE = """
import os, signal, sys
from pathlib import Path
import interop.package as package
from interop.pipeline import ConvertOptions, convert

mode = sys.argv[3]
if mode == "between renames":
    package.exchange_paths = lambda first, second: False          # the portable two-rename swap
    real_replace = os.replace
    def replace_then_die(src, dst):
        real_replace(src, dst)
        if package.OLD_MARK in Path(dst).name:                      # previous package moved aside
            os.kill(os.getpid(), signal.SIGKILL)
    package.os.replace = replace_then_die
else:
    real_exchange = package.exchange_paths
    def exchange_then_die(first, second):                           # swapped; old package not yet deleted
        assert real_exchange(first, second)
        os.kill(os.getpid(), signal.SIGKILL)
    package.exchange_paths = exchange_then_die
convert(ConvertOptions((Path(sys.argv[1]),), "len-cdm", Path(sys.argv[2])))
"""


@pytest.mark.parametrize("mode", ["between renames", "after exchange"])
def test_kill_inside_the_swap_never_loses_a_complete_package(mode, cohorts, existing):
    out, before = existing
    proc = subprocess.run([sys.executable, "-c", KILL_INSIDE, str(cohorts[1]), str(out), mode], cwd=REPO,
                          capture_output=True, timeout=300)
    assert proc.returncode == -signal.SIGKILL, proc.stderr.decode()[-2000:]
    if mode == "between renames":
        assert not out.exists() and any(OLD_MARK in name for name in siblings(out))
        from interop.package import remove_stale_partials

        remove_stale_partials(out.resolve())          # what the next run does first
        assert package_files(out) == before
    else:
        after = package_files(out)                     # the new, complete package is in place
        assert after != before and subjects_in(out) == 3
        assert "manifest.json" in after
    convert(ConvertOptions((cohorts[0],), STUDY, out))
    assert siblings(out) == [] and package_files(out) == before
