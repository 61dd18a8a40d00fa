"""Procedural faces (`FaceModel`): identity codes, emotions, attributes and the canonical maps.

A head dome with symmetric bumps and dents (depth), painted parts (albedo and CelebAMask-HQ part
labels), expressions moving the mouth, cheeks and brows. Tables of the codes, emotions and
attributes: ``docs/synthetic.md``.
"""

from __future__ import annotations

import torch

from unsup3d.data.celebamask import CLASSES as CELEBAMASK_CLASS_NAMES
from unsup3d.data.synthetic.draw import (
    Canvas,
    bump,
    col,
    lerp_palette,
    rgb,
    smoothstep,
    tinted_grey,
)
from unsup3d.data.synthetic.rng import Draws
from unsup3d.data.synthetic.scene import MAX_DEPTH, MIN_DEPTH, Z_BACKGROUND, Z_RIM, SceneParams

EMOTIONS = ("neutral", "happy", "surprised", "sad", "angry")
# Per-emotion uniform ranges of (mouth_open, smile, brow_raise, brow_tilt): mouth_open in [0, 1]
# (jaw gap), smile in [-1, 1] (mouth corners down/up, cheeks raised), brow_raise in [-1, 1]
# (brows down/up), brow_tilt in [-1, 1] (inner ends down = angry, up = sad).
EMOTION_RANGES = torch.tensor(
    [
        [[0.0, 0.12], [-0.15, 0.15], [-0.15, 0.15], [-0.15, 0.15]],  # neutral
        [[0.0, 0.55], [0.55, 1.0], [-0.1, 0.3], [-0.2, 0.2]],  # happy
        [[0.6, 1.0], [-0.15, 0.1], [0.6, 1.0], [-0.1, 0.3]],  # surprised
        [[0.0, 0.15], [-1.0, -0.55], [-0.1, 0.3], [0.55, 1.0]],  # sad
        [[0.0, 0.2], [-0.5, -0.15], [-1.0, -0.55], [-1.0, -0.55]],  # angry
    ]
)

# Expression amplitudes, in units of the head's half-height b: the jaw gap at mouth_open = 1,
# the lip-corner lift at smile = 1, the brow lift at brow_raise = 1 and the inner-brow lift at
# brow_tilt = 1.
MOUTH_GAP = 0.13
SMILE_CURVE = 0.07
BROW_RAISE = 0.08
BROW_TILT = 0.07

# CelebAMask-HQ's 19-class ids (0 = background); the synthetic faces use 13 of them. "l_" is
# the image-left part in the canonical frame (smaller column), "r_" the image-right one.
CELEBAMASK_CLASSES = CELEBAMASK_CLASS_NAMES  # one list, owned by the CelebAMask-HQ loader
_F = {name: i for i, name in enumerate(CELEBAMASK_CLASSES)}

# Colour ramps (`lerp_palette`), light to dark skin and black to blond hair.
_SKIN_PALETTE = torch.tensor(
    [[0.97, 0.86, 0.79], [0.90, 0.72, 0.60], [0.76, 0.55, 0.41], [0.55, 0.37, 0.26],
     [0.36, 0.24, 0.17]]
)  # fmt: skip
_HAIR_PALETTE = torch.tensor(
    [[0.05, 0.045, 0.045], [0.20, 0.13, 0.08], [0.42, 0.27, 0.15], [0.66, 0.50, 0.30],
     [0.90, 0.78, 0.50]]
)  # fmt: skip
_FRAME_PALETTE = torch.tensor([[0.04, 0.04, 0.05], [0.30, 0.16, 0.08], [0.55, 0.55, 0.60]])
# Left <-> right part ids, applied to the mirrored half.
_FACE_SWAP = torch.arange(len(CELEBAMASK_CLASSES))
for _l, _r in (("l_eye", "r_eye"), ("l_brow", "r_brow"), ("l_ear", "r_ear")):
    _FACE_SWAP[_F[_l]], _FACE_SWAP[_F[_r]] = _F[_r], _F[_l]
_IRIS_PALETTE = torch.tensor(
    [[0.22, 0.45, 0.75], [0.30, 0.52, 0.32], [0.40, 0.24, 0.10], [0.12, 0.07, 0.04]]
)


