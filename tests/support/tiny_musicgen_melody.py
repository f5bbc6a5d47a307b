"""A tiny random MusicGen *melody* checkpoint, built offline in a second, for tests of the engine.

Same parts and sizes as :mod:`tests.support.tiny_musicgen` (T5 text encoder, EnCodec 32 kHz with
4 codebooks of 64 codes, a 2-layer decoder of width 32, a whole-word Unigram vocabulary), in the
melody architecture: a chromagram of the melody and the text are prepended to the decoder's input.

The processor is saved the way ``facebook/musicgen-melody`` ships it (``preprocessor_config.json``
naming ``MusicgenMelodyFeatureExtractor`` and ``MusicgenMelodyProcessor``, plus the tokenizer),
written by hand: transformers' melody feature extractor cannot be instantiated without torchaudio,
which the engine does not need (it computes the chromagram itself).
"""

from __future__ import annotations

import json
from pathlib import Path

from tests.support.tiny_musicgen import (
    SAMPLE_RATE,
    decoder_sizes,
    finish_model,
    tiny_encoder_configs,
    tiny_tokenizer,
)

NUM_CHROMA = 12
CHROMA_LENGTH = 40
"""Chroma frames the model conditions on (the real model: 235, i.e. 30 s at a hop of 4096)."""

FEATURE_EXTRACTOR = {
    "feature_extractor_type": "MusicgenMelodyFeatureExtractor",
    "processor_class": "MusicgenMelodyProcessor",
    "feature_size": NUM_CHROMA,
    "sampling_rate": SAMPLE_RATE,
    "hop_length": 4096,
    "chunk_length": 30,
    "n_fft": 16384,
    "n_samples": 30 * SAMPLE_RATE,
    "num_chroma": NUM_CHROMA,
    "padding_side": "right",
    "padding_value": 0.0,
    "return_attention_mask": False,
    "stem_indices": [3, 2],
}
"""The Hub checkpoint's ``preprocessor_config.json`` (the real model's chroma settings)."""


def build_tiny_musicgen_melody(path: Path, *, max_positions: int = 512, seed: int = 0) -> Path:
    """Save a random melody checkpoint to ``path``.

    ``max_positions`` bounds the decoder's input: chroma and text prefix plus decoding steps.
    """
    import torch
    from transformers import (
        MusicgenMelodyConfig,
        MusicgenMelodyDecoderConfig,
        MusicgenMelodyForConditionalGeneration,
    )

    tokenizer = tiny_tokenizer()
    text, audio = tiny_encoder_configs(len(tokenizer))
    decoder = MusicgenMelodyDecoderConfig(**decoder_sizes(max_positions))
    config = MusicgenMelodyConfig(
        text_encoder=text.to_dict(),
        audio_encoder=audio.to_dict(),
        decoder=decoder.to_dict(),
        num_chroma=NUM_CHROMA,
        chroma_length=CHROMA_LENGTH,
    )
    torch.manual_seed(seed)
    model = MusicgenMelodyForConditionalGeneration(config)
    finish_model(model, max_positions)
    # At the default init (std 0.02) the decoder's logits are nearly flat and barely depend on
    # its prefix, so a melody would not change a single sampled code: sharpen the decoder.
    with torch.no_grad():
        for module in (model.decoder, model.audio_enc_to_dec_proj):
            for name, weight in module.named_parameters():
                if weight.ndim == 2 and "embed_positions" not in name:
                    weight.normal_(0.0, 0.3)
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    (path / "preprocessor_config.json").write_text(json.dumps(FEATURE_EXTRACTOR, indent=2) + "\n")
    return path
