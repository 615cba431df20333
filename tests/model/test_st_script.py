"""#24 item 9 (goal): a sentence-transformers user's inference script runs on textsiam after changing only its
imports, with the same numbers.

The script below is run twice in this process: with sentence-transformers' imports, and with textsiam's
(``SiameseModel as SentenceTransformer``, the functions from the ``textsiam`` top level). Every output is compared:
floats to 1e-5, quantised codes and indices exactly, and the types (numpy or tensor, dtype, shape) must agree.
"""

from __future__ import annotations

import numpy as np
import pytest
import torch

from textsiam.model.siamese import default_model_path

pytest.importorskip("sentence_transformers")

ST_IMPORTS = """
from sentence_transformers import SentenceTransformer
from sentence_transformers.quantization import quantize_embeddings
from sentence_transformers.util import (
    community_detection, paraphrase_mining, paraphrase_mining_embeddings, semantic_search, truncate_embeddings,
)
"""
TEXTSIAM_IMPORTS = """
from textsiam import SiameseModel as SentenceTransformer
from textsiam import (
    community_detection, paraphrase_mining, paraphrase_mining_embeddings, quantize_embeddings, semantic_search,
    truncate_embeddings,
)
"""
SCRIPT = """
corpus = [
    "A man is eating food.", "A man is eating a piece of bread.", "The girl is carrying a baby.",
    "A man is riding a horse.", "A woman is playing violin.", "Two men pushed carts through the woods.",
    "A man is riding a white horse on an enclosed ground.", "A monkey is playing drums.",
    "A cheetah is running behind its prey.", "A woman plays the violin on stage.",
]
queries = ["A man is eating pasta.", "Someone in a gorilla costume is playing a set of drums.", "A violinist."]

model = SentenceTransformer(MODEL, device="cpu", prompts={"query": "query: ", "passage": "passage: "})
out = {"dim": model.get_embedding_dimension()}

corpus_emb = model.encode(corpus, normalize_embeddings=True, convert_to_tensor=True, batch_size=4)
query_emb = model.encode(queries, prompt_name="query", normalize_embeddings=True, convert_to_tensor=True)
out["corpus"], out["queries"] = corpus_emb, query_emb
out["prompt"] = model.encode(queries, prompt="passage: ")
out["encode_query"] = model.encode_query(queries)
out["encode_document"] = model.encode_document(corpus[:3])
out["rows"] = model.encode(corpus[:2], convert_to_numpy=False)
out["single"] = model.encode(queries[0])
out["tokens"] = model.encode(corpus[:3], output_value="token_embeddings")

for precision in ("float32", "int8", "uint8", "binary", "ubinary"):
    out["encode_" + precision] = model.encode(corpus, precision=precision)
    out["quantize_" + precision] = quantize_embeddings(query_emb, precision, calibration_embeddings=corpus_emb.numpy())
ranges = np.vstack([corpus_emb.numpy().min(0), corpus_emb.numpy().max(0)])
out["quantize_ranges"] = quantize_embeddings(query_emb, "uint8", ranges=ranges)

out["similarity"] = model.similarity(query_emb, corpus_emb)
out["similarity_1d"] = model.similarity(query_emb[0], corpus_emb.numpy())
out["similarity_pairwise"] = model.similarity_pairwise(corpus_emb[:4], corpus_emb[4:8])

out["truncate_dim"] = model.encode(corpus, truncate_dim=64, normalize_embeddings=True)
with model.truncate_embeddings(32):
    out["truncate_context"] = model.encode(corpus)
    out["dim_32"] = model.get_embedding_dimension()
out["truncate_function"] = truncate_embeddings(corpus_emb, 16)

out["semantic_search"] = semantic_search(query_emb, corpus_emb, top_k=3)
out["paraphrase_mining"] = paraphrase_mining(model, corpus, top_k=2)
out["paraphrase_mining_embeddings"] = paraphrase_mining_embeddings(corpus_emb, top_k=2)
out["community_detection"] = community_detection(corpus_emb, threshold=0.5, min_community_size=2)

pool = model.start_multi_process_pool(["cpu"])
try:
    out["pool"] = model.encode(corpus, pool=pool, normalize_embeddings=True, chunk_size=4)
finally:
    model.stop_multi_process_pool(pool)
"""


def run(imports: str) -> dict:
    namespace = {"np": np, "MODEL": str(default_model_path())}
    exec(compile(imports + SCRIPT, "<st-script>", "exec"), namespace)  # noqa: S102
    return namespace["out"]


def compare(ours, theirs, where: str) -> None:
    if isinstance(theirs, torch.Tensor):
        assert isinstance(ours, torch.Tensor), f"{where}: {type(ours).__name__}, not a tensor"
        ours, theirs = ours.numpy(), theirs.numpy()
    if isinstance(theirs, np.ndarray):
        assert isinstance(ours, np.ndarray), f"{where}: {type(ours).__name__}, not a numpy array"
        assert (ours.dtype, ours.shape) == (theirs.dtype, theirs.shape), f"{where}: {ours.dtype} {ours.shape}"
        if theirs.dtype.kind == "f":
            np.testing.assert_allclose(ours, theirs, atol=1e-5, rtol=0, err_msg=where)
        else:
            np.testing.assert_array_equal(ours, theirs, err_msg=where)
    elif isinstance(theirs, (list, tuple)):
        assert isinstance(ours, (list, tuple)) and len(ours) == len(theirs), f"{where}: {ours!r}"
        for i, (o, t) in enumerate(zip(ours, theirs, strict=True)):
            compare(o, t, f"{where}[{i}]")
    elif isinstance(theirs, dict):
        assert isinstance(ours, dict) and set(ours) == set(theirs), f"{where}: {ours!r}"
        for key in theirs:
            compare(ours[key], theirs[key], f"{where}[{key!r}]")
    elif isinstance(theirs, float):
        assert ours == pytest.approx(theirs, abs=1e-5), where
    else:
        assert type(ours) is type(theirs) and ours == theirs, f"{where}: {ours!r} != {theirs!r}"


def test_a_sentence_transformers_script_runs_unchanged_with_the_same_numbers():
    theirs = run(ST_IMPORTS)
    ours = run(TEXTSIAM_IMPORTS)
    assert set(ours) == set(theirs)
    for key in theirs:
        compare(ours[key], theirs[key], key)
