"""The protocol: shared tree == per-attribute re-clustering, tracks, runs, FINCH, bad inputs."""

import sys

import numpy as np
import pytest
from sklearn.cluster import AgglomerativeClustering

from clustering.finch_hierarchy import finch_available
from clustering.protocol import (
    ProtocolOptions,
    average_tracks,
    evaluate_hac,
    run_protocol,
    standardize,
)
from evalkit import METRIC_NAMES, score_partition
from unsup3d.api import UserError


def _multiclass_columns(rng, n):
    """Label columns with 2, 3, 5, 3 and 2 classes (so the tree is cut at several k)."""
    return np.stack([rng.integers(0, k, n) for k in (2, 3, 5, 3, 2)], axis=1)


def test_shared_tree_equals_reclustering_per_attribute():
    rng = np.random.default_rng(0)
    x = rng.normal(size=(50, 6)).astype(np.float32)
    x[:25] += 3.0  # some structure, so the metrics are not all at chance
    labels = _multiclass_columns(rng, 50)
    labels[:, 0] = np.arange(50) < 25
    names = [f"a{i}" for i in range(labels.shape[1])]

    got = evaluate_hac(x, labels, names)
    for a, name in enumerate(names):
        k = len(np.unique(labels[:, a]))
        ref_clusters = AgglomerativeClustering(n_clusters=k, linkage="ward").fit(x).labels_
        ref = score_partition(labels[:, a], ref_clusters)
        assert got["attributes"][name]["n_clusters"] == k
        for m in METRIC_NAMES:
            assert got["attributes"][name][m] == ref[m], (name, m)
    assert got["attributes"]["a0"]["cluster_accuracy"] == 1.0
    for m in METRIC_NAMES:
        expected = np.mean([got["attributes"][n][m] for n in names])
        assert got["mean"][m] == pytest.approx(expected)


def test_separated_blobs_score_one(make_blobs):
    x, y = make_blobs(n_per=8, k=4)
    result = run_protocol(x, y, ["identity"], ProtocolOptions())
    assert result["attributes"]["identity"] == pytest.approx(
        {"n_clusters": 4, **{m: 1.0 for m in METRIC_NAMES}}
    )


def test_average_tracks():
    x = np.array([[0.0, 2.0], [2.0, 4.0], [10.0, 10.0], [5.0, 5.0], [7.0, 7.0]])
    labels = np.array([[1, 0], [1, 0], [2, 1], [3, 1], [3, 1]])
    tracks = np.array([9, 9, 4, 7, 7])
    means, track_labels, ids = average_tracks(x, labels, tracks, ["id", "attr"], "f.npz")
    np.testing.assert_array_equal(ids, [4, 7, 9])
    np.testing.assert_allclose(means, [[10, 10], [6, 6], [1, 3]])
    np.testing.assert_array_equal(track_labels, [[2, 1], [3, 1], [1, 0]])

    labels[1, 1] = 1
    with pytest.raises(UserError, match=r"f.npz: track 9 has frames with different 'attr' labels"):
        average_tracks(x, labels, tracks, ["id", "attr"], "f.npz")
    with pytest.raises(UserError, match="4 track ids for 5 samples"):
        average_tracks(x, labels, tracks[:4], ["id", "attr"], "f.npz")


def test_standardize():
    x = np.array([[1.0, 5.0], [3.0, 5.0], [5.0, 5.0]])
    z = standardize(x)
    np.testing.assert_allclose(z[:, 0], [-np.sqrt(1.5), 0, np.sqrt(1.5)])
    np.testing.assert_array_equal(z[:, 1], 0.0)  # a constant column is only centred


def test_runs_are_seeded_and_aggregated(make_blobs):
    x, y = make_blobs(n_per=10, k=3)
    y = y.copy()
    y[::4] = (y[::4] + 1) % 3  # label noise, so subsamples score differently
    opts = ProtocolOptions(runs=3, subsample=15, seed=5)
    a = run_protocol(x, y, ["identity"], opts)
    b = run_protocol(x, y, ["identity"], opts)
    assert [r["seed"] for r in a["runs"]] == [5, 6, 7]
    for ra, rb in zip(a["runs"], b["runs"]):
        assert ra["attributes"] == rb["attributes"]
    per_run = [r["attributes"]["identity"]["cluster_accuracy"] for r in a["runs"]]
    assert len(set(per_run)) > 1
    assert a["attributes"]["identity"]["cluster_accuracy"] == pytest.approx(np.mean(per_run))
    assert a["attributes_std"]["identity"]["cluster_accuracy"] == pytest.approx(
        np.std(per_run, ddof=1)
    )
    c = run_protocol(x, y, ["identity"], ProtocolOptions(runs=3, subsample=15, seed=6))
    assert c["runs"][0]["attributes"] == a["runs"][1]["attributes"]


