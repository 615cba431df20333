"""Duplicate mining: exact search against brute force, ANN recall, pairs, storage precisions, lazy input, CLI."""

from __future__ import annotations

import numpy as np
import pytest
from helpers import SENTENCES

pytest.importorskip("faiss")

from textsiam import MiningResult, SiameseModel, mine_duplicates  # noqa: E402
from textsiam.calibration import NotCalibratedError  # noqa: E402
from textsiam.cli import main  # noqa: E402
from textsiam.mining import mine_embeddings  # noqa: E402
from textsiam.model import precision as P  # noqa: E402

TEXTS = [
    *SENTENCES,
    "A man is playing a guitar.",  # an exact copy of text 0
    "A man plays guitar.",
    "The dog sleeps on the sofa.",
    "How can I learn Python fast?",
    "Markets dropped steeply on Monday.",
    "The cat is sitting on a mat.",
    "Someone is playing the piano.",
]


def _unit(x: np.ndarray) -> np.ndarray:
    x = np.asarray(x, dtype=np.float32)
    return x / np.linalg.norm(x, axis=1, keepdims=True)


def _brute_force(emb: np.ndarray, k: int) -> tuple[np.ndarray, np.ndarray]:
    """Exact top-k by cosine, self excluded: (indices, scores) by descending score."""
    e = _unit(emb)
    sim = e @ e.T
    np.fill_diagonal(sim, -np.inf)
    idx = np.argsort(-sim, axis=1, kind="stable")[:, :k]
    return idx, np.take_along_axis(sim, idx, axis=1)


def _expected_pairs(idx: np.ndarray, scores: np.ndarray, threshold: float) -> dict[tuple[int, int], float]:
    out: dict[tuple[int, int], float] = {}
    for i in range(idx.shape[0]):
        for j, s in zip(idx[i], scores[i], strict=True):
            if j >= 0 and s >= threshold:
                out[(min(i, int(j)), max(i, int(j)))] = float(s)
    return out


@pytest.fixture(scope="module")
def clustered() -> np.ndarray:
    """4,000 vectors in 200 tight clusters (64-d): neighbourhoods an ANN index can get right, no exact ties."""
    rng = np.random.default_rng(0)
    centres = rng.standard_normal((200, 64)).astype(np.float32)
    return centres[rng.integers(0, 200, 4000)] + 0.4 * rng.standard_normal((4000, 64)).astype(np.float32)


@pytest.fixture(scope="module")
def clustered_top10(clustered) -> np.ndarray:
    return _brute_force(clustered, 10)[0]


# ---------------------------------------------------------------------------------------------- exact search
def test_exact_search_equals_brute_force(clustered):
    emb = clustered[:1500]
    res = mine_embeddings(emb, index="flat", precision="float32", top_k=5, threshold=0.7, chunk_size=400)
    idx, scores = _brute_force(emb, 5)
    np.testing.assert_array_equal(res.neighbours, idx)
    np.testing.assert_allclose(res.neighbour_scores, scores, atol=1e-5)
    assert res.stats["index_factory"] == "Flat" and res.stats["n_texts"] == 1500
    expected = _expected_pairs(idx, scores, 0.7)
    got = {(int(i), int(j)): s for (i, j), s in zip(res.pairs, res.scores, strict=True)}
    assert got.keys() == expected.keys() and len(got) == len(res.pairs)  # each unordered pair exactly once
    assert all(i < j for i, j in got)
    np.testing.assert_allclose([got[k] for k in expected], list(expected.values()), atol=1e-5)
    assert np.all(np.diff(res.scores) <= 0)  # best first


def test_mine_duplicates_with_model_matches_numpy(tiny_model):
    res = mine_duplicates(TEXTS, tiny_model, index="flat", precision="float32", top_k=3, threshold=0.9)
    emb = tiny_model.encode(TEXTS, normalize=True)
    idx, scores = _brute_force(emb, 3)
    np.testing.assert_allclose(res.neighbour_scores, scores, atol=1e-5)
    # the neighbours have exactly those scores (indices may differ from numpy's only among tied scores)
    sim = _unit(emb) @ _unit(emb).T
    np.testing.assert_allclose(sim[np.arange(len(TEXTS))[:, None], res.neighbours], scores, atol=1e-5)
    assert (res.neighbours != np.arange(len(TEXTS))[:, None]).all()
    pairs = {tuple(p) for p in res.pairs.tolist()}
    assert (0, 7) in pairs  # the exact copy, found from both sides, reported once
    assert res.scores[res.pairs.tolist().index([0, 7])] == pytest.approx(1.0, abs=1e-5)
    assert len(pairs) == len(res.pairs) and set(_expected_pairs(res.neighbours, scores, 0.9)) == pairs
    assert isinstance(res, MiningResult) and len(res) == len(res.pairs)
    assert list(res)[0] == (*res.pairs[0].tolist(), pytest.approx(float(res.scores[0])))
    df = res.to_dataframe(TEXTS)
    assert list(df.columns) == ["i", "j", "score", "text_a", "text_b"] and df["text_a"][0] == TEXTS[res.pairs[0, 0]]


