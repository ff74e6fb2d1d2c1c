"""Build the lab image once, cached by a hash of its recipe.

Two layers, each tagged with the hash of what made it:

- `dsnwatch-lab-base:<hash>`: Debian bookworm with Postfix, Dovecot (IMAP, LMTP,
  Sieve, ManageSieve), syslog-ng, OpenSSL and Python. Built from a Dockerfile
  where a Debian base image can be pulled, else from a `debootstrap` root file
  system and `docker import` (no registry needed; root needed).
- `dsnwatch-lab:<hash>`: the lab's entrypoints and helpers copied on top.
"""

from __future__ import annotations

import hashlib
import io
import os
import re
import shutil
import subprocess
import tarfile
import time
from collections.abc import Callable, Iterator
from importlib import resources
from pathlib import Path
from typing import Any

from dsnwatch.lab.settings import LabError

SUITE = "bookworm"
BASE_REPO = "dsnwatch-lab-base"
LAB_REPO = "dsnwatch-lab"
PULL_BASE = "debian:bookworm-slim"
PACKAGES = (
    "postfix",
    "dovecot-imapd",
    "dovecot-lmtpd",
    "dovecot-sieve",
    "dovecot-managesieved",
    "syslog-ng-core",
    "openssl",
    "ca-certificates",
    "python3",
    "procps",
)

Progress = Callable[[str, bool], None]
"""A progress sink: (message, transient). Transient messages may be overwritten."""


def _quiet(message: str, transient: bool) -> None:
    del message, transient


def _files() -> Any:
    return resources.files("dsnwatch.lab") / "files"


def _image_tree() -> Iterator[tuple[str, bytes, int]]:
    """(path in the image, content, mode) of every file the lab layer adds."""
    root = _files() / "image"

    def walk(node: Any, prefix: str) -> Iterator[tuple[str, bytes, int]]:
        for child in sorted(node.iterdir(), key=lambda c: c.name):
            path = f"{prefix}/{child.name}" if prefix else child.name
            if child.is_dir():
                yield from walk(child, path)
            else:
                data = child.read_bytes()
                executable = data.startswith(b"#!")
                yield path, data, 0o755 if executable else 0o644

    yield from walk(root, "")
    ses = (resources.files("dsnwatch.lab") / "ses_sim.py").read_bytes()
    yield "usr/local/lib/lab/ses_sim.py", ses, 0o644


def _base_setup() -> bytes:
    data: bytes = (_files() / "base-setup.sh").read_bytes()
    return data


def base_tag() -> str:
    """The tag of the base image for the current recipe."""
    digest = hashlib.sha256()
    digest.update(SUITE.encode())
    digest.update(" ".join(PACKAGES).encode())
    digest.update(_base_setup())
    return f"{BASE_REPO}:{digest.hexdigest()[:12]}"


def _lab_dockerfile(base: str) -> str:
    return f"FROM {base}\nCOPY rootfs/ /\n"


def lab_tag() -> str:
    """The tag of the lab image for the current recipe (base included)."""
    base = base_tag()
    digest = hashlib.sha256()
    digest.update(_lab_dockerfile(base).encode())
    for path, data, mode in _image_tree():
        digest.update(f"{path}:{mode}:".encode())
        digest.update(hashlib.sha256(data).digest())
    return f"{LAB_REPO}:{digest.hexdigest()[:12]}"


def _has_image(client: Any, tag: str) -> bool:
    import docker.errors

    try:
        client.images.get(tag)
    except docker.errors.ImageNotFound:
        return False
    return True


