"""Raw CSV datasets: every physical record accounted for, errors a data engineer can act on.

Written here rather than taken as-is from kedro-datasets because ``pandas.CSVDataset``
lets pandas' own errors through (``EmptyDataError``, ``UnicodeDecodeError`` with a byte
offset, ``Error tokenizing data``), which name neither the file nor what to do, and one
malformed record sinks the whole file.

Records are split by the standard library's ``csv`` module, not by pandas and not by a
parser of our own: the quarantine needs each malformed record's physical line and raw
text, and pandas gives neither. Its ``on_bad_lines`` callable (python engine) sees only
records with too *many* fields, as a list of fields without their line; records with
too few fields are padded with NaN silently; an unterminated quote swallows the rest of
the file or stops the read. The ``csv`` module keeps the quoting rules (quoted commas
and line breaks) and lets us count lines as it consumes them.

Two catalog entries read the same file (one YAML anchor, see ``catalog_raw.yml``):

* ``RawCSVDataset`` -> the rows (a ``DataFrame`` of text, indexed by ``source_line``,
  the physical line where each record starts, header = 1), malformed records left out;
* ``RawCSVSourceDataset`` -> a ``RawSource``: the file, the encoding it was read with,
  how many records it holds, and the malformed ones with line, text and problem.

So provenance is an explicit input of the nodes that need it, not ``DataFrame.attrs``
(pandas does not promise attrs survive operations), and the rows stay a plain table
that any consumer (EDA, drift, the model's input example) reads as before.
"""

from __future__ import annotations

import csv
import io
import logging
from dataclasses import dataclass
from typing import Any

import pandas as pd
from kedro.io import DatasetError
from kedro_datasets.pandas import CSVDataset

logger = logging.getLogger(__name__)

SOURCE_LINE = (
    "source_line"  # index name: the record's first line in the file (header = 1)
)


class RawDataError(DatasetError, ValueError):
    """Raw input that cannot be used, with the file and the problem in the message.

    A ``DatasetError`` so that Kedro passes it through unchanged rather than wrapping
    it in a "Failed while loading" message around the dataset's repr.
    """


@dataclass(frozen=True)
class MalformedRecord:
    """A record that does not fit the header.

    Attributes:
        line: Physical line where the record starts (header = 1).
        text: The record's raw text, line break removed.
        problem: What is wrong, e.g. ``15 fields where the header has 13``.
    """

    line: int
    text: str
    problem: str


@dataclass(frozen=True)
class RawSource:
    """Where raw rows came from and what reading them found.

    Attributes:
        file: The file's path.
        encoding: The encoding it was decoded with (the fallback when used).
        records: Physical records after the header (blank lines are not records):
            rows read plus malformed records.
        malformed: The records left out of the rows, in file order.
    """

    file: str
    encoding: str
    records: int
    malformed: tuple[MalformedRecord, ...] = ()


class _Lines:
    """An iterator over a list of lines whose position can be moved back."""

    def __init__(self, lines: list[str]) -> None:
        self.lines, self.pos = lines, 0

    def __iter__(self) -> _Lines:
        return self

    def __next__(self) -> str:
        if self.pos >= len(self.lines):
            raise StopIteration
        self.pos += 1
        return self.lines[self.pos - 1]


def _names(header: list[str]) -> list[str]:
    """Column names as written (repeats kept, so a check can name them); blanks named
    ``Unnamed: i`` as pandas names them."""
    return [name or f"Unnamed: {i}" for i, name in enumerate(header)]


def _problem(fields: list[str], n_columns: int, text: str, quotechar: str) -> str:
    if text.count(quotechar) % 2:
        return "unterminated quote"
    return f"{len(fields)} fields where the header has {n_columns}"


def split_records(
    text: str, sep: str = ",", quotechar: str = '"'
) -> tuple[list[str], list[tuple[int, list[str]]], list[MalformedRecord]]:
    """Split CSV text into its header, well-formed records and malformed records.

    A record whose field count differs from the header's is malformed. When such a
    record spans several lines (an opened quote that is never closed swallows the lines
    after it), only its first line is set aside and reading resumes on the next line.

    Args:
        text: The decoded file.
        sep: Field delimiter.
        quotechar: Quote character.

    Returns:
        The header's fields, ``(line, fields)`` per well-formed record and the
        malformed records; lines are physical and 1-based. Blank lines are skipped.
    """
    lines = _Lines(io.StringIO(text, newline="").readlines())
    reader = csv.reader(lines, delimiter=sep, quotechar=quotechar)
    header: list[str] | None = None
    rows: list[tuple[int, list[str]]] = []
    malformed: list[MalformedRecord] = []
    while True:
        start = lines.pos
        try:
            fields: list[str] | None = next(reader)
        except StopIteration:
            break
        except csv.Error as err:  # e.g. a NUL byte: the line alone is set aside
            fields, problem = None, f"not readable as CSV ({err})"
        if (
            fields is not None
            and lines.pos - start == 1
            and not "".join(fields).strip()
        ):
            continue  # a blank line is not a record
        if header is None and fields is not None:
            header = fields
        elif fields is not None and len(fields) == len(header or []):
            rows.append((start + 1, fields))
        else:
            first = lines.lines[start].rstrip("\r\n")
            if fields is not None:
                spans = lines.pos - start > 1
                problem = (
                    "unterminated quote"
                    if spans
                    else _problem(fields, len(header or []), first, quotechar)
                )
            malformed.append(MalformedRecord(start + 1, first, problem))
            lines.pos = start + 1
    return header or [], rows, malformed