# ---------------------------------------------------------------------------------------------- storage precisions
@pytest.mark.parametrize("precision", ["float16", "int8", "float32"])
def test_memmap_precisions_store_and_score_the_stored_vectors(clustered, tmp_path, precision):
    emb = clustered[:2500]  # chunks of 2,200 queries: neighbours are re-scored in blocks of 1,024
    res = mine_embeddings(
        emb, index="flat", precision=precision, top_k=4, threshold=0.5, chunk_size=2200, work_dir=tmp_path
    )
    stored = np.memmap(res.stats["embeddings_file"], dtype=precision, mode="r", shape=(2500, 64))
    assert res.stats["embeddings_bytes"] == 2500 * 64 * np.dtype(precision).itemsize
    codes = {"int8": "int8_per_vector"}.get(precision, precision)  # mining's int8: per-vector codes
    np.testing.assert_array_equal(np.asarray(stored), P.quantize(_unit(emb), codes))
    # every score is the cosine of the stored vectors (textsiam.model.precision's similarity for that format)
    full = P.similarity_matrix(np.asarray(stored), np.asarray(stored), codes)
    rows = np.arange(2500)[:, None]
    np.testing.assert_allclose(res.neighbour_scores, full[rows, res.neighbours], atol=1e-5)
    np.fill_diagonal(full, -np.inf)
    exact = np.sort(full, axis=1)[:, ::-1][:, :4]
    recall = np.mean(res.neighbour_scores >= exact[:, -1:] - 1e-4)
    assert recall >= (1.0 if precision != "int8" else 0.97)  # int8's index (SQ8) is itself approximate


