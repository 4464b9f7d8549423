"""A CSV dataset for raw input that fails with a message a data engineer can act on.

Written here rather than taken as-is from kedro-datasets because ``pandas.CSVDataset``
lets pandas' own errors through (``EmptyDataError: No columns to parse from file``,
``UnicodeDecodeError`` with a byte offset), which name neither the file nor what to do,
and it cannot fall back to a second encoding. This subclass only adds that: the reading
itself stays ``CSVDataset``'s.
"""

from __future__ import annotations

import logging
from typing import Any

import pandas as pd
from kedro.io import DatasetError
from kedro_datasets.pandas import CSVDataset

logger = logging.getLogger(__name__)


class RawDataError(DatasetError, ValueError):
    """Raw input that cannot be used, with the file and the problem in the message.

    A ``DatasetError`` so that Kedro passes it through unchanged rather than wrapping
    it in a "Failed while loading" message around the dataset's repr.
    """


class RawCSVDataset(CSVDataset):
    """``pandas.CSVDataset`` for raw files: every cell read as text, clear errors.

    The loaded frame carries ``attrs["source_file"]`` and ``attrs["encoding"]`` so that
    validation nodes can name the file in their own messages.

    Example catalog entry::

        raw_students:
          type: student_performance.datasets.RawCSVDataset
          filepath: data/01_raw/students.csv
          fallback_encoding: latin-1
    """

    DEFAULT_LOAD_ARGS: dict[str, Any] = {
        "dtype": "string",
        "keep_default_na": False,
        "encoding": "utf-8",
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
            **kwargs: Passed to ``kedro_datasets.pandas.CSVDataset``.
        """
        super().__init__(**kwargs)
        self._fallback_encoding = fallback_encoding
        self._missing_hint = missing_hint

    def load(self) -> pd.DataFrame:
        """Read the file as text columns, or raise ``RawDataError`` saying why not."""
        source = str(self._filepath)
        encoding = self._load_args.get("encoding", "utf-8")
        try:
            frame = _unwrap(super().load)
        except FileNotFoundError as err:
            hint = f": {self._missing_hint}" if self._missing_hint else ""
            raise RawDataError(f"{source}: file not found{hint}") from err
        except pd.errors.EmptyDataError as err:
            raise RawDataError(
                f"{source}: the file is empty (no header row and no data)"
            ) from err
        except UnicodeDecodeError as err:
            where = (
                self._first_undecodable(encoding)
                or f"byte {err.object[err.start]:#04x}"
            )
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
            encoding = self._fallback_encoding
            frame = pd.read_csv(
                str(self._get_load_path()),
                **{**self._load_args, "encoding": encoding},
            )
        except pd.errors.ParserError as err:
            raise RawDataError(f"{source}: cannot be parsed as CSV: {err}") from err
        frame.attrs["source_file"] = source
        frame.attrs["encoding"] = encoding
        return frame

    def _first_undecodable(self, encoding: str) -> str | None:
        """Where the file stops being valid ``encoding``: byte value and line number.

        pandas' own error counts bytes from the start of its read buffer, not of the
        file, so the file is decoded again here (only on this error path).
        """
        with self._fs.open(str(self._get_load_path()), "rb") as stream:
            data = stream.read()
        try:
            data.decode(encoding)
        except UnicodeDecodeError as err:
            line = data.count(b"\n", 0, err.start) + 1
            return f"byte {data[err.start]:#04x} on line {line}"
        return None


def _unwrap(load: Any) -> pd.DataFrame:
    """Call a Kedro ``load`` and re-raise the pandas error it wrapped, if any."""
    try:
        return load()
    except DatasetError as err:
        if isinstance(err.__cause__, Exception):
            raise err.__cause__ from None
        raise
