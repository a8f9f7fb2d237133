"""Land-cover scenes at 10 m with exact labels, rendered as 8-bit optical RGB.

A scene is a class map (water, vegetation, cropland, bare soil, built-up, road) built from smooth
noise fields (irregular natural regions), a rotated parcel grid (cropland fields), a sinuous river
or lakes (water), a blob of urban fabric with a street grid and building roofs (built-up), and
straight roads. The optical rendering follows what the real 10 m scenes in ../shared/data look like
once converted to 8 bits the way the release prepares BigEarthNet (reflectance 0..3000 -> 0..255):
dark, slightly blue water, dark green forest, a patchwork of green / ripe / ploughed fields, bright
soil, grey high-contrast built-up areas, a haze offset that lifts the blue channel (the RSVQA-LR
tiles have means near (45, 60, 70)), sensor noise and a small point-spread blur. Clouds (with their
shadows) hide part of some scenes; labels always describe the ground, not the cloud.
"""

import functools

import numpy as np

WATER, VEGETATION, CROPLAND, BARE_SOIL, BUILT_UP, ROAD = range(6)
CLASS_NAMES = ("water", "vegetation", "cropland", "bare soil", "built-up area", "roads")
NUM_CLASSES = len(CLASS_NAMES)

PIXEL_SIZE_M = 10.0
# Lots: a scene is cut into LOTS_PER_SIDE x LOTS_PER_SIDE squares, the vision tokens of
# terrascope-tiny (4x4 per 112 px tile; 320 m of a 128 px scene). See lot_centres.
LOTS_PER_SIDE = 4
OBJECT_KINDS = (WATER, BARE_SOIL, BUILT_UP)

# Surface colours in the 8-bit space of a 0..3000 reflectance clip (before haze).
_WATER_CLEAR = np.array([18.0, 28.0, 42.0])
_WATER_TURBID = np.array([52.0, 62.0, 58.0])
_FOREST = np.array([30.0, 48.0, 28.0])
_CROPS = np.array([[55.0, 86.0, 44.0],     # green crop
                   [78.0, 98.0, 52.0],     # young crop
                   [122.0, 112.0, 76.0],   # ripe cereal
                   [96.0, 78.0, 62.0],     # ploughed
                   [108.0, 104.0, 84.0]])  # stubble
_SOIL = np.array([[140.0, 122.0, 100.0], [168.0, 150.0, 120.0], [120.0, 100.0, 86.0]])
_URBAN = np.array([112.0, 106.0, 104.0])
_ROAD = np.array([92.0, 92.0, 98.0])
_ROOFS = np.array([[168.0, 162.0, 156.0], [140.0, 96.0, 82.0], [124.0, 126.0, 130.0],
                   [186.0, 182.0, 176.0]])
_MUD = np.array([96.0, 86.0, 72.0])
_RUBBLE = np.array([104.0, 88.0, 74.0])
_CLOUD = np.array([232.0, 232.0, 238.0])


@functools.lru_cache(maxsize=64)
def _interp_matrix(n, g):
    """n x g bilinear weights that stretch g control points over n pixel centres."""
    pos = (np.arange(n) + 0.5) / n * (g - 1)
    lo = np.minimum(np.floor(pos).astype(int), g - 2)
    frac = pos - lo
    m = np.zeros((n, g))
    m[np.arange(n), lo] = 1.0 - frac
    m[np.arange(n), lo + 1] = frac
    m.setflags(write=False)
    return m


def smooth_noise(rng, h, w, cells, octaves=3):
    """Fractal value noise with unit standard deviation: `cells` control intervals at the coarsest
    octave, each further octave twice as fine at half the amplitude."""
    out = np.zeros((h, w))
    amp = 1.0
    for k in range(octaves):
        g = cells * (2 ** k) + 1
        grid = rng.standard_normal((g, g))
        out += amp * (_interp_matrix(h, g) @ grid @ _interp_matrix(w, g).T)
        amp *= 0.5
    return (out - out.mean()) / (out.std() + 1e-9)


def box_blur3(img):
    """3x3 mean with edge replication (HxW or HxWxC)."""
    pad = [(1, 1), (1, 1)] + [(0, 0)] * (img.ndim - 2)
    p = np.pad(img, pad, mode="edge")
    h, w = img.shape[:2]
    acc = np.zeros(img.shape, dtype=np.float64)
    for dy in range(3):
        for dx in range(3):
            acc += p[dy:dy + h, dx:dx + w]
    return acc / 9.0


