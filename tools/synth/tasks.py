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
MIN_REGION_PX = 20          # smallest region a question refers to
CA_MIN_SHARE = 0.05         # TerraScope-Bench: classes >= 5%
CR_MIN_REL_DIFF = 0.10      # TerraScope-Bench: area difference > 10%
CLOUD_NOTE_SHARE = 0.15     # mention the SAR view when clouds hide this much of a region


class TaskItem:
    """question (without options), candidates (option texts, or [] for SEG), answer_index (or None),
    think (reasoning with [SEG] markers), answer_text (what goes in <answer>), masks (HxW bool, one
    per [SEG]), mask_frames (frame index per mask for time series, else None), meta (the numbers
    behind the answer, for tests and reports)."""

    def __init__(self, question, candidates, answer_index, think, answer_text, masks,
                 mask_frames=None, meta=None):
        self.question = question
        self.candidates = candidates
        self.answer_index = answer_index
        self.think = think
        self.answer_text = answer_text
        self.masks = masks
        self.mask_frames = mask_frames
        self.meta = meta or {}

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


def _covers(cls):
    return "cover" if cls == scenes.ROAD else "covers"


def _seg_sentence(rng, cls):
    forms = ("{The} {is} [SEG].", "{The} {is} here: [SEG].", "I find {the}: [SEG].")
    return forms[rng.integers(len(forms))].format(The=_The(cls), the=_the(cls), **{"is": _is(cls)})


def _pct(share, other=None):
    """Percent text; one decimal when whole percents would make two different shares look equal."""
    if other is not None and round(100 * share) == round(100 * other) and share != other:
        return "%.1f%%" % (100 * share)
    return "%d%%" % round(100 * share)


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


# ---------------------------------------------------------------- options

def _place(rng, correct, distractors):
    """Options with the correct one at a uniformly drawn position, distractors in random order."""
    n = len(distractors) + 1
    idx = int(rng.integers(n))
    others = [distractors[i] for i in rng.permutation(len(distractors))]
    return others[:idx] + [correct] + others[idx:], idx


def _spread_values(rng, true, values, far_enough, closeness, k=3):
    """k distractors from `values`, each far enough from the truth and from each other; values
    with a higher closeness(v) weight (nearer the truth) are more likely: plausible distractors."""
    chosen = [true]
    values = np.asarray(values)
    base = closeness(values.astype(np.float64))
    for _ in range(k):
        ok = np.array([all(far_enough(v, c) for c in chosen) for v in values.tolist()])
        if not ok.any():
            return None
        wts = base * ok
        chosen.append(values[rng.choice(len(values), p=wts / wts.sum())].item())
    return chosen[1:]


def _percent_distractors(rng, true_pct):
    return _spread_values(rng, true_pct, np.arange(1, 100), lambda v, c: abs(v - c) >= 7,
                          lambda v: np.exp(-np.abs(v - true_pct) / 20.0))


def _ratio_distractors(rng, true, lo, hi, gap):
    grid = np.unique(np.round(true * np.exp(np.linspace(-1.5, 1.5, 61))))
    grid = grid[(grid >= lo) & (grid <= hi)]
    return _spread_values(rng, true, grid, lambda v, c: max(v, c) / max(min(v, c), 1e-9) >= gap,
                          lambda v: np.exp(-np.abs(np.log(v / true)) / 0.6))


# ---------------------------------------------------------------- builders

def build_ca(rng, ctx, wish=None):
    choices = [c for c in ctx.present() if ctx.share(c) >= CA_MIN_SHARE]
    if not choices:
        return None
    cls = _prefer(rng, ctx, choices)
    pct = round(100 * ctx.share(cls))
    distract = _percent_distractors(rng, pct)
    if distract is None:
        return None
    options, idx = _place(rng, "%d%%" % pct, ["%d%%" % d for d in distract])
    q = ("What percentage of the image is covered by {c}?",
         "What share of the scene does {the} cover?",
         "How much of the area is {c}, in percent?")[rng.integers(3)]
    tail = ("It covers about {p} of the valid area.", "That is {p} of the scene.",
            "Its share of the image is {p}.")[rng.integers(3)]
    think = ctx.seg(rng, cls) + " " + tail.format(p="%d%%" % pct)
    return TaskItem(q.format(c=scenes.CLASS_NAMES[cls], the=_the(cls)), options, idx, think,
                    LETTERS[idx], [ctx.mask(cls)],
                    meta={"classes": [cls], "share": ctx.share(cls), "percent": pct})


def format_area_m2(m2):
    return "%d m²" % m2


