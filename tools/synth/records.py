"""Samples from seeds, COCO RLE, and the bench / Terra-CoT records written from them.

Split: the held-out synthetic bench uses seeds 0..N-1 (tools/make_synth_bench.py); training draws
seeds >= TRAIN_SEED_BASE on the fly (`train_sample(i)`), so the two never share a scene.

A sample (`make_sample`) is a dict of numpy arrays and text:
  id, seed, task_type ("CA" "AQ" "CR" "BRD" "DM" "BCE" "SEG"), modality ("optical",
  "optical+sar", "series"), optical (HxWx3 uint8, None for series), sar (HxWx3 uint8 pseudo-RGB
  [VH, VV, (VH+VV)/2] or None), frames ([pre, post] HxWx3 uint8 or None), masks (list of HxW bool,
  one per [SEG] of the reasoning, in order), mask_frames (frame index per mask for series, else
  None), question (without options), options (texts without letters), answer (letter or None for
  SEG), prompt (question + "\\nA. ...\\nB. ...\\n", the benchmark's shape), cot (Terra-CoT text),
  labels (HxW uint8 class map), cloud (HxW opacity or None), meta (numbers behind the answer),
  geotransform (GDAL order), epsg, pixel_size (m).
"""

import numpy as np

from . import sar, scenes, tasks

TRAIN_SEED_BASE = 1_000_000
DEFAULT_SIZE = 128
MODALITIES = ("optical", "optical+sar", "series")
SAR_SHARE = 0.35            # share of non-series training samples that come with SAR
MAX_SCENE_TRIES = 50
# Building footprints of the change pairs: 60..100 m a side (warehouses, blocks), so that each one
# spans a few cells of the masks SAM-2 predicts at a quarter of its input size.
BCE_BUILDING_PX = (6, 10)
MAX_SLOT_TRIES = 200        # scene redraws to put the answer in a wanted slot


# ---------------------------------------------------------------- COCO RLE

def rle_counts(mask):
    """Run lengths of a HxW mask in column-major order, starting with a (possibly empty) run of 0s,
    as COCO (pycocotools' rleEncode) defines them."""
    flat = np.asarray(mask, dtype=bool).ravel(order="F")
    if flat.size == 0:
        return []
    change = np.flatnonzero(flat[1:] != flat[:-1]) + 1
    bounds = np.concatenate([[0], change, [flat.size]])
    runs = np.diff(bounds).tolist()
    if flat[0]:
        runs = [0] + runs
    return runs


def counts_to_string(counts):
    """COCO's compressed counts string: each count (from the fourth on, minus the count two places
    before it) in little-endian groups of 5 bits, bit 0x20 = more groups follow, sign taken from bit
    0x10 of the last group, each group + 48 as one ASCII character."""
    out = []
    for i, count in enumerate(counts):
        x = int(count) - (int(counts[i - 2]) if i > 2 else 0)
        while True:
            c = x & 0x1F
            x >>= 5  # arithmetic shift, as on the C long
            more = (x != -1) if (c & 0x10) else (x != 0)
            if more:
                c |= 0x20
            out.append(chr(c + 48))
            if not more:
                break
    return "".join(out)


def string_to_counts(s):
    counts = []
    p = 0
    while p < len(s):
        x, k, more = 0, 0, True
        while more:
            if p >= len(s):
                raise ValueError("RLE string ends inside a count: %r" % s)
            c = ord(s[p]) - 48
            x |= (c & 0x1F) << (5 * k)
            more = bool(c & 0x20)
            p += 1
            k += 1
            if not more and (c & 0x10):
                x |= -1 << (5 * k)
        if len(counts) > 2:
            x += counts[-2]
        counts.append(x)
    return counts


def rle_encode(mask):
    """{"size": [h, w], "counts": str}: COCO compressed RLE of a HxW boolean mask."""
    h, w = np.asarray(mask).shape
    return {"size": [int(h), int(w)], "counts": counts_to_string(rle_counts(mask))}