def _coords(h, w):
    yy, xx = np.mgrid[0:h, 0:w]
    return yy.astype(np.float64), xx.astype(np.float64)


def _line_mask(yy, xx, p0, p1, width):
    """Pixels whose centre lies within width/2 of the infinite line through p0, p1."""
    (y0, x0), (y1, x1) = p0, p1
    dy, dx = y1 - y0, x1 - x0
    norm = np.hypot(dy, dx) + 1e-9
    dist = np.abs((yy - y0) * dx - (xx - x0) * dy) / norm
    return dist < width / 2.0


def _river_mask(rng, yy, xx, h, w):
    """A sinuous band across the scene, 4..9 pixels wide."""
    vertical = rng.random() < 0.5
    along, across, n_along, n_across = (yy, xx, h, w) if vertical else (xx, yy, w, h)
    centre = rng.uniform(0.2, 0.8) * n_across
    amp = rng.uniform(0.05, 0.2) * n_across
    wavelength = rng.uniform(0.6, 1.6) * n_along
    phase = rng.uniform(0, 2 * np.pi)
    drift = rng.uniform(-0.3, 0.3)
    path = centre + drift * (along - n_along / 2) + amp * np.sin(2 * np.pi * along / wavelength +
                                                                phase)
    width = rng.uniform(4.0, 9.0)
    return np.abs(across - path) < width / 2.0


class Scene:
    """One scene on a projected grid: `labels` (HxW uint8 class ids, every pixel valid), `parcels`
    (HxW int field ids, for rendering), `roofs` (HxW bool, building roofs inside built-up areas,
    rendering only), `flooded` (HxW bool, water over fields, rendering only), `geotransform`
    (GDAL order), `epsg` (a UTM zone), pixel size in metres."""

    def __init__(self, labels, parcels, roofs, geotransform, epsg, flooded=None):
        self.labels = labels
        self.flooded = flooded
        self.parcels = parcels
        self.roofs = roofs
        self.geotransform = geotransform
        self.epsg = epsg
        self.pixel_size = PIXEL_SIZE_M

    @property
    def shape(self):
        return self.labels.shape


def random_geo(rng, h, w):
    """A north-up UTM grid (WGS 84, north or south zone) with 10 m pixels on a 10 m lattice."""
    zone = int(rng.integers(1, 61))
    epsg = (32600 if rng.random() < 0.7 else 32700) + zone
    x0 = 10.0 * int(rng.integers(20_000, 70_000))
    y0 = 10.0 * int(rng.integers(100_000, 900_000))
    del h, w  # the grid is fixed by its origin and pixel size
    return (x0, PIXEL_SIZE_M, 0.0, y0, 0.0, -PIXEL_SIZE_M), epsg


def _parcel_grid(rng, yy, xx):
    """Cropland parcels: a rotated grid of fields, 50..140 m by 100..280 m (HxW int field ids)."""
    theta = rng.uniform(0, np.pi / 2)
    u = xx * np.cos(theta) + yy * np.sin(theta)
    v = -xx * np.sin(theta) + yy * np.cos(theta)
    pu, pv = rng.uniform(5, 14), rng.uniform(10, 28)  # fields are often elongated
    return np.floor(u / pu).astype(np.int64) * 1000 + np.floor(v / pv).astype(np.int64)


def _street_roofs(rng, yy, xx, blob):
    """Bright roof specks (10..30 m buildings) between the lines of a street grid inside `blob`."""
    step = int(rng.integers(6, 11))
    offy, offx = int(rng.integers(0, step)), int(rng.integers(0, step))
    street = (((yy.astype(int) + offy) % step == 0) | ((xx.astype(int) + offx) % step == 0))
    return blob & ~street & (rng.random(blob.shape) < 0.3)


