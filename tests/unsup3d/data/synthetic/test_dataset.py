"""SyntheticDataset: the item contract, options, determinism, splits, tracks and rendering."""

from __future__ import annotations

import hashlib
import inspect
import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from unsup3d.data.registry import DATASETS, accepted_options, build_dataset
from unsup3d.data.synthetic import (
    CELEBAMASK_CLASSES,
    Ranges,
    SyntheticDataset,
    build_synthetic,
    synthetic_cars,
    synthetic_faces,
)
from unsup3d.errors import UserError

PART = {name: i for i, name in enumerate(CELEBAMASK_CLASSES)}
GROUP_PREFIXES = ("shape_", "albedo_", "expression_", "light_", "view_")


def _digest(batch: dict) -> str:
    h = hashlib.sha256()
    for key in ("image", "mask", "depth", "albedo", "factors", "light", "view", "view_depth"):
        h.update(batch[key].contiguous().numpy().tobytes())
    return h.hexdigest()


@pytest.mark.parametrize("maker", [synthetic_faces, synthetic_cars])
def test_item_contract_and_ranges(maker):
    ds = maker("train", 24, num_images=6)
    item = ds[5]
    assert item["image"].shape == (3, 24, 24) and item["image"].dtype == torch.float32
    assert 0.0 <= float(item["image"].min()) and float(item["image"].max()) <= 1.0
    assert item["mask"].shape == (24, 24) and item["mask"].dtype == torch.int64
    assert item["factors"].shape == (len(ds.factor_names),)
    assert set(item["labels"]) == set(ds.label_names)
    assert all(isinstance(v, int) for v in item["labels"].values())
    assert item["image_id"] == f"{ds.model.short}_train_000005"
    assert 0.9 <= float(item["depth"].min()) and float(item["depth"].max()) <= 1.1
    assert 0.0 <= float(item["albedo"].min()) and float(item["albedo"].max()) <= 1.0
    assert item["light"].shape == (4,) and item["view"].shape == (6,)
    assert float(item["view"][5]) == 0.0  # tz
    assert all(n.startswith(GROUP_PREFIXES) for n in ds.factor_names)
    # the factor vector holds the ground-truth light and view
    names = list(ds.factor_names)
    assert float(item["factors"][names.index("light_dx")]) == float(item["light"][2])
    assert float(item["factors"][names.index("view_ry")]) == float(item["view"][1])
    assert "track_id" not in item


def test_registry_builds_both_and_rejects_a_root():
    for name in ("synthetic_faces", "synthetic_cars"):
        assert name in DATASETS
        ds = build_dataset(name, "", "val", 16, num_images=3, seed=1)
        assert isinstance(ds, SyntheticDataset) and len(ds) == 3 and ds.seed == 1
    with pytest.raises(UserError, match="generated, not read from disk"):
        build_dataset("synthetic_faces", "data/faces", "train", 16)
    with pytest.raises(UserError, match="unknown option"):
        build_dataset("synthetic_faces", "", "train", 16, colour=True)


@pytest.mark.parametrize(
    "kwargs, message",
    [
        ({"split": "training"}, "unknown split"),
        ({"image_size": 4}, "image_size"),
        ({"num_images": -1}, "num_images"),
        ({"images_per_identity": 0}, "images_per_identity"),
        ({"noise": -0.5}, "noise"),
        ({"keys": ["image", "normals"]}, "choose a non-empty subset"),
        ({"keys": []}, "choose a non-empty subset"),
        ({"split": "test", "keys": ["track_id"]}, "choose a non-empty subset"),
    ],
)
def test_bad_options_are_user_errors(kwargs, message):
    with pytest.raises(UserError, match=message):
        synthetic_faces(**kwargs)
    with pytest.raises(UserError, match="unknown synthetic dataset"):
        build_synthetic("synthetic_chairs")


