"""Copy the tables of the benchmark report into the results page.

Usage: ``python docs/_scripts/sync_benchmark_tables.py [REPORT] [PAGE]``
(defaults: ``benchmarks/results/paper-protocol/report.md`` and
``docs/benchmarks.md``).

The page's tables are written by hand around the prose only once; after that
each sits between ``<!-- report: HEADING -->`` and ``<!-- /report -->``, where
HEADING is a ``## `` heading of the report (the one ``python -m
molgnba.benchmark --report-only`` writes). Running this script replaces what
lies between the markers with that section's table, so the page cannot drift
from the run files. A marker whose section the report lacks is an error, not
an empty table.
"""

from __future__ import annotations

import re
import sys
from pathlib import Path

MARKER = re.compile(r"(<!-- report: (?P<heading>.+?) -->\n)(?P<body>.*?)(<!-- /report -->)", re.DOTALL)


def report_sections(report: str) -> dict[str, str]:
    """The tables of each ``## `` section of the report, by heading."""
    sections: dict[str, list[str]] = {}
    current = None
    for line in report.splitlines():
        if line.startswith("## "):
            current = sections.setdefault(line[3:].strip(), [])
        elif current is not None and line.startswith("|"):
            current.append(line)
    return {heading: "\n".join(lines) + "\n" for heading, lines in sections.items() if lines}


def sync(report: str, page: str) -> str:
    sections = report_sections(report)

    def replace(match: re.Match) -> str:
        heading = match["heading"]
        if heading not in sections:
            raise SystemExit(f"the report has no table under '## {heading}'; headings with tables: {sorted(sections)}")
        # Blank lines around the table: Markdown must not read the markers as table rows.
        return match.group(1) + "\n" + sections[heading] + "\n" + match.group(4)

    return MARKER.sub(replace, page)


def main(argv: list[str]) -> int:
    report_path = Path(argv[0] if argv else "benchmarks/results/paper-protocol/report.md")
    page_path = Path(argv[1] if len(argv) > 1 else "docs/benchmarks.md")
    page = page_path.read_text()
    updated = sync(report_path.read_text(), page)
    page_path.write_text(updated)
    print(f"{page_path}: {len(MARKER.findall(page))} tables from {report_path}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv[1:]))
