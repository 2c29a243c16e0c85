"""Sentence embeddings for semantic search: all-MiniLM-L6-v2 run with numpy, no torch.

The weights (safetensors) and the WordPiece vocabulary come from the model manifest, installed by
``vv model install`` and sha256-checked here before the first use, like every model of the box.
The network is small (6 layers, 384 wide): one query embeds in a few milliseconds on a CPU.
Output: the mean of the last layer over the real tokens, L2-normalised (as sentence-transformers'
Transformer → Pooling(mean) → Normalize pipeline does), so a dot product is the cosine.
"""

import json
import struct
import unicodedata
from dataclasses import dataclass
from pathlib import Path

import numpy as np

from vv_core.models import ModelEntry, ModelIntegrityError, load_manifest, verify_model_file

MAX_TOKENS = 128
LAYERS = 6
HEADS = 12
DIMENSIONS = 384
TOKENIZER_SUFFIX = "-vocab"  # the vocabulary is its own manifest entry: <model>-vocab


class EmbedderUnavailable(ModelIntegrityError):
    """The embedding model is not installed or fails its check; search falls back to full text."""


# --- WordPiece (BERT uncased): basic split, then greedy longest-match sub-words ------------------

def _is_punctuation(char: str) -> bool:
    code = ord(char)
    if 33 <= code <= 47 or 58 <= code <= 64 or 91 <= code <= 96 or 123 <= code <= 126:
        return True
    return unicodedata.category(char).startswith("P")


def _basic_words(text: str) -> list[str]:
    text = unicodedata.normalize("NFD", text.lower())
    text = "".join(c for c in text if unicodedata.category(c) != "Mn")  # strip accents
    words: list[str] = []
    current: list[str] = []
    for char in text:
        if char.isspace() or unicodedata.category(char) in ("Cc", "Cf"):
            if current:
                words.append("".join(current))
                current = []
        elif _is_punctuation(char) or 0x4E00 <= ord(char) <= 0x9FFF:
            if current:
                words.append("".join(current))
                current = []
            words.append(char)
        else:
            current.append(char)
    if current:
        words.append("".join(current))
    return words


class WordPiece:
    def __init__(self, vocab_lines: list[str]) -> None:
        self.ids = {token: index for index, token in enumerate(vocab_lines)}
        self.unk, self.cls, self.sep = self.ids["[UNK]"], self.ids["[CLS]"], self.ids["[SEP]"]

    def _pieces(self, word: str) -> list[int]:
        if len(word) > 100:
            return [self.unk]
        pieces, start = [], 0
        while start < len(word):
            end = len(word)
            while end > start:
                piece = word[start:end] if start == 0 else "##" + word[start:end]
                if piece in self.ids:
                    pieces.append(self.ids[piece])
                    break
                end -= 1
            else:
                return [self.unk]
            start = end
        return pieces

    def encode(self, text: str) -> list[int]:
        ids = [piece for word in _basic_words(text) for piece in self._pieces(word)]
        return [self.cls, *ids[: MAX_TOKENS - 2], self.sep]


# --- the network -------------------------------------------------------------------------------

