"""MusicGen's decoder, stepped one token at a time by our own loop.

Why not ``model.generate``: it cannot be stopped part-way (a stopping criterion breaks its
delay-pattern reshape), reports no per-step progress, grows its KV cache by concatenation every
step and rebuilds attention masks every step. This loop uses the model's own modules and
weights, writes keys and values into caches allocated once, and gives the caller a hook at every
step, so progress, cancellation and continuation from given codes all fall out of one place.

Codes live in two layouts. *Frames* ``[batch, codebooks, frames]`` are what EnCodec reads and
writes. The decoder sees them *delayed*: codebook ``k`` at position ``s`` holds frame
``s - 1 - delay[k]``, with the pad token where that frame does not exist, and position 0 is
the start token. ``delay[k] = k`` for mono models; stereo models interleave left/right
codebooks, so each pair shares a delay.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass
from typing import Any

import torch
from torch import Tensor
from torch.nn import functional as F  # noqa: N812


@dataclass(frozen=True)
class Sampling:
    temperature: float = 1.0
    top_k: int = 250
    top_p: float = 0.0
    guidance_scale: float = 3.0

    @property
    def guided(self) -> bool:
        return self.guidance_scale > 1.0


class DecodingCancelled(Exception):
    """The step hook asked to stop; ``frames`` holds the frames complete so far."""

    def __init__(self, frames: Tensor) -> None:
        super().__init__("decoding cancelled")
        self.frames = frames


StepHook = Callable[[int, int], bool]
"""Called as ``hook(steps_done, steps_total)`` after every decoder step; True stops decoding."""


def codebook_delays(num_codebooks: int, audio_channels: int) -> list[int]:
    return [k // audio_channels for k in range(num_codebooks)]


class Conditioning:
    """Text conditioning, encoded once and reused by every window of a long clip.

    With guidance, rows ``[0, batch)`` are conditional and ``[batch, 2·batch)`` unconditional
    (all-zero states behind an all-masked attention mask, exactly as transformers builds them).
    """

    def __init__(self, model: Any, input_ids: Tensor, attention_mask: Tensor, guided: bool) -> None:
        states = model.text_encoder(input_ids=input_ids, attention_mask=attention_mask)[0]
        decoder_config = model.decoder.config
        if (
            model.text_encoder.config.hidden_size != decoder_config.hidden_size
            and decoder_config.cross_attention_hidden_size is None
        ):
            states = model.enc_to_dec_proj(states)
        mask = attention_mask
        if guided:
            states = torch.cat([states, torch.zeros_like(states)])
            mask = torch.cat([mask, torch.zeros_like(mask)])
        self.states = states * mask[..., None].to(states.dtype)
        # Additive mask, finite so that a fully masked (unconditional) row attends uniformly to
        # zero values instead of producing NaN.
        blocked = torch.finfo(states.dtype).min
        additive = torch.zeros(mask.shape, dtype=states.dtype, device=states.device)
        self.mask = additive.masked_fill(mask == 0, blocked)[:, None, None, :]
        self.batch = int(input_ids.shape[0])
        self.guided = guided


PACKED_ATTRIBUTE = "_dgx_packed_weights"
"""Where :func:`pack_decoder_weights` leaves oneDNN copies of the decoder's weights."""


def pack_decoder_weights(model: Any, rows_hint: int = 8) -> int:
    """Give the CPU decoder oneDNN-packed copies of its step-time weights; returns their count.

    A decoding step multiplies 2–8 rows by every weight matrix, and MKL's ``x @ Wᵀ`` (what
    ``nn.Linear`` calls) streams the weights at well under the memory bandwidth on some CPUs;
    oneDNN's linear on weights reordered once for small batches streams them at close to it
    (benchmarks/musicgen_speed.py measures each). Same fp32 dot products, summed in another
    order. The dense weights stay, for stock ``generate`` and the once-per-clip projections.
    """
    if not torch.backends.mkldnn.is_available():  # type: ignore[no-untyped-call]
        return 0
    causal_lm = model.decoder
    modules = [*causal_lm.lm_heads]
    for layer in causal_lm.model.decoder.layers:
        attn, cross = layer.self_attn, layer.encoder_attn
        modules += [attn.q_proj, attn.k_proj, attn.v_proj, attn.out_proj]
        modules += [cross.q_proj, cross.out_proj, layer.fc1, layer.fc2]
    packed: dict[int, Tensor] = {}
    for module in modules:
        weight = getattr(module, "weight", None)
        usable = (
            isinstance(weight, Tensor)
            and weight.dtype == torch.float32
            and weight.device.type == "cpu"
            and getattr(module, "bias", None) is None
        )
        if not usable:
            return 0
        with torch.inference_mode():
            packed[id(module)] = torch.ops.mkldnn._reorder_linear_weight(weight, rows_hint)
    setattr(model, PACKED_ATTRIBUTE, packed)
    return len(packed)


