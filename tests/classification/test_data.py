import numpy as np
import pytest

from classification.data import (
    LabelledSplit,
    draw_subset,
    load_feature_split,
    load_image_split,
    resolve_task,
)
from unsup3d.api import UserError


def _split(labels, names=None, source="train.npz"):
    labels = np.asarray(labels)
    cols = 1 if labels.ndim == 1 else labels.shape[1]
    names = names or (["label"] if cols == 1 else [f"a{i}" for i in range(cols)])
    return LabelledSplit(np.zeros((len(labels), 2), np.float32), labels, names, source, "features")


# --- draw_subset -------------------------------------------------------------------------------


def test_draw_subset_exact_n_and_reproducible():
    y = np.repeat([0, 1, 2], [40, 40, 20])
    for n in (2, 7, 30, 90, 100):
        a = draw_subset(y, n, seed=3)
        assert len(a) == n and len(np.unique(a)) == n
        np.testing.assert_array_equal(a, draw_subset(y, n, seed=3))
    assert not np.array_equal(draw_subset(y, 30, seed=3), draw_subset(y, 30, seed=4))


def test_draw_subset_class_balanced_where_possible():
    y = np.repeat([0, 1, 2], [40, 40, 20])
    np.testing.assert_array_equal(np.bincount(y[draw_subset(y, 30, 0)]), [10, 10, 10])
    # class 2 has only 20: the others share the rest
    np.testing.assert_array_equal(np.bincount(y[draw_subset(y, 90, 0)]), [35, 35, 20])
    # 31 = 10 + 10 + 10 + one extra for a seeded class
    assert sorted(np.bincount(y[draw_subset(y, 31, 0)])) == [10, 10, 11]
    # fewer samples than classes: each drawn class once
    assert np.bincount(y[draw_subset(y, 2, 0)], minlength=3).max() == 1


def test_draw_subset_multilabel_uniform_and_errors():
    y = np.random.default_rng(0).integers(0, 2, size=(50, 4))
    idx = draw_subset(y, 20, seed=1)
    assert len(np.unique(idx)) == 20
    np.testing.assert_array_equal(idx, draw_subset(y, 20, seed=1))
    with pytest.raises(UserError, match=r"--num-train 51: train.npz has only 50 labelled samples"):
        draw_subset(y, 51, seed=1, source="train.npz")


# --- resolve_task ------------------------------------------------------------------------------


def test_auto_task_from_label_shape():
    task, yt, ye = resolve_task(_split([5, 7, 5, 9]), _split([9, 7, 11]))
    assert task.kind == "multiclass" and task.classes == (5, 7, 9, 11)
    np.testing.assert_array_equal(yt, [0, 1, 0, 2])
    np.testing.assert_array_equal(ye, [2, 1, 3])
    task, yt, _ = resolve_task(_split([[1, -1], [-1, 1]]), _split([[1, 1], [-1, -1]]))
    assert task.kind == "multilabel" and task.num_outputs == 2
    np.testing.assert_array_equal(yt, [[1, 0], [0, 1]])  # CelebA -1 -> 0


def test_label_column_picks_multiclass():
    table = [[0, 3], [1, 4], [0, 5]]
    task, yt, _ = resolve_task(
        _split(table, ["Male", "identity"]),
        _split(table, ["Male", "identity"]),
        label_column="identity",
    )
    assert task.kind == "multiclass" and task.names == ("identity",)
    np.testing.assert_array_equal(yt, [0, 1, 2])
    with pytest.raises(UserError, match="no label column 'race'; columns: Male, identity"):
        resolve_task(
            _split(table, ["Male", "identity"]),
            _split(table, ["Male", "identity"]),
            label_column="race",
        )


def test_attributes_pick_a_multilabel_table():
    names = ["identity", "Smiling", "emotion", "Bangs"]
    table = [[7, 1, 3, 0], [8, 0, 2, 1], [9, 1, 0, 1]]
    train, evaluation = _split(table, names), _split(table, names)
    task, yt, ye = resolve_task(train, evaluation, attributes=["binary"])
    assert task.kind == "multilabel" and task.names == ("Smiling", "Bangs")
    np.testing.assert_array_equal(yt, [[1, 0], [0, 1], [1, 1]])
    np.testing.assert_array_equal(ye, yt)
    task, yt, _ = resolve_task(train, evaluation, attributes=["Bangs"])
    assert task.names == ("Bangs",) and yt.shape == (3, 1)
    with pytest.raises(UserError, match=r"no label column \['Age'\]; columns: identity, Smiling"):
        resolve_task(train, evaluation, attributes=["Age"])
    with pytest.raises(UserError, match="must be 0/1"):
        resolve_task(train, evaluation, attributes=["identity"])
    with pytest.raises(UserError, match="give one"):
        resolve_task(train, evaluation, label_column="emotion", attributes=["Bangs"])
    with pytest.raises(UserError, match="picks columns of an \\(N, A\\) label table"):
        resolve_task(_split([0, 1]), _split([0, 1]), attributes=["binary"])


