"""Fuzzing (hypothesis) of every reader of user bytes: any input gives a result or a ``ValueError`` naming the file.

Never a ``KeyError``, ``IndexError``, ``UnicodeDecodeError``, ``RecursionError``, ``OverflowError`` or an
Arrow / pandas error: the command line's line readers (``textsiam score --pairs`` / ``textsiam encode``), the
benchmark readers (STS-B, SICK, MRPC, Quora in their original formats), the user pair files (CSV, TSV, JSON
Lines, JSON) and ``TrainConfig`` built from arbitrary JSON values.
"""

from __future__ import annotations

import io
import json
import math
import re
import tempfile
from pathlib import Path

import numpy as np
import pytest
from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from textsiam.cli import common, main
from textsiam.data import DataFormatError, load_pairs, load_pairs_from_file
from textsiam.io_utils import iter_lines, iter_pairs
from textsiam.training import ConfigError, TrainConfig

# max_examples comes from the Hypothesis profile (tests/conftest.py): few by default, many in the full tier
SETTINGS = settings(deadline=None, suppress_health_check=list(HealthCheck))

# ---------------------------------------------------------------------------------------------- byte strategies
#: Pieces that break line-based formats: separators, quotes, line ends, a BOM, invalid UTF-8, NUL, a surrogate.
AWKWARD = [
    b"\t",
    b",",
    b'"',
    b"'",
    b"\r",
    b"\n",
    b"\r\n",
    b"\xef\xbb\xbf",
    b"\xff",
    b"\xc3",
    b"\xed\xa0\x80",
    b"\x00",
    b" ",
    b"{",
    b"[",
    b"nan",
    b"inf",
    b"-1",
    b"1e999",
    b"5.5",
    b"0",
    b"1",
]
pieces = st.one_of(
    st.sampled_from(AWKWARD),
    st.text(max_size=8).map(lambda t: t.encode("utf-8", "surrogatepass")),
    st.binary(max_size=6),
)
fields = st.lists(pieces, max_size=4).map(b"".join)


def delimited(sep: bytes, n_cols: st.SearchStrategy[int], header: bytes | None = None) -> st.SearchStrategy[bytes]:
    """Rows of ``sep``-joined fields (sometimes the right count, sometimes not), LF or CRLF, maybe a BOM."""

    @st.composite
    def build(draw: st.DrawFn) -> bytes:
        rows = []
        for _ in range(draw(st.integers(0, 6))):
            n = draw(n_cols)
            rows.append(sep.join(draw(fields) for _ in range(n)))
        if header is not None and draw(st.booleans()):
            rows.insert(0, header)
        eol = draw(st.sampled_from([b"\n", b"\r\n", b"\r"]))
        data = eol.join(rows) + draw(st.sampled_from([b"", eol]))
        return draw(st.sampled_from([b"", b"\xef\xbb\xbf"])) + data

    return build()


def any_bytes(structured: st.SearchStrategy[bytes]) -> st.SearchStrategy[bytes]:
    return st.one_of(st.binary(max_size=200), structured, st.sampled_from([b"", b"\xef\xbb\xbf", b"\n", b" \r\n"]))


def names_file(err: BaseException, path: Path) -> bool:
    return str(path) in str(err)


# ---------------------------------------------------------------------------------------------- CLI line readers
tsv_bytes = any_bytes(delimited(b"\t", st.integers(0, 4), header=b"text_a\ttext_b"))


@SETTINGS
@given(data=tsv_bytes)
def test_iter_lines_and_pairs(data):
    path = "in.tsv"
    for reader in (iter_lines, iter_pairs):
        try:
            rows = list(reader(io.BytesIO(data), path))
        except ValueError as err:
            assert re.match(rf"^{re.escape(path)}:\d+: ", str(err)), str(err)
            continue
        for row in rows:
            assert isinstance(row[0], int) and all(isinstance(t, str) for t in row[1:])
            assert all("\n" not in t for t in row[1:])
        if reader is iter_lines:
            assert len(rows) == len(io.BytesIO(data).readlines())


class _Stub:
    """A model stand-in (the readers are under test, not the model)."""

    embedding_dim = 2

    def similarity(self, a, b, batch_size=None):  # noqa: ANN001, ANN201
        assert len(a) == len(b)
        return np.zeros(len(a), dtype=np.float32)

    def encode(self, texts, batch_size=None):  # noqa: ANN001, ANN201
        return np.ones((len(texts), self.embedding_dim), dtype=np.float32)


@pytest.fixture
def stub_model(monkeypatch):
    monkeypatch.setattr(common, "load_model", lambda args: _Stub())


def _no_temp_files(folder: Path) -> bool:
    return not [p for p in folder.iterdir() if p.name.endswith(".tmp")]