# ---------------------------------------------------------------------------------------------- ANN
@pytest.mark.parametrize("kind", ["ivf", "hnsw"])
@pytest.mark.parametrize("precision", ["float32", "float16"])
def test_ann_recall_against_exact(clustered, clustered_top10, kind, precision):
    res = mine_embeddings(
        clustered, index=kind, precision=precision, top_k=10, threshold=0.8, chunk_size=1000, num_threads=1
    )
    pairs = zip(res.neighbours.tolist(), clustered_top10.tolist(), strict=True)
    recall = np.mean([len(set(a) & set(b)) / 10 for a, b in pairs])
    assert recall >= 0.95, recall
    assert res.stats["index"] == kind and res.stats["index_factory"].startswith(kind.upper())
    if kind == "ivf":
        assert res.stats["nlist"] == min(round(4 * 4000**0.5), 4000 // 39) and res.stats["nprobe"] >= 1


def test_auto_switches_to_hnsw_above_max_exact(clustered):
    small = mine_embeddings(clustered[:500], max_exact=501)
    large = mine_embeddings(clustered[:500], max_exact=500, hnsw_m=8, ef_search=5)
    assert small.stats["index"] == "flat" and small.stats["index_factory"] == "SQfp16"
    assert large.stats["index"] == "hnsw" and large.stats["index_factory"] == "HNSW8,SQfp16"
    assert large.stats["ef_search"] == 11  # at least top_k + 1


def test_ivf_with_every_list_probed_is_exact(clustered):
    flat = mine_embeddings(clustered[:500], index="flat", precision="float32")
    ivf = mine_embeddings(clustered[:500], index="ivf", nlist=8, nprobe=8, precision="float32")
    assert ivf.stats["index_factory"] == "IVF8,Flat" and ivf.stats["nprobe"] == 8
    np.testing.assert_array_equal(flat.neighbours, ivf.neighbours)
    default = mine_embeddings(clustered[:500], index="ivf", precision="float32")
    assert default.stats["nlist"] == 500 // 39 and default.stats["nprobe"] == 500 // 39  # at most nlist


# ---------------------------------------------------------------------------------------------- input
def test_generator_input_is_read_lazily_in_chunks(tiny_model, monkeypatch):
    pulled = []

    def gen():
        for t in TEXTS:
            pulled.append(t)
            yield t

    seen = []
    real_encode = SiameseModel.encode

    def spy(self, texts, *args, **kwargs):
        seen.append((len(texts), len(pulled)))
        return real_encode(self, texts, *args, **kwargs)

    monkeypatch.setattr(SiameseModel, "encode", spy)
    lazy = mine_duplicates(gen(), tiny_model, chunk_size=4, top_k=3, threshold=0.9, precision="float32")
    monkeypatch.setattr(SiameseModel, "encode", real_encode)
    eager = mine_duplicates(TEXTS, tiny_model, chunk_size=100, top_k=3, threshold=0.9, precision="float32")
    # one chunk at a time: when chunk c is encoded, at most (c + 1) * 4 texts have been read
    assert [n for n, _ in seen] == [4, 4, 4, 2]
    assert all(p <= 4 * (c + 1) for c, (_, p) in enumerate(seen))
    np.testing.assert_array_equal(lazy.pairs, eager.pairs)
    np.testing.assert_allclose(lazy.neighbour_scores, eager.neighbour_scores, atol=1e-5)


def test_tiny_corpora(tiny_model):
    """A text has N - 1 others: the neighbours are (N, min(top_k, N - 1)), as semantic_search clamps top_k."""
    empty = mine_duplicates([], tiny_model, top_k=3)
    assert empty.pairs.shape == (0, 2) and empty.neighbours.shape == (0, 0) and empty.stats["n_texts"] == 0
    one = mine_duplicates(["alone"], tiny_model, top_k=3)
    assert one.neighbours.shape == one.neighbour_scores.shape == (1, 0) and len(one) == 0
    three = mine_duplicates(["a", "a", "b"], tiny_model, top_k=5, threshold=0.99)
    assert three.neighbours.shape == (3, 2) and (three.neighbours >= 0).all() and three.stats["top_k"] == 2
    assert three.pairs.tolist()[0] == [0, 1]


def test_embedding_inputs(clustered):
    ref = mine_embeddings(clustered[:300], top_k=3, precision="float32")
    chunks = mine_embeddings(iter([clustered[:100], clustered[100:300]]), top_k=3, precision="float32")
    rows = mine_embeddings(clustered[:300].tolist(), top_k=3, precision="float32")
    for other in (chunks, rows):
        np.testing.assert_array_equal(other.neighbours, ref.neighbours)
    with pytest.raises(ValueError, match="width changed"):
        mine_embeddings([clustered[:10], clustered[:10, :32]])
    with pytest.raises(ValueError, match="NaN"):
        mine_embeddings(np.full((3, 4), np.nan, dtype=np.float32))


# ---------------------------------------------------------------------------------------------- calibration
def test_calibrated_scores(tiny_model):
    dev = {
        "text_a": TEXTS[:8] + TEXTS[:8],
        "text_b": TEXTS[6:14] + TEXTS[::-1][:8],
        "label": [1, 0, 1, 0, 1, 0, 1, 1, 0, 0, 1, 0, 0, 1, 0, 0],
    }
    with pytest.raises(NotCalibratedError, match=r"this model is not calibrated: call model\.calibrate\(dev_pairs\)"):
        mine_duplicates(TEXTS, tiny_model, calibrated=True)
    tiny_model.calibrate(dev, method="sigmoid")
    raw = mine_duplicates(TEXTS, tiny_model, top_k=3, threshold=-1.0, precision="float32")
    cal = mine_duplicates(TEXTS, tiny_model, top_k=3, threshold=0.0, precision="float32", calibrated=True)
    expected = tiny_model.calibrator.transform(raw.neighbour_scores.ravel()).reshape(raw.neighbour_scores.shape)
    np.testing.assert_allclose(cal.neighbour_scores, expected, atol=1e-5)
    assert cal.stats["calibrated"] and ((cal.scores >= 0) & (cal.scores <= 1)).all()
    np.testing.assert_array_equal(np.sort(cal.pairs, axis=0), np.sort(raw.pairs, axis=0))


# ---------------------------------------------------------------------------------------------- bad input
@pytest.mark.parametrize(
    ("kwargs", "message"),
    [
        ({"threshold": "0.8"}, "threshold"),
        ({"threshold": float("nan")}, "threshold"),
        ({"top_k": 0}, "top_k"),
        ({"top_k": True}, "top_k"),
        ({"index": "lsh"}, "unknown index 'lsh'"),
        ({"precision": "binary"}, "binary codes cannot be searched"),
        ({"precision": "float64"}, "unknown precision"),
        ({"chunk_size": 0}, "chunk_size"),
        ({"batch_size": -1}, "batch_size"),
        ({"nprobe": 0}, "nprobe"),
    ],
)
def test_bad_arguments(tiny_model, kwargs, message):
    with pytest.raises(ValueError, match=message):
        mine_duplicates(TEXTS, tiny_model, **kwargs)


def test_bad_texts(tiny_model):
    with pytest.raises(TypeError, match="not a single str"):
        mine_duplicates("one text", tiny_model)
    with pytest.raises(TypeError, match="got None"):
        mine_duplicates(None, tiny_model)
    with pytest.raises(TypeError, match="got int"):
        mine_duplicates(3, tiny_model)
    with pytest.raises(TypeError, match=r"texts\[2\] is None"):
        mine_duplicates(iter(["a", "b", None]), tiny_model)
    with pytest.raises(TypeError, match=r"texts\[1\] is bytes"):
        mine_duplicates(["a", b"b"], tiny_model)
    with pytest.raises(ValueError, match="nlist=50 exceeds"):
        mine_duplicates(TEXTS, tiny_model, index="ivf", nlist=50)


# ---------------------------------------------------------------------------------------------- CLI
def _read_tsv(path):
    lines = path.read_text(encoding="utf-8").splitlines()
    return lines[0].split("\t"), [line.split("\t") for line in lines[1:]]


def test_cli_mine(tiny_model_dir, tmp_path):
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join([*TEXTS, "a\ttab"]) + "\n", encoding="utf-8")
    out = tmp_path / "pairs.tsv"
    args = ["mine", str(corpus), "--output", str(out), "--model", str(tiny_model_dir), "-q", "--top-k", "3"]
    assert main([*args, "--threshold", "0.9", "--precision", "float32", "--chunk-size", "5"]) == 0
    header, rows = _read_tsv(out)
    assert header == ["i", "j", "score", "text_a", "text_b"]
    model = SiameseModel.from_pretrained(tiny_model_dir, device="cpu")
    lines = [*TEXTS, "a\ttab"]
    ref = mine_duplicates(lines, model, top_k=3, threshold=0.9, precision="float32")
    assert [(int(r[0]), int(r[1])) for r in rows] == [tuple(p) for p in ref.pairs.tolist()]
    np.testing.assert_allclose([float(r[2]) for r in rows], ref.scores, atol=1e-5)
    shown = [t.replace("\t", " ") for t in lines]  # a tab inside a text is written as a space
    assert all(len(r) == 5 and r[3] == shown[int(r[0])] and r[4] == shown[int(r[1])] for r in rows)
    # never overwrite without --overwrite; the old output stays as it was
    before = out.read_bytes()
    assert main([*args, "--threshold", "0.99"]) == 2
    assert out.read_bytes() == before
    assert main([*args, "--threshold", "0.99", "--overwrite"]) == 0
    assert len(_read_tsv(out)[1]) <= len(rows)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["corpus.txt", "pairs.tsv"]  # no temp files left