def test_same_seed_same_tensors_in_any_order_and_batching():
    ds = synthetic_faces("train", 16, num_images=12)
    a = ds.generate_batch(range(12))
    b = synthetic_faces("train", 16, num_images=12).generate_batch(range(12))
    assert _digest(a) == _digest(b)
    # reversed order, single items, DataLoader batches (__getitems__): the same items
    rev = ds.generate_batch(list(range(11, -1, -1)))
    torch.testing.assert_close(rev["image"].flip(0), a["image"], rtol=0, atol=0)
    for i in (0, 7, 11):
        item = ds[i]
        torch.testing.assert_close(item["image"], a["image"][i], rtol=0, atol=0)
        torch.testing.assert_close(item["mask"], a["mask"][i], rtol=0, atol=0)
        torch.testing.assert_close(item["depth"], a["depth"][i], rtol=0, atol=0)
    loaded = next(iter(DataLoader(ds, batch_size=5, shuffle=False)))
    torch.testing.assert_close(loaded["image"], a["image"][:5], rtol=0, atol=0)
    torch.testing.assert_close(loaded["labels"]["Smiling"], a["labels"]["Smiling"][:5])
    # items limited to some keys: the same values, nothing else, in DataLoader batches too
    few = synthetic_faces("train", 16, num_images=12, keys=("image", "labels"))
    assert set(few[3]) == {"image", "labels"}
    torch.testing.assert_close(few[3]["image"], a["image"][3], rtol=0, atol=0)
    loaded = next(iter(DataLoader(few, batch_size=5, shuffle=False)))
    assert set(loaded) == {"image", "labels"}
    torch.testing.assert_close(loaded["image"], a["image"][:5], rtol=0, atol=0)
    assert set(few.generate_batch([0])) == set(a)  # generate_batch keeps every key
    # another seed is other data
    c = synthetic_faces("train", 16, seed=1, num_images=12).generate_batch(range(12))
    assert not torch.equal(c["image"], a["image"])


def test_same_seed_same_tensors_across_processes():
    code = (
        "import hashlib, sys\n"
        "from unsup3d.data.synthetic import synthetic_faces, synthetic_cars\n"
        "for mk in (synthetic_faces, synthetic_cars):\n"
        "    b = mk('test', 16, seed=3, num_images=6).generate_batch(range(6))\n"
        "    h = hashlib.sha256()\n"
        "    for k in ('image', 'mask', 'depth', 'albedo', 'factors', 'light', 'view', 'view_depth'):\n"
        "        h.update(b[k].contiguous().numpy().tobytes())\n"
        "    print(h.hexdigest())\n"
    )
    out = subprocess.run(
        [sys.executable, "-c", code], capture_output=True, text=True, check=True, timeout=120
    )
    here = [
        _digest(mk("test", 16, seed=3, num_images=6).generate_batch(range(6)))
        for mk in (synthetic_faces, synthetic_cars)
    ]
    assert out.stdout.split() == here


def test_splits_are_disjoint_by_identity():
    kw = {"num_images": 30, "images_per_identity": 3}
    params = {
        s: synthetic_faces(s, 16, **kw).sample_params(range(30)) for s in ("train", "val", "test")
    }
    ids = {s: set(p.identity.tolist()) for s, p in params.items()}
    codes = {s: {tuple(c) for c in p.shape.tolist()} for s, p in params.items()}
    for s, t in (("train", "val"), ("train", "test"), ("val", "test")):
        assert not ids[s] & ids[t] and not codes[s] & codes[t]
    assert all(len(v) == 10 for v in ids.values())  # 30 images, 3 per identity
    # consecutive images share an identity (codes equal), others differ
    p = params["train"]
    assert torch.equal(p.shape[0], p.shape[2]) and not torch.equal(p.shape[2], p.shape[3])
    # the held-out splits reuse the test identities only
    for split in ("ood", "ood_light", "ood_view", "tracks"):
        q = synthetic_faces(split, 16, **kw).sample_params(range(30))
        assert set(q.identity.tolist()) <= ids["test"], split