@SETTINGS
@given(data=tsv_bytes)
def test_score_pairs_file(stub_model, capsys, data):
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "pairs.tsv", Path(tmp) / "scores.tsv"
        src.write_bytes(data)
        code = main(["score", "--pairs", str(src), "--output", str(out), "-q", "--chunk-size", "2"])
        err = capsys.readouterr().err
        if code == 0:
            rows = out.read_bytes().decode("utf-8").split("\n")
            assert rows[0] == "text_a\ttext_b\tscore" and rows[-1] == ""
            assert len(rows) - 2 == len(list(iter_pairs(io.BytesIO(data), str(src))))
        else:
            assert code == 2
            assert re.match(rf"^textsiam score: error: {re.escape(str(src))}:\d+: ", err), err
            assert not out.exists()
        assert _no_temp_files(Path(tmp))


@SETTINGS
@given(data=any_bytes(delimited(b"\t", st.integers(1, 2))))
def test_encode_text_file(stub_model, capsys, data):
    with tempfile.TemporaryDirectory() as tmp:
        src, out = Path(tmp) / "texts.txt", Path(tmp) / "emb.npy"
        src.write_bytes(data)
        code = main(["encode", str(src), "--output", str(out), "-q", "--chunk-size", "3"])
        err = capsys.readouterr().err
        if code == 0:
            assert np.load(out).shape == (len(io.BytesIO(data).readlines()), _Stub.embedding_dim)
        else:
            assert code == 2
            assert re.match(rf"^textsiam encode: error: {re.escape(str(src))}:\d+: ", err), err
            assert not out.exists()
        assert _no_temp_files(Path(tmp))


# ---------------------------------------------------------------------------------------------- benchmark readers
_SICK_HEADER = b"pair_ID\tsentence_A\tsentence_B\trelatedness_score\tentailment_judgment"
_MRPC_HEADER = b"Quality\t#1 ID\t#2 ID\t#1 String\t#2 String"

#: (dataset, split, file under the data folder, structured-but-broken content)
BENCHMARKS = {
    "stsb": ("stsb", "test", "stsb/sts-test.csv", delimited(b"\t", st.integers(5, 9))),
    "sick": ("sick", "dev", "sick/SICK_trial.txt", delimited(b"\t", st.integers(3, 6), header=_SICK_HEADER)),
    "sick-e": ("sick-e", "test", "sick/SICK_test_annotated.txt", delimited(b"\t", st.integers(4, 5), _SICK_HEADER)),
    "mrpc": ("mrpc", "test", "mrpc/msr_paraphrase_test.txt", delimited(b"\t", st.integers(4, 6), _MRPC_HEADER)),
    "mrpc-dev": ("mrpc", "dev", "mrpc/msr_paraphrase_train.txt", delimited(b"\t", st.integers(4, 6), _MRPC_HEADER)),
    "quora": ("quora", "test", "quora/test.tsv", delimited(b"\t", st.integers(3, 5))),
    "quora-dev": ("quora", "dev", "quora/dev.tsv", delimited(b"\t", st.integers(3, 5))),
}


def _check_dataset(ds, name: str) -> None:  # noqa: ANN001
    assert ds.num_rows > 0
    labels = list(ds["label"])
    assert all(isinstance(x, (int, float)) and math.isfinite(x) for x in labels)
    if name in ("stsb", "sick"):
        low, high = (0.0, 5.0) if name == "stsb" else (1.0, 5.0)
        assert all(low <= x <= high for x in labels)
    else:
        assert set(labels) <= {0, 1}
    assert all(isinstance(t, str) for t in [*ds["text_a"], *ds["text_b"]])


@pytest.mark.parametrize("case", list(BENCHMARKS))
def test_benchmark_readers(case):
    name, split, relative, structured = BENCHMARKS[case]

    @SETTINGS
    @given(data=any_bytes(structured))
    def check(data: bytes) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / relative
            path.parent.mkdir(parents=True)
            path.write_bytes(data)
            try:
                ds = load_pairs(name, split, data_dir=tmp)
            except DataFormatError as err:
                assert names_file(err, path), str(err)
                return
            _check_dataset(ds, name)

    check()


def test_benchmark_reader_accepts_a_good_file_with_bom_and_crlf(tmp_path):
    """The fuzzing above must not just reject everything: a valid file with a BOM and CRLF loads."""
    (tmp_path / "sick").mkdir()
    rows = [_SICK_HEADER, b"1\tA man plays.\tA man is playing.\t4.5\tENTAILMENT", b"2\tA cat.\tA dog.\t1.2\tNEUTRAL"]
    (tmp_path / "sick" / "SICK_trial.txt").write_bytes(b"\xef\xbb\xbf" + b"\r\n".join(rows) + b"\r\n")
    ds = load_pairs("sick-e", "dev", data_dir=tmp_path)
    assert list(ds["label"]) == [1, 0] and list(ds["score"]) == [4.5, 1.2] and ds["text_b"][0] == "A man is playing."


