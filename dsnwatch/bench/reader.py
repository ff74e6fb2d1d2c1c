"""How fast the DSN reader is (`make bench`), beside Sisimai when it is installed.

Usage: python -m dsnwatch.bench.reader [CORPUS] [--rounds N]

Every figure is messages per second on one core, parsing messages already in
memory for dsnwatch; Sisimai is timed inside Perl around its own parse call over
the same files, so neither side pays for process start-up.
"""

from __future__ import annotations

import platform
import shutil
import subprocess
import sys
import time
import tracemalloc
from pathlib import Path

from dsnwatch.bench.common import Figure, compiled_label, rate_from_sources, table
from dsnwatch.dsn import read_report
from dsnwatch.dsn.reader import clear_caches

_PERL_TIMER = r"""
use strict; use warnings; use Sisimai; use Time::HiRes qw(time);
my @files = @ARGV; my $best = 0; my $n = scalar(@files);
for my $round (1..3) {
    my $t0 = time;
    for my $f (@files) { my $r = Sisimai->make($f, 'delivered' => 1, 'vacation' => 1); }
    my $dt = time - $t0;
    my $rate = $n / $dt;
    $best = $rate if $rate > $best;
}
print "$best\n";
"""


def corpus_files(corpus: Path) -> list[Path]:
    """The LF samples of the corpus, the set every reader is timed on."""
    return sorted((corpus / "maildir" / "bsd").glob("*.eml"))


def time_dsnwatch(blobs: list[bytes], rounds: int) -> float:
    """Best messages/s over `rounds` passes."""
    best = 0.0
    for _ in range(rounds):
        clear_caches()  # each round reads the corpus as new mail
        start = time.perf_counter()
        for blob in blobs:
            read_report(blob)
        elapsed = time.perf_counter() - start
        best = max(best, len(blobs) / elapsed)
    return best


def peak_memory(blobs: list[bytes]) -> int:
    """Peak bytes allocated while reading every message once."""
    tracemalloc.start()
    for blob in blobs:
        read_report(blob)
    _, peak = tracemalloc.get_traced_memory()
    tracemalloc.stop()
    return peak


def time_sisimai(files: list[Path]) -> tuple[str, float] | None:
    """(version, best messages/s) of the Perl Sisimai, or None when it is not installed."""
    if shutil.which("perl") is None:
        return None
    probe = subprocess.run(
        ["perl", "-MSisimai", "-e", "print $Sisimai::VERSION"],
        capture_output=True,
        text=True,
        check=False,
    )
    if probe.returncode != 0:
        return None
    out = subprocess.run(
        ["taskset", "-c", "0", "perl", "-e", _PERL_TIMER, *map(str, files)]
        if shutil.which("taskset")
        else ["perl", "-e", _PERL_TIMER, *map(str, files)],
        capture_output=True,
        text=True,
        check=False,
    )
    if out.returncode != 0 or not out.stdout.strip():
        return None
    return probe.stdout.strip(), float(out.stdout.strip())


def run(corpus: Path, rounds: int = 5) -> list[Figure]:
    """The reader's figures: messages/s beside Sisimai, and peak memory."""
    files = corpus_files(corpus)
    if not files:
        raise FileNotFoundError(f"no samples under {corpus}/maildir/bsd")
    blobs = [f.read_bytes() for f in files]
    ours = time_dsnwatch(blobs, rounds)
    peer = time_sisimai(files)
    peer_name = f"Sisimai {peer[0]}" if peer else "Sisimai (not installed)"
    peer_rate = peer[1] if peer else None
    pure = rate_from_sources(
        "from pathlib import Path; from dsnwatch.bench.reader import time_dsnwatch;"
        "print(time_dsnwatch([Path(p).read_bytes() for p in DATA[0]], DATA[1]))",
        [[str(f.resolve()) for f in files], rounds],
    )
    figures = [
        Figure(
            "DSN reader",
            f"messages/s, one core ({len(blobs)} corpus messages{compiled_label('dsn.reader')})",
            ours,
            "msg/s",
            peer=peer_name,
            peer_value=peer_rate,
            target=">= 2,000 msg/s",
            met=ours >= 2000,
        ),
        Figure(
            "DSN reader",
            "peak memory reading the corpus once",
            peak_memory(blobs) / 1e6,
            "MB",
        ),
    ]
    if pure is not None:
        figures.insert(
            1,
            Figure(
                "DSN reader",
                "messages/s, the same on the .py sources (where nothing was compiled)",
                pure,
                "msg/s",
                peer=peer_name,
                peer_value=peer_rate,
            ),
        )
    return figures


def main(argv: list[str] | None = None) -> int:
    """Print the reader's figures; exit 2 when the corpus is missing."""
    args = list(sys.argv[1:] if argv is None else argv)
    rounds = 5
    if "--rounds" in args:
        at = args.index("--rounds")
        rounds = int(args[at + 1])
        del args[at : at + 2]
    corpus = Path(args[0] if args else "../shared/dsn-corpus")
    try:
        figures = run(corpus, rounds)
    except FileNotFoundError as exc:
        print(f"dsnwatch: {exc}", file=sys.stderr)
        return 2
    print(f"machine: {platform.machine()}, Python {platform.python_version()}")
    print("\n".join(table(figures)))
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
