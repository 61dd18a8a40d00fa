"""Synthetic faces: labels, attributes driven by the factors they name, expressions, parts."""

from __future__ import annotations

import torch

from unsup3d.data.synthetic import CELEBAMASK_CLASSES, EMOTIONS, synthetic_faces

PART = {name: i for i, name in enumerate(CELEBAMASK_CLASSES)}


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


def test_emotion_is_driven_by_geometry_not_identity(ridge_accuracy):
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
    assert ridge_accuracy(moved, emotion, moved_t, emotion_t, k) > 0.7
    # ... the identity's codes do not
    assert ridge_accuracy(codes, emotion, codes_t, emotion_t, k) < 0.4