def project(packed: dict[int, Tensor] | None, module: Any, x: Tensor) -> Tensor:
    """``module(x)`` for a bias-free Linear, by the fastest route this device has.

    With packed oneDNN weights (see :func:`pack_decoder_weights`) through oneDNN's linear;
    otherwise on the CPU as ``W @ xᵀ``, which MKL streams about twice as fast as ``x @ Wᵀ`` for
    a handful of rows; quantised or GPU modules are simply called.
    """
    weight = packed.get(id(module)) if packed else None
    if weight is not None:
        flat = x.reshape(-1, x.shape[-1])
        out: Tensor = torch.ops.mkldnn._linear_pointwise(flat, weight, None, "none", [], "")
        return out.reshape(*x.shape[:-1], out.shape[-1])
    weight = getattr(module, "weight", None)
    if (
        not isinstance(weight, Tensor)
        or weight.device.type != "cpu"
        or getattr(module, "bias", None) is not None
        or x.shape[:-1].numel() > 64
    ):
        return module(x)  # type: ignore[no-any-return]
    # Row-major rows make xᵀ column-major, the layout MKL streams fastest against W.
    flat = x.reshape(-1, x.shape[-1]).contiguous()
    return (weight @ flat.T).T.reshape(*x.shape[:-1], weight.shape[0])


def attention(
    query: Tensor, keys_t: Tensor, values: Tensor, mask: Tensor | None, scale: float
) -> Tensor:
    """Scaled dot-product attention with the keys stored transposed (``[..., head_dim, len]``).

    For one query position it is two small batched matmuls: PyTorch's CPU SDPA falls back to
    its generic "math" kernel for these shapes and copies the keys every step, which costs more
    than the products themselves.
    """
    if query.shape[-2] > 1 or query.device.type != "cpu":
        return F.scaled_dot_product_attention(
            query, keys_t.transpose(-1, -2), values, attn_mask=mask, scale=scale
        )
    scores = torch.matmul(query, keys_t) * scale
    if mask is not None:
        scores = scores + mask
    return torch.matmul(scores.softmax(dim=-1), values)


class StepDecoder:
    """One window's worth of decoder state: self-attention caches sized for ``positions``."""

    def __init__(self, model: Any, conditioning: Conditioning, positions: int) -> None:
        causal_lm = model.decoder
        self.decoder = causal_lm.model.decoder
        self.heads = causal_lm.lm_heads
        config = causal_lm.config
        self.num_codebooks = int(config.num_codebooks)
        self.num_heads = int(config.num_attention_heads)
        self.head_dim = int(config.hidden_size) // self.num_heads
        rows = conditioning.states.shape[0]
        states = conditioning.states
        dtype, device = states.dtype, states.device
        shape = (rows, self.num_heads, positions, self.head_dim)
        shape_t = (rows, self.num_heads, self.head_dim, positions)
        layers = self.decoder.layers
        self.keys_t = [torch.empty(shape_t, dtype=dtype, device=device) for _ in layers]
        self.values = [torch.empty(shape, dtype=dtype, device=device) for _ in layers]
        self.cross = [
            (
                self._split(layer.encoder_attn.k_proj(states)).transpose(-1, -2).contiguous(),
                self._split(layer.encoder_attn.v_proj(states)).contiguous(),
            )
            for layer in layers
        ]
        self.cross_mask = conditioning.mask
        positional = self.decoder.embed_positions
        if positions > positional.weights.shape[0]:
            positional.make_weights(positions, positional.embedding_dim)
        self.positional = positional.weights[:positions].to(dtype)
        self.packed: dict[int, Tensor] | None = getattr(model, PACKED_ATTRIBUTE, None)
        self.length = 0

    def _split(self, x: Tensor) -> Tensor:
        rows, length, _ = x.shape
        return x.view(rows, length, self.num_heads, self.head_dim).transpose(1, 2)

    def forward(self, tokens: Tensor) -> Tensor:
        """Feed ``tokens`` ``[rows, codebooks, T]`` at the next T positions; logits of the last.

        Returns ``[rows, codebooks, vocab]``.
        """
        rows, codebooks, steps = tokens.shape
        start, end = self.length, self.length + steps
        hidden = sum(self.decoder.embed_tokens[k](tokens[:, k]) for k in range(codebooks))
        assert isinstance(hidden, Tensor)
        hidden = hidden + self.positional[start:end]
        causal = None
        if steps > 1:
            causal = torch.ones(steps, end, dtype=torch.bool, device=tokens.device).tril(start)
        for index, layer in enumerate(self.decoder.layers):
            attn = layer.self_attn
            normed = layer.self_attn_layer_norm(hidden)
            keys = self._split(project(self.packed, attn.k_proj, normed))
            self.keys_t[index][..., start:end] = keys.transpose(-1, -2)
            self.values[index][:, :, start:end] = self._split(
                project(self.packed, attn.v_proj, normed)
            )
            query = self._split(project(self.packed, attn.q_proj, normed))
            out = attention(
                query,
                self.keys_t[index][..., :end],
                self.values[index][:, :, :end],
                causal,
                attn.scaling,
            )
            hidden = hidden + project(
                self.packed, attn.out_proj, out.transpose(1, 2).reshape(rows, steps, -1)
            )

            cross = layer.encoder_attn
            normed = layer.encoder_attn_layer_norm(hidden)
            query = self._split(project(self.packed, cross.q_proj, normed))
            keys, values = self.cross[index]
            out = attention(query, keys, values, self.cross_mask, cross.scaling)
            hidden = hidden + project(
                self.packed, cross.out_proj, out.transpose(1, 2).reshape(rows, steps, -1)
            )

            normed = layer.final_layer_norm(hidden)
            hidden = hidden + project(
                self.packed, layer.fc2, layer.activation_fn(project(self.packed, layer.fc1, normed))
            )
        last = self.decoder.layer_norm(hidden[:, -1])
        self.length = end
        return torch.stack([project(self.packed, head, last) for head in self.heads], dim=1)


