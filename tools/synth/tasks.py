"""Questions, options and grounded Terra-CoT reasoning for the six TerraScope-Bench tasks and plain
referring segmentation, computed from a scene's exact labels.

Ground-truth rules (../shared/docs/TERRASCOPE.md, "TerraScope-Bench"):
- CA coverage: share of valid pixels (every synthetic pixel is valid); only classes >= 5% are asked.
- AQ absolute area: pixels x (10 m)^2, in m^2.
- CR comparative ranking: only pairs whose areas differ by more than 10% (of the larger).
- BRD boundary relation: adjacent when the 3x3 dilation of one region touches the other.
- DM distance: Euclidean distance transform x 10 m, i.e. the smallest distance between the centres
  of a pixel of one region and a pixel of the other (only non-adjacent pairs are asked).
- BCE building change: the number of destroyed buildings between a pre and a post image.

Each builder takes (rng, ctx, wish) and returns a TaskItem or None when the scene cannot support
the task (the caller then draws another scene; `wish`, a number in [0, 1) drawn once per sample,
fixes the kind of answer across such redraws). The reasoning names one region per [SEG], in the
order of `masks`; the text is templated but varied, and kept short (the tiny model has a small
context).
"""

import numpy as np

from . import scenes

TASKS = ("CA", "AQ", "CR", "BRD", "DM", "BCE", "SEG")
LETTERS = "ABCD"
MIN_REGION_PX = 100         # smallest region a question refers to (1 ha)
CA_MIN_SHARE = 0.05         # TerraScope-Bench: classes >= 5%
CR_MIN_REL_DIFF = 0.10      # TerraScope-Bench: area difference > 10%
CLOUD_NOTE_SHARE = 0.15     # mention the SAR view when clouds hide this much of a region


class TaskItem:
    """question (without options), candidates (option texts, or [] for SEG), answer_index (or None),
    think (reasoning with [SEG] markers), answer_text (what goes in <answer>), masks (HxW bool, one
    per [SEG]), mask_frames (frame index per mask for time series, else None), meta (the numbers
    behind the answer, for tests and reports)."""

    def __init__(self, question, candidates, answer_index, think, answer_text, masks,
                 mask_frames=None, meta=None, ordered=True):
        self.question = question
        self.candidates = candidates
        self.answer_index = answer_index
        self.think = think
        self.answer_text = answer_text
        self.masks = masks
        self.mask_frames = mask_frames
        self.meta = meta or {}
        self.ordered = ordered  # options in a fixed order (ranges ascending, question order)

    @property
    def answer_letter(self):
        return None if self.answer_index is None else LETTERS[self.answer_index]

    def cot(self):
        return "<think>%s</think><answer> %s </answer>" % (self.think, self.answer_text)


# ---------------------------------------------------------------- geometry (ground-truth rules)

def class_counts(labels):
    return np.bincount(labels.ravel(), minlength=scenes.NUM_CLASSES)


def dilate3x3(mask):
    h, w = mask.shape
    p = np.pad(mask, 1)
    out = np.zeros_like(mask)
    for dy in range(3):
        for dx in range(3):
            out |= p[dy:dy + h, dx:dx + w]
    return out


def adjacent(a, b):
    """TerraScope-Bench BRD rule: the 3x3 dilation of a touches b."""
    return bool((dilate3x3(a) & b).any())


def _boundary_points(mask):
    """Pixels of mask with a 4-neighbour outside it (or on the scene edge). The closest pixel pair
    between two disjoint regions always lies on both boundaries: from an inner pixel one step
    towards the other pixel stays inside the region and gets strictly closer."""
    p = np.pad(mask, 1)
    inner = p[:-2, 1:-1] & p[2:, 1:-1] & p[1:-1, :-2] & p[1:-1, 2:]
    return np.argwhere(mask & ~inner).astype(np.float64)


