"""Run Debian's ``kcat`` (a real third-party Kafka client) against the test broker.

Debian's kcat 1.7.1 links librdkafka 2.0.2, which cannot parse the ApiVersions v3 response of
Tansu 0.6.0 ("Read underflow"). confluent-kafka's wheel ships a current librdkafka with the
same soname (``librdkafka.so.1``), so kcat is run with that library first on
``LD_LIBRARY_PATH``: the kcat binary is Debian's, the protocol code is a librdkafka that speaks
to Tansu. Against a real Kafka either library works.
"""

from __future__ import annotations

import glob
import os
import shutil
import subprocess
from pathlib import Path


def kcat_binary() -> str | None:
    """Path of the kcat executable, or None when it is not installed."""
    return shutil.which("kcat") or ("/usr/bin/kcat" if Path("/usr/bin/kcat").exists() else None)


def wheel_librdkafka() -> Path | None:
    """The librdkafka shipped inside the installed confluent-kafka wheel, if any."""
    import confluent_kafka

    libs = Path(confluent_kafka.__file__).resolve().parent.parent / "confluent_kafka.libs"
    found = sorted(glob.glob(str(libs / "librdkafka-*.so.1")))
    return Path(found[0]) if found else None


def kcat_env(lib_dir: Path) -> dict[str, str]:
    """Environment for kcat with the wheel's librdkafka preferred (see module doc).

    ``lib_dir`` receives a ``librdkafka.so.1`` symlink; without a wheel library the current
    environment is returned unchanged (Debian's library is used).
    """
    env = dict(os.environ)
    lib = wheel_librdkafka()
    if lib is None:
        return env
    lib_dir.mkdir(parents=True, exist_ok=True)
    link = lib_dir / "librdkafka.so.1"
    if not link.exists():
        link.symlink_to(lib)
    env["LD_LIBRARY_PATH"] = os.pathsep.join(
        p for p in (str(lib_dir), env.get("LD_LIBRARY_PATH", "")) if p
    )
    return env


def run_kcat(
    args: list[str], lib_dir: Path, timeout: float = 30
) -> subprocess.CompletedProcess[str]:
    """Run ``kcat ARGS`` (kcat must exist) and return the completed process."""
    kcat = kcat_binary()
    if kcat is None:
        raise FileNotFoundError("kcat is not installed (Debian package kcat)")
    return subprocess.run(
        [kcat, *args], capture_output=True, text=True, timeout=timeout, env=kcat_env(lib_dir)
    )
