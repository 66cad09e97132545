"""gan_style.store: finding a style, opening it for a command, names and partial bundles."""

from __future__ import annotations

import pytest

from gan_style import store
from gan_style.errors import StyleError


@pytest.fixture
def home(tmp_path, monkeypatch):
    monkeypatch.setenv("GAN_STYLE_HOME", str(tmp_path / "home"))
    return tmp_path / "home"


def make_style(name: str, **fields):
    bundle = store.bundle_folder(name)
    store.write_style(bundle, {"name": name, **fields})
    return bundle


@pytest.mark.parametrize(
    ("model", "command"),
    [("cut", "transfer"), ("cyclegan", "transfer"), ("dcgan", "generate"), ("cut", "evaluate")],
)
def test_a_command_opens_a_style_of_a_model_it_runs(home, model, command):
    bundle = make_style("s", model=model)
    opened = store.open_style("s", command)
    assert (opened.bundle, opened.name, opened.model) == (bundle, "s", model)
    assert opened.description["model"] == model


def test_a_style_of_another_model_names_the_command_that_fits(home):
    make_style("painter", model="cut")
    make_style("dreams", model="dcgan")
    with pytest.raises(StyleError, match=r"'painter' is a 'cut' model.*gan-style transfer"):
        store.open_style("painter", "generate")
    with pytest.raises(StyleError, match=r"'dreams' is a 'dcgan' model.*gan-style generate"):
        store.open_style("dreams", "transfer")
    make_style("odd", model="pix2pix")
    with pytest.raises(StyleError, match="which evaluate --style does not know"):
        store.open_style("odd", "evaluate")


def test_a_bundle_older_than_the_model_field_is_a_cyclegan(home):
    make_style("old")
    assert store.open_style("old", "transfer").model == "cyclegan"


def test_names_fall_back_to_the_folder(home, tmp_path):
    bundle = tmp_path / "copied-style"
    store.write_style(bundle, {"model": "cut", "name": ""})
    assert store.open_style(bundle, "transfer").name == "copied-style"
    assert store.style_name({"name": 7}, bundle) == "copied-style"
    assert store.style_name({"name": "n"}, bundle) == "n"


def test_an_unknown_style_lists_the_known_ones(home):
    make_style("monet_mine", model="cut")
    with pytest.raises(StyleError, match=r"no style 'nope'; styles in .*: monet_mine"):
        store.resolve_style("nope")


def test_a_partial_bundle_says_so(home):
    bundle = make_style("half", model="cut", complete=False, training={"steps": 120})
    description = store.read_style(bundle)
    assert not store.is_complete(bundle)
    assert "stopped at step 120" in store.partial_note(description, bundle)
    done = make_style("done", model="cut")
    assert store.is_complete(done) and store.partial_note(store.read_style(done), done) is None


def test_bad_names_are_refused():
    for name in ("", "has space", "../up", "x" * 65):
        with pytest.raises(StyleError):
            store.check_name(name)
    assert store.check_name("van_gogh-2.1") == "van_gogh-2.1"
