"""Preference data: read the common shapes, prepare RM-R1 training rows."""

from rmr1_plugin.data.formats import FORMATS, PreferencePair, RecordError, detect_format, record_to_pairs
from rmr1_plugin.data.io import read_records, write_rows
from rmr1_plugin.data.prepare import PrepareReport, load_chains, load_pairs, pair_rows, prepare

__all__ = [
    "FORMATS", "PreferencePair", "PrepareReport", "RecordError", "detect_format", "load_chains", "load_pairs",
    "pair_rows", "prepare", "read_records", "record_to_pairs", "write_rows",
]
