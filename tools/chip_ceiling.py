#!/usr/bin/env python3
"""How far the RGB of one labelled chip can go: an analysis tool for terrascope-tiny's real-scene
check (issue 6), not a method and not part of the engine.

    chip_ceiling.py S2.tif LABEL.tif [--mask MASK.tif] [--steps 300] [--width 32]
                    [--sam CHECKPOINT --kinds mask_kinds.pt [--sam-steps 400]]

Splits the chip into halves (left/right, then top/bottom). For each half, a small network is
trained on that half's own RGB and hand label and predicts the other half; the two held-out
predictions make one whole-chip mask, scored like tools/mask_iou.py (label -1 ignored). Two
networks: "pixel" (1x1 convolutions: colour only) and "context" (3x3 convolutions dilated
1, 2, 4, 8: a 31 px window). Both see real labels from the same scene, which no synthetic model
does, so their held-out IoU is an optimistic ceiling for RGB at this scale. With --sam, the same
for terrascope-tiny's own mask path: a checkpoint's SAM-2 and a stage-1 water embedding. First
it prints a linear rule on R, G, B fitted to the whole chip's label (best threshold; not held
out), the bound for any single colour rule of that form. The RGB is the engine's sentinel2 preset: B4, B3,
B2, 0..3000 -> 0..255. --mask scores an engine mask the same way.
"""

import argparse
import functools
import json
import os

import numpy as np
import torch
import torch.nn.functional as F
from osgeo import gdal

from mask_iou import mask_iou, read_band
from terrascope_ref.sam2 import upsample_mask_logits_like_release

WATER_KIND = 0  # the mask kinds of a stage 1 are the synth class ids; water is 0


def read_rgb(path):
    ds = gdal.Open(path)
    if ds is None or ds.RasterCount < 4:
        raise SystemExit(f"{path}: not a Sentinel-2 raster with bands B2..B4")
    bands = [ds.GetRasterBand(b).ReadAsArray().astype(np.float32) for b in (4, 3, 2)]
    return np.clip(np.round(np.stack(bands) / 3000 * 255), 0, 255) / 255.0


class NetHead:
    """A small convolutional net over the chip's RGB: "pixel" (1x1 convolutions: colour only) or
    "context" (3x3 convolutions dilated 1, 2, 4, 8: a 31 px window)."""

    def __init__(self, rgb, kind, width):
        layers, chans = [], 3
        for dilation in (1, 2, 4, 8):
            if kind == "context":
                conv = torch.nn.Conv2d(chans, width, 3, padding=dilation, dilation=dilation)
            else:
                conv = torch.nn.Conv2d(chans, width, 1)
            layers += [conv, torch.nn.ReLU()]
            chans = width
        layers.append(torch.nn.Conv2d(chans, 1, 1))
        self.net = torch.nn.Sequential(*layers)
        self.x = torch.tensor(rgb, dtype=torch.float32)[None]

    def parameters(self):
        return list(self.net.parameters())

    def loss(self, sel, target):
        return F.binary_cross_entropy_with_logits(self.net(self.x)[0, 0][sel], target)

    def predict(self):
        with torch.no_grad():
            return (self.net(self.x)[0, 0] > 0).numpy()


class SamHead:
    """terrascope-tiny's SAM-2 (a checkpoint's grounding encoder, at its own input size) prompted
    in the language slot by a mask-kind embedding (a stage-1 mask_kinds.pt row), both trained.
    Masks as the reference loop and the engine make them (GroundingEncoder.decode: the multimask
    output with the best predicted IoU, object-score gating; upsample_mask_logits_like_release);
    training takes the multimask output with the lowest loss, as the training losses do."""

    def __init__(self, rgb, checkpoint, kinds_path, kind=WATER_KIND):
        from PIL import Image

        from terrascope_ref import preprocess
        from terrascope_ref.model import TerraScope, TerraScopeConfig
        from terrascope_ref.safetensors_io import load_file

        with open(os.path.join(checkpoint, "config.json")) as f:
            cfg = TerraScopeConfig.from_checkpoint_config(json.load(f))
        model = TerraScope(cfg)
        model.load_state_dict(load_file(os.path.join(checkpoint, "model.safetensors")))
        self.g = model.grounding_encoder
        self.emb = torch.nn.Parameter(torch.load(kinds_path)[kind].clone())
        image = Image.fromarray(np.rint(rgb * 255).astype(np.uint8).transpose(1, 2, 0))
        self.image_size = cfg.sam_config().image_size
        self.x = preprocess.sam_input_tensor(image, self.image_size)
        self.size = rgb.shape[1:]

    def parameters(self):
        return list(self.g.parameters()) + [self.emb]

    def _upsample(self, low_res):
        """[N, 1, S/4, S/4] low-res logits -> [N, H, W] on the chip."""
        return upsample_mask_logits_like_release(low_res, self.image_size, *self.size)[:, 0]

    def loss(self, sel, target):
        feat, hr0, hr1 = self.g.encode_image(self.x)
        masks, _, _ = self.g.multimask(feat, hr0, hr1, self.g.language_prompt(self.emb[None]))
        up = self._upsample(masks.transpose(0, 1))
        return torch.stack([F.binary_cross_entropy_with_logits(u[sel], target) for u in up]).min()

    def predict(self):
        with torch.no_grad():
            mask, _, _ = self.g.decode(*self.g.encode_image(self.x), self.emb[None])
            return (self._upsample(mask)[0] > 0).numpy()