def lot_of(mask, n=scenes.LOTS_PER_SIDE):
    """(row, column) of the lot (scenes.lot_centres) holding the mask's centroid, counted from 1
    at the north-west corner."""
    ys, xs = np.nonzero(mask)
    h, w = mask.shape
    return int(ys.mean() * n // h) + 1, int(xs.mean() * n // w) + 1


def _count(n, word):
    return "%d %s%s" % (n, word, "" if n == 1 else "s")


def min_distance_px(a, b):
    """Smallest centre-to-centre distance between pixels of a and b (0 when they overlap): the
    Euclidean distance transform of not-a, minimised over b."""
    if (a & b).any():
        return 0.0
    pa, pb = _boundary_points(a), _boundary_points(b)
    best = np.inf
    for start in range(0, len(pa), 512):  # bounded memory on large scenes
        chunk = pa[start:start + 512]
        d2 = ((chunk[:, None, :] - pb[None, :, :]) ** 2).sum(-1)
        best = min(best, float(d2.min()))
    return float(np.sqrt(best))


# ---------------------------------------------------------------- wording

def _the(cls):
    return "the " + scenes.CLASS_NAMES[cls]


def _The(cls):
    return "The " + scenes.CLASS_NAMES[cls]


def _is(cls):
    return "are" if cls == scenes.ROAD else "is"



def _seg_sentence(rng, cls):
    forms = ("{The} {is} [SEG].", "{The} {is} here: [SEG].", "I find {the}: [SEG].")
    return forms[rng.integers(len(forms))].format(The=_The(cls), the=_the(cls), **{"is": _is(cls)})



class Context:
    """What a builder may look at: the class map, the cloud opacity over the optical image (or
    None) and whether a SAR image comes with it."""

    def __init__(self, labels, cloud=None, has_sar=False):
        self.labels = labels
        self.cloud = cloud
        self.has_sar = has_sar
        self.counts = class_counts(labels)
        self.valid = labels.size

    def mask(self, cls):
        return self.labels == cls

    def share(self, cls):
        return self.counts[cls] / self.valid

    def present(self, min_px=MIN_REGION_PX):
        return [c for c in range(scenes.NUM_CLASSES) if self.counts[c] >= min_px]

    def clouded(self, cls):
        """Share of the region under opaque cloud (alpha > 0.5)."""
        if self.cloud is None:
            return 0.0
        m = self.mask(cls)
        return float((self.cloud[m] > 0.5).mean()) if m.any() else 0.0

    def seg(self, rng, cls):
        """'<The class> is [SEG].', with a note on the SAR view when clouds hide the region."""
        s = _seg_sentence(rng, cls)
        if self.has_sar and self.clouded(cls) >= CLOUD_NOTE_SHARE:
            s += " Clouds hide part of %s; SAR shows %s." % (("them", "them") if cls == scenes.ROAD
                                                              else ("it", "it"))
        return s


def _prefer(rng, ctx, choices):
    """Pick a class; with clouds over a SAR pair, ask about the water (seen only by SAR) often."""
    if ctx.has_sar and scenes.WATER in choices and ctx.clouded(scenes.WATER) >= CLOUD_NOTE_SHARE \
            and rng.random() < 0.6:
        return scenes.WATER
    return choices[rng.integers(len(choices))]


# Ranges for the quantity tasks: four per task, ascending, edges near the quartiles of the
# training distribution (so each letter is right about a quarter of the time). The options are
# these ranges in this order and the reasoning states the range; see docs/SYNTH.md ("Options").
# "X to Y" includes both ends (the quantities are whole percents, 100 m² steps, whole metres).
CA_EDGES_PCT = (13, 25, 43)
CA_RANGES = ("under 13%", "13% to 24%", "25% to 42%", "43% or more")
AQ_EDGES_M2 = (110000, 320000, 530000)  # for a 128 x 128 scene; scaled with the scene's area
# DM: asked about two compact objects on different lots (scenes.make_object_scene), one vision
# token of terrascope-tiny (320 m) apart or more; the edges fall between the gaps of neighbouring
# lots (side by side, diagonal, two apart, farther).
DM_EDGES_M = (250, 400, 700)
DM_RANGES = ("under 250 m", "250 to 399 m", "400 to 699 m", "700 m or more")  # whole metres
BCE_EDGES = (2, 3, 5)
BCE_RANGES = ("1", "2", "3 or 4", "5 or more")


def aq_edges_m2(valid_px, pixel_area_m2=100.0):
    """AQ_EDGES_M2 scaled from a 128 x 128 scene to one of valid_px pixels, in whole pixels."""
    scale = valid_px / (128.0 * 128.0)
    return tuple(int(round(e * scale / pixel_area_m2)) * int(pixel_area_m2) for e in AQ_EDGES_M2)


def aq_ranges(edges, pixel_area_m2=100.0):
    """Option texts of the AQ ranges; areas come in whole pixels, so "X to Y" ends a pixel short
    of the next edge."""
    step = int(pixel_area_m2)
    return (["under %d m²" % edges[0]]
            + ["%d to %d m²" % (lo, hi - step) for lo, hi in zip(edges[:-1], edges[1:])]
            + ["%d m² or more" % edges[-1]])


def range_index(value, edges):
    """Index of the range holding value: ranges are [.., e0), [e0, e1), ..., [e_last, ..)."""
    return int(sum(value >= e for e in edges))


# ---------------------------------------------------------------- builders

def build_ca(rng, ctx, wish=None):
    choices = [c for c in ctx.present() if ctx.share(c) >= CA_MIN_SHARE]
    if not choices:
        return None
    cls = _prefer(rng, ctx, choices)
    pct = round(100 * ctx.share(cls))
    idx = range_index(pct, CA_EDGES_PCT)
    options = list(CA_RANGES)
    q = ("What percentage of the image is covered by {c}?",
         "What share of the scene does {the} cover?",
         "How much of the area is {c}, in percent?")[rng.integers(3)]
    tail = ("It covers {p} of the scene.", "Its share of the image is {p}.")[rng.integers(2)]
    think = ctx.seg(rng, cls) + " " + tail.format(p=options[idx])
    return TaskItem(q.format(c=scenes.CLASS_NAMES[cls], the=_the(cls)), options, idx, think,
                    LETTERS[idx], [ctx.mask(cls)],
                    meta={"classes": [cls], "share": ctx.share(cls), "percent": pct})



def build_aq(rng, ctx, wish=None, pixel_area_m2=100.0):
    choices = ctx.present()
    cls = _prefer(rng, ctx, choices)
    n = int(ctx.counts[cls])
    area = int(round(n * pixel_area_m2))
    edges = aq_edges_m2(ctx.valid, pixel_area_m2)
    idx = range_index(area, edges)
    options = aq_ranges(edges, pixel_area_m2)
    q = ("What is the area of {the} in this image?", "How large {is} {the}, in square metres?",
         "Estimate the total area covered by {c}.")[rng.integers(3)]
    tail = ("Its area is {a}.", "It covers {a}.")[rng.integers(2)]
    think = ctx.seg(rng, cls) + " " + tail.format(a=options[idx])
    return TaskItem(q.format(c=scenes.CLASS_NAMES[cls], the=_the(cls), **{"is": _is(cls)}),
                    options, idx, think, LETTERS[idx], [ctx.mask(cls)],
                    meta={"classes": [cls], "pixels": n, "area_m2": area})


def _pairs(ctx, min_px=MIN_REGION_PX):
    present = ctx.present(min_px)
    return [(a, b) for i, a in enumerate(present) for b in present[i + 1:]]


def _ordered(rng, pair):
    return pair if rng.random() < 0.5 else (pair[1], pair[0])


def build_cr(rng, ctx, wish=None):
    cands = []
    for a, b in _pairs(ctx):
        na, nb = int(ctx.counts[a]), int(ctx.counts[b])
        if abs(na - nb) > CR_MIN_REL_DIFF * max(na, nb) and min(ctx.share(a), ctx.share(b)) >= 0.02:
            cands.append((a, b))
    if not cands:
        return None
    a, b = _ordered(rng, cands[rng.integers(len(cands))])
    larger = rng.random() < 0.6
    big, small = (a, b) if ctx.counts[a] > ctx.counts[b] else (b, a)
    winner = big if larger else small
    name = scenes.CLASS_NAMES
    options, idx = [name[a], name[b]], (0 if winner == a else 1)  # in the question's order
    word = "larger" if larger else "smaller"
    q = ("Which covers a %s area: {a} or {b}?" % word,
         "Which is %s, {the_a} or {the_b}?" % word)[rng.integers(2)]
    # The finding names the winner by its place in the question first ("The first, the water,
    # is larger."): the letter is then a fixed function of one word, as with the ranges.
    think = "%s %s The %s, %s, %s %s." % (ctx.seg(rng, a), _seg_sentence(rng, b),
                                          ("first", "second")[idx], _the(winner), _is(winner),
                                          word)
    return TaskItem(q.format(a=name[a], b=name[b], the_a=_the(a), the_b=_the(b)), options, idx,
                    think, LETTERS[idx], [ctx.mask(a), ctx.mask(b)],
                    meta={"classes": [a, b], "pixels": [int(ctx.counts[a]), int(ctx.counts[b])],
                          "larger": larger, "winner": winner})


def build_brd(rng, ctx, wish):
    """`wish` < 0.5 asks for an adjacent pair, else for a separated one."""
    want_adjacent = wish < 0.5
    masks = {c: ctx.mask(c) for c in ctx.present()}
    cands = [(a, b) for a, b in _pairs(ctx) if adjacent(masks[a], masks[b]) == want_adjacent]
    if not cands:
        return None
    a, b = _ordered(rng, cands[rng.integers(len(cands))])
    options, idx = ["Yes", "No"], (0 if want_adjacent else 1)
    q = ("Does {a} touch {b}?", "Are {a} and {b} adjacent?",
         "Do {a} and {b} share a boundary?")[rng.integers(3)]
    # The finding opens with the option's own word (Yes / No), as CR's names its place.
    if want_adjacent:
        tail = ("Yes, they share a boundary.", "Yes, they touch.")[rng.integers(2)]
    else:
        tail = ("No, they do not touch.", "No, they are separated.")[rng.integers(2)]
    think = "%s %s %s" % (ctx.seg(rng, a), _seg_sentence(rng, b), tail)
    return TaskItem(q.format(a=_the(a), b=_the(b)), options, idx, think, LETTERS[idx],
                    [masks[a], masks[b]], meta={"classes": [a, b], "adjacent": want_adjacent})



def build_dm(rng, ctx, wish=None, pixel_size_m=scenes.PIXEL_SIZE_M):
    """Distance between two non-adjacent regions of the compact object classes (a pond, a
    hamlet, a sand pit: scenes.OBJECT_KINDS) when the scene has two of them."""
    masks = {c: ctx.mask(c) for c in ctx.present()}
    cands = [(a, b) for a, b in _pairs(ctx) if not adjacent(masks[a], masks[b])
             and a in scenes.OBJECT_KINDS and b in scenes.OBJECT_KINDS]
    if not cands:
        return None
    pair = cands[rng.integers(len(cands))]
    d_px = min_distance_px(masks[pair[0]], masks[pair[1]])
    a, b = _ordered(rng, pair)  # the distance is symmetric
    metres = int(round(d_px * pixel_size_m))
    idx = range_index(metres, DM_EDGES_M)
    options = list(DM_RANGES)
    q = ("What is the shortest distance between {a} and {b}?", "How far is {a} from {b}?",
         "What is the gap between {a} and {b}?")[rng.integers(3)]
    # Grounded steps: where each object lies (its lot), how many lots apart, then the range.
    (ra, ca), (rb, cb) = lot_of(masks[a]), lot_of(masks[b])
    where = "It lies in row %d, column %d."
    apart = "They are %s and %s apart." % (_count(abs(ra - rb), "row"), _count(abs(ca - cb), "column"))
    tail = ("Their closest pixels are {d} apart.", "The gap is {d}.")[rng.integers(2)]
    think = " ".join([ctx.seg(rng, a), where % (ra, ca), _seg_sentence(rng, b), where % (rb, cb),
                      apart, tail.format(d=options[idx])])
    return TaskItem(q.format(a=_the(a), b=_the(b)), options, idx, think, LETTERS[idx],
                    [masks[a], masks[b]],
                    meta={"classes": [a, b], "distance_px": d_px, "distance_m": metres,
                          "lots": [[ra, ca], [rb, cb]]})


def build_seg(rng, ctx, wish=None):
    choices = ctx.present(max(MIN_REGION_PX, int(0.01 * ctx.valid)))
    if not choices:
        return None
    cls = _prefer(rng, ctx, choices)
    q = ("Segment {the}.", "Where is {the} in this image?", "Show {the}.",
         "Please segment {the}.")[rng.integers(4)]
    return TaskItem(q.format(the=_the(cls)), [], None, ctx.seg(rng, cls),
                    scenes.CLASS_NAMES[cls], [ctx.mask(cls)], meta={"classes": [cls]})


def build_bce(rng, destroyed_count, pre_mask, destroyed_mask):
    """Building change over a pre/post pair; the scene side (placing and rendering buildings) is
    records.py's. Masks: the buildings before the event on frame 0, the destroyed ones on frame 1
    (the release feeds region tokens of frame seg_count % frames: pre, then post)."""
    d = int(destroyed_count)
    idx = range_index(d, BCE_EDGES)
    options = list(BCE_RANGES)
    q = ("How many buildings were destroyed between the two images?",
         "How many buildings are destroyed in the post-event image?",
         "Count the buildings destroyed between the pre and post images.")[rng.integers(3)]
    first = ("The buildings before the event are [SEG].",
             "Before the event the buildings are [SEG].")[rng.integers(2)]
    second = ("The destroyed ones are [SEG].",
              "After it, the destroyed buildings are [SEG].")[rng.integers(2)]
    count = "Destroyed buildings: %s." % options[idx]
    return TaskItem(q, options, idx, " ".join([first, second, count]), LETTERS[idx],
                    [pre_mask, destroyed_mask], mask_frames=[0, 1],
                    meta={"destroyed": d})


BUILDERS = {"CA": build_ca, "AQ": build_aq, "CR": build_cr, "BRD": build_brd, "DM": build_dm,
            "SEG": build_seg}