def sample_next(
    logits: Tensor, sampling: Sampling, batch: int, generators: list[torch.Generator]
) -> Tensor:
    """Guidance, temperature, top-k, top-p, then one draw per prompt from its own generator.

    A generator per prompt keeps a prompt's draws independent of what it is batched with.
    """
    scores = logits.float()
    if sampling.guided:
        conditional, unconditional = scores[:batch], scores[batch:]
        scores = unconditional + (conditional - unconditional) * sampling.guidance_scale
    if sampling.top_k == 1:
        return scores.argmax(dim=-1)
    if sampling.temperature != 1.0:
        scores = scores / sampling.temperature
    if sampling.top_k > 0:
        kth = torch.topk(scores, min(sampling.top_k, scores.shape[-1]), dim=-1).values[..., -1:]
        scores = scores.masked_fill(scores < kth, float("-inf"))
    if 0.0 < sampling.top_p < 1.0:
        ordered, order = torch.sort(scores, descending=True, dim=-1)
        cumulative = ordered.softmax(dim=-1).cumsum(dim=-1)
        drop = cumulative - ordered.softmax(dim=-1) > sampling.top_p
        scores = scores.masked_fill(drop.scatter(-1, order, drop), float("-inf"))
    probs = scores.softmax(dim=-1)
    return torch.stack(
        [
            torch.multinomial(probs[row], 1, generator=generators[row]).squeeze(-1)
            for row in range(batch)
        ]
    )


def decode_window(
    model: Any,
    conditioning: Conditioning,
    *,
    frames: int,
    prompt: Tensor | None,
    sampling: Sampling,
    generators: list[torch.Generator],
    hook: StepHook,
    steps_before: int = 0,
    steps_total: int | None = None,
) -> Tensor:
    """Generate ``frames`` new frames after ``prompt`` (``[batch, codebooks, P]`` frames or None).

    Returns only the new frames, ``[batch, codebooks, frames]``. ``steps_before`` and
    ``steps_total`` place this window inside a longer job for the hook's progress.
    """
    config = model.decoder.config
    codebooks, pad = int(config.num_codebooks), int(config.pad_token_id)
    delays = codebook_delays(codebooks, int(config.audio_channels))
    batch = conditioning.batch
    device = conditioning.states.device
    known = 0 if prompt is None else int(prompt.shape[-1])
    total_frames = known + frames
    positions = 1 + total_frames + max(delays)
    sequence = torch.full((batch, codebooks, positions), pad, dtype=torch.long, device=device)
    forced = torch.zeros((codebooks, positions), dtype=torch.bool, device=device)
    for k, delay in enumerate(delays):
        forced[k, : 1 + delay] = True
        forced[k, 1 + delay + total_frames :] = True
        if prompt is not None:
            sequence[:, k, 1 + delay : 1 + delay + known] = prompt[:, k]
            forced[k, 1 + delay : 1 + delay + known] = True
    rows = 2 * batch if conditioning.guided else batch
    decoder = StepDecoder(model, conditioning, positions - 1)
    own_steps = positions - 1 - known
    total = steps_total if steps_total is not None else own_steps

    def as_rows(tokens: Tensor) -> Tensor:
        return tokens.repeat(2, 1, 1) if rows != batch else tokens

    logits = decoder.forward(as_rows(sequence[:, :, : known + 1]))
    for position in range(known + 1, positions):
        drawn = sample_next(logits, sampling, batch, generators)
        keep = forced[:, position]
        sequence[:, :, position] = torch.where(keep, sequence[:, :, position], drawn)
        done = position - known
        if hook(steps_before + done, total):
            raise DecodingCancelled(_frames(sequence[:, :, : position + 1], delays, known))
        if position + 1 < positions:
            logits = decoder.forward(as_rows(sequence[:, :, position : position + 1]))
    return _frames(sequence, delays, known)[:, :, :frames]


def _frames(sequence: Tensor, delays: list[int], skip: int) -> Tensor:
    """Undo the delay: the frames complete in ``sequence``, minus the first ``skip`` (prompt)."""
    filled = sequence.shape[-1] - 1 - max(delays)
    count = max(filled - skip, 0)
    rows = [
        sequence[:, k, 1 + delay + skip : 1 + delay + skip + count]
        for k, delay in enumerate(delays)
    ]
    return torch.stack(rows, dim=1)
