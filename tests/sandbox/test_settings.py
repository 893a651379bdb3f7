"""The lab's recorded settings (host keys "ca" or "strict"): option, environment, record,
default, and clear errors. Fast: files only, no lab."""

from __future__ import annotations

from pathlib import Path

import pytest

from labguide.errors import LabguideError
from labguide.sandbox import settings
from labguide.sandbox.paths import LabPaths


@pytest.fixture
def paths(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> LabPaths:
    monkeypatch.delenv(settings.HOST_KEYS_ENV, raising=False)
    return LabPaths.default(tmp_path)


def test_default_then_option_then_environment(paths: LabPaths,
                                              monkeypatch: pytest.MonkeyPatch) -> None:
    assert settings.recorded(paths) is None
    assert settings.current(paths).host_keys == settings.DEFAULT_HOST_KEYS == "strict"
    assert settings.choose(paths, None).host_keys == "strict"
    assert settings.choose(paths, "ca").host_keys == "ca"
    monkeypatch.setenv(settings.HOST_KEYS_ENV, "ca")
    assert settings.choose(paths, None).host_keys == "ca"
    assert settings.choose(paths, "strict").host_keys == "strict"  # the option wins


def test_a_made_lab_keeps_its_mode(paths: LabPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    settings.record(paths, settings.LabSettings(host_keys="strict"))
    assert settings.current(paths).host_keys == "strict"
    assert settings.choose(paths, None).host_keys == "strict"  # `lab up` again: unchanged
    with pytest.raises(LabguideError) as err:
        settings.choose(paths, "ca")
    assert "made with host keys 'strict', not 'ca'" in str(err.value)
    assert "labguide lab down" in str(err.value.hint)
    monkeypatch.setenv(settings.HOST_KEYS_ENV, "ca")
    with pytest.raises(LabguideError):
        settings.choose(paths, None)


def test_bad_values_are_named(paths: LabPaths, monkeypatch: pytest.MonkeyPatch) -> None:
    with pytest.raises(LabguideError, match="--host-keys.*not 'tofu'"):
        settings.choose(paths, "tofu")
    monkeypatch.setenv(settings.HOST_KEYS_ENV, "STRICT")
    with pytest.raises(LabguideError, match=f"{settings.HOST_KEYS_ENV}.*not 'STRICT'"):
        settings.choose(paths, None)
    paths.settings.parent.mkdir(parents=True)
    paths.settings.write_text('{"host_keys": "maybe"}\n')
    with pytest.raises(LabguideError, match="lab.json.*host_keys.*not 'maybe'"):
        settings.current(paths)
    paths.settings.write_text("{")
    with pytest.raises(LabguideError, match="cannot read the lab's settings"):
        settings.current(paths)
