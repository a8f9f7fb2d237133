"""The TerraScope prompt: chat template, reasoning instruction, image blocks, multiple-choice
options.

Everything here is text; ids come from the tokenizer. The strings are those of the release:
- chat template (no system turn): `Sa2VAChatModel.template['INSTRUCTION']` as used by
  `predict_forward_with_grounding` (`<|im_start|>user\n{input}<|im_end|>\n<|im_start|>assistant\n`);
- reasoning instruction: `custom_prompt` of `evaluation/infer_terrascope_bench.py`;
- benchmark query: `format_question_with_candidates` = instruction + `<image>\n` + question + `\n`
  + one `KEY. text\n` line per option, keys sorted;
- image block: `<img>` + `<IMG_CONTEXT>` x tokens + `</img>`; several blocks joined by `\n`
  (`predict_forward_with_grounding_multi`, and the SAR layout of `datasets/SAR_RGB_Dataset.py`).
"""

TEMPLATE = "<|im_start|>user\n{input}<|im_end|>\n<|im_start|>assistant\n"

INSTRUCTION = (
    "A conversation between User and Assistant. The user asks a question, "
    "and the Assistant solves it. The Assistant first thinks about the reasoning "
    "process in their mind and then provides the user a concise final answer in a "
    "short word or phrase. The reasoning process and answer are enclosed within "
    "<think> </think> and <answer> </answer> tags, respectively, i.e., "
    "<think> reasoning process here </think><answer> answer here </answer>\n\n")

IMAGE_PLACEHOLDER = "<image>"
IMAGE_JOINER = "\n"
# Paper policy for time series ("Image: t_i"): written before each frame's <img> block; {index} is
# 1-based (t1 = first frame). The released inference writes no indicator.
FRAME_INDICATOR = "Image: t{index}\n"

IMG_START = "<img>"
IMG_END = "</img>"
IMG_CONTEXT = "<IMG_CONTEXT>"


class PromptConfig:
    """The prompt strings of a bundle manifest's "prompt" section (defaults: the release)."""

    def __init__(self, template=TEMPLATE, instruction=INSTRUCTION,
                 image_placeholder=IMAGE_PLACEHOLDER, image_joiner=IMAGE_JOINER,
                 frame_indicator=FRAME_INDICATOR, img_start=IMG_START, img_end=IMG_END,
                 img_context=IMG_CONTEXT):
        self.template = template
        self.instruction = instruction
        self.image_placeholder = image_placeholder
        self.image_joiner = image_joiner
        self.frame_indicator = frame_indicator
        self.img_start = img_start
        self.img_end = img_end
        self.img_context = img_context

    @classmethod
    def from_manifest(cls, manifest):
        prompt = manifest.get("prompt", {})
        tokens = manifest.get("tokens", {})
        return cls(template=prompt.get("template", TEMPLATE),
                   instruction=prompt.get("instruction", INSTRUCTION),
                   image_placeholder=prompt.get("image_placeholder", IMAGE_PLACEHOLDER),
                   image_joiner=prompt.get("image_joiner", IMAGE_JOINER),
                   frame_indicator=prompt.get("frame_indicator", FRAME_INDICATOR),
                   img_start=tokens.get("img_start", IMG_START),
                   img_end=tokens.get("img_end", IMG_END),
                   img_context=tokens.get("img_context", IMG_CONTEXT))

    def as_manifest(self):
        return {"template": self.template, "instruction": self.instruction,
                "image_placeholder": self.image_placeholder, "image_joiner": self.image_joiner,
                "frame_indicator": self.frame_indicator}


def format_options(options):
    """`KEY. text\n` per option, keys sorted (release: sorted(candidates.keys()))."""
    if not options:
        return ""
    if isinstance(options, (list, tuple)):
        options = {chr(ord("A") + i): text for i, text in enumerate(options)}
    return "".join(f"{key}. {options[key]}\n" for key in sorted(options.keys()))


def build_query(question, options=None, config=None):
    """The user text of a benchmark question: instruction + `<image>\n` + question + `\n` + options.

    Without options this is still the release's layout (`question\n`)."""
    config = config or PromptConfig()
    return config.instruction + config.image_placeholder + "\n" + question + "\n" + \
        format_options(options)


def image_block(num_tokens, config=None):
    config = config or PromptConfig()
    return config.img_start + config.img_context * num_tokens + config.img_end


def image_blocks(tokens_per_block, config=None, frame_indicators=False):
    """All image blocks joined by the joiner; with frame_indicators, `Image: t{i}\n` before each."""
    config = config or PromptConfig()
    blocks = []
    for index, num_tokens in enumerate(tokens_per_block):
        prefix = config.frame_indicator.format(index=index + 1) if frame_indicators else ""
        blocks.append(prefix + image_block(num_tokens, config))
    return config.image_joiner.join(blocks)


def build_prompt(query, tokens_per_block, config=None, frame_indicators=False):
    """The full prompt text: the placeholder replaced by the image blocks, then the chat template.

    Release: `text.replace('<image>', image_token_str)` (every occurrence) then
    `template.format(input=text)`. A query without the placeholder gets the blocks in front, the
    way InternVL's chat() does."""
    config = config or PromptConfig()
    blocks = image_blocks(tokens_per_block, config, frame_indicators)
    if config.image_placeholder in query:
        text = query.replace(config.image_placeholder, blocks)
    else:
        text = blocks + "\n" + query
    return config.template.replace("{input}", text)
