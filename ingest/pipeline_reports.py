"""What the pipeline says of each file (:class:`IngestReport`) and the records it passes
between its steps: a file to read, then a file read and waiting for its batch's write."""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

import polars as pl

from cjsdash.core.safe_text import count_of
from ingest.base import (
    Loader,
    ReadResult,
    Reject,
)


@dataclass
class IngestReport:
    file_name: str
    status: str  # loaded | unchanged | refused | skipped
    loader: str = ""
    run_id: int | None = None
    rows_in: int = 0
    rows_loaded: int = 0
    rows_revised: int = 0
    rows_unchanged: int = 0
    rows_rejected: int = 0
    rows_withdrawn: int = 0
    """Figures of earlier loads retired because this file now supplies their slice."""
    noun: str = "figures"
    """What the loaded rows are: figures, or targets (ingest.local_targets)."""
    flags: list[str] = field(default_factory=list)
    """Months this file brought that depart wildly from the area's history
    (cjsdash.core.quality): warnings, nothing is refused."""
    months: pl.DataFrame | None = field(default=None, repr=False)
    """(area_code, measure, period_start) of the months this file brought, to be checked."""
    message: str = ""
    rejects: list[Reject] = field(default_factory=list)
    shrinking: bool = False
    """Refused because it would replace figures loaded with far fewer (decision 43): the
    user may load it anyway (``--accept-shrink``, or the data page's button)."""

    def line(self) -> str:
        if self.status in ("skipped", "unchanged"):
            return f"{self.file_name}: {self.status}: {self.message}"
        if self.status == "refused":
            return f"{self.file_name}: refused: {self.message}"
        text = (
            f"{self.file_name}: {self.loader}: {count_of(self.rows_in, 'row')} read, "
            f"{self.rows_rejected:,} rejected; "
            f"{count_of(self.rows_loaded, self.noun.removesuffix('s'), self.noun)} loaded, "
            f"{self.rows_revised:,} revised, {self.rows_unchanged:,} unchanged"
        )
        return text + (f" ({self.message})" if self.message else "")


@dataclass
class FileToRead:
    """A file to read: its loader is known and its bytes are not loaded yet."""

    name: str
    path: Path
    data: bytes
    sha: str
    loader: Loader
    copies: list[FileToRead] = field(default_factory=list)
    """Later files of the batch with the same bytes (read once, through this one)."""
    pending: Pending | None = None
    report: IngestReport = field(init=False)


@dataclass
class Pending:
    """A file read and waiting for its batch's transaction, which completes ``report``."""

    report: IngestReport
    sha: str
    loader: Loader
    started: datetime
    result: ReadResult | None  # None: refused (the reason is report.message)


def files_label(names: Iterable[str]) -> str:
    names = list(names)
    return names[0] if len(names) == 1 else f"{len(names)} files"