def build_aq(rng, ctx, wish=None, pixel_area_m2=100.0):
    choices = ctx.present()
    cls = _prefer(rng, ctx, choices)
    n = int(ctx.counts[cls])
    distract = _ratio_distractors(rng, n, 1, ctx.valid, 1.25)
    if distract is None:
        return None
    area = int(round(n * pixel_area_m2))
    options, idx = _place(rng, format_area_m2(area),
                          [format_area_m2(int(round(d * pixel_area_m2))) for d in distract])
    q = ("What is the area of {the} in this image?", "How large {is} {the}, in square metres?",
         "Estimate the total area covered by {c}.")[rng.integers(3)]
    tail = ("{n} pixels x 100 m² = {a}.", "{n} pixels give {a}.",
            "Its {n} pixels cover {a}.")[rng.integers(3)]
    think = ctx.seg(rng, cls) + " " + tail.format(n=n, a=format_area_m2(area))
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
    options, idx = _place(rng, name[winner], [name[small if larger else big]])
    word = "larger" if larger else "smaller"
    q = ("Which covers a %s area: {a} or {b}?" % word,
         "Which is %s, {the_a} or {the_b}?" % word)[rng.integers(2)]
    sa, sb = ctx.share(a), ctx.share(b)
    think = "%s %s %s %s and %s %s, so %s is %s." % (
        ctx.seg(rng, a), _seg_sentence(rng, b), _The(a), _covers(a) + " " + _pct(sa, sb),
        _the(b), _pct(sb, sa), _the(winner), word)
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
    options, idx = _place(rng, "Yes" if want_adjacent else "No",
                          ["No" if want_adjacent else "Yes"])
    q = ("Does {a} touch {b}?", "Are {a} and {b} adjacent?",
         "Do {a} and {b} share a boundary?")[rng.integers(3)]
    if want_adjacent:
        tail = ("They share a boundary.", "They touch.")[rng.integers(2)]
    else:
        tail = ("They do not touch.", "They are separated.")[rng.integers(2)]
    think = "%s %s %s" % (ctx.seg(rng, a), _seg_sentence(rng, b), tail)
    return TaskItem(q.format(a=_the(a), b=_the(b)), options, idx, think, LETTERS[idx],
                    [masks[a], masks[b]], meta={"classes": [a, b], "adjacent": want_adjacent})


def format_distance_m(m):
    return "%d m" % m


def build_dm(rng, ctx, wish=None, pixel_size_m=scenes.PIXEL_SIZE_M):
    masks = {c: ctx.mask(c) for c in ctx.present()}
    cands = [(a, b) for a, b in _pairs(ctx) if not adjacent(masks[a], masks[b])]
    if not cands:
        return None
    a, b = _ordered(rng, cands[rng.integers(len(cands))])
    d_px = min_distance_px(masks[a], masks[b])
    metres = int(round(d_px * pixel_size_m))
    h, w = ctx.labels.shape
    distract = _ratio_distractors(rng, metres, 10, int(np.hypot(h, w) * pixel_size_m), 1.3)
    if distract is None:
        return None
    options, idx = _place(rng, format_distance_m(metres), [format_distance_m(d) for d in distract])
    q = ("What is the shortest distance between {a} and {b}?", "How far is {a} from {b}?",
         "What is the gap between {a} and {b}?")[rng.integers(3)]
    tail = ("Their closest pixels are {d} apart.", "The nearest points are {d} apart.",
            "The gap is about {d}.")[rng.integers(3)]
    think = "%s %s %s" % (ctx.seg(rng, a), _seg_sentence(rng, b),
                          tail.format(d=format_distance_m(metres)))
    return TaskItem(q.format(a=_the(a), b=_the(b)), options, idx, think, LETTERS[idx],
                    [masks[a], masks[b]],
                    meta={"classes": [a, b], "distance_px": d_px, "distance_m": metres})


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
    distract = _spread_values(rng, d, np.arange(0, 13), lambda v, c: v != c,
                              lambda v: np.exp(-np.abs(v - d) / 3.0))
    options, idx = _place(rng, str(d), [str(v) for v in distract])
    q = ("How many buildings were destroyed between the two images?",
         "How many buildings are destroyed in the post-event image?",
         "Count the buildings destroyed between the pre and post images.")[rng.integers(3)]
    first = ("The buildings before the event are [SEG].",
             "Before the event the buildings are [SEG].")[rng.integers(2)]
    second = ("The destroyed ones are [SEG].",
              "After it, the destroyed buildings are [SEG].")[rng.integers(2)]
    count = "1 building was destroyed." if d == 1 else "%d buildings were destroyed." % d
    return TaskItem(q, options, idx, " ".join([first, second, count]), LETTERS[idx],
                    [pre_mask, destroyed_mask], mask_frames=[0, 1],
                    meta={"destroyed": d})


BUILDERS = {"CA": build_ca, "AQ": build_aq, "CR": build_cr, "BRD": build_brd, "DM": build_dm,
            "SEG": build_seg}
