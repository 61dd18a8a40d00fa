"""Built-in synthetic data: determinism, splits, the physics of every label, masks, symmetry."""

from __future__ import annotations

import hashlib
import math
import subprocess
import sys

import pytest
import torch
import torch.nn.functional as F
from torch.utils.data import DataLoader

from unsup3d.data.registry import DATASETS, build_dataset
from unsup3d.data.synthetic import (
    CAR_CLASSES,
    CELEBAMASK_CLASSES,
    EMOTIONS,
    RANGES,
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


def _ridge_accuracy(x_train, y_train, x_test, y_test, classes, lam=10.0) -> float:
    """Held-out accuracy of a one-vs-rest ridge (linear) probe on standardised inputs."""
    mu, sd = x_train.mean(0), x_train.std(0) + 1e-6
    x_train, x_test = (x_train - mu) / sd, (x_test - mu) / sd
    target = F.one_hot(y_train, classes).float()
    gram = x_train.T @ x_train + lam * torch.eye(x_train.shape[1])
    w = torch.linalg.solve(gram, x_train.T @ target)
    return float(((x_test @ w).argmax(1) == y_test).float().mean())


def _flip_parts(parts: torch.Tensor) -> torch.Tensor:
    """Mirror part labels left-right, exchanging the left and right part ids."""
    swap = torch.arange(len(CELEBAMASK_CLASSES))
    for a, b in (("l_eye", "r_eye"), ("l_brow", "r_brow"), ("l_ear", "r_ear")):
        swap[PART[a]], swap[PART[b]] = PART[b], PART[a]
    return swap[parts.flip(-1)]


# ------------------------------------------------------------------------------- items, contract
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


def test_faces_have_enough_labels_and_parts():
    ds = synthetic_faces("train", 32, num_images=32, images_per_identity=1)
    geometry = [r for r in ds.model.attribute_rules if r[1] == "geometry"]
    albedo = [r for r in ds.model.attribute_rules if r[1] == "albedo"]
    assert len(ds.attribute_names) >= 8 and len(geometry) >= 3 and len(albedo) >= 3
    assert len(EMOTIONS) >= 5 and ds.label_classes["emotion"] == EMOTIONS
    batch = ds.generate_batch(range(32))
    present = set(torch.unique(batch["mask"]).tolist())
    assert len(present) >= 10, [CELEBAMASK_CLASSES[i] for i in sorted(present)]
    for name in ("background", "skin", "nose", "l_eye", "r_eye", "l_brow", "r_brow", "hair"):
        assert PART[name] in present, name
    for name in ds.attribute_names:  # every attribute takes both values in 32 images
        assert set(batch["labels"][name].tolist()) == {0, 1}, name


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


# ------------------------------------------------------------------------------- determinism
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


# ------------------------------------------------------------------------------- splits
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


def test_ood_light_and_view_lie_outside_the_training_ranges():
    n = 200
    train = synthetic_faces("train", 16, num_images=n).sample_params(range(n))
    ood = synthetic_faces("ood", 16, num_images=n).sample_params(range(n))
    lim = RANGES.light_dxy
    yaw = math.radians(RANGES.yaw_deg)
    assert float(train.light[:, 2:].abs().max()) <= lim
    assert float(train.view[:, 1].abs().max()) <= yaw
    assert bool((ood.light[:, 2:].abs().amax(1) > lim).all())
    assert bool((ood.view[:, 1].abs() > yaw).all())
    assert {True, False} == set((ood.view[:, 1] > 0).tolist())  # both directions
    light_only = synthetic_faces("ood_light", 16, num_images=n).sample_params(range(n))
    assert bool((light_only.light[:, 2:].abs().amax(1) > lim).all())
    assert float(light_only.view[:, 1].abs().max()) <= yaw
    view_only = synthetic_faces("ood_view", 16, num_images=n).sample_params(range(n))
    assert float(view_only.light[:, 2:].abs().max()) <= lim
    assert bool((view_only.view[:, 1].abs() > yaw).all())


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


# ------------------------------------------------------------------------------- physics
def test_canonical_maps_are_left_right_symmetric():
    for maker in (synthetic_faces, synthetic_cars):
        for size in (16, 17):
            clean = maker("train", size, num_images=8, noise=0.0).generate_batch(range(8))
            assert torch.equal(clean["depth"], clean["depth"].flip(-1))
            assert torch.equal(clean["albedo"], clean["albedo"].flip(-1))
            ds = maker("train", size, num_images=8, noise=0.0)
            parts = ds.render(ds.sample_params(range(8)))["canon_mask"]
            if maker is synthetic_faces:
                assert torch.equal(parts, _flip_parts(parts))
            else:
                assert torch.equal(parts, parts.flip(-1))
            # the nuisances (albedo noise, background texture) break the albedo's symmetry only
            noisy = maker("train", size, num_images=8).generate_batch(range(8))
            assert torch.equal(noisy["depth"], clean["depth"])
            assert not torch.equal(noisy["albedo"], noisy["albedo"].flip(-1))


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


def test_yaw_moves_the_silhouette_and_turns_the_face():
    """R = Ry(ry) swings points behind the rotation centre (depth 1; the head's rim) towards +u
    and points in front of it (the nose) towards -u."""
    ds = synthetic_faces("test", 32, num_images=6, noise=0.0)
    p = ds.sample_params(range(6))
    p.view.zero_()
    cols = torch.arange(32.0)

    def centroids(ry):
        q = p.clone()
        q.view[:, 1] = ry
        mask = ds.render(q)["mask"]
        fg = (mask > 0).float()
        nose = (mask == PART["nose"]).float()
        col = lambda m: (m.sum(1) * cols).sum(1) / m.sum((1, 2))  # noqa: E731
        return col(fg), col(nose) - col(fg)

    sil_pos, nose_pos = centroids(0.35)
    sil_neg, nose_neg = centroids(-0.35)
    assert bool((sil_pos > sil_neg + 1.0).all())  # pixels at 32 px
    assert bool((nose_pos < nose_neg - 1.0).all())
    cars = synthetic_cars("test", 32, num_images=5, noise=0.0)
    q = cars.sample_params(range(5))
    q.view.zero_()
    q.view[:, 1] = 0.35
    right = (cars.render(q)["mask"] > 0).float()
    q.view[:, 1] = -0.35
    left = (cars.render(q)["mask"] > 0).float()
    shift = (right.sum(1) * cols).sum(1) / right.sum((1, 2)) - (left.sum(1) * cols).sum(
        1
    ) / left.sum((1, 2))
    assert bool((shift > 0.5).all())


def _edit(ds, p, field, name, value):
    q = p.clone()
    names = {"shape": ds.model.shape_names, "albedo": ds.model.albedo_names}
    names["expression"] = ds.model.expression_names
    getattr(q, field)[:, names[field].index(name)] = value
    return q


# attribute -> (field, factor, value making it 0, value making it 1)
ATTRIBUTE_EDITS = {
    "Mouth_Slightly_Open": ("expression", "mouth_open", 0.0, 0.9),
    "Smiling": ("expression", "smile", 0.0, 0.9),
    "High_Cheekbones": ("shape", "cheekbone_prominence", -0.8, 0.8),
    "Big_Nose": ("shape", "nose_protrusion", -1.0, 1.0),
    "Narrow_Face": ("shape", "head_width", 0.5, -0.8),
    "Black_Hair": ("albedo", "hair_lightness", 0.0, -0.9),
    "Blond_Hair": ("albedo", "hair_lightness", 0.0, 0.9),
    "Pale_Skin": ("albedo", "skin_tone", 0.2, -0.9),
    "Bushy_Eyebrows": ("albedo", "brow_thickness", -0.8, 0.9),
    "Beard": ("albedo", "beard", 0.0, 1.0),
    "Eyeglasses": ("albedo", "eyeglasses", 0.0, 1.0),
}


def test_attributes_depend_on_the_factors_they_name():
    ds = synthetic_faces("test", 32, num_images=4, noise=0.0)
    p = ds.sample_params(range(4))
    p.shape[:, ds.model.shape_names.index("nose_width")] = 1.0  # Big_Nose decided by protrusion
    assert set(ATTRIBUTE_EDITS) == set(ds.attribute_names)
    kinds = {name: kind for name, kind, _ in ds.model.attribute_rules}
    for attr, (field, name, off, on) in ATTRIBUTE_EDITS.items():
        p0, p1 = _edit(ds, p, field, name, off), _edit(ds, p, field, name, on)
        k = ds.attribute_names.index(attr)
        assert ds.model.attributes(p0)[:, k].tolist() == [0] * 4, attr
        assert ds.model.attributes(p1)[:, k].tolist() == [1] * 4, attr
        r0, r1 = ds.render(p0), ds.render(p1)
        depth_changed = (r0["depth"] != r1["depth"]).flatten(1).any(1)
        albedo_changed = (r0["albedo"] != r1["albedo"]).flatten(1).any(1)
        if kinds[attr] == "geometry":
            assert bool(depth_changed.all()), attr
        else:  # albedo-driven attributes never move the geometry
            assert not bool(depth_changed.any()), attr
            assert bool(albedo_changed.all()), attr


def test_mouth_open_changes_geometry_inside_the_mouth_region_only():
    ds = synthetic_faces("test", 64, num_images=4, noise=0.0)
    p = ds.sample_params(range(4))
    closed = ds.render(_edit(ds, p, "expression", "mouth_open", 0.0))
    opened = ds.render(_edit(ds, p, "expression", "mouth_open", 1.0))
    changed = closed["depth"] != opened["depth"]
    mouth_ids = torch.tensor([PART["mouth"], PART["u_lip"], PART["l_lip"]])
    for i in range(4):
        region = torch.isin(closed["canon_mask"][i], mouth_ids) | torch.isin(
            opened["canon_mask"][i], mouth_ids
        )
        assert bool(region.any()) and bool(changed[i].any())
        rows, cols = region.nonzero().unbind(1)
        r0, r1, c0, c1 = int(rows.min()), int(rows.max()), int(cols.min()), int(cols.max())
        pad_r, pad_c = max(2, (r1 - r0) // 4), max(2, (c1 - c0) // 4)
        box = torch.zeros_like(region)
        box[r0 - pad_r : r1 + pad_r + 1, c0 - pad_c : c1 + pad_c + 1] = True
        assert not bool((changed[i] & ~box).any()), f"item {i}: depth changed outside the mouth"
        # the opening exposes the mouth interior (dark) in the albedo
        assert int((opened["canon_mask"][i] == PART["mouth"]).sum()) > 0
        assert int((closed["canon_mask"][i] == PART["mouth"]).sum()) == 0


def test_emotion_is_driven_by_geometry_not_identity():
    def features(split, n):
        ds = synthetic_faces(split, 24, num_images=n, images_per_identity=5)
        p = ds.sample_params(range(n))
        grey = torch.full((n, 3), 0.5)
        depth = ds.model.canonical(p, 24, grey)[0]
        rest = p.clone()
        rest.expression.zero_()  # the same faces without expression
        moved = (depth - ds.model.canonical(rest, 24, grey)[0]).flatten(1)
        return moved, torch.cat([p.shape, p.albedo], 1), p.category

    moved, codes, emotion = features("train", 150)
    moved_t, codes_t, emotion_t = features("test", 75)
    # every emotion occurs, and an identity shows several (emotion is drawn per image)
    assert set(emotion.tolist()) == set(range(len(EMOTIONS)))
    per_identity = [len(set(emotion[i : i + 5].tolist())) for i in range(0, 150, 5)]
    assert sum(per_identity) / len(per_identity) > 2.5
    k = len(EMOTIONS)  # chance: 0.2
    # the geometry the expression moves tells the emotion of unseen identities ...
    assert _ridge_accuracy(moved, emotion, moved_t, emotion_t, k) > 0.7
    # ... the identity's codes do not
    assert _ridge_accuracy(codes, emotion, codes_t, emotion_t, k) < 0.4


def test_a_linear_probe_on_car_pixels_separates_the_classes():
    train = synthetic_cars("train", 16, num_images=150, images_per_identity=1)
    test = synthetic_cars("test", 16, num_images=60, images_per_identity=1)
    a, b = train.generate_batch(range(150)), test.generate_batch(range(60))
    assert train.label_classes["car_class"] == CAR_CLASSES and len(CAR_CLASSES) == 5
    assert sorted(set(a["labels"]["car_class"].tolist())) == [0, 1, 2, 3, 4]
    acc = _ridge_accuracy(
        a["image"].flatten(1),
        a["labels"]["car_class"],
        b["image"].flatten(1),
        b["labels"]["car_class"],
        5,
    )
    assert acc > 0.6, acc  # chance: 0.2


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


@pytest.mark.parametrize("maker", [synthetic_faces, synthetic_cars])
def test_windowed_painting_equals_painting_everywhere(maker, monkeypatch):
    """Parts are painted in windows for speed; each window holds its part's whole support."""
    from unsup3d.data.synthetic import draw

    ds = maker("train", 32, num_images=24, images_per_identity=1)
    p = ds.sample_params(range(24))
    if p.expression.shape[1]:  # faces: the expressions' extremes (mouth open, smile, brows)
        corners = torch.tensor(
            [[1.0, 1.0, 1.0, 1.0], [1.0, -1.0, -1.0, -1.0], [1.0, 1.0, -1.0, 1.0]]
        )
        p.expression = corners.repeat(8, 1)
    colour = torch.full((24, 3), 0.5)
    windowed = ds.model.canonical(p, 32, colour)
    monkeypatch.setattr(draw.Canvas, "full_windows", True)
    everywhere = ds.model.canonical(p, 32, colour)
    for a, b in zip(windowed, everywhere):
        torch.testing.assert_close(a, b, rtol=0, atol=0)
