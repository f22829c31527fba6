"""Every built-in network gives exactly the figures its metadata cites (``metadata.reference``):
parameters (inference, and in training mode where auxiliary heads differ) and MACs. A new built-in
is tested by adding its file; a built-in without published figures says why below."""

import pytest

import archlens
from archlens.spec import builtin_names, load_spec

WITHOUT_REFERENCE = {
    "googlenet": "the paper publishes per-module figures only (Table 1: archlens profile googlenet --paper)",
    "googlenet-naive": "a thought experiment of the paper (figure 2a everywhere); nobody published its size",
}


@pytest.mark.parametrize("name", builtin_names())
def test_builtin_gives_its_published_figures(name):
    spec = load_spec(name)
    reference = spec.metadata.reference if spec.metadata else None
    if reference is None:
        assert name in WITHOUT_REFERENCE, f"{name}: add metadata.reference (params, macs, source)"
        return
    assert name not in WITHOUT_REFERENCE
    profile = archlens.profile(spec)
    assert profile.totals.params == reference.params
    if reference.macs is not None:
        assert profile.totals.macs == reference.macs
    if reference.train_params is not None:
        assert archlens.profile(spec, train=True).totals.params == reference.train_params
