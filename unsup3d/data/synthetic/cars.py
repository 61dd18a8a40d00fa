"""Procedural cars seen from above (`CarModel`): five classes, their shapes, paint and parts."""

from __future__ import annotations

import torch

from unsup3d.data.synthetic.draw import Canvas, col, rgb, smoothstep, tinted_grey
from unsup3d.data.synthetic.rng import Draws
from unsup3d.data.synthetic.scene import MAX_DEPTH, MIN_DEPTH, Z_BACKGROUND, SceneParams

CAR_CLASSES = ("police_car", "ambulance", "limousine", "jeep", "sports_car")  # as shapenet_cars
CAR_PARTS = ("background", "body", "window", "wheel", "light", "roof_item", "decal")
_C = {name: i for i, name in enumerate(CAR_PARTS)}
_CAR_SWAP = torch.arange(len(CAR_PARTS))  # no left/right part ids
# Per class: length, width (normalised units), roof, hood, trunk heights (camera units), cabin
# start and end (fractions of the length from the rear), windshield and rear-window lengths
# (fractions), cross-section exponent (higher = boxier), cabin width fraction, wheel positions
# (fraction from each end).
_CAR_BASE = torch.tensor(
    [
        # L     W     roof   hood   trunk  c0    c1    ws    rw    p    cw    wheel
        [1.50, 0.74, 0.048, 0.028, 0.030, 0.28, 0.62, 0.12, 0.10, 3.0, 0.80, 0.17],  # police
        [1.60, 0.80, 0.072, 0.034, 0.072, 0.00, 0.80, 0.06, 0.00, 7.0, 0.96, 0.16],  # ambulance
        [1.90, 0.66, 0.042, 0.026, 0.028, 0.20, 0.72, 0.10, 0.08, 3.0, 0.82, 0.12],  # limousine
        [1.22, 0.84, 0.064, 0.042, 0.052, 0.04, 0.62, 0.04, 0.02, 8.0, 0.94, 0.18],  # jeep
        [1.42, 0.80, 0.034, 0.020, 0.024, 0.22, 0.50, 0.16, 0.14, 2.4, 0.70, 0.16],  # sports
    ]
)
# Paint palettes per class (primary colours, sampled with jitter); rows past a class's count
# repeat its last colour.
_CAR_PAINT = torch.tensor(
    [
        [[0.93, 0.93, 0.93]] * 4,  # police: white doors (black hood and trunk)
        [
            [0.95, 0.95, 0.92],
            [0.96, 0.90, 0.55],
            [0.96, 0.90, 0.55],
            [0.96, 0.90, 0.55],
        ],  # ambulance
        [
            [0.05, 0.05, 0.06],
            [0.92, 0.92, 0.92],
            [0.25, 0.25, 0.28],
            [0.25, 0.25, 0.28],
        ],  # limousine
        [[0.33, 0.38, 0.20], [0.62, 0.55, 0.38], [0.15, 0.28, 0.15], [0.15, 0.28, 0.15]],  # jeep
        [[0.85, 0.08, 0.05], [0.95, 0.78, 0.05], [0.95, 0.45, 0.05], [0.10, 0.25, 0.85]],  # sports
    ]
)
_CAR_PAINT_COUNT = torch.tensor([1, 2, 3, 3, 4])