@pytest.mark.skipif(not finch_available(), reason="finch-clust is not installed")
def test_finch_reports_every_level_and_the_nearest(make_blobs):
    x, y = make_blobs(n_per=12, k=3, dim=8)
    coarse = (y == 0).astype(np.int64)  # a 2-class column: nearest level is the coarsest
    labels = np.stack([y, coarse], axis=1)
    result = run_protocol(
        x,
        labels,
        ["identity", "first"],
        ProtocolOptions(method="finch", finch_distance="euclidean"),
    )
    levels = result["runs"][0]["levels"]
    sizes = [lv["n_clusters"] for lv in levels]
    ident = result["attributes"]["identity"]
    assert ident["finch_clusters"] == 3 and sizes[ident["level"]] == 3
    assert ident["cluster_accuracy"] == 1.0 and ident["nmi"] == pytest.approx(1.0)
    first = result["attributes"]["first"]
    assert first["finch_clusters"] == min(sizes, key=lambda s: (abs(s - 2), -s))
    for lv in levels:
        assert set(lv["attributes"]) == {"identity", "first"}


def test_finch_missing_is_one_line_error(monkeypatch, make_blobs):
    import clustering.finch_hierarchy as finch

    def missing():
        raise ImportError("No module named 'finch'")

    monkeypatch.setattr(finch, "_import_finch", missing)
    x, y = make_blobs()
    with pytest.raises(UserError, match="finch-clust package is not installed; pip install"):
        run_protocol(x, y, ["identity"], ProtocolOptions(method="finch"))


def test_fastcluster_missing_is_one_line_error(monkeypatch, make_blobs):
    monkeypatch.setitem(sys.modules, "fastcluster", None)  # as if it were not installed
    x, y = make_blobs()
    with pytest.raises(UserError) as err:
        run_protocol(x, y, ["identity"], ProtocolOptions(hac_backend="fastcluster"))
    assert str(err.value) == (
        "--hac_backend fastcluster: the fastcluster package is not installed; "
        "pip install fastcluster, or use --hac_backend scipy"
    )


@pytest.mark.parametrize(
    ("labels", "options", "message"),
    [
        (np.zeros(30, dtype=np.int64), {}, "f.npz: label 'identity' has a single value \\(0\\)"),
        (np.arange(30) % 15, {"subsample": 10}, "10 samples for 15 clusters"),
        (np.arange(30), {}, "30 samples for 30 clusters"),
        (np.arange(30) % 3, {"runs": 3}, "--runs 3: the clustering is deterministic"),
        (np.arange(30) % 3, {"subsample": 31}, "--subsample 31: must be between 2 and the 30"),
        (np.arange(30) % 3, {"runs": 0}, "--runs 0: must be >= 1"),
        (
            np.arange(30) % 3,
            {"max_memory_bytes": 1000},
            r"f.npz: ward HAC on 30 samples needs ~0.0 GB .* use --method finch",
        ),
        (np.arange(29) % 3, {}, "29 labels for 30 samples"),
    ],
)
def test_bad_inputs(make_blobs, labels, options, message):
    x, _ = make_blobs(n_per=10, k=3)
    with pytest.raises(UserError, match=message):
        run_protocol(x, labels, ["identity"], ProtocolOptions(**options), "f.npz")


def test_single_value_in_a_subsample_names_the_run(make_blobs):
    x, _ = make_blobs(n_per=10, k=3)
    rare = np.zeros(30, dtype=np.int64)
    rare[0] = 1  # one positive: most subsamples of 5 miss it
    with pytest.raises(UserError, match=r"run \d, seed \d+, 5 units\): label 'rare' has a single"):
        run_protocol(x, rare, ["rare"], ProtocolOptions(runs=5, subsample=5), "f.npz")


def test_memory_message_shows_estimate_for_large_n():
    x = np.zeros((40_000, 2), dtype=np.float32)  # never clustered: refused before
    x[:, 0] = np.arange(40_000)
    with pytest.raises(UserError) as err:
        run_protocol(x, np.arange(40_000) % 2, ["y"], ProtocolOptions(max_memory_bytes=8 * 10**9))
    msg = str(err.value)
    assert "ward HAC on 40,000 samples needs ~12.8 GB" in msg and "8.0 GB allowed" in msg
    assert "--method finch" in msg and "\n" not in msg