def read_safetensors(path: Path) -> dict[str, np.ndarray]:
    """The float32 tensors of a safetensors file (8-byte header length, JSON header, raw data)."""
    data = path.read_bytes()
    (header_len,) = struct.unpack("<Q", data[:8])
    header = json.loads(data[8:8 + header_len])
    base = 8 + header_len
    tensors = {}
    for name, info in header.items():
        if name == "__metadata__" or info["dtype"] != "F32":
            continue
        start, end = info["data_offsets"]
        # A copy: aligned, writable memory (BLAS is several times slower on the unaligned buffer).
        tensor = np.frombuffer(data, dtype="<f4", count=(end - start) // 4, offset=base + start)
        tensors[name] = tensor.reshape(info["shape"]).astype(np.float32)
        if name.endswith(".weight") and tensors[name].ndim == 2 and name.startswith("encoder."):
            tensors[name] = np.ascontiguousarray(tensors[name].T)  # stored (out, in): keep x @ W
    return tensors


def _layer_norm(x: np.ndarray, weight: np.ndarray, bias: np.ndarray) -> np.ndarray:
    mean = x.mean(-1, keepdims=True)
    var = ((x - mean) ** 2).mean(-1, keepdims=True)
    return (x - mean) / np.sqrt(var + 1e-12) * weight + bias


def _gelu(x: np.ndarray) -> np.ndarray:
    # BERT's exact GELU, x·Φ(x); numpy has no erf, so a float32-accurate approximation of it.
    return 0.5 * x * (1.0 + _erf(x * np.float32(0.5 ** 0.5)))


def _erf(x: np.ndarray) -> np.ndarray:
    # Numerical Recipes' erfc Chebyshev fit: relative error < 1.2e-7 everywhere (float32 precision).
    z = np.abs(x)
    t = 1.0 / (1.0 + 0.5 * z)
    poly = -z * z - 1.26551223 + t * (1.00002368 + t * (0.37409196 + t * (0.09678418 + t * (
        -0.18628806 + t * (0.27886807 + t * (-1.13520398 + t * (1.48851587 + t * (
            -0.82215223 + t * 0.17087277))))))))
    erfc = t * np.exp(poly)
    return np.where(x >= 0, 1.0 - erfc, erfc - 1.0).astype(np.float32)


@dataclass
class Embedder:
    name: str
    version: str
    weights: dict[str, np.ndarray]
    tokenizer: WordPiece

    def _encode_batch(self, batch: list[list[int]]) -> np.ndarray:
        w = self.weights
        length = max(len(ids) for ids in batch)
        ids = np.zeros((len(batch), length), dtype=np.int64)
        mask = np.zeros((len(batch), length), dtype=np.float32)
        for row, tokens in enumerate(batch):
            ids[row, :len(tokens)] = tokens
            mask[row, :len(tokens)] = 1.0
        x = (w["embeddings.word_embeddings.weight"][ids] + w["embeddings.position_embeddings.weight"][:length]
             + w["embeddings.token_type_embeddings.weight"][0])
        x = _layer_norm(x, w["embeddings.LayerNorm.weight"], w["embeddings.LayerNorm.bias"])
        attention_bias = (1.0 - mask)[:, None, None, :] * np.float32(-1e9)
        size = DIMENSIONS // HEADS
        for layer in range(LAYERS):
            p = f"encoder.layer.{layer}."

            def dense(h, name, p=p):
                return h @ w[p + name + ".weight"] + w[p + name + ".bias"]

            def heads(h):
                return h.reshape(h.shape[0], length, HEADS, size).transpose(0, 2, 1, 3)

            q, k, v = (heads(dense(x, f"attention.self.{n}")) for n in ("query", "key", "value"))
            scores = q @ k.transpose(0, 1, 3, 2) * np.float32(size ** -0.5) + attention_bias
            scores = np.exp(scores - scores.max(-1, keepdims=True))
            scores /= scores.sum(-1, keepdims=True)
            context = (scores @ v).transpose(0, 2, 1, 3).reshape(x.shape)
            x = _layer_norm(dense(context, "attention.output.dense") + x,
                            w[p + "attention.output.LayerNorm.weight"], w[p + "attention.output.LayerNorm.bias"])
            hidden = _gelu(dense(x, "intermediate.dense"))
            x = _layer_norm(dense(hidden, "output.dense") + x,
                            w[p + "output.LayerNorm.weight"], w[p + "output.LayerNorm.bias"])
        pooled = (x * mask[:, :, None]).sum(1) / mask.sum(1, keepdims=True)
        return (pooled / np.linalg.norm(pooled, axis=1, keepdims=True)).astype(np.float32)

    def embed(self, texts: list[str], batch_size: int = 32) -> np.ndarray:
        """(len(texts), 384) unit vectors; texts of similar length are batched together."""
        encoded = [self.tokenizer.encode(text) for text in texts]
        out = np.zeros((len(texts), DIMENSIONS), dtype=np.float32)
        order = sorted(range(len(texts)), key=lambda i: len(encoded[i]))
        for start in range(0, len(order), batch_size):
            chunk = order[start:start + batch_size]
            out[chunk] = self._encode_batch([encoded[i] for i in chunk])
        return out


def _entries(models_dir: Path, manifest: Path, name: str) -> tuple[ModelEntry, ModelEntry]:
    loaded = load_manifest(manifest)
    return loaded.find(name), loaded.find(name + TOKENIZER_SUFFIX)


def load_embedder(models_dir: Path, manifest: Path, name: str) -> Embedder:
    """The verified embedder, or EmbedderUnavailable saying what to install."""
    try:
        weights_entry, vocab_entry = _entries(models_dir, manifest, name)
        for entry in (weights_entry, vocab_entry):
            path = entry.install_path(models_dir)
            if not path.is_file():
                raise EmbedderUnavailable(f"embedding model not installed (run: vv model install {entry.name} "
                                          f"--kind embedder)")
            verify_model_file(path, entry)
    except EmbedderUnavailable:
        raise
    except ModelIntegrityError as exc:
        raise EmbedderUnavailable(str(exc)) from None
    # One BLAS thread: a query is a few small matrix products, and on a box whose cores are busy
    # scanning, BLAS threads spin-waiting for each other made p95 20x worse (bench_console.py).
    from threadpoolctl import threadpool_limits

    threadpool_limits(limits=1, user_api="blas")
    vocab = vocab_entry.install_path(models_dir).read_text(encoding="utf-8").splitlines()
    weights = read_safetensors(weights_entry.install_path(models_dir))
    return Embedder(weights_entry.name, weights_entry.version, weights, WordPiece(vocab))
