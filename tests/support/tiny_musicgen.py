"""A tiny random MusicGen checkpoint, built offline in a second, for tests of the real engine.

It has every part a Hub checkpoint has (T5 text encoder, EnCodec 32 kHz, delayed-codebook
decoder, tokenizer, processor), saved with ``save_pretrained``, so the engine loads it through
exactly the code path it uses for ``facebook/musicgen-*``. Only the sizes are small: 4 codebooks
of 64 codes, a 2-layer decoder of width 32, and a whole-word Unigram vocabulary.
"""

from __future__ import annotations

from pathlib import Path
from typing import Any

WORDS = (
    *("lofi", "hip", "hop", "piano", "drums", "bass", "jazz", "techno", "ambient", "dusty"),
    *("guitar", "synth", "rock", "house", "slow", "fast", "warm", "dark", "bright", "chill"),
    *("epic", "strings", "pads", "vinyl", "beat", "groove"),
)
CODEBOOK_SIZE = 64
FRAME_RATE = 50  # 32 kHz / hop 640, like the real models
SAMPLE_RATE = 32_000


def tiny_tokenizer() -> Any:
    """A T5 tokenizer over :data:`WORDS`, built offline (no SentencePiece model to download)."""
    from transformers import T5Tokenizer

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(f"▁{word}", -float(rank + 1)) for rank, word in enumerate(WORDS)]
    return T5Tokenizer(vocab=vocab, extra_ids=0)


def tiny_encoder_configs(vocab_size: int) -> tuple[Any, Any]:
    """The T5 text encoder's and EnCodec's configs (32 kHz, 4 codebooks of 64, hop 640)."""
    from transformers import EncodecConfig, T5Config

    text = T5Config(vocab_size=vocab_size, d_model=32, d_kv=8, d_ff=64, num_layers=1, num_heads=4)
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
    return text, audio


def decoder_sizes(max_positions: int, channels: int = 1) -> dict[str, Any]:
    """Decoder sizes shared by the plain and the melody checkpoints."""
    return {
        "vocab_size": CODEBOOK_SIZE,
        "max_position_embeddings": max_positions,
        "num_hidden_layers": 2,
        "ffn_dim": 64,
        "num_attention_heads": 4,
        "hidden_size": 32,
        "num_codebooks": 4 * channels,
        "audio_channels": channels,
        "pad_token_id": CODEBOOK_SIZE,
        "bos_token_id": CODEBOOK_SIZE,
        "decoder_start_token_id": CODEBOOK_SIZE,
    }


def finish_model(model: Any, max_positions: int) -> None:
    """Random EnCodec codebooks and MusicGen's sampling defaults.

    A fresh EnCodec has all-zero codebooks, which would decode every code to the same sound and
    let tests of seeds, batching or channels pass for the wrong reason.
    """
    for layer in model.audio_encoder.quantizer.layers:
        layer.codebook.embed.normal_()
        layer.codebook.embed_avg.copy_(layer.codebook.embed)
        layer.codebook.cluster_size.fill_(1.0)
    generation = model.generation_config
    generation.do_sample = True
    generation.guidance_scale = 3.0
    generation.max_length = max_positions
    generation.pad_token_id = CODEBOOK_SIZE
    generation.decoder_start_token_id = CODEBOOK_SIZE


def build_tiny_musicgen(
    path: Path, *, stereo: bool = False, max_positions: int = 512, seed: int = 0
) -> Path:
    """Save a random checkpoint to ``path``; ``max_positions`` bounds one window (in frames)."""
    import torch
    from transformers import (
        EncodecFeatureExtractor,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
    )

    tokenizer = tiny_tokenizer()
    channels = 2 if stereo else 1
    text, audio = tiny_encoder_configs(len(tokenizer))
    decoder = MusicgenDecoderConfig(**decoder_sizes(max_positions, channels))
    config = MusicgenConfig(
        text_encoder=text.to_dict(), audio_encoder=audio.to_dict(), decoder=decoder.to_dict()
    )
    torch.manual_seed(seed)
    model = MusicgenForConditionalGeneration(config)
    finish_model(model, max_positions)
    processor = MusicgenProcessor(
        feature_extractor=EncodecFeatureExtractor(feature_size=channels, sampling_rate=SAMPLE_RATE),
        tokenizer=tokenizer,
    )
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path