def make_labels(rng, h, w):
    """Class map, parcel ids, roof mask and flooded-field mask (water, rendering only)."""
    yy, xx = _coords(h, w)
    cells = int(rng.integers(2, 5))
    # Natural background: the class with the largest (noise + bias) wins.
    bias = rng.normal(0.0, 0.6, 3)
    bias[rng.random(3) < 0.15] = -9.0  # sometimes a class is absent
    fields = np.stack([smooth_noise(rng, h, w, cells) + b for b in bias])
    natural = np.array([VEGETATION, CROPLAND, BARE_SOIL], dtype=np.uint8)[fields.argmax(0)]
    labels = natural.copy()

    parcels = _parcel_grid(rng, yy, xx)

    # Built-up: a blob around a centre, with a street grid.
    roofs = np.zeros((h, w), dtype=bool)
    if rng.random() < 0.6:
        cy, cx = rng.uniform(0.15, 0.85) * h, rng.uniform(0.15, 0.85) * w
        radius = rng.uniform(0.12, 0.35) * min(h, w)
        r = np.hypot(yy - cy, xx - cx) / radius
        blob = (1.0 - r) + 0.35 * smooth_noise(rng, h, w, 4, octaves=2) > 0
        labels[blob] = BUILT_UP
        roofs = _street_roofs(rng, yy, xx, blob)  # rendering only

    # Water: lakes from a thresholded field and/or a river, and sometimes flooded fields (as the
    # sen1floods11 chip: the water takes the shape of parcels).
    water = np.zeros((h, w), dtype=bool)
    flooded = np.zeros((h, w), dtype=bool)
    crop = labels == CROPLAND
    if rng.random() < 0.25 and crop.any():
        ids = np.unique(parcels[crop])
        chosen = ids[rng.random(len(ids)) < rng.uniform(0.15, 0.5)]
        flooded = crop & np.isin(parcels, chosen)
        water |= flooded
    if rng.random() < 0.45:
        lake = smooth_noise(rng, h, w, int(rng.integers(2, 4)))
        water |= lake > rng.uniform(0.6, 1.6)
    if rng.random() < 0.4:
        water |= _river_mask(rng, yy, xx, h, w)

    # Roads: straight lines across the scene, 3..5 pixels (30..50 m: carriageways with their
    # verges and embankments). The street grid stays part of the built-up area: one-pixel streets
    # are texture at 10 m, not something a mask at a quarter of the SAM-2 input could outline.
    roads = np.zeros((h, w), dtype=bool)
    for _ in range(int(rng.integers(0, 3))):
        p0 = (rng.uniform(0, h), rng.uniform(0, w))
        p1 = (rng.uniform(0, h), rng.uniform(0, w))
        roads |= _line_mask(yy, xx, p0, p1, rng.uniform(3.0, 5.0))

    labels[roads] = ROAD
    labels[water] = WATER  # bridges are not modelled: water wins
    roofs &= labels == BUILT_UP
    flooded &= labels == WATER
    return labels.astype(np.uint8), parcels, roofs, flooded


def render_optical(rng, labels, parcels, roofs, haze=None, gain=None, extra_layers=(),
                   style_seed=None, flooded=None):
    """8-bit RGB of a class map. `extra_layers` are (mask, rgb HxWx3 or 3-vector) painted last
    (buildings of a time series). With `style_seed` the colours and textures come from that seed
    (two frames of one place share them); sensor noise, haze and gain always come from rng."""
    h, w = labels.shape
    style = rng if style_seed is None else np.random.default_rng(style_seed)
    img = np.zeros((h, w, 3))
    fine = style.standard_normal((h, w))  # pixel grain; the PSF blur below correlates it
    coarse = smooth_noise(style, h, w, 3, octaves=2)

    turbidity = style.random()
    water_rgb = (1 - turbidity) * _WATER_CLEAR + turbidity * _WATER_TURBID
    m = labels == WATER
    img[m] = water_rgb * (1.0 + 0.06 * coarse[m, None])
    if flooded is not None and flooded.any():
        # Shallow muddy water over fields: between water and mud, varying from field to field.
        ids, inv = np.unique(parcels[flooded], return_inverse=True)
        mix = style.uniform(0.0, 0.45, len(ids))[inv, None]
        img[flooded] = (1 - mix) * _WATER_TURBID + mix * _MUD

    m = labels == VEGETATION
    canopy = 1.0 + 0.14 * fine[m, None] + 0.08 * coarse[m, None]
    img[m] = _FOREST * style.uniform(0.85, 1.2) * canopy

    # Each parcel gets its own crop colour, deterministic in the parcel id and the scene.
    m = labels == CROPLAND
    if m.any():
        ids, inv = np.unique(parcels[m], return_inverse=True)
        choice = style.integers(0, len(_CROPS), len(ids))
        tone = style.uniform(0.85, 1.15, len(ids))
        img[m] = _CROPS[choice][inv] * tone[inv, None] * (1.0 + 0.05 * fine[m, None])

    m = labels == BARE_SOIL
    soil = _SOIL[style.integers(0, len(_SOIL))]
    img[m] = soil * (1.0 + 0.12 * coarse[m, None] + 0.06 * fine[m, None])

    m = labels == BUILT_UP
    img[m] = _URBAN * (1.0 + 0.15 * style.standard_normal((int(m.sum()), 1)))
    if roofs.any():
        roof_rgb = _ROOFS[style.integers(0, len(_ROOFS), int(roofs.sum()))]
        img[roofs] = roof_rgb * style.uniform(0.85, 1.1, (int(roofs.sum()), 1))

    m = labels == ROAD
    img[m] = _ROAD * (1.0 + 0.05 * fine[m, None])

    for mask, rgb in extra_layers:
        img[mask] = rgb[mask] if np.ndim(rgb) == 3 else rgb

    img = 0.55 * img + 0.45 * box_blur3(img)  # point-spread function of a 10 m sensor
    grey = img.mean(-1, keepdims=True)
    img = grey + 0.8 * (img - grey)  # real 10 m scenes are less saturated than the palette
    haze = rng.uniform(8, 45) if haze is None else haze
    img += haze * np.array([0.55, 0.75, 1.0])
    img *= rng.uniform(0.9, 1.12) if gain is None else gain
    img += rng.normal(0.0, 2.5, img.shape)  # sensor noise
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def photometric_jitter(rng, images):
    """Training-only colour randomisation of one place's 8-bit RGB frames (the same draw for all
    of them): a lower contrast about the mean (0.45..1), less saturation (0..60% towards grey),
    a per-channel gain (0.9..1.1) and an offset (-15..+35, the same sign on every channel, as
    a thicker or thinner atmosphere). Top-of-atmosphere Level-1C scenes such as the sen1floods11
    chip are greyer and flatter than the palette above; the labels do not change."""
    contrast = rng.uniform(0.45, 1.0)
    desaturate = rng.uniform(0.0, 0.6)
    gain = rng.uniform(0.9, 1.1, 3)
    offset = rng.uniform(-15.0, 35.0) + rng.normal(0.0, 4.0, 3)
    out = []
    for img in images:
        x = img.astype(np.float64)
        mean = x.reshape(-1, 3).mean(0)
        x = mean + contrast * (x - mean)
        grey = x.mean(-1, keepdims=True)
        x = grey + (1.0 - desaturate) * (x - grey)
        out.append(np.clip(np.rint(x * gain + offset), 0, 255).astype(np.uint8))
    return out