def debian_mirror() -> str:
    """The Debian mirror apt uses here (`DSNWATCH_LAB_MIRROR` overrides it)."""
    env = os.environ.get("DSNWATCH_LAB_MIRROR")
    if env:
        return env
    entries: list[tuple[str, list[str], list[str]]] = []
    sources = Path("/etc/apt/sources.list")
    files = [sources] if sources.is_file() else []
    parts = Path("/etc/apt/sources.list.d")
    if parts.is_dir():
        files += sorted(p for p in parts.iterdir() if p.suffix in (".list", ".sources"))
    for path in files:
        try:
            text = path.read_text(encoding="utf-8", errors="replace")
        except OSError:
            continue
        if path.suffix == ".sources":
            for stanza in re.split(r"\n\s*\n", text):
                fields: dict[str, str] = {}
                for line in stanza.splitlines():
                    if line.startswith("#") or ":" not in line:
                        continue
                    key, _, value = line.partition(":")
                    fields[key.strip().lower()] = value.strip()
                if "deb" not in fields.get("types", "").split():
                    continue
                if fields.get("enabled", "yes").lower() == "no":
                    continue
                suites = fields.get("suites", "").split()
                comps = fields.get("components", "").split()
                entries += [(uri, suites, comps) for uri in fields.get("uris", "").split()]
        else:
            for line in text.splitlines():
                words = re.sub(r"\[[^\]]*\]", "", line).split()
                if len(words) >= 4 and words[0] == "deb":
                    entries.append((words[1], [words[2]], words[3:]))
    for uri, suites, comps in entries:
        if "main" not in comps or "security" in uri:
            continue
        if any("-" not in suite and "/" not in suite for suite in suites):
            return uri.rstrip("/")
    raise LabError(
        "no Debian mirror found in /etc/apt/sources.list*: set DSNWATCH_LAB_MIRROR to one"
    )


def _run_logged(
    command: list[str], log: Path, progress: Progress, stdin: bytes | None = None
) -> None:
    """Run a command, its output to `log`, its "I: ..." lines to progress."""
    counts: dict[str, int] = {}
    with log.open("ab") as out:
        out.write(("$ " + " ".join(command) + "\n").encode())
        proc = subprocess.Popen(
            command,
            stdin=subprocess.PIPE if stdin is not None else subprocess.DEVNULL,
            stdout=subprocess.PIPE,
            stderr=subprocess.STDOUT,
            env={**os.environ, "DEBIAN_FRONTEND": "noninteractive", "LC_ALL": "C"},
        )
        if stdin is not None and proc.stdin is not None:
            proc.stdin.write(stdin)
            proc.stdin.close()
        assert proc.stdout is not None
        for raw in proc.stdout:
            out.write(raw)
            line = raw.decode("utf-8", "replace").strip()
            match = re.match(
                r"I: (Retrieving|Validating|Extracting|Unpacking|Configuring) (\S+)", line
            )
            if match:
                verb = match.group(1)
                counts[verb] = counts.get(verb, 0) + 1
                progress(f"debootstrap: {verb.lower()} {match.group(2)} ({counts[verb]})", True)
            elif line.startswith(("I: Base system installed", "E: ", "W: Failure")):
                progress(f"debootstrap: {line[3:]}", False)
        code = proc.wait()
    if code != 0:
        raise LabError(f"`{command[0]}` failed with exit code {code}: see {log}")


def _build_base_debootstrap(client: Any, tag: str, work: Path, progress: Progress) -> None:
    if os.geteuid() != 0:
        raise LabError(
            "building the lab image needs root (debootstrap) when no Debian image can be pulled"
        )
    if shutil.which("debootstrap") is None:
        raise LabError("debootstrap is not installed: apt-get install debootstrap")
    mirror = debian_mirror()
    rootfs = work / "rootfs"
    archive = work / "rootfs.tar"
    log = work / "build.log"
    shutil.rmtree(rootfs, ignore_errors=True)
    progress(f"debootstrap {SUITE} with {len(PACKAGES)} packages (about a minute)", False)
    _run_logged(
        [
            "debootstrap",
            "--variant=minbase",
            "--components=main",
            f"--include={','.join(PACKAGES)}",
            SUITE,
            str(rootfs),
            mirror,
        ],
        log,
        progress,
    )
    _run_logged(["chroot", str(rootfs), "/bin/sh", "-s"], log, progress, stdin=_base_setup())
    progress("packing the root file system", False)
    _run_logged(
        ["tar", "--numeric-owner", "-C", str(rootfs), "-cf", str(archive), "."], log, progress
    )
    shutil.rmtree(rootfs, ignore_errors=True)
    progress(f"importing it as {tag}", False)
    repo, _, version = tag.partition(":")
    client.api.import_image_from_file(str(archive), repository=repo, tag=version)
    archive.unlink(missing_ok=True)
    if not _has_image(client, tag):
        raise LabError(f"docker import did not produce {tag}: see {log}")


