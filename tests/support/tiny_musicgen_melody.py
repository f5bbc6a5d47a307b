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

from tests.support.tiny_musicgen import CODEBOOK_SIZE, SAMPLE_RATE, WORDS

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
        EncodecConfig,
        MusicgenMelodyConfig,
        MusicgenMelodyDecoderConfig,
        MusicgenMelodyForConditionalGeneration,
        T5Config,
        T5Tokenizer,
    )

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(f"▁{word}", -float(rank + 1)) for rank, word in enumerate(WORDS)]
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0)
    text = T5Config(vocab_size=len(vocab), d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=4)
    audio = EncodecConfig(
        target_bandwidths=[2.2],
        sampling_rate=SAMPLE_RATE,
        audio_channels=1,
        num_filters=4,
        hidden_size=32,
        upsampling_ratios=[8, 5, 4, 4],
        codebook_size=CODEBOOK_SIZE,
        codebook_dim=32,
        num_lstm_layers=1,
        chunk_length_s=None,
        overlap=None,
    )
    decoder = MusicgenMelodyDecoderConfig(
        vocab_size=CODEBOOK_SIZE,
        max_position_embeddings=max_positions,
        num_hidden_layers=2,
        ffn_dim=64,
        num_attention_heads=4,
        hidden_size=32,
        num_codebooks=4,
        audio_channels=1,
        pad_token_id=CODEBOOK_SIZE,
        bos_token_id=CODEBOOK_SIZE,
        decoder_start_token_id=CODEBOOK_SIZE,
    )
    config = MusicgenMelodyConfig(
        text_encoder=text.to_dict(),
        audio_encoder=audio.to_dict(),
        decoder=decoder.to_dict(),
        num_chroma=NUM_CHROMA,
        chroma_length=CHROMA_LENGTH,
    )
    torch.manual_seed(seed)
    model = MusicgenMelodyForConditionalGeneration(config)
    # A fresh EnCodec has all-zero codebooks, which would decode every code to the same sound
    # and let tests of seeds or of the melody's effect pass for the wrong reason.
    for layer in model.audio_encoder.quantizer.layers:
        layer.codebook.embed.normal_()
        layer.codebook.embed_avg.copy_(layer.codebook.embed)
        layer.codebook.cluster_size.fill_(1.0)
    # At the default init (std 0.02) the decoder's logits are nearly flat and barely depend on
    # its prefix, so a melody would not change a single sampled code: sharpen the decoder.
    with torch.no_grad():
        for module in (model.decoder, model.audio_enc_to_dec_proj):
            for name, weight in module.named_parameters():
                if weight.ndim == 2 and "embed_positions" not in name:
                    weight.normal_(0.0, 0.3)
    generation = model.generation_config
    generation.do_sample = True
    generation.guidance_scale = 3.0
    generation.max_length = max_positions
    generation.pad_token_id = CODEBOOK_SIZE
    generation.decoder_start_token_id = CODEBOOK_SIZE
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    tokenizer.save_pretrained(path)
    (path / "preprocessor_config.json").write_text(json.dumps(FEATURE_EXTRACTOR, indent=2) + "\n")
    return path