@pytest.mark.parametrize("header", [_SICK_HEADER + b"\n", _MRPC_HEADER + b"\r\n"])
def test_a_header_without_rows_is_an_error_not_an_empty_dataset(tmp_path, header):
    name, relative = (
        ("sick", "sick/SICK_trial.txt") if header.startswith(b"pair") else ("mrpc", "mrpc/msr_paraphrase_test.txt")
    )
    split = "dev" if name == "sick" else "test"
    path = tmp_path / relative
    path.parent.mkdir()
    path.write_bytes(header)
    with pytest.raises(DataFormatError, match="no data rows") as info:
        load_pairs(name, split, data_dir=tmp_path)
    assert str(path) in str(info.value)


# ---------------------------------------------------------------------------------------------- user pair files
json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.floats() | st.text(max_size=6),
    lambda children: st.lists(children, max_size=3) | st.dictionaries(st.text(max_size=6), children, max_size=3),
    max_leaves=8,
)
records = st.fixed_dictionaries(
    {}, optional={"text_a": json_values | st.text(max_size=8), "text_b": st.text(max_size=8), "label": json_values}
)


@st.composite
def jsonl_bytes(draw: st.DrawFn) -> bytes:
    lines = [json.dumps(r).encode() for r in draw(st.lists(records | json_values, max_size=4))]
    if draw(st.booleans()):
        lines.append(draw(fields))  # a broken line
    return b"\n".join(lines)


@st.composite
def json_array_bytes(draw: st.DrawFn) -> bytes:
    text = json.dumps(draw(st.lists(records, max_size=4)))
    cut = draw(st.integers(0, len(text)))
    return (text if draw(st.booleans()) else text[:cut]).encode()


USER_FILES = {
    "pairs.csv": delimited(b",", st.integers(1, 4), header=b"text_a,text_b,label"),
    "pairs.tsv": delimited(b"\t", st.integers(1, 4), header=b"text_a\ttext_b\tlabel"),
    "pairs.jsonl": jsonl_bytes(),
    "pairs.json": st.one_of(json_array_bytes(), jsonl_bytes(), st.sampled_from([b"[" * 5000, b'"\\ud800"'])),
}


@pytest.mark.parametrize("filename", list(USER_FILES))
def test_user_pair_files(filename):
    @SETTINGS
    @given(data=any_bytes(USER_FILES[filename]), labelled=st.booleans())
    def check(data: bytes, labelled: bool) -> None:
        with tempfile.TemporaryDirectory() as tmp:
            path = Path(tmp) / filename
            path.write_bytes(data)
            try:
                ds = load_pairs_from_file(path, label="label" if labelled else None)
            except DataFormatError as err:
                assert names_file(err, path), str(err)
                return
            assert ds.num_rows > 0
            assert all(isinstance(t, str) for t in [*ds["text_a"], *ds["text_b"]])
            if labelled:
                assert all(math.isfinite(x) for x in ds["label"])

    check()


@pytest.mark.parametrize(
    ("filename", "data", "message"),
    [
        ("deep.json", b"[" * 100_000, "nested too deeply"),
        ("deep.jsonl", b'{"text_a": ' + b"[" * 100_000 + b"\n", "nested too deeply"),
        ("big.jsonl", b'{"text_a": "a", "text_b": "b", "label": 1' + b"0" * 400 + b"}\n", "out of range"),
        ("surrogate.jsonl", b'{"text_a": "\\ud800", "text_b": "b", "label": 1}\n', "lone surrogate"),
    ],
)
def test_user_file_regressions(tmp_path, filename, data, message):
    path = tmp_path / filename
    path.write_bytes(data)
    with pytest.raises(DataFormatError, match=message) as info:
        load_pairs_from_file(path)
    assert str(info.value).startswith(f"{path}:")


# ---------------------------------------------------------------------------------------------- TrainConfig
config_keys = st.sampled_from([*TrainConfig.__dataclass_fields__, "lr", "bs", "nope"])


@SETTINGS
@given(data=st.dictionaries(config_keys, json_values | st.text(max_size=6), max_size=4))
def test_train_config_from_arbitrary_json(data):
    try:
        cfg = TrainConfig.from_dict(data)
        cfg.validate()
    except ConfigError as err:
        assert err.problems and all(isinstance(p, str) for p in err.problems)