class RawCSVDataset(CSVDataset):
    """A raw CSV file as text rows indexed by their line; malformed records left out.

    Example catalog entry::

        raw_students:
          type: student_performance.datasets.RawCSVDataset
          filepath: data/01_raw/students.csv
          fallback_encoding: latin-1
          load_args: {sep: ",", quotechar: '"', encoding: utf-8}
    """

    DEFAULT_LOAD_ARGS: dict[str, Any] = {
        "encoding": "utf-8",
        "sep": ",",
        "quotechar": '"',
    }

    def __init__(
        self,
        *,
        fallback_encoding: str | None = None,
        missing_hint: str | None = None,
        **kwargs: Any,
    ) -> None:
        """Create the dataset.

        Args:
            fallback_encoding: Encoding to retry with when the file is not valid in the
                encoding of ``load_args`` (e.g. ``latin-1``); ``None`` rejects such files.
            missing_hint: What to do when the file does not exist, appended to the
                "file not found" message (e.g. how to name another file).
            **kwargs: Passed to ``kedro_datasets.pandas.CSVDataset``; ``load_args``
                takes ``encoding``, ``sep`` and ``quotechar``.
        """
        super().__init__(**kwargs)
        self._fallback_encoding = fallback_encoding
        self._missing_hint = missing_hint
        self._warned = False

    def load(self) -> pd.DataFrame:
        """The rows as text, or raise ``RawDataError`` saying why not."""
        frame, source = self.read()
        if source.malformed and not self._warned:
            self._warned = True
            logger.warning(
                "%s: %d of %d records malformed, left out of the rows (lines %s)",
                source.file,
                len(source.malformed),
                source.records,
                [m.line for m in source.malformed[:5]],
            )
        return frame

    def read(self) -> tuple[pd.DataFrame, RawSource]:
        """Read the file: the rows, and where they came from.

        Returns:
            Text columns indexed by ``source_line``, and the ``RawSource``.

        Raises:
            RawDataError: The file is missing, empty or not valid in its encoding.
        """
        source = str(self._filepath)
        text, encoding = self._decode(source)
        header, rows, malformed = split_records(
            text.removeprefix("\ufeff"),
            self._load_args.get("sep", ","),
            self._load_args.get("quotechar", '"'),
        )
        if not header:
            raise RawDataError(
                f"{source}: the file is empty (no header row and no data)"
            )
        columns = list(zip(*(fields for _, fields in rows))) or [()] * len(header)
        frame = pd.DataFrame(
            {i: pd.array(values, dtype="string") for i, values in enumerate(columns)},
            index=pd.Index([line for line, _ in rows], name=SOURCE_LINE, dtype="int64"),
        )
        frame.columns = _names(header)
        return frame, RawSource(
            source, encoding, len(rows) + len(malformed), tuple(malformed)
        )

    def _decode(self, source: str) -> tuple[str, str]:
        encoding = self._load_args.get("encoding", "utf-8")
        try:
            with self._fs.open(str(self._get_load_path()), "rb") as stream:
                data = stream.read()
        except FileNotFoundError as err:
            hint = f": {self._missing_hint}" if self._missing_hint else ""
            raise RawDataError(f"{source}: file not found{hint}") from err
        try:
            return data.decode(encoding), encoding
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            where = f"byte {data[err.start]:#04x} on line {line}"
            if not self._fallback_encoding:
                raise RawDataError(
                    f"{source}: not valid {encoding} ({where}); re-save it as UTF-8 "
                    "or set fallback_encoding in the catalog entry"
                ) from err
            logger.warning(
                "%s is not valid %s (%s): read as %s",
                source,
                encoding,
                where,
                self._fallback_encoding,
            )
            return data.decode(self._fallback_encoding), self._fallback_encoding


class RawCSVSourceDataset(RawCSVDataset):
    """The ``RawSource`` of a raw CSV file: path, encoding, records, malformed records.

    Give it the same arguments as the file's ``RawCSVDataset`` entry (a YAML anchor).
    """

    def load(self) -> RawSource:  # type: ignore[override]
        """What reading the file found (the rows themselves are not kept)."""
        return self.read()[1]