def test_tracks_group_test_identities_with_similar_frames():
    ds = synthetic_faces("tracks", 16, num_images=40, frames_per_track=5, track_identities=3)
    b = ds.generate_batch(range(40))
    track = b["track_id"]
    assert track.tolist() == [i // 5 for i in range(40)] and ds.num_tracks == 8
    ident = b["labels"]["identity"]
    assert len(set(ident.tolist())) == 3
    for t in range(8):
        frames = track == t
        assert len(set(ident[frames].tolist())) == 1  # one identity per track
        assert len(set(b["labels"]["emotion"][frames].tolist())) == 1
    # frames of a track vary less in light and view than the tracks do
    within = b["view"].reshape(8, 5, 6)[..., 1].std(1).mean()
    across = b["view"].reshape(8, 5, 6)[..., 1].mean(1).std()
    assert within < 0.5 * across
    assert ds[7]["track_id"] == 1


def test_brighter_half_follows_the_light_direction():
    """dx > 0 is light travelling towards +x (coming from the left): the left half is brighter."""
    for maker in (synthetic_faces, synthetic_cars):
        ds = maker("test", 24, num_images=6, noise=0.0)
        p = ds.sample_params(range(6))
        p.view.zero_()
        for dx in (0.5, -0.5):
            p.light[:, 2], p.light[:, 3] = dx, 0.0
            gray = ds.render(p)["image"].mean(1)
            left_minus_right = gray[..., :12].mean((1, 2)) - gray[..., 12:].mean((1, 2))
            assert bool((torch.sign(left_minus_right) == math.copysign(1, dx)).all()), dx
    # and in the data as generated (random views, noise): brightness asymmetry tracks dx
    b = synthetic_faces("test", 24, num_images=48).generate_batch(range(48))
    gray = b["image"].mean(1)
    asym = gray[..., :12].mean((1, 2)) - gray[..., 12:].mean((1, 2))
    assert float(torch.corrcoef(torch.stack([asym, b["light"][:, 2]]))[0, 1]) > 0.3


def test_masks_align_with_the_rendered_image():
    """Under flat light (ambient 1, diffuse 0) the image is the warped albedo: the inside of each
    labelled region of the warped mask shows that region's canonical colour."""
    ds = synthetic_faces("test", 32, num_images=6, noise=0.0)
    p = ds.sample_params(range(6))
    p.light[:] = torch.tensor([1.0, 0.0, 0.0, 0.0])
    p.albedo[:, ds.model.albedo_names.index("beard")] = 0.0
    p.view[:, 1] = 0.25  # a turned head: the mask must follow the warp
    out = ds.render(p)
    for part in ("background", "hair", "skin"):
        k = PART[part]
        inside = F.max_pool2d((out["mask"] != k).float()[:, None], 3, 1, 1)[:, 0] == 0
        canon = F.max_pool2d((out["canon_mask"] != k).float()[:, None], 3, 1, 1)[:, 0] == 0
        for i in range(6):
            if int(inside[i].sum()) < 5:
                continue
            ref = out["albedo"][i][:, canon[i]].median(1).values  # (3,)
            err = (out["image"][i][:, inside[i]] - ref[:, None]).abs().amax(0)
            assert float((err < 0.1).float().mean()) > 0.95, (part, i)
    # and the mask is the canonical labels warped with the same grid as the image
    assert bool((out["mask"][~out["covered"]] == 0).all())


def test_the_registry_takes_the_generators_options():
    own = set(inspect.signature(SyntheticDataset).parameters) - {"name", "split", "image_size"}
    for name in ("synthetic_faces", "synthetic_cars"):
        assert accepted_options(DATASETS[name]) == own
    wide = Ranges(yaw_deg=40.0)
    ds = build_dataset("synthetic_cars", None, "test", 16, num_images=2, ranges=wide, keys=["view"])
    assert ds.ranges is wide and set(ds[1]) == {"view"} and len(ds) == 2