def cloud_alpha(rng, h, w, coverage, centre=None):
    """Cloud opacity in [0,1] covering about `coverage` of the scene, optionally centred on a
    pixel (to hide a chosen region)."""
    field = smooth_noise(rng, h, w, int(rng.integers(2, 5)))
    if centre is not None:
        yy, xx = _coords(h, w)
        field += 2.5 * np.exp(-(((yy - centre[0]) ** 2 + (xx - centre[1]) ** 2) /
                                (2 * (0.25 * min(h, w)) ** 2)))
    thr = np.quantile(field, 1.0 - coverage)
    return np.clip((field - thr) * 4.0, 0.0, 1.0)


def add_clouds(rng, optical, alpha):
    """Thick clouds (with a displaced shadow) over an 8-bit image."""
    h, w = alpha.shape
    dy, dx = int(rng.integers(-6, 7)), int(rng.integers(-6, 7))
    shadow = np.roll(alpha, (dy, dx), axis=(0, 1)) * (1.0 - alpha)
    img = optical.astype(np.float64) * (1.0 - 0.55 * shadow[..., None])
    texture = 1.0 + 0.03 * smooth_noise(rng, h, w, 8, octaves=2)
    img = img * (1.0 - alpha[..., None]) + (_CLOUD * texture[..., None]) * alpha[..., None]
    return np.clip(np.rint(img), 0, 255).astype(np.uint8)


def make_scene(rng, h=128, w=128):
    labels, parcels, roofs, flooded = make_labels(rng, h, w)
    geotransform, epsg = random_geo(rng, h, w)
    return Scene(labels, parcels, roofs, geotransform, epsg, flooded)


def lot_centres(h, w, n=LOTS_PER_SIDE):
    """(row, col) of the pixel at the centre of each of n x n lots, row-major. For a 128 px scene
    these are the pixels 16, 48, 80, 112: the ones the release's nearest-neighbour region mapping
    (128 px -> 112 px tile -> 4x4 tokens) samples, so an object covering a lot's centre gets that
    lot's vision token as a <REGION> row."""
    return [(int((i + 0.5) * h / n), int((j + 0.5) * w / n)) for i in range(n) for j in range(n)]