def rle_decode(rle):
    """HxW bool mask of a COCO RLE ({"size", "counts"}; counts a string or a list of ints)."""
    h, w = rle["size"]
    counts = rle["counts"]
    if isinstance(counts, (bytes, str)):
        counts = string_to_counts(counts.decode() if isinstance(counts, bytes) else counts)
    if any(c < 0 for c in counts) or sum(counts) != h * w:
        raise ValueError("RLE counts do not cover a %dx%d mask (sum %d)" % (h, w, sum(counts)))
    values = np.zeros(len(counts), dtype=bool)
    values[1::2] = True
    flat = np.repeat(values, counts)
    return flat.reshape((w, h)).T.copy()


# ---------------------------------------------------------------- prompts and records

def format_prompt(question, options):
    """The benchmark's shape (infer_terrascope_bench.py format_question_with_candidates), without
    the instruction and <image> placeholder the engine adds: question, then one line per option."""
    text = question + "\n"
    for letter, option in zip(tasks.LETTERS, options):
        text += "%s. %s\n" % (letter, option)
    return text


def _centres(boxes):
    return [((y0 + y1) / 2.0, (x0 + x1) / 2.0) for y0, x0, y1, x1 in boxes]


def _series_sample(rng, h, w):
    """Pre/post pair: buildings on land; some destroyed (rubble in their footprint), a few new
    ones built (which do not count). Both frames share the labels and the grid. Every building
    stands on its own lot and covers the lot's centre (scenes.place_buildings_on_lots), so the
    release's region mapping gives one <REGION> row per building of a mask."""
    for _ in range(MAX_SCENE_TRIES):
        labels, parcels, _, flooded = scenes.make_labels(rng, h, w)
        no_roofs = np.zeros((h, w), dtype=bool)  # every visible building is a counted instance
        boxes, lots = scenes.place_buildings_on_lots(rng, labels, int(rng.integers(4, 11)),
                                                     BCE_BUILDING_PX)
        if len(boxes) >= 3:
            break
    else:
        raise RuntimeError("no scene with buildings after %d tries" % MAX_SCENE_TRIES)
    geotransform, epsg = scenes.random_geo(rng, h, w)
    destroyed_n = int(rng.integers(1, min(8, len(boxes)) + 1))
    order = rng.permutation(len(boxes))
    destroyed = [boxes[i] for i in order[:destroyed_n]]
    intact = [boxes[i] for i in order[destroyed_n:]]
    new, _ = scenes.place_buildings_on_lots(rng, labels, int(rng.integers(0, 3)), BCE_BUILDING_PX,
                                            taken_lots=lots)
    # Same sensor, similar light: the post frame's haze and gain stay near the pre frame's.
    # The place keeps its colours and textures (style_seed); sensor noise is new.
    haze, gain = rng.uniform(8, 45), rng.uniform(0.9, 1.12)
    style = int(rng.integers(0, 2 ** 62))
    pre = scenes.render_optical(rng, labels, parcels, no_roofs, haze=haze, gain=gain,
                                style_seed=style, flooded=flooded,
                                extra_layers=[scenes.roof_layer(rng, (h, w), boxes)])
    post = scenes.render_optical(rng, labels, parcels, no_roofs, haze=haze + rng.normal(0, 3),
                                 gain=gain * (1.0 + rng.normal(0, 0.03)), style_seed=style,
                                 flooded=flooded,
                                 extra_layers=[scenes.roof_layer(rng, (h, w), intact + new),
                                               scenes.rubble_layer(rng, (h, w), destroyed)])
    item = tasks.build_bce(rng, destroyed_n, scenes.boxes_mask((h, w), boxes),
                           scenes.boxes_mask((h, w), destroyed))
    item.meta.update({"buildings_pre": len(boxes), "buildings_new": len(new),
                      # box centres (row, col) of what each frame shows, for training's count probe
                      "centres": {"roofs_pre": _centres(boxes), "roofs_post": _centres(intact + new),
                                  "rubble": _centres(destroyed)}})
    return {"labels": labels, "frames": [pre, post], "optical": None, "sar": None,
            "cloud": None, "item": item, "geotransform": geotransform, "epsg": epsg}