def test_task_errors():
    table = [[0, 1], [1, 0]]
    with pytest.raises(UserError, match=r"train.npz: no 'labels' array"):
        resolve_task(
            LabelledSplit(np.zeros((2, 2)), None, [], "train.npz", "features"), _split([0, 1])
        )
    with pytest.raises(UserError, match=r"\(N, 2\) attribute table.*--task multilabel"):
        resolve_task(_split(table), _split(table), task="multiclass")
    with pytest.raises(UserError, match=r"labels are \(N,\) class ids.*--task multiclass"):
        resolve_task(_split([0, 1]), _split([0, 1]), task="multilabel")
    with pytest.raises(UserError, match="must be 0/1"):
        resolve_task(_split([[0, 2], [1, 0]]), _split(table))
    with pytest.raises(UserError, match="label columns .* differ"):
        resolve_task(_split(table, ["x", "y"]), _split(table, ["x", "z"], source="test.npz"))


# --- loading -----------------------------------------------------------------------------------


def test_feature_split_groups(feature_files):
    train, _ = feature_files()
    split = load_feature_split(train, "depth,light")
    assert split.inputs.shape == (120, 16) and split.groups == ["depth", "light"]
    assert load_feature_split(train, None).groups == ["depth", "albedo"]


def test_image_npz_layouts_and_resize(tmp_path, make_colour_images):
    images, y, _ = make_colour_images(6, 16, 0)
    np.savez(tmp_path / "nchw.npz", images=images, labels=y)
    np.savez(tmp_path / "nhwc.npz", images=images.transpose(0, 2, 3, 1), labels=y)
    a = load_image_split(tmp_path / "nchw.npz", 16)
    b = load_image_split(tmp_path / "nhwc.npz", 16)
    np.testing.assert_array_equal(a.inputs, images)
    np.testing.assert_array_equal(b.inputs, images)
    small = load_image_split(tmp_path / "nchw.npz", 8)
    assert small.inputs.shape == (6, 3, 8, 8) and small.inputs.dtype == np.uint8
    # a constant image stays constant after resizing
    np.savez(tmp_path / "flat.npz", images=np.full((1, 3, 16, 16), 77, np.uint8), labels=[0])
    assert (load_image_split(tmp_path / "flat.npz", 8).inputs == 77).all()


def test_image_folder_with_csv(tmp_path, make_colour_images):
    from PIL import Image

    images, y, _ = make_colour_images(4, 16, 0)
    (tmp_path / "imgs").mkdir()
    rows = ["filename,Blue,Male"]
    for i, img in enumerate(images):
        Image.fromarray(img.transpose(1, 2, 0)).save(tmp_path / "imgs" / f"{i}.png")
        rows.append(f"imgs/{i}.png,{y[i]},{1 - y[i]}")
    (tmp_path / "labels.csv").write_text("\n".join(rows) + "\n")
    split = load_image_split(tmp_path, 16)
    np.testing.assert_array_equal(split.inputs, images)  # PNG is lossless
    np.testing.assert_array_equal(split.labels, np.stack([y, 1 - y], 1))
    assert split.label_names == ["Blue", "Male"]


def test_image_errors(tmp_path):
    np.savez(tmp_path / "f.npz", images=np.zeros((2, 3, 8, 8), np.float32), labels=[0, 1])
    with pytest.raises(UserError, match="dtype float32; expected uint8"):
        load_image_split(tmp_path / "f.npz", 8)
    np.savez(tmp_path / "feats.npz", features_depth=np.zeros((2, 4), np.float32))
    with pytest.raises(UserError, match="no 'images' array.*pass it with --features"):
        load_image_split(tmp_path / "feats.npz", 8)
    with pytest.raises(UserError, match="no labels.csv in this folder"):
        load_image_split(tmp_path, 8)
    (tmp_path / "labels.csv").write_text("filename,a\nmissing.png,1\n")
    with pytest.raises(UserError, match=r"labels.csv:2: image .*missing.png not found"):
        load_image_split(tmp_path, 8)