def make_object_scene(rng, h=128, w=128, kinds=OBJECT_KINDS):
    """A rural scene (vegetation and cropland) with two compact objects of two different classes
    from `kinds` (a pond, a hamlet, a sand pit), 130..160 m across, each centred within 1 px of the
    centre of its own lot (lot_centres). DM asks about the distance between them: it then grows
    in steps of lots, which terrascope-tiny's <REGION> rows can show (one row per object)."""
    yy, xx = _coords(h, w)
    field = smooth_noise(rng, h, w, int(rng.integers(2, 5))) + rng.normal(0.0, 0.6)
    labels = np.where(field > 0, VEGETATION, CROPLAND).astype(np.uint8)
    parcels = _parcel_grid(rng, yy, xx)
    roofs = np.zeros((h, w), dtype=bool)
    centres = lot_centres(h, w)
    chosen_kinds = rng.choice(np.array(kinds), size=2, replace=False)
    lots = rng.choice(len(centres), size=2, replace=False)
    for kind, lot in zip(chosen_kinds, lots):
        cy, cx = (c + int(rng.integers(-1, 2)) for c in centres[lot])
        ry, rx = rng.uniform(6.5, 8.0, 2)
        r = np.hypot((yy - cy) / ry, (xx - cx) / rx)
        blob = r + 0.1 * smooth_noise(rng, h, w, 8, octaves=2) < 1.0
        blob[cy, cx] = True
        labels[blob] = kind
        if kind == BUILT_UP:
            roofs |= _street_roofs(rng, yy, xx, blob)
    geotransform, epsg = random_geo(rng, h, w)
    return Scene(labels, parcels, roofs, geotransform, epsg, np.zeros((h, w), dtype=bool))


def place_buildings_on_lots(rng, labels, count, size_range, taken_lots=()):
    """Up to `count` rectangular footprints, one per free lot (lot_centres), each centred on its
    lot's centre pixel and standing on land (not water, not road); lots that cannot take one are
    skipped. Returns (boxes, lots): (y0, x0, y1, x1) end exclusive, and the lot of each."""
    h, w = labels.shape
    allowed = (labels != WATER) & (labels != ROAD)
    # at most half a lot a side: buildings of neighbouring lots stay apart (small test scenes)
    top = min(size_range[1], min(h, w) // LOTS_PER_SIDE // 2)
    size_range = (min(size_range[0], top), top)
    centres = lot_centres(h, w)
    boxes, lots = [], []
    for lot in rng.permutation(len(centres)):
        if len(boxes) == count:
            break
        if int(lot) in taken_lots:
            continue
        cy, cx = centres[lot]
        for _ in range(10):
            bh = int(rng.integers(size_range[0], size_range[1] + 1))
            bw = int(rng.integers(size_range[0], size_range[1] + 1))
            # centred on the lot's centre (+-1 px): a mask a little smaller than the building
            # still covers that pixel
            y0 = min(max(1, cy - bh // 2 + int(rng.integers(-1, 2))), h - bh - 1)
            x0 = min(max(1, cx - bw // 2 + int(rng.integers(-1, 2))), w - bw - 1)
            if allowed[y0:y0 + bh, x0:x0 + bw].all():
                boxes.append((y0, x0, y0 + bh, x0 + bw))
                lots.append(int(lot))
                break
    return boxes, lots


def boxes_mask(shape, boxes):
    m = np.zeros(shape, dtype=bool)
    for y0, x0, y1, x1 in boxes:
        m[y0:y1, x0:x1] = True
    return m


def roof_layer(rng, shape, boxes):
    """Per-building roof colours with a one-pixel shadow on the south-east side (sun from NW)."""
    rgb = np.zeros(shape + (3,))
    mask = np.zeros(shape, dtype=bool)
    for y0, x0, y1, x1 in boxes:
        colour = _ROOFS[rng.integers(0, len(_ROOFS))] * rng.uniform(0.9, 1.1)
        rgb[y0:y1, x0:x1] = colour
        mask[y0:y1, x0:x1] = True
    shadow = np.roll(mask, (1, 1), axis=(0, 1)) & ~mask
    rgb[shadow] = np.array([40.0, 42.0, 48.0])
    return mask | shadow, rgb


def rubble_layer(rng, shape, boxes):
    """Destroyed buildings: mottled debris within the old footprint, no shadow."""
    rgb = np.zeros(shape + (3,))
    mask = boxes_mask(shape, boxes)
    n = int(mask.sum())
    rgb[mask] = _RUBBLE * (1.0 + 0.3 * rng.standard_normal((n, 1))) + rng.normal(0, 10, (n, 3))
    return mask, rgb