class FaceModel:
    """Procedural faces: a head dome with symmetric bumps and dents, painted parts, expressions.

    Identity = shape code (14 values in [-1, 1]) + albedo code (14 values: 12 in [-1, 1], beard
    and eyeglasses in {0, 1}); per image: emotion class, expression (4), light (4), view (6).
    The mapping from each code to the geometry or colours is in `canonical`.
    """

    name = "synthetic_faces"
    short = "faces"
    category_label = "emotion"
    category_names = EMOTIONS
    part_names = CELEBAMASK_CLASSES
    shape_names = (
        "head_width",
        "head_height",
        "jaw_width",
        "chin",
        "cheekbone_height",
        "cheekbone_prominence",
        "brow_ridge",
        "eye_socket_depth",
        "nose_length",
        "nose_width",
        "nose_protrusion",
        "lip_thickness",
        "eye_spacing",
        "face_depth",
    )
    albedo_names = (
        "skin_tone",
        "skin_redness",
        "lip_colour",
        "brow_darkness",
        "brow_thickness",
        "iris_colour",
        "hair_lightness",
        "hair_warmth",
        "hairline_height",
        "hairline_curve",
        "hair_length",
        "glasses_colour",
        "beard",
        "eyeglasses",
    )
    expression_names = ("mouth_open", "smile", "brow_raise", "brow_tilt")
    # (name, physical group, rule): geometry-driven first, then albedo-driven.
    attribute_rules = (
        ("Mouth_Slightly_Open", "geometry", "expression mouth_open > 0.3"),
        ("Smiling", "geometry", "expression smile > 0.4"),
        ("High_Cheekbones", "geometry", "shape cheekbone_prominence > 0.2"),
        ("Big_Nose", "geometry", "shape nose_width + nose_protrusion > 0.5"),
        ("Narrow_Face", "geometry", "shape head_width < -0.3"),
        ("Black_Hair", "albedo", "albedo hair_lightness < -0.5"),
        ("Blond_Hair", "albedo", "albedo hair_lightness > 0.5"),
        ("Pale_Skin", "albedo", "albedo skin_tone < -0.6"),
        ("Bushy_Eyebrows", "albedo", "albedo brow_thickness > 0.4"),
        ("Beard", "albedo", "albedo beard == 1"),
        ("Eyeglasses", "albedo", "albedo eyeglasses == 1"),
    )
    attribute_names = tuple(r[0] for r in attribute_rules)
    identity_slots = 32
    image_slots = 80

    # --- sampling

    def sample_identity(self, d: Draws, local: torch.Tensor) -> tuple[torch.Tensor, ...]:
        """Shape (B, 14), albedo (B, 14) and category placeholder from an identity stream."""
        shape = d.signed(len(self.shape_names))
        cont = d.signed(len(self.albedo_names) - 2)
        beard = (d.one() < 0.25).float()
        glasses = (d.one() < 0.25).float()
        albedo = torch.cat([cont, beard[:, None], glasses[:, None]], dim=1)
        return shape, albedo, torch.zeros_like(local)

    def sample_expression(self, d: Draws, identity_category: torch.Tensor):
        """Emotion (B,) and expression (B, 4) from an image stream (8 slots)."""
        emotion = (d.one() * len(EMOTIONS)).long().clamp(max=len(EMOTIONS) - 1)
        u = d.take(4)
        rng = EMOTION_RANGES[emotion]  # (B, 4, 2)
        expr = rng[..., 0] + (rng[..., 1] - rng[..., 0]) * u
        d.take(3)  # reserved
        return emotion, expr

    def attributes(self, p: SceneParams) -> torch.Tensor:
        """(B, 11) int64 0/1 attributes, in `attribute_names` order (rules: `attribute_rules`)."""
        s = dict(zip(self.shape_names, p.shape.unbind(1)))
        a = dict(zip(self.albedo_names, p.albedo.unbind(1)))
        e = dict(zip(self.expression_names, p.expression.unbind(1)))
        cols = [
            e["mouth_open"] > 0.3,
            e["smile"] > 0.4,
            s["cheekbone_prominence"] > 0.2,
            s["nose_width"] + s["nose_protrusion"] > 0.5,
            s["head_width"] < -0.3,
            a["hair_lightness"] < -0.5,
            a["hair_lightness"] > 0.5,
            a["skin_tone"] < -0.6,
            a["brow_thickness"] > 0.4,
            a["beard"] > 0.5,
            a["eyeglasses"] > 0.5,
        ]
        return torch.stack(cols, dim=1).long()

    # --- geometry and albedo

    def canonical(
        self, p: SceneParams, size: int, background: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Canonical maps of a batch of faces, left-right symmetric.

        Args:
            p: scene parameters (shape, albedo and expression are used).
            size: S.
            background: (B, 3) background (wall) colour.

        Returns:
            depth (B, S, S), albedo (B, 3, S, S) with the background colour, the weight left on
            the background (B, S, S) (where a background texture shows through), part labels
            (B, S, S) int64 (`CELEBAMASK_CLASSES`).
        """
        B = len(p)
        cv = Canvas(B, size, background)
        full = cv.full
        X, Y, AX = full.X, full.Y, full.AX
        s = {k: col(v) for k, v in zip(self.shape_names, p.shape.unbind(1))}
        c = {k: col(v) for k, v in zip(self.albedo_names, p.albedo.unbind(1))}
        e = {k: col(v) for k, v in zip(self.expression_names, p.expression.unbind(1))}
        smile_up = e["smile"].clamp(min=0)
        raise_up = e["brow_raise"].clamp(min=0)

        # Head: an egg-shaped dome (narrowing towards the jaw) receding into the wall.
        a = 0.60 + 0.06 * s["head_width"]  # half-width
        b = 0.80 + 0.05 * s["head_height"]  # half-height
        yc = -0.12
        jaw = 0.24 - 0.10 * s["jaw_width"]
        yr = (Y - yc) / b  # (B, S, 1)
        sj = yr.clamp(0.0, 1.0)
        aw = a * (1.0 - jaw * sj * sj)  # (B, S, 1) half-width per row
        xr = X / aw
        q = xr * xr + yr * yr  # (B, S, half)
        r = q.sqrt()
        step = Z_BACKGROUND - Z_RIM
        relief = 0.065 + 0.010 * s["face_depth"]
        prof_head = step * (1.0 - smoothstep(1.0, 1.12, r)) + relief * (1.0 - q).clamp(min=0).sqrt()
        # Neck: a vertical cylinder below the head (separable).
        nw = 0.36 * a
        xn = AX / nw  # (B, 1, half)
        neck_x = (
            step * (1.0 - smoothstep(1.0, 1.12, xn)) + 0.022 * (1.0 - xn * xn).clamp(min=0).sqrt()
        )
        neck_y = smoothstep(yc + 0.45 * b, yc + 0.62 * b, Y)
        prof_neck = neck_x * neck_y
        neck_front = prof_neck > prof_head
        prof = torch.maximum(prof_head, prof_neck)
        # Ears: flat ovals sticking out of the head's sides, a little behind its rim.
        y_ear = yc + 0.12 * b
        x_ear, we, he = 0.97 * a + 0.03, torch.full_like(a, 0.065), 0.15 * b
        w_ear = cv.window(
            y_ear - 1.25 * he, y_ear + 1.25 * he, x_ear - 1.25 * we, x_ear + 1.25 * we
        )
        q_ear = ((w_ear.AX - x_ear) / we) ** 2 + ((w_ear.Y - y_ear) / he) ** 2
        r_ear = q_ear.sqrt()
        prof_ear = (step - 0.006) * (1.0 - smoothstep(1.0, 1.25, r_ear))
        prof_ear = prof_ear + 0.006 * (1.0 - q_ear).clamp(min=0).sqrt()
        view = w_ear.crop(prof)
        view.copy_(torch.maximum(view, prof_ear))

        # Facial features: compact bumps (positive = farther from the camera).
        ye = yc + 0.02 * b  # eye line
        xe = (0.37 + 0.04 * s["eye_spacing"]) * a
        sock = 0.011 + 0.004 * s["eye_socket_depth"]
        w = cv.window(ye - 0.13 * b, ye + 0.13 * b, xe - 0.21 * a, xe + 0.21 * a)
        eye_y, eye_x = (w.Y - ye), (w.AX - xe)
        sockets = sock * (bump(eye_x / (0.21 * a)) * bump(eye_y / (0.13 * b)))
        sockets = sockets - 0.45 * sock * (bump(eye_x / (0.12 * a)) * bump(eye_y / (0.075 * b)))
        cv.add_depth(w, sockets)
        yb = ye - 0.16 * b
        brow_amp = 0.006 + 0.003 * s["brow_ridge"]
        w = cv.window(yb - 0.09 * b, yb + 0.09 * b, 0.0, xe + 0.22 * a)
        cv.add_depth(w, -brow_amp * (bump(w.AX / (xe + 0.22 * a)) * bump((w.Y - yb) / (0.09 * b))))
        # Nose: a ridge rising to the tip, a rounded tip (its width) and two alae.
        y_top = ye - 0.06 * b
        y_n = ye + (0.33 + 0.05 * s["nose_length"]) * b
        nwr = (0.085 + 0.02 * s["nose_width"]) * a
        npro = 0.020 + 0.007 * s["nose_protrusion"]
        w_nose = cv.window(y_top, y_n + 0.1 * b, 0.0, 2.25 * nwr)
        wy, wax = w_nose.Y, w_nose.AX
        ramp = ((wy - y_top) / (y_n - y_top)).clamp(0.0, 1.0).pow(1.6)
        ny = torch.where(wy <= y_n, ramp, bump((wy - y_n) / (0.07 * b)))
        nose = bump(wax / nwr) * ny
        nose = nose + 0.35 * bump(wax / (1.7 * nwr)) * bump((wy - y_n + 0.015 * b) / (0.085 * b))
        alae = bump((wax - 1.45 * nwr) / (0.8 * nwr)) * bump((wy - y_n - 0.005 * b) / (0.06 * b))
        nose = nose + 0.22 * alae
        cv.add_depth(w_nose, -npro * nose)
        # Cheekbones (raised and fuller when smiling).
        ych = ye + (0.25 + 0.07 * s["cheekbone_height"]) * b - 0.04 * b * smile_up
        cheek_amp = (0.007 + 0.004 * s["cheekbone_prominence"]) * (1.0 + 0.6 * smile_up)
        w_cheek = cv.window(ych - 0.17 * b, ych + 0.17 * b, 0.25 * a, 0.79 * a)
        cheeks = bump((w_cheek.AX - 0.52 * a) / (0.27 * a)) * bump((w_cheek.Y - ych) / (0.17 * b))
        cv.add_depth(w_cheek, -cheek_amp * cheeks)
        # Muzzle and chin.
        y_m = y_n + 0.17 * b
        y_mz = y_m - 0.02 * b
        w = cv.window(y_mz - 0.25 * b, y_mz + 0.25 * b, 0.0, 0.5 * a)
        cv.add_depth(w, -0.007 * (bump(w.AX / (0.5 * a)) * bump((w.Y - y_mz) / (0.25 * b))))
        y_chin = yc + (0.80 + 0.03 * s["chin"]) * b
        chin_amp = 0.006 + 0.003 * s["chin"]
        w = cv.window(y_chin - 0.12 * b, y_chin + 0.12 * b, 0.0, 0.24 * a)
        cv.add_depth(w, -chin_amp * (bump(w.AX / (0.24 * a)) * bump((w.Y - y_chin) / (0.12 * b))))

        # Mouth (expression): zero outside |X| < mw and the band between the lip centre lines
        # +- the lip thickness, so the expression moves geometry inside the mouth region only.
        mw = (0.27 + 0.03 * e["smile"]) * a
        tu = (0.028 + 0.008 * s["lip_thickness"]) * b
        tl = 1.3 * tu
        gap_max = e["mouth_open"] * MOUTH_GAP * b
        w_mouth = cv.window(
            y_m - smile_up * SMILE_CURVE * b - 0.3 * gap_max - 2 * tu,
            y_m + (-e["smile"]).clamp(min=0) * SMILE_CURVE * b + 0.7 * gap_max + 2 * tl,
            0.0,
            mw,
        )
        u = w_mouth.AX / mw  # (B, 1, w)
        wx = (1.0 - u.pow(4)).clamp(min=0.0)
        taper = 0.45 + 0.55 * (1.0 - u * u).clamp(min=0).sqrt()  # lips thin towards the corners
        yl = y_m - e["smile"] * SMILE_CURVE * b * u * u  # lip line, corners up when smiling
        gap = gap_max * wx
        tu_x, tl_x = tu * taper, tl * taper
        yu = yl - 0.3 * gap - tu_x  # upper-lip centre line
        ylo = yl + 0.7 * gap + tl_x  # lower-lip centre line
        wy = w_mouth.Y
        lip_amp = 0.004 + 0.0015 * s["lip_thickness"]
        lips = lip_amp * wx * (bump((wy - yu) / tu_x) + 1.2 * bump((wy - ylo) / tl_x))
        y_mc = yl + 0.2 * gap
        inner = 0.018 * e["mouth_open"] * wx * bump((wy - y_mc) / (0.5 * gap + 1e-3))
        cv.add_depth(w_mouth, inner - lips)

        # Brows (expression): a soft-tissue ridge following the brow line.
        x_in, x_out = xe - 0.14 * a, xe + 0.17 * a
        brow_lo = yb - (0.01 + BROW_RAISE + BROW_TILT + 0.035) * b
        w_brow = cv.window(
            brow_lo - 0.07 * b, yb + (BROW_RAISE + BROW_TILT + 0.06) * b, x_in, x_out
        )
        bx, by = w_brow.AX, w_brow.Y
        wb = ((bx - x_in) / (x_out - x_in)).clamp(0.0, 1.0)
        yb_line = (
            yb
            - 0.01 * b
            - e["brow_raise"] * BROW_RAISE * b
            - e["brow_tilt"] * BROW_TILT * b * (1.0 - wb)
            - 0.035 * b * (1.0 - (2.0 * wb - 1.0) ** 2)
        )
        in_brow = ((bx - x_in) * (x_out - bx) >= 0).float()
        cv.add_depth(w_brow, -0.002 * in_brow * bump((by - yb_line) / (0.06 * b)))

        depth = (Z_BACKGROUND - prof + cv.offset).clamp(MIN_DEPTH, MAX_DEPTH)

        # ------------------------------------------------------------------ albedo and parts
        skin = lerp_palette(_SKIN_PALETTE, (p.albedo[:, 0] + 1) / 2)
        skin = skin * (1 + 0.06 * p.albedo[:, 1:2] * torch.tensor([1.0, -0.5, -0.5]))
        hair_col = lerp_palette(_HAIR_PALETTE, (p.albedo[:, 6] + 1) / 2)
        warm = p.albedo[:, 7:8].clamp(min=0)
        hair_col = (hair_col + warm * torch.tensor([0.18, 0.02, -0.06]) * (0.3 + hair_col)).clamp(
            0, 1
        )
        skin_c, hair_c = rgb(skin), rgb(hair_col)

        # Neck, then the head (skin), then the parts on top, in order.
        w = cv.window(yc + 0.45 * b, 1.0, 0.0, 1.12 * nw)
        f_neck = torch.minimum(nw - w.AX, w.Y - (yc + 0.5 * b))
        f_neck = torch.where(w.crop(neck_front), f_neck, torch.full_like(f_neck, -1.0))
        cv.paint(w, f_neck, skin_c * 0.86, _F["neck"])
        cv.paint(
            w_ear,
            (1.0 - r_ear) * torch.minimum(we, he),
            skin_c * rgb([0.95, 0.88, 0.88]),
            _F["l_ear"],
        )
        f_head = (1.0 - r) * aw
        cv.paint(full, f_head, skin_c, _F["skin"])
        cv.paint(w_nose, (nose - 0.15) * 0.1, None, _F["nose"])
        # Cheek blush (albedo only).
        blush = (0.35 * (0.5 + 0.5 * c["skin_redness"])) * cheeks
        cv.paint(
            w_cheek, torch.full_like(blush, 1.0), skin_c * rgb([1.02, 0.78, 0.78]), None, blush
        )
        # Beard (albedo only, under the lips).
        w = cv.window(y_n + 0.03 * b, yc + b, 0.0, a)
        f_beard = torch.minimum(w.Y - (y_n + 0.03 * b), w.crop(f_head) - 0.03)
        cv.paint(w, f_beard, hair_c * 0.9 + 0.02, None, 0.85 * c["beard"])
        # Lips and the mouth opening (teeth in its upper part).
        lip_c = skin_c * rgb([0.92, 0.55, 0.55]) * (0.85 + 0.15 * c["lip_colour"])[:, None]
        side = (1.0 - u) * mw
        cv.paint(w_mouth, torch.minimum(tu_x - (wy - yu).abs(), side), lip_c, _F["u_lip"])
        cv.paint(w_mouth, torch.minimum(tl_x - (wy - ylo).abs(), side), lip_c, _F["l_lip"])
        f_mouth = torch.minimum(0.5 * gap - (wy - y_mc).abs(), side)
        cv.paint(w_mouth, f_mouth, rgb([0.22, 0.06, 0.06]), _F["mouth"])
        f_teeth = torch.minimum(f_mouth, (yl + 0.05 * gap) - wy)
        cv.paint(w_mouth, f_teeth, rgb([0.93, 0.91, 0.84]))
        # Eyes: sclera, iris, pupil (wider with raised brows, narrower in a smile).
        ex = 0.115 * a
        ey = 0.048 * b * (1.0 + 0.35 * raise_up - 0.25 * smile_up)
        w = cv.window(ye - ey, ye + ey, xe - ex, xe + ex)
        ell = (((w.AX - xe) / ex) ** 2 + ((w.Y - ye) / ey) ** 2).sqrt()
        f_eye = (1.0 - ell) * ey
        cv.paint(w, f_eye, rgb([0.93, 0.91, 0.87]), _F["l_eye"])
        rho = ((w.AX - xe) ** 2 + (w.Y - ye) ** 2).sqrt()
        ri = 0.055 * b
        iris = lerp_palette(_IRIS_PALETTE, (p.albedo[:, 5] + 1) / 2)
        cv.paint(w, torch.minimum(ri - rho, f_eye), rgb(iris))
        cv.paint(w, torch.minimum(0.45 * ri - rho, f_eye), rgb([0.02, 0.02, 0.02]))
        # Brows (position from the expression, thickness and darkness from the albedo code).
        half = (0.030 + 0.012 * c["brow_thickness"]) * b * (1.0 - 0.45 * wb)
        f_brow = torch.minimum(half - (by - yb_line).abs(), torch.minimum(bx - x_in, x_out - bx))
        brow_c = hair_c * (0.75 - 0.25 * c["brow_darkness"])[:, None]
        cv.paint(w_brow, f_brow, brow_c, _F["l_brow"], 0.85 + 0.1 * c["brow_thickness"])
        # Hair: above a hairline that drops towards the temples, and down the sides.
        side_y = ye + (0.05 + 0.12 * (c["hair_length"] + 1.0)) * b
        w = cv.window(-1.0, side_y, 0.0, 1.0)
        y_hl = yc - (0.42 + 0.08 * c["hairline_height"]) * b
        y_hl = y_hl + (0.25 + 0.12 * c["hairline_curve"]) * b * (w.X / a) ** 2
        side_x = w.row(aw) * (0.84 - 0.06 * c["hair_length"])
        f_side = torch.minimum(w.AX - side_x, side_y - w.Y)
        f_hair = torch.minimum(torch.maximum(y_hl - w.Y, f_side), w.crop(f_head) + 0.015)
        cv.paint(w, f_hair, hair_c, _F["hair"])
        # Eyeglasses: two rims, a bridge and the temples.
        gx, gy = 0.21 * a, 0.15 * b
        yg = ye - 0.01 * b
        has = c["eyeglasses"] > 0.5
        if bool(has.any()):
            w = cv.window(yg - gy - 0.02, yg + gy + 0.02, 0.0, 1.0)
            ring = (((w.AX - xe) / gx) ** 2 + ((w.Y - yg) / gy) ** 2).sqrt()
            f_rim = 0.016 - (ring - 1.0).abs() * gy
            f_bridge = torch.minimum(0.013 - (w.Y - (ye - 0.05 * b)).abs(), (xe - 0.95 * gx) - w.AX)
            f_temple = torch.minimum(0.012 - (w.Y - (ye - 0.03 * b)).abs(), w.AX - (xe + 0.95 * gx))
            f_temple = torch.minimum(f_temple, w.crop(f_head))
            f_glasses = torch.maximum(torch.maximum(f_rim, f_bridge), f_temple)
            f_glasses = torch.where(has, f_glasses, torch.full_like(f_glasses, -1.0))
            frame = lerp_palette(_FRAME_PALETTE, (p.albedo[:, 11] + 1) / 2)
            cv.paint(w, f_glasses, rgb(frame), _F["eye_g"])
        albedo = cv.mirror(cv.albedo).clamp(0.0, 1.0)
        return cv.mirror(depth), albedo, cv.mirror(cv.bg_weight), cv.mirror_parts(_FACE_SWAP)

    def background_colour(self, u: torch.Tensor) -> torch.Tensor:
        """(B, 3) muted wall colours from (B, 3) uniforms."""
        return tinted_grey(u, (0.25, 0.5), 0.12).clamp(0.05, 0.95)
