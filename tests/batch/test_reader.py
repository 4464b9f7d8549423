"""The lazy reader: files behind a path, pieces, records with their file and line."""

from __future__ import annotations

from pathlib import Path

import numpy as np
import pandas as pd
import pytest

from student_performance.batch.reader import RawBatch, RawBatchDataset, expand_paths
from student_performance.batch.records import RAW_RECORD, SOURCE_FILE, SOURCE_LINE
from student_performance.datasets import RawDataError

HEADER = "grade,sport,level,hours,junk\n"


def _read_all(batch: RawBatch, schema, chunk_rows: int) -> pd.DataFrame:
    pieces = batch.pieces(chunk_rows, schema)
    frames = [batch.read_piece(p, schema.feature_names) for p in pieces]
    return pd.concat(frames, ignore_index=True)


def test_csv_records_keep_their_line_and_malformed_ones_their_text(
    tmp_path, tiny_schema
):
    path = tmp_path / "in.csv"
    path.write_text(
        HEADER
        + "low,yes,A1,3,x\n"
        + "\n"  # blank line: no record
        + "mid,no,A2\n"  # too few fields
        + 'high," yes, really",B1,4,y\n'  # a quoted comma
        + "mid,no,B1,2,z,extra\n"  # too many fields
        + "low,no,A1,1,w"  # no final line break
    )
    batch = RawBatchDataset(path=str(path)).load()

    for chunk_rows in (1, 2, 100):
        rows = _read_all(batch, tiny_schema, chunk_rows)
        assert rows[SOURCE_LINE].tolist() == [2, 4, 5, 6, 7], chunk_rows
        assert rows["sport"].tolist()[::2] == ["yes", " yes, really", "no"]
        assert rows[RAW_RECORD].isna().tolist() == [True, False, True, False, True]
        assert rows[RAW_RECORD][1] == "mid,no,A2"
        assert rows[RAW_RECORD][3] == "mid,no,B1,2,z,extra"
        assert set(rows[SOURCE_FILE]) == {str(path)}
        assert list(rows.columns) == [
            SOURCE_FILE,
            SOURCE_LINE,
            "sport",
            "level",
            "hours",
            RAW_RECORD,
        ]


def test_a_byte_order_mark_is_not_part_of_the_first_column(tmp_path, tiny_schema):
    path = tmp_path / "in.csv"  # as spreadsheet programs export "CSV UTF-8"
    path.write_bytes("\ufeffsport,level,hours,grade\nyes,A1,3,low\n".encode())
    batch = RawBatchDataset(path=str(path)).load()

    rows = _read_all(batch, tiny_schema, 10)

    assert rows["sport"].tolist() == ["yes"]
    assert rows[SOURCE_LINE].tolist() == [2]


def test_a_missing_input_is_named_with_the_hint(tmp_path):
    dataset = RawBatchDataset(path=str(tmp_path / "nope.csv"), missing_hint="try X")

    with pytest.raises(RawDataError, match=r"nope.csv: no such file or folder: try X"):
        dataset.load()


def test_pieces_hold_at_most_chunk_rows_lines(tmp_path, tiny_schema):
    path = tmp_path / "in.csv"
    path.write_text(HEADER + "".join(f"low,yes,A1,{i},x\n" for i in range(10)))
    batch = RawBatchDataset(path=str(path)).load()

    pieces = batch.pieces(3, tiny_schema)

    assert [p.rows for p in pieces] == [3, 3, 3, 1]
    assert [p.first_line for p in pieces] == [2, 5, 8, 11]
    rows = _read_all(batch, tiny_schema, 3)
    assert rows["hours"].tolist() == [str(i) for i in range(10)]


def test_parquet_rows_are_numbered_from_one_and_read_as_text(tmp_path, tiny_schema):
    frame = pd.DataFrame(
        {"sport": ["yes", None, "no"], "level": ["A1", "B1", "A2"], "hours": [1, 2, 3]}
    )
    path = tmp_path / "in.parquet"
    frame.to_parquet(path, row_group_size=1)
    batch = RawBatchDataset(path=str(path)).load()

    rows = _read_all(batch, tiny_schema, 2)

    assert rows[SOURCE_LINE].tolist() == [1, 2, 3]
    assert rows["hours"].tolist() == ["1", "2", "3"]
    assert rows["sport"].isna().tolist() == [False, True, False]
    assert rows[RAW_RECORD].isna().all()
    assert [p.rows for p in batch.pieces(2, tiny_schema)] == [2, 1]


def test_a_folder_or_a_glob_names_every_data_file(tmp_path):
    for name in ("b.csv", "a.parquet", "sub/c.csv", "notes.txt"):
        (tmp_path / name).parent.mkdir(exist_ok=True)
        (tmp_path / name).write_text("x")
    assert [Path(p).name for p in expand_paths(str(tmp_path))] == [
        "a.parquet",
        "b.csv",
        "c.csv",
    ]
    assert [Path(p).name for p in expand_paths(str(tmp_path / "*.csv"))] == ["b.csv"]
    with pytest.raises(RawDataError, match="no such file"):
        expand_paths(str(tmp_path / "missing.csv"))


def test_a_file_without_a_feature_column_fails_before_reading(tmp_path, tiny_schema):
    path = tmp_path / "in.csv"
    path.write_text("grade,sport,level\nlow,yes,A1\n")
    batch = RawBatchDataset(path=str(path)).load()
    with pytest.raises(RawDataError, match=r"required columns missing: \['hours'\]"):
        batch.pieces(10, tiny_schema)


def test_an_empty_file_is_named(tmp_path, tiny_schema):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(RawDataError, match="empty"):
        RawBatchDataset(path=str(path)).load().pieces(10, tiny_schema)


def test_plain_pieces_read_as_the_csv_module_reads_them(
    tmp_path, tiny_schema, monkeypatch
):
    """The array path (no quotes) gives what the ``csv`` path gives, record for
    record: lines, fields, malformed records' text, blank lines, CRLF, no last break."""
    rng = np.random.default_rng(3)
    cells = ["yes", "no", " A1 ", "", "3", "x y", "é"]
    lines = []
    for _ in range(400):
        fields = int(rng.choice([5, 5, 5, 5, 3, 6, 1]))
        line = ",".join(str(rng.choice(cells)) for _ in range(fields))
        lines.append("" if rng.random() < 0.05 else line)
    ends = ["\r\n" if rng.random() < 0.3 else "\n" for _ in lines]
    body = "".join(line + end for line, end in zip(lines, ends, strict=True))
    path = tmp_path / "in.csv"
    path.write_bytes((HEADER + body.removesuffix(ends[-1])).encode())
    batch = RawBatchDataset(path=str(path)).load()
    for chunk_rows in (7, 1000):
        fast = _read_all(batch, tiny_schema, chunk_rows)
        monkeypatch.setattr(
            "student_performance.batch.csv_format._plain", lambda data: False
        )
        slow = _read_all(batch, tiny_schema, chunk_rows)
        monkeypatch.undo()
        pd.testing.assert_frame_equal(fast, slow)
        assert fast[RAW_RECORD].notna().sum() > 0