def _tar_context(files: list[tuple[str, bytes, int]]) -> io.BytesIO:
    buf = io.BytesIO()
    dirs: set[str] = set()
    with tarfile.open(fileobj=buf, mode="w") as tar:
        for path, data, mode in files:
            parts = path.split("/")[:-1]
            for depth in range(1, len(parts) + 1):
                folder = "/".join(parts[:depth])
                if folder not in dirs:
                    dirs.add(folder)
                    info = tarfile.TarInfo(folder)
                    info.type = tarfile.DIRTYPE
                    info.mode = 0o755
                    tar.addfile(info)
            info = tarfile.TarInfo(path)
            info.size = len(data)
            info.mode = mode
            info.mtime = 0
            tar.addfile(info, io.BytesIO(data))
    buf.seek(0)
    return buf


def _docker_build(client: Any, tag: str, context: io.BytesIO, progress: Progress) -> None:
    stream = client.api.build(
        fileobj=context,
        custom_context=True,
        tag=tag,
        rm=True,
        forcerm=True,
        network_mode="host",
        decode=True,
    )
    for chunk in stream:
        if "error" in chunk:
            raise LabError(f"image build failed: {str(chunk['error']).strip()}")
        text = str(chunk.get("stream", "")).strip()
        if text:
            progress(f"build: {text.splitlines()[-1]}", not text.startswith("Step "))
    if not _has_image(client, tag):
        raise LabError(f"the image build did not produce {tag}")


def _build_base_dockerfile(client: Any, tag: str, progress: Progress) -> None:
    dockerfile = (
        f"FROM {PULL_BASE}\n"
        "COPY base-setup.sh /tmp/base-setup.sh\n"
        "RUN apt-get update && DEBIAN_FRONTEND=noninteractive apt-get install -y "
        f"--no-install-recommends {' '.join(PACKAGES)} "
        "&& sh /tmp/base-setup.sh && rm /tmp/base-setup.sh\n"
    )
    context = _tar_context(
        [("Dockerfile", dockerfile.encode(), 0o644), ("base-setup.sh", _base_setup(), 0o755)]
    )
    progress(f"building {tag} from {PULL_BASE}", False)
    _docker_build(client, tag, context, progress)


def _can_pull_base(client: Any, progress: Progress) -> bool:
    import docker.errors

    if _has_image(client, PULL_BASE):
        return True
    progress(f"trying to pull {PULL_BASE}", True)
    repo, _, version = PULL_BASE.partition(":")
    try:
        client.images.pull(repo, tag=version)
    except docker.errors.APIError:
        return False
    return _has_image(client, PULL_BASE)


def ensure_image(
    client: Any, work_dir: Path, progress: Progress = _quiet, *, rebuild: bool = False
) -> str:
    """Build the lab image unless the current recipe's tag exists; return the tag."""
    tag = lab_tag()
    if not rebuild and _has_image(client, tag):
        return tag
    started = time.monotonic()
    base = base_tag()
    if rebuild or not _has_image(client, base):
        work_dir.mkdir(parents=True, exist_ok=True)
        how = os.environ.get("DSNWATCH_LAB_BUILD", "auto")
        if how == "dockerfile" or (how == "auto" and _can_pull_base(client, progress)):
            _build_base_dockerfile(client, base, progress)
        else:
            _build_base_debootstrap(client, base, work_dir, progress)
    progress(f"adding the lab's files: {tag}", False)
    files = [("Dockerfile", _lab_dockerfile(base).encode(), 0o644)]
    files += [(f"rootfs/{path}", data, mode) for path, data, mode in _image_tree()]
    _docker_build(client, tag, _tar_context(files), progress)
    progress(f"image {tag} built in {time.monotonic() - started:.0f}s", False)
    return tag