def test_cli_mine_errors_leave_no_output(tiny_model_dir, tmp_path, capsys):
    bad = tmp_path / "bad.txt"
    bad.write_bytes(b"fine\n\xff\xfe broken\n")
    out = tmp_path / "pairs.tsv"
    base = ["--output", str(out), "--model", str(tiny_model_dir), "-q"]
    assert main(["mine", str(bad), *base]) == 2
    assert f"{bad}:2" in capsys.readouterr().err
    good = tmp_path / "good.txt"
    good.write_text("a\nb\n", encoding="utf-8")
    with pytest.raises(SystemExit, match="^2$") as info:  # argparse refuses it before anything runs
        main(["mine", str(good), *base, "--top-k", "0"])
    assert info.value.code == 2
    assert "--top-k" in capsys.readouterr().err
    assert main(["mine", str(good), *base, "--calibrated"]) == 2
    assert "not calibrated" in capsys.readouterr().err
    assert main(["mine", str(tmp_path / "missing.txt"), *base]) == 2
    assert sorted(p.name for p in tmp_path.iterdir()) == ["bad.txt", "good.txt"]


def test_cli_score_streams_in_chunks(tiny_model_dir, tmp_path, monkeypatch):
    pairs = tmp_path / "pairs.tsv"
    pairs.write_text("".join(f"text {i}\tother {i % 3}\n" for i in range(11)), encoding="utf-8")
    out = tmp_path / "scores.tsv"
    sizes = []
    real = SiameseModel.similarity

    def spy(self, a, b, *args, **kwargs):
        sizes.append(len(a))
        return real(self, a, b, *args, **kwargs)

    monkeypatch.setattr(SiameseModel, "similarity", spy)
    args = ["score", "--pairs", str(pairs), "--output", str(out), "--model", str(tiny_model_dir), "-q"]
    assert main([*args, "--chunk-size", "4"]) == 0
    assert sizes == [4, 4, 3]  # never more than one chunk of pairs in memory
    header, rows = _read_tsv(out)
    assert header == ["text_a", "text_b", "score"] and len(rows) == 11 and rows[10][:2] == ["text 10", "other 1"]