def _single_sample(rng, task, with_sar, h, w):
    """One scene (optical, optionally SAR and clouds) that supports the task. `wish` is drawn
    before the scenes so that a redrawn scene cannot bias the kind of answer (BRD yes / no)."""
    wish = rng.random()
    for _ in range(MAX_SCENE_TRIES):
        # DM: two compact objects on their own lots (scenes.make_object_scene); the distance
        # between the large irregular regions of other scenes is mostly under one vision token.
        scene = (scenes.make_object_scene if task == "DM" else scenes.make_scene)(rng, h, w)
        labels = scene.labels
        cloud = None
        if with_sar and rng.random() < 0.7:
            # Clouds over the water when there is some: content only the SAR image shows.
            water = np.argwhere(labels == scenes.WATER)
            centre = (water[rng.integers(len(water))]
                      if len(water) and rng.random() < 0.6 else None)
            cloud = scenes.cloud_alpha(rng, h, w, rng.uniform(0.15, 0.45), centre)
        elif not with_sar and rng.random() < 0.1:
            cloud = scenes.cloud_alpha(rng, h, w, rng.uniform(0.03, 0.1))
        ctx = tasks.Context(labels, cloud, with_sar)
        item = tasks.BUILDERS[task](rng, ctx, wish)
        if item is not None:
            break
    else:
        raise RuntimeError("no scene supports task %s after %d tries" % (task, MAX_SCENE_TRIES))
    optical = scenes.render_optical(rng, labels, scene.parcels, scene.roofs,
                                    flooded=scene.flooded)
    if cloud is not None:
        optical = scenes.add_clouds(rng, optical, cloud)
    sar_rgb = sar.render_sar(rng, labels, scene.parcels, scene.roofs) if with_sar else None
    return {"labels": labels, "frames": None, "optical": optical, "sar": sar_rgb, "cloud": cloud,
            "item": item, "geotransform": scene.geotransform, "epsg": scene.epsg}


def _move_answer(item, slot):
    """Puts the correct option at position `slot` (modulo the number of options), by swapping."""
    if item.answer_index is None or item.ordered:
        return
    slot %= len(item.candidates)
    c = item.candidates
    c[slot], c[item.answer_index] = c[item.answer_index], c[slot]
    item.answer_index = slot
    item.answer_text = tasks.LETTERS[slot]


def make_sample(seed, task=None, modality=None, size=DEFAULT_SIZE, answer_slot=None):
    """The sample of one seed (same seed and arguments -> same arrays and text). `task` None draws
    one of the seven; `modality` None draws optical or optical+SAR (BCE is always a series);
    `size` is an int or (h, w); `answer_slot` (the letter balance of the bench and of training)
    makes the correct option the one at that position (modulo the number of options)."""
    h, w = (size, size) if np.isscalar(size) else size
    rng = np.random.default_rng(seed)
    if task is None:
        task = tasks.TASKS[int(rng.integers(len(tasks.TASKS)))]
    if task not in tasks.TASKS:
        raise ValueError("unknown task %r (one of %s)" % (task, ", ".join(tasks.TASKS)))
    if task == "BCE":
        if modality not in (None, "series"):
            raise ValueError("BCE is a pre/post series, not %r" % modality)
        modality = "series"
    elif modality is None:
        modality = "optical+sar" if rng.random() < SAR_SHARE else "optical"
    elif modality not in ("optical", "optical+sar"):
        raise ValueError("task %s takes modality optical or optical+sar, not %r" % (task, modality))

    for attempt in range(MAX_SLOT_TRIES):
        # Options in a fixed order (ranges ascending, question order, Yes/No) cannot be swapped:
        # the letter is balanced by drawing the scene again (sub-seed [seed, attempt]) until the
        # answer falls in the wanted slot.
        if attempt:
            rng = np.random.default_rng([seed, attempt])
        if task == "BCE":
            parts = _series_sample(rng, h, w)
        else:
            parts = _single_sample(rng, task, modality == "optical+sar", h, w)
        item = parts["item"]
        if answer_slot is None or item.answer_index is None:
            break
        if not item.ordered:
            _move_answer(item, answer_slot)
            break
        if item.answer_index == answer_slot % len(item.candidates):
            break
    else:
        raise RuntimeError("seed %d: no %s scene with answer slot %d after %d draws"
                           % (seed, task, answer_slot, MAX_SLOT_TRIES))
    return {
        "id": "synth-%07d-%s" % (seed, task),
        "seed": int(seed),
        "task_type": task,
        "modality": modality,
        "optical": parts["optical"],
        "sar": parts["sar"],
        "frames": parts["frames"],
        "masks": [np.asarray(m, dtype=bool) for m in item.masks],
        "mask_frames": item.mask_frames,
        "question": item.question,
        "options": list(item.candidates),
        "answer": item.answer_letter,
        "prompt": format_prompt(item.question, item.candidates) if item.candidates
        else item.question,
        "cot": item.cot(),
        "labels": parts["labels"],
        "cloud": parts["cloud"],
        "meta": item.meta,
        "geotransform": parts["geotransform"],
        "epsg": parts["epsg"],
        "pixel_size": scenes.PIXEL_SIZE_M,
    }


