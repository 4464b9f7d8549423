"""RawCSVDataset: raw text in, errors that name the file and say what to do."""

from __future__ import annotations

import logging

import pytest

from student_performance.datasets import RawCSVDataset, RawDataError


def test_raw_dataset_reads_text_and_names_the_file(tmp_path):
    path = tmp_path / "ok.csv"
    path.write_text("a,b\n 01 ,NA\n", encoding="utf-8")
    frame = RawCSVDataset(filepath=str(path)).load()
    assert frame.loc[0, "a"] == " 01 "  # nothing parsed or stripped yet
    assert frame.loc[0, "b"] == "NA"  # not turned into NaN by pandas
    assert frame.attrs == {"source_file": str(path), "encoding": "utf-8"}


def test_raw_dataset_empty_file_is_a_clear_error(tmp_path):
    path = tmp_path / "empty.csv"
    path.write_text("")
    with pytest.raises(RawDataError, match=r"empty.csv: the file is empty"):
        RawCSVDataset(filepath=str(path)).load()


def test_raw_dataset_rejects_latin1_without_fallback(tmp_path):
    path = tmp_path / "latin.csv"
    path.write_bytes("name,city\nJosé,Besançon\n".encode("latin-1"))
    with pytest.raises(
        RawDataError, match=r"latin.csv: not valid utf-8 \(byte 0xe9 on line 2\)"
    ):
        RawCSVDataset(filepath=str(path)).load()


def test_raw_dataset_names_the_line_of_the_first_bad_byte(tmp_path):
    path = tmp_path / "late.csv"
    body = "name,city\n" + "Ann,Paris\n" * 300 + "José,Besançon\n"
    path.write_bytes(body.encode("latin-1"))
    with pytest.raises(RawDataError, match=r"byte 0xe9 on line 302\)"):
        RawCSVDataset(filepath=str(path)).load()


def test_raw_dataset_reads_latin1_with_fallback_and_warns(tmp_path, caplog):
    path = tmp_path / "latin.csv"
    path.write_bytes("name,city\nJosé,Besançon\n".encode("latin-1"))
    with caplog.at_level(logging.WARNING):
        frame = RawCSVDataset(filepath=str(path), fallback_encoding="latin-1").load()
    assert frame.loc[0, "city"] == "Besançon"
    assert frame.attrs["encoding"] == "latin-1"
    assert "not valid utf-8" in caplog.text


def test_raw_dataset_missing_file_says_what_to_do(tmp_path):
    path = tmp_path / "batch.csv"
    with pytest.raises(RawDataError, match=r"batch.csv: file not found$"):
        RawCSVDataset(filepath=str(path)).load()
    hinted = RawCSVDataset(filepath=str(path), missing_hint="give --params x=...")
    with pytest.raises(RawDataError, match=r"file not found: give --params x=\.\.\.$"):
        hinted.load()
