"""gan_style.training.devices: what ``auto`` means on this machine."""

from __future__ import annotations

import pytest

from gan_style.training import devices


@pytest.fixture
def no_gpu(monkeypatch):
    monkeypatch.setattr(devices, "gpu_count", lambda: 0)


@pytest.mark.parametrize("native_bf16", [True, False])
def test_training_is_float32_on_every_cpu(no_gpu, monkeypatch, native_bf16):
    monkeypatch.setattr(devices, "cpu_has_native_bfloat16", lambda: native_bf16)
    assert devices.resolve_training_precision("auto") == "float32"
    # Transfer takes bfloat16 where the CPU has it natively.
    assert devices.resolve_precision("auto") == ("mixed_bfloat16" if native_bf16 else "float32")


def test_gpus_train_in_mixed_float16_and_mirror_when_there_are_two(monkeypatch):
    monkeypatch.setattr(devices, "gpu_count", lambda: 2)
    assert devices.resolve_training_precision("auto") == "mixed_float16"
    assert devices.resolve_precision("auto") == "mixed_float16"
    assert devices.resolve_strategy_name("auto") == "mirrored"


def test_an_explicit_choice_is_kept(no_gpu):
    assert devices.resolve_training_precision("mixed_bfloat16") == "mixed_bfloat16"
    assert devices.resolve_strategy_name("auto") == "default"
    assert devices.resolve_strategy_name("multiworker") == "multiworker"


def test_the_cpu_flags_are_read_from_proc_cpuinfo(monkeypatch, tmp_path):
    import builtins

    fake = tmp_path / "cpuinfo"
    fake.write_text("processor: 0\nflags\t\t: fpu sse2 avx512_bf16 amx_tile\n")
    real_open = builtins.open
    monkeypatch.setattr(
        builtins,
        "open",
        lambda path, *a, **k: real_open(fake if path == "/proc/cpuinfo" else path, *a, **k),
    )
    devices.cpu_has_native_bfloat16.cache_clear()
    try:
        assert devices.cpu_has_native_bfloat16() is True
    finally:
        devices.cpu_has_native_bfloat16.cache_clear()