def train_sample(index, task=None, size=DEFAULT_SIZE):
    """Training sample number `index` (seed TRAIN_SEED_BASE + index; never a bench seed); the
    correct letter is drawn uniformly (its own sub-seed), so answers are balanced over letters."""
    if index < 0:
        raise ValueError("training sample index must be >= 0, got %d" % index)
    seed = TRAIN_SEED_BASE + index
    slot = int(np.random.default_rng([seed, 1 << 20]).integers(12))  # 12: a multiple of 2 and 4
    return make_sample(seed, task, size=size, answer_slot=slot)


def bench_plan(n, first_seed=0):
    """(seed, task, modality, answer_slot) of the held-out bench: tasks in turn; for the
    single-image tasks optical and optical+SAR in turn; the correct letter cycles through the
    options every second round, so tasks, modalities and letters are all balanced and independent
    (a letter is never tied to a modality)."""
    plan = []
    for i in range(n):
        task = tasks.TASKS[i % len(tasks.TASKS)]
        rnd = i // len(tasks.TASKS)
        if task == "BCE":
            modality = "series"
        else:
            modality = ("optical", "optical+sar")[rnd % 2]
        plan.append((first_seed + i, task, modality, rnd // 2))
    return plan


def bench_record(sample, image=None, sar_path=None, frames=None):
    """One line of bench.jsonl (docs/SYNTH.md); paths relative to the jsonl's folder."""
    gt = []
    for i, m in enumerate(sample["masks"]):
        rle = rle_encode(m)
        if sample["mask_frames"] is not None:
            rle["frame"] = int(sample["mask_frames"][i])
        gt.append(rle)
    return {
        "id": sample["id"],
        "task_type": sample["task_type"],
        "image": image,
        "sar": sar_path,
        "frames": frames,
        "question": sample["question"],
        "candidates": sample["options"],
        "answer": sample["answer"],
        "gt_masks": gt,
        "reasoning": sample["cot"],
    }


def terra_cot_record(sample, image=None, sar_path=None, frames=None):
    """The Terra-CoT training record shape (TERRASCOPE.md): conversations plus one group of COCO
    RLEs per [SEG]; series use pre_image / post_image."""
    rec = {}
    if frames is not None:
        rec["pre_image"], rec["post_image"] = frames
    else:
        rec["image"] = image
    if sar_path is not None:
        rec["sar_image"] = sar_path
    rec["conversations"] = [{"from": "human", "value": "<image>\n" + sample["prompt"]},
                            {"from": "gpt", "value": sample["cot"]}]
    rec["masks"] = [[rle_encode(m)] for m in sample["masks"]]
    return rec