def test_cli_mine_fast_path(tiny_model_dir, tmp_path):
    pytest.importorskip("onnxruntime")
    pytest.importorskip("onnx")
    corpus = tmp_path / "corpus.txt"
    corpus.write_text("\n".join(TEXTS) + "\n", encoding="utf-8")
    out = tmp_path / "pairs.tsv"
    args = ["mine", str(corpus), "-o", str(out), "--model", str(tiny_model_dir), "-q", "--threshold", "0.99"]
    assert main([*args, "--backend", "onnx", "--quantize", "int8", "--precision", "int8"]) == 0
    header, rows = _read_tsv(out)
    assert header == ["i", "j", "score", "text_a", "text_b"]
    assert ["0", "7"] in [r[:2] for r in rows]  # the exact copy, whatever the int8 path does to the scores


# ---------------------------------------------------------------------------------------------- memory helpers
@pytest.mark.parametrize("precision", ["float32", "float16", "int8"])
def test_embedding_file_take_reads_any_rows(tmp_path, precision):
    from textsiam.mining.store import EmbeddingFile as _EmbeddingFile

    rng = np.random.default_rng(1)
    emb = rng.standard_normal((300, 24)).astype(np.float32)
    store = _EmbeddingFile(tmp_path / "e.bin", precision)
    with open(store.path, "wb") as fh:
        store.append(fh, emb[:120])
        store.append(fh, emb[120:])
    every = store.rows(0, 300)
    # unsorted, repeated, consecutive runs and the last row: the same rows as a slice of the whole file
    idx = np.array([299, 5, 6, 7, 5, 0, 150, 149, 8, 299])
    np.testing.assert_array_equal(store.take(idx), every[idx])
    assert store.take(np.array([], dtype=np.int64)).shape == (0, 24)
    with pytest.raises(IndexError, match="row ids"):
        store.take(np.array([3, 300]))


@pytest.mark.parametrize("factory", ["HNSW8,SQfp16", "HNSW8,SQ8", "Flat", "SQfp16"])
def test_reserved_index_equals_plain_index(clustered, factory):
    import faiss

    from textsiam.mining.index import faiss_threads as _faiss_threads
    from textsiam.mining.index import reserve_index as _reserve

    x = clustered[:1200] / np.linalg.norm(clustered[:1200], axis=1, keepdims=True)
    found = []
    for reserve in (False, True):
        index = faiss.index_factory(x.shape[1], factory, faiss.METRIC_INNER_PRODUCT)
        if reserve:
            _reserve(index, len(x))
        codes = (faiss.downcast_index(index.storage) if isinstance(index, faiss.IndexHNSW) else index).codes
        buffers = set()
        with _faiss_threads(1):  # a multi-threaded HNSW build is not deterministic
            if not index.is_trained:
                index.train(x)
            for start in range(0, len(x), 100):  # chunked adds, as _build_index does
                index.add(x[start : start + 100])
                buffers.add(int(codes.owned_data.data()))
            found.append(index.search(x[:50], 5))
        assert index.ntotal == len(x)
        # reserved: the code buffer never moves (no reallocation); plain: the vector grew by doubling
        assert (len(buffers) == 1) if reserve else (len(buffers) > 1)
    np.testing.assert_array_equal(found[0][1], found[1][1])
    np.testing.assert_allclose(found[0][0], found[1][0], rtol=0, atol=0)
