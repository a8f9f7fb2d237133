"""synth: synthetic Earth-observation scenes with exact labels, and Terra-CoT samples over them.

numpy only and fast (a 128x128 sample in a few milliseconds), so that training can generate its
data on the fly from seeds. See docs/SYNTH.md for the classes, the rendering, the six
TerraScope-Bench tasks with their ground-truth rules, the seed split and the bench file format.

Modules: `scenes` (land-cover label maps and optical rendering, clouds, building pairs),
`sar` (Sentinel-1-like VH/VV backscatter with speckle), `tasks` (questions, options and grounded
reasoning per task), `records` (samples from seeds, COCO RLE, bench and Terra-CoT records).
"""
