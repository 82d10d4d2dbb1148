"""The local stack's servers fetched with Maven, once per version, and the Java that runs them.

Versions are pinned only in ``deploy/stack/pom.xml``; Maven resolves each server's runtime
classpath into ``cache_dir`` and the result is reused until the pom or the launcher changes.
"""

from __future__ import annotations

import hashlib
import os
import re
import shutil
import subprocess
import xml.etree.ElementTree as ET
from collections import deque
from collections.abc import Callable
from pathlib import Path

from rasad.core.settings import Settings

KAFKA = "kafka"
OPENSEARCH = "opensearch"
SERVICES = (KAFKA, OPENSEARCH)

_DEPLOY = Path(__file__).resolve().parents[2] / "deploy"
_POM = _DEPLOY / "stack" / "pom.xml"
_VERSION_PROPERTY = {KAFKA: "kafka.version", OPENSEARCH: "opensearch.version"}

MIN_JAVA = 17  # Kafka 4.x brokers and OpenSearch 2.x both need Java 17.
_MAVEN_TAIL = 40  # Maven prints the failing artifact and repository in its last lines.
_ANSI = re.compile(r"\x1b\[[0-9;]*m")  # Maven colours a few lines even in batch mode.


class StackError(Exception):
    """The local stack cannot do what was asked; the message says what to change."""


def tail(path: Path, lines: int) -> str:
    """The last ``lines`` lines of a log file (or a note that there is none yet)."""
    if not path.is_file():
        return f"(no log yet at {path})"
    with path.open(encoding="utf-8", errors="replace") as f:
        return "".join(deque(f, maxlen=lines)).rstrip("\n")


def find_java(settings: Settings) -> Path:
    """The java binary for both servers, checked to be Java 17 or newer."""
    if settings.stack_java_home is not None:
        java, source = settings.stack_java_home / "bin" / "java", "the stack_java_home setting"
    elif os.environ.get("JAVA_HOME"):
        java, source = Path(os.environ["JAVA_HOME"]) / "bin" / "java", "JAVA_HOME"
    else:
        found = shutil.which("java")
        java, source = Path(found or "java"), "PATH"
    if not java.is_file():
        raise StackError(
            f"No Java found (looked at {java}, from {source}). The local stack runs Kafka and "
            f"OpenSearch on a JDK {MIN_JAVA} or newer: install one (e.g. `apt-get install "
            f"openjdk-17-jdk-headless`) and put it on PATH, or set RASAD_STACK_JAVA_HOME "
            "(setting stack_java_home) to its home directory."
        )
    out = subprocess.run([str(java), "-version"], capture_output=True, text=True, check=False)
    match = re.search(r'version "(\d+)(?:\.(\d+))?', out.stderr)
    major = int(match.group(1)) if match else 0
    if major == 1 and match and match.group(2):  # "1.8.0" is Java 8
        major = int(match.group(2))
    if major < MIN_JAVA:
        raise StackError(
            f"{java} (from {source}) is Java {major or 'of unknown version'}, but the local "
            f"stack needs Java {MIN_JAVA} or newer. Install a newer JDK and point "
            "RASAD_STACK_JAVA_HOME (setting stack_java_home) at it."
        )
    return java


def versions() -> dict[str, str]:
    """Server versions, read from the pom so that they are pinned in one place."""
    ns = {"m": "http://maven.apache.org/POM/4.0.0"}
    props = ET.parse(_POM).getroot().find("m:properties", ns)
    if props is None:
        raise StackError(f"{_POM} has no <properties>; it should pin kafka.version.")
    return {s: props.findtext(f"m:{_VERSION_PROPERTY[s]}", "", ns).strip() for s in SERVICES}


def _fingerprint() -> str:
    """Changes when the pom or the launcher's source does, so the build is redone then."""
    digest = hashlib.sha256(_POM.read_bytes())
    for source in sorted((_POM.parent / "src").rglob("*.java")):
        digest.update(source.read_bytes())
    return digest.hexdigest()


def install_dir(settings: Settings, service: str, version: str) -> Path:
    return settings.cache_dir.resolve() / "stack" / f"{service}-{version}"


def _built(settings: Settings, service: str, version: str, fingerprint: str) -> bool:
    marker = install_dir(settings, service, version) / ".provisioned"
    fresh = marker.is_file() and marker.read_text().strip() == fingerprint
    return fresh and (marker.parent / "lib").is_dir()


def provisioned(settings: Settings) -> bool:
    """True when both servers' jars are in the cache and `up` will not run Maven."""
    fingerprint = _fingerprint()
    return all(_built(settings, s, v, fingerprint) for s, v in versions().items())


def provision(settings: Settings, java: Path, progress: Callable[[str], None] = print) -> None:
    """Resolve each server's runtime classpath with Maven, once per version."""
    fingerprint = _fingerprint()
    missing = {s: v for s, v in versions().items() if not _built(settings, s, v, fingerprint)}
    mvn = shutil.which("mvn")
    if missing and mvn is None:
        raise StackError(
            "Maven (mvn) is not on PATH. The first `rasad stack up` downloads Kafka and "
            "OpenSearch from Maven Central with it; install Maven 3.6 or newer (e.g. "
            "`apt-get install maven`) and run it again."
        )
    cache = settings.cache_dir.resolve()
    env = {**os.environ, "JAVA_HOME": str(java.resolve().parents[1])}  # Maven's own JDK.
    for service, version in missing.items():
        progress(f"Fetching {service} {version} with Maven into {cache} (first run only)...")
        target = install_dir(settings, service, version)
        shutil.rmtree(target / "lib", ignore_errors=True)  # No jars left from an older build.
        target.mkdir(parents=True, exist_ok=True)
        log = target / "maven.log"
        command = [str(mvn), "-B", "-ntp", "-Dstyle.color=never", "-f", str(_POM), "-P", service]
        command += ["package", f"-Dmaven.repo.local={cache / 'm2'}"]
        command += [f"-Dstack.out={cache / 'stack'}", f"-Dstack.build.dir={cache / 'stack/build'}"]
        with log.open("wb") as out:
            done = subprocess.run(command, stdout=out, stderr=subprocess.STDOUT, env=env)
        if done.returncode != 0:
            raise StackError(
                f"Maven could not fetch or build {service} {version} (exit {done.returncode}). "
                "Check that Maven Central is reachable (or that a mirror in ~/.m2/settings.xml "
                f"is); the full output is in {log}. Its last lines:\n"
                + _ANSI.sub("", tail(log, _MAVEN_TAIL))
            )
        (target / ".provisioned").write_text(fingerprint + "\n")
