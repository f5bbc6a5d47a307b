"""A tiny random MusicGen checkpoint, built offline in a second, for tests of the real engine.

It has every part a Hub checkpoint has (T5 text encoder, EnCodec 32 kHz, delayed-codebook
decoder, tokenizer, processor), saved with ``save_pretrained``, so the engine loads it through
exactly the code path it uses for ``facebook/musicgen-*``. Only the sizes are small: 4 codebooks
of 64 codes, a 2-layer decoder of width 32, and a whole-word Unigram vocabulary.
"""

from __future__ import annotations

from pathlib import Path

WORDS = (
    *("lofi", "hip", "hop", "piano", "drums", "bass", "jazz", "techno", "ambient", "dusty"),
    *("guitar", "synth", "rock", "house", "slow", "fast", "warm", "dark", "bright", "chill"),
    *("epic", "strings", "pads", "vinyl", "beat", "groove"),
)
CODEBOOK_SIZE = 64
FRAME_RATE = 50  # 32 kHz / hop 640, like the real models
SAMPLE_RATE = 32_000


def build_tiny_musicgen(
    path: Path, *, stereo: bool = False, max_positions: int = 512, seed: int = 0
) -> Path:
    """Save a random checkpoint to ``path``; ``max_positions`` bounds one window (in frames)."""
    import torch
    from transformers import (
        EncodecConfig,
        EncodecFeatureExtractor,
        MusicgenConfig,
        MusicgenDecoderConfig,
        MusicgenForConditionalGeneration,
        MusicgenProcessor,
        T5Config,
        T5Tokenizer,
    )

    vocab = [("<pad>", 0.0), ("</s>", 0.0), ("<unk>", 0.0)]
    vocab += [(f"▁{word}", -float(rank + 1)) for rank, word in enumerate(WORDS)]
    tokenizer = T5Tokenizer(vocab=vocab, extra_ids=0)
    channels = 2 if stereo else 1
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
    decoder = MusicgenDecoderConfig(
        vocab_size=CODEBOOK_SIZE,
        max_position_embeddings=max_positions,
        num_hidden_layers=2,
        ffn_dim=64,
        num_attention_heads=4,
        hidden_size=32,
        num_codebooks=4 * channels,
        audio_channels=channels,
        pad_token_id=CODEBOOK_SIZE,
        bos_token_id=CODEBOOK_SIZE,
        decoder_start_token_id=CODEBOOK_SIZE,
    )
    config = MusicgenConfig(
        text_encoder=text.to_dict(), audio_encoder=audio.to_dict(), decoder=decoder.to_dict()
    )
    torch.manual_seed(seed)
    model = MusicgenForConditionalGeneration(config)
    # A fresh EnCodec has all-zero codebooks, which would decode every code to the same sound
    # and let tests of seeds, batching or channels pass for the wrong reason.
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
    processor = MusicgenProcessor(
        feature_extractor=EncodecFeatureExtractor(feature_size=channels, sampling_rate=SAMPLE_RATE),
        tokenizer=tokenizer,
    )
    path.mkdir(parents=True, exist_ok=True)
    model.save_pretrained(path)
    processor.save_pretrained(path)
    return path