def half_masks(shape, axis):
    """The two halves of an HxW grid along axis (1: left/right, 0: top/bottom)."""
    first = np.zeros(shape, bool)
    if axis == 1:
        first[:, : shape[1] // 2] = True
    else:
        first[: shape[0] // 2, :] = True
    return first, ~first


def held_out_mask(make_head, label, axis, steps, seed):
    """Whole-chip 0/1 mask in which every half is predicted by a head (make_head() builds a fresh
    one) trained on the other half's label."""
    out = np.zeros(label.shape, np.uint8)
    first, second = half_masks(label.shape, axis)
    for train_half, test_half in ((first, second), (second, first)):
        torch.manual_seed(seed)
        head = make_head()
        opt = torch.optim.Adam(head.parameters(), 1e-3)
        sel = torch.tensor(train_half & (label != -1))
        target = torch.tensor(label == 1, dtype=torch.float32)[sel]
        for _ in range(steps):
            loss = head.loss(sel, target)
            opt.zero_grad()
            loss.backward()
            opt.step()
        out[test_half] = head.predict()[test_half]
    return out


def whole_chip_linear(rgb, label, steps):
    """(IoU, weights per 8-bit unit of R, G, B) of the best linear rule fitted to every valid
    pixel of the chip: logistic regression, then the threshold on its score with the best IoU."""
    x = rgb.reshape(3, -1).T * 255.0
    mean, std = x.mean(0), x.std(0) + 1e-9
    xs = torch.tensor((x - mean) / std, dtype=torch.float32)
    valid = torch.tensor(label.reshape(-1) != -1)
    target = torch.tensor(label.reshape(-1) == 1, dtype=torch.float32)
    torch.manual_seed(0)
    lin = torch.nn.Linear(3, 1)
    opt = torch.optim.Adam(lin.parameters(), 0.05)
    for _ in range(steps):
        loss = F.binary_cross_entropy_with_logits(lin(xs[valid])[:, 0], target[valid])
        opt.zero_grad()
        loss.backward()
        opt.step()
    with torch.no_grad():
        score = lin(xs)[:, 0].numpy().reshape(label.shape)
    best = max(mask_iou((score > t).astype(np.uint8), label)[0]
               for t in np.quantile(score, np.linspace(0.3, 0.9, 61)))
    return best, lin.weight.detach().numpy()[0] / std


def main(argv=None):
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0])
    parser.add_argument("s2")
    parser.add_argument("label")
    parser.add_argument("--mask", help="an engine mask GeoTIFF to score on the same terms")
    parser.add_argument("--steps", type=int, default=300)
    parser.add_argument("--width", type=int, default=32)
    parser.add_argument("--seed", type=int, default=0)
    parser.add_argument("--sam", metavar="CHECKPOINT",
                        help="also fine-tune this checkpoint's SAM-2 (with --kinds) on each half")
    parser.add_argument("--kinds", help="the stage-1 mask_kinds.pt whose row 0 (water) prompts it")
    parser.add_argument("--sam-steps", type=int, default=400)
    args = parser.parse_args(argv)
    if args.sam and not args.kinds:
        parser.error("--sam needs --kinds")
    torch.set_num_threads(2)
    rgb, label = read_rgb(args.s2), read_band(args.label)
    if rgb.shape[1:] != label.shape:
        raise SystemExit(f"{args.label}: size {label.shape} differs from {args.s2} {rgb.shape[1:]}")
    if args.mask:
        iou, inter, union, _ = mask_iou(read_band(args.mask), label)
        print(f"engine mask: IoU {iou:.3f} ({inter} / {union} px)")
    iou, weights = whole_chip_linear(rgb, label, args.steps)
    print(f"linear RGB rule fitted to the whole chip: IoU {iou:.3f} "
          f"(weights per unit R, G, B: {[round(float(w), 3) for w in weights]})", flush=True)
    heads = [(kind, functools.partial(NetHead, rgb, kind, args.width), args.steps)
             for kind in ("pixel", "context")]
    if args.sam:
        heads.append(("sam", functools.partial(SamHead, rgb, args.sam, args.kinds), args.sam_steps))
    for kind, make_head, steps in heads:
        for axis, name in ((1, "left/right"), (0, "top/bottom")):
            pred = held_out_mask(make_head, label, axis, steps, args.seed)
            iou, inter, union, _ = mask_iou(pred, label)
            print(f"{kind:7s} {name:10s} held-out IoU {iou:.3f} ({inter} / {union} px)", flush=True)


if __name__ == "__main__":
    main()