class CarModel:
    """Procedural cars seen from above (the car's front towards the image bottom).

    Five classes with distinct proportions and paint patterns (police car, ambulance, limousine,
    jeep, sports car); within-class variation of every proportion and of the colours. The
    canonical depth is the road plane minus the car's height field: a body with a superellipse
    cross-section, a narrower cabin with windshield and rear-window ramps, four wheels and
    class-specific roof items.
    """

    name = "synthetic_cars"
    short = "cars"
    category_label = "car_class"
    category_names = CAR_CLASSES
    part_names = CAR_PARTS
    shape_names = (
        "length",
        "width",
        "roof_height",
        "hood_height",
        "trunk_height",
        "cabin_start",
        "cabin_end",
        "windshield",
        "rear_window",
        "boxiness",
        "cabin_width",
        "wheel_position",
    )
    albedo_names = ("paint_r", "paint_g", "paint_b", "window_tint", "trim")
    expression_names = ()
    attribute_rules = ()
    attribute_names = ()
    identity_slots = 32
    image_slots = 80

    def sample_identity(self, d: Draws, local: torch.Tensor) -> tuple[torch.Tensor, ...]:
        cls = local % len(CAR_CLASSES)  # balanced classes
        base = _CAR_BASE[cls]  # (B, 12)
        jit = d.signed(12)
        scale = torch.tensor([0.05, 0.04, 0.10, 0.10, 0.10, 0.0, 0.0, 0.15, 0.15, 0.0, 0.03, 0.08])
        shift = torch.tensor([0, 0, 0, 0, 0, 0.03, 0.03, 0, 0, 0.8, 0, 0], dtype=torch.float32)
        shape = base * (1 + scale * jit) + shift * jit
        shape[:, 0] = shape[:, 0].clamp(max=1.92)
        pick = d.one()
        count = _CAR_PAINT_COUNT[cls]
        which = (pick * count).long().clamp(max=count - 1)
        paint = _CAR_PAINT[cls, which]  # (B, 3)
        paint = (paint + 0.05 * d.signed(3)).clamp(0.02, 0.98)
        tint = d.uniform(0.0, 1.0)
        trim = d.uniform(0.0, 1.0)
        albedo = torch.cat([paint, tint[:, None], trim[:, None]], dim=1)
        return shape, albedo, cls

    def sample_expression(self, d: Draws, identity_category: torch.Tensor):
        d.take(8)  # keeps the image stream aligned with the faces'
        return identity_category, torch.zeros(len(identity_category), 0)

    def attributes(self, p: SceneParams) -> torch.Tensor:
        return torch.zeros(len(p), 0, dtype=torch.int64)

    def canonical(
        self, p: SceneParams, size: int, background: torch.Tensor
    ) -> tuple[torch.Tensor, torch.Tensor, torch.Tensor, torch.Tensor]:
        """Canonical maps of a batch of cars (see `FaceModel.canonical`; parts: `CAR_PARTS`)."""
        B = len(p)
        cv = Canvas(B, size, background)
        full = cv.full
        AX, Y = full.AX, full.Y
        s = {k: col(v) for k, v in zip(self.shape_names, p.shape.unbind(1))}
        is_ = {k: col(p.category == i) for i, k in enumerate(CAR_CLASSES)}
        L, hw = s["length"], s["width"] / 2
        y_rear = -L / 2
        t = (Y - y_rear) / L  # (B, S, 1): 0 at the rear (image top), 1 at the front
        inside_t = (t >= 0) & (t <= 1)
        # Body: footprint with rounded corners, superellipse cross-section.
        end = (((2 * t - 1).abs() - 0.82) / 0.18).clamp(0.0, 1.0)
        hw_t = hw * (1.0 - 0.22 * end * end)  # (B, S, 1)
        p_exp = s["boxiness"]
        xb = (AX / hw_t).clamp(max=1.0)
        cross_b = (1.0 - xb.pow(p_exp)).clamp(min=0).pow(1.0 / p_exp) * inside_t
        ends = smoothstep(0.0, 0.035, t) * smoothstep(1.0, 0.965, t)
        c0, c1 = s["cabin_start"], s["cabin_end"]
        ws, rw = s["windshield"], s["rear_window"]
        trunk, hood, roof = s["trunk_height"], s["hood_height"], s["roof_height"]
        body_h = (trunk + (hood - trunk) * smoothstep(c0, c1, t)) * ends  # (B, S, 1)
        H_body = body_h * cross_b
        # Cabin: narrower, with windshield and rear-window ramps.
        cab_t = smoothstep(c0 - rw - 1e-3, c0, t) * smoothstep(c1 + ws + 1e-3, c1, t) * inside_t
        hw_c = hw * s["cabin_width"]
        xc = (AX / hw_c).clamp(max=1.0)
        cross_c = (1.0 - xc.pow(p_exp + 1.0)).clamp(min=0).pow(1.0 / (p_exp + 1.0))
        H = torch.maximum(H_body, roof * cab_t * cross_c)
        # Wheels: cylinders across X, sticking out of the body's sides.
        tw = s["wheel_position"]
        in_x = ((AX - (hw - 0.015)).abs() < 0.055).float()  # (B, 1, half)
        wheel_y = torch.zeros_like(t)
        for y_w in (y_rear + tw * L, y_rear + (1 - tw) * L):
            dy = (Y - y_w) / 0.12
            wheel_y = torch.maximum(wheel_y, (1.0 - dy * dy).clamp(min=0).sqrt() * 0.030)
        H_wheel = wheel_y * in_x
        wheel_front = H_wheel > H_body
        H = torch.maximum(H, H_wheel)
        # Class-specific roof items: police light bar, jeep spare tyre and roof rack, spoiler.
        y_lb = y_rear + L * (c1 - 0.06)
        w_lb = cv.window(y_lb - 0.035, y_lb + 0.035, 0.0, 0.62 * hw_c)
        f_lb = torch.minimum(0.035 - (w_lb.Y - y_lb).abs(), 0.62 * hw_c - w_lb.AX)
        f_lb = torch.where(is_["police_car"], f_lb, torch.full_like(f_lb, -1.0))
        y_ty = y_rear + 0.015
        w_ty = cv.window(y_ty - 0.045, y_ty + 0.045, 0.0, 0.2)
        f_tyre = torch.minimum(0.2 - w_ty.AX, 0.045 - (w_ty.Y - y_ty).abs())
        f_tyre = torch.where(is_["jeep"], f_tyre, torch.full_like(f_tyre, -1.0))
        f_rack = torch.minimum(
            0.025 - (AX - 0.55 * hw_c).abs(), torch.minimum(t - c0 - 0.03, c1 - 0.03 - t) * L
        )
        f_rack = torch.where(is_["jeep"], f_rack, torch.full_like(f_rack, -1.0))
        f_spoiler = torch.minimum((0.025 - (t - 0.035).abs()) * L, 0.9 * hw - AX)
        f_spoiler = torch.where(is_["sports_car"], f_spoiler, torch.full_like(f_spoiler, -1.0))
        item = torch.where(f_rack > 0, roof + 0.004, torch.zeros_like(f_rack))
        item = torch.where(f_spoiler > 0, trunk + 0.012, item)
        H = torch.maximum(H, item)
        cv.add_depth(w_lb, -torch.where(f_lb > 0, roof + 0.009, torch.zeros_like(f_lb)))
        cv.add_depth(w_ty, -torch.where(f_tyre > 0, trunk * 0.9 + 0.012, torch.zeros_like(f_tyre)))
        # The light bar and tyre sit on top of the body: take them as maxima, not sums.
        depth = (Z_BACKGROUND - H + torch.minimum(cv.offset + H, torch.zeros_like(H))).clamp(
            MIN_DEPTH, MAX_DEPTH
        )

        # ------------------------------------------------------------------ albedo and parts
        f_body = torch.minimum(hw_t - AX, torch.minimum(t, 1 - t) * L)
        f_body = torch.where(wheel_front, torch.minimum(f_body, -torch.ones_like(f_body)), f_body)
        cv.paint(full, f_body, rgb(p.albedo[:, :3]), _C["body"])
        f_wheel = torch.where(
            wheel_front, torch.full_like(f_body, cv.pixel), torch.full_like(f_body, -1.0)
        )
        cv.paint(full, f_wheel, rgb([0.05, 0.05, 0.05]), _C["wheel"])
        # Paint patterns (decals): police black hood and trunk, sports stripes, ambulance cross
        # and side bands.
        police_bw = torch.maximum((t - (c1 + ws)) * L, ((c0 - rw) - t) * L)
        stripe = 0.05 - (AX - 0.11).abs()
        y_cross = y_rear + L * 0.45
        cross = torch.maximum(
            torch.minimum(0.05 - AX, 0.16 - (Y - y_cross).abs()),
            torch.minimum(0.16 - AX, 0.05 - (Y - y_cross).abs()),
        )
        band = 0.035 - (AX - 0.8 * hw_t).abs()
        dec = torch.where(is_["police_car"], police_bw, torch.full_like(f_body, -1.0))
        dec = torch.where(is_["sports_car"], stripe, dec)
        dec = torch.where(is_["ambulance"], torch.maximum(cross, band), dec)
        dec_col = torch.where(
            is_["sports_car"][:, None],
            rgb([0.95, 0.95, 0.95]),
            torch.where(
                is_["police_car"][:, None], rgb([0.04, 0.04, 0.05]), rgb([0.85, 0.08, 0.06])
            ),
        )
        cv.paint(full, torch.minimum(dec, f_body), dec_col, _C["decal"])
        # Windows: windshield and rear window on the cabin ramps, side windows on the flanks.
        tint = 0.08 + p.albedo[:, 3:4] * torch.tensor([0.06, 0.06, 0.08])
        tint = tint + torch.tensor([0.0, 0.03, 0.08])
        f_ws = torch.minimum(
            torch.minimum((t - c1) * L, (c1 + ws - t) * L - 0.02), 0.86 * hw_c - AX
        )
        f_rw = torch.minimum(
            torch.minimum((c0 - t) * L, (t - (c0 - rw)) * L - 0.02), 0.8 * hw_c - AX
        )
        f_rw = torch.where(rw > 0.01, f_rw, torch.full_like(f_rw, -1.0))
        f_sw = torch.minimum(
            torch.minimum((t - c0) * L - 0.03, (c1 - t) * L - 0.03),
            torch.minimum(AX - 0.74 * hw_c, 0.97 * hw_c - AX),
        )
        f_win = torch.minimum(torch.maximum(torch.maximum(f_ws, f_rw), f_sw), f_body)
        cv.paint(full, f_win, rgb(tint), _C["window"])
        # Lights: headlights at the front corners, tail lights at the rear.
        w = cv.window(-L / 2 + 0.955 * L - 0.02, L / 2, 0.0, 1.0)
        tt, hw_w = w.row(t), w.row(hw_t)
        f_head_l = torch.minimum(
            (tt - 0.955) * L, torch.minimum(w.AX - 0.42 * hw_w, 0.86 * hw_w - w.AX)
        )
        cv.paint(w, torch.minimum(f_head_l, w.crop(f_body)), rgb([1.0, 0.96, 0.78]), _C["light"])
        w = cv.window(-L / 2, -L / 2 + 0.04 * L + 0.02, 0.0, 1.0)
        tt, hw_w = w.row(t), w.row(hw_t)
        f_tail = torch.minimum((0.04 - tt) * L, torch.minimum(w.AX - 0.5 * hw_w, 0.9 * hw_w - w.AX))
        cv.paint(w, torch.minimum(f_tail, w.crop(f_body)), rgb([0.80, 0.06, 0.05]), _C["light"])
        # Roof items.
        bar_col = torch.where(
            (w_lb.AX < 0.2 * hw_c)[:, None], rgb([0.1, 0.2, 0.95]), rgb([0.95, 0.1, 0.1])
        )
        cv.paint(w_lb, f_lb, bar_col, _C["roof_item"])
        cv.paint(w_ty, f_tyre, rgb([0.07, 0.07, 0.07]), _C["roof_item"])
        cv.paint(full, f_rack, rgb([0.07, 0.07, 0.07]), _C["roof_item"])
        trim = (0.05 + 0.8 * p.albedo[:, 4:5]).expand(-1, 3)
        cv.paint(full, f_spoiler, rgb(trim), _C["roof_item"])
        albedo = cv.mirror(cv.albedo).clamp(0.0, 1.0)
        return cv.mirror(depth), albedo, cv.mirror(cv.bg_weight), cv.mirror_parts(_CAR_SWAP)

    def background_colour(self, u: torch.Tensor) -> torch.Tensor:
        """(B, 3) road greys from (B, 3) uniforms."""
        return tinted_grey(u, (0.30, 0.30), 0.06)
