#!/usr/bin/env python3
"""Reference fixtures for the model runtime, produced by llama.cpp.

Runs SmolLM2-135M-Instruct (GGUF Q4_1) through llama.cpp (the copy vendored in
llama-cpp-python's sdist, built by tests/reference/build_llama_cpp.sh) and
writes tests/fixtures/model/smollm2_reference.json:

  * teacher-forced logits: for each text, the token ids and, at every
    position, the top-20 token ids with their logits and the negative
    log-likelihood of the next token (for perplexity);
  * greedy continuations: 64 tokens after each of 8 prompts (chat and raw),
    with the top-2 logits at every step (to judge near-ties);
  * the same texts through llama.cpp with flash attention on: how far
    llama.cpp moves from its own default when only attention precision
    changes: how far two correct summation orders drift apart on this
    model (the tests print it beside Loom's own agreement).

For a model with sliding-window layers (Gemma 3: 512 keys) one more text,
longer than the window, is scored (the texts joined), so the window's
masking is checked; it stays under 1024 tokens, where llama.cpp's
sliding-window cache (window + batch) starts reusing cells, which changes
its own summation order. A GGUF without tokenizer.chat_template (the Gemma 3
base model) is rendered with Gemma 3's published template.

Usage (once; CI never runs this):
  dir=$(tests/reference/build_llama_cpp.sh)
  PYTHONPATH=$HOME/.cache/loom/llama_cpp_python-0.3.36 LLAMA_CPP_LIB_PATH=$dir \
    python3 tests/reference/make_model_fixtures.py --model $(scripts/fetch_model.sh)
  ... --model $(scripts/fetch_model.sh gemma3) --out tests/fixtures/model/gemma3_reference.json
"""
import argparse
import hashlib
import json
import math
import os

import jinja2
import numpy as np
import llama_cpp

from make_tokenizer_fixtures import GEMMA3_TEMPLATE

TEXTS = [
    # prose
    "The river had been rising for three days before anyone in the village thought to move the "
    "boats. By the fourth morning the water had crept past the mill, over the low stone wall that "
    "marked the end of the orchard, and into the cellars of the houses nearest the bank. The old "
    "ferryman, who had seen two floods in his lifetime, walked the length of the main street "
    "knocking on doors and telling people to carry what they could upstairs. Most of them listened. "
    "A few laughed at him, the way people laugh at anyone who has been right before and expects to "
    "be right again. By evening the laughter had stopped, and the bell in the chapel tower rang "
    "without pause while families waded through the square with children on their shoulders and "
    "chickens in baskets. Nobody drowned that year, and afterwards the council voted to build a "
    "new embankment, which was finished eleven years later and has never been tested since. The "
    "ferryman did not live to see it completed, but his grandson, who still keeps the boats, likes "
    "to tell visitors that the stones remember the water even if the people have forgotten.",
    # code
    "def merge_intervals(intervals):\n    \"\"\"Merge overlapping [start, end] intervals.\"\"\"\n"
    "    if not intervals:\n        return []\n    intervals = sorted(intervals, key=lambda x: x[0])\n"
    "    merged = [list(intervals[0])]\n    for start, end in intervals[1:]:\n"
    "        last = merged[-1]\n        if start <= last[1]:\n            last[1] = max(last[1], end)\n"
    "        else:\n            merged.append([start, end])\n    return merged\n\n\n"
    "class LRUCache:\n    def __init__(self, capacity: int):\n        self.capacity = capacity\n"
    "        self.items = {}\n        self.order = []\n\n    def get(self, key):\n"
    "        if key not in self.items:\n            return -1\n        self.order.remove(key)\n"
    "        self.order.append(key)\n        return self.items[key]\n\n    def put(self, key, value):\n"
    "        if key in self.items:\n            self.order.remove(key)\n"
    "        elif len(self.items) >= self.capacity:\n            oldest = self.order.pop(0)\n"
    "            del self.items[oldest]\n        self.items[key] = value\n        self.order.append(key)\n",
    # technical explanation with numbers
    "A hash table stores key-value pairs in an array of buckets. To insert a key, the table "
    "computes a hash code, reduces it modulo the number of buckets, and places the pair in the "
    "resulting bucket. When two keys land in the same bucket, a collision occurs; common remedies "
    "are separate chaining, where each bucket holds a small list, and open addressing, where the "
    "table probes other buckets in a fixed sequence. The load factor, the ratio of stored items to "
    "buckets, controls performance: at a load factor of 0.75, linear probing needs about 2.5 probes "
    "on average for an unsuccessful search, while at 0.9 it needs about 50. Most implementations "
    "therefore double the array when the load factor passes a threshold, rehashing every key. "
    "Doubling keeps the amortized cost of an insertion constant: over 1,048,576 insertions the "
    "table resizes only twenty times, and the total work of all resizes is less than 2,097,152 moves.",
    # dialogue
    "\"Are you sure this is the right road?\" Maria asked, folding the map for the third time.\n"
    "\"Sure enough,\" said Tom. \"The sign back there said twelve miles to Ashford.\"\n"
    "\"It said twelve miles to Ashby. Ashford is the other way.\"\n"
    "Tom slowed the car and pulled onto the verge. For a while neither of them spoke. A tractor "
    "passed, its driver lifting one finger from the wheel in greeting.\n"
    "\"Well,\" Tom said at last, \"Ashby might have a decent pub.\"\n"
    "\"It might,\" Maria agreed. \"And it might have a petrol station, which would be more useful, "
    "since the light has been on for twenty minutes.\"\n"
    "\"It came on ten minutes ago.\"\n\"Twenty.\"\n"
    "They drove on toward Ashby. The pub was closed, but the petrol station was open, and the woman "
    "behind the counter drew them a better map on the back of a receipt, with a cow where the turn "
    "should be and a church where they should stop asking for directions.",
    # instructions / list
    "How to make a simple loaf of bread:\n1. Mix 500 grams of strong white flour with 10 grams of "
    "salt and 7 grams of instant yeast in a large bowl.\n2. Add 320 millilitres of warm water and "
    "two tablespoons of olive oil, then stir until a rough dough forms.\n3. Knead the dough on a "
    "lightly floured surface for about ten minutes, until it is smooth and springs back when "
    "pressed.\n4. Return it to the bowl, cover it, and leave it somewhere warm for an hour, or "
    "until it has doubled in size.\n5. Knock it back, shape it into a tight oval, and place it on a "
    "baking tray.\n6. Let it rise again for 45 minutes while the oven heats to 220 degrees Celsius.\n"
    "7. Slash the top with a sharp knife, dust it with flour, and bake for 30 to 35 minutes.\n"
    "8. The loaf is done when it sounds hollow when tapped underneath. Cool it on a wire rack for "
    "at least twenty minutes before slicing, or the crumb will be gummy.",
]

CHAT_PROMPTS = [
    [{"role": "user", "content": "What is the capital of France?"}],
    [{"role": "user", "content": "Write a haiku about autumn leaves."}],
    [{"role": "system", "content": "You are a terse assistant."},
     {"role": "user", "content": "Explain what a CPU cache is."}],
    [{"role": "user", "content": "List three uses of a paperclip."}],
]
RAW_PROMPTS = [
    "Once upon a time, in a small village by the sea,",
    "The three primary colors are",
    "def fibonacci(n):\n",
    "Q: What is 12 times 12?\nA:",
]


def sha256(path):
    h = hashlib.sha256()
    with open(path, "rb") as f:
        for block in iter(lambda: f.read(1 << 20), b""):
            h.update(block)
    return h.hexdigest()


def log_softmax(row):
    m = float(np.max(row))
    return row - (m + math.log(float(np.sum(np.exp(row - m)))))


def teacher_forced(llm, text):
    tokens = llm.tokenize(text.encode(), add_bos=True, special=False)
    llm.reset()
    llm.eval(tokens)
    scores = np.array(llm.scores[: len(tokens)], dtype=np.float64)
    positions = []
    for i, row in enumerate(scores):
        top = np.argsort(-row, kind="stable")[:20]
        entry = {"top_ids": [int(t) for t in top], "top_logits": [round(float(row[t]), 5) for t in top]}
        if i + 1 < len(tokens):
            entry["next_nll"] = round(float(-log_softmax(row)[tokens[i + 1]]), 6)
        positions.append(entry)
    return {"text": text, "tokens": tokens, "positions": positions}


def precision_variant(reference_texts, model):
    """How much llama.cpp disagrees with itself when only its attention
    precision changes (flash attention on: fp16 Q/K/V tiles, fp32 online
    softmax): how far two correct orders of the same sums drift apart."""
    llm = llama_cpp.Llama(model_path=model, n_ctx=2048, n_batch=512, logits_all=True,
                          n_threads=os.cpu_count(), verbose=False, flash_attn=True)
    stats = []
    for ref in reference_texts:
        tokens = ref["tokens"]
        llm.reset()
        llm.eval(tokens)
        scores = np.array(llm.scores[: len(tokens)], dtype=np.float64)
        top1, diffs, nll = 0, [], 0.0
        for i, row in enumerate(scores):
            pos = ref["positions"][i]
            top1 += int(np.argmax(row)) == pos["top_ids"][0]
            diffs.append(max(abs(row[t] - l) for t, l in zip(pos["top_ids"], pos["top_logits"])))
            if i + 1 < len(tokens):
                nll -= log_softmax(row)[tokens[i + 1]]
        diffs = np.array(diffs)
        stats.append({
            "top1_agreement": top1 / len(tokens),
            "top20_max_diff_p50": round(float(np.percentile(diffs, 50)), 5),
            "top20_max_diff_p90": round(float(np.percentile(diffs, 90)), 5),
            "top20_max_diff_p99": round(float(np.percentile(diffs, 99)), 5),
            "perplexity": math.exp(nll / (len(tokens) - 1)),
        })
    return stats


def greedy(llm, prompt_tokens, n_new=64):
    llm.reset()
    llm.eval(prompt_tokens)
    out, top2 = [], []
    for _ in range(n_new):
        row = np.array(llm.scores[llm.n_tokens - 1], dtype=np.float64)
        order = np.argsort(-row, kind="stable")[:2]
        out.append(int(order[0]))
        top2.append([round(float(row[order[0]]), 5), round(float(row[order[1]]), 5)])
        llm.eval([int(order[0])])
    return {"prompt_tokens": prompt_tokens, "tokens": out, "top2_logits": top2}


def main():
    ap = argparse.ArgumentParser()
    ap.add_argument("--model", required=True)
    ap.add_argument("--out", default=os.path.join(os.path.dirname(__file__), "..", "fixtures", "model",
                                                  "smollm2_reference.json"))
    args = ap.parse_args()
    llm = llama_cpp.Llama(model_path=args.model, n_ctx=2048, n_batch=512, logits_all=True,
                          n_threads=os.cpu_count(), verbose=False)
    texts_in = list(TEXTS)
    for t in texts_in:
        n = len(llm.tokenize(t.encode(), add_bos=True, special=False))
        assert n >= 200, f"text too short: {n} tokens"
    arch = llm.metadata["general.architecture"]
    window = int(llm.metadata.get(f"{arch}.attention.sliding_window", 0))
    if window:
        long_text = "\n\n".join(TEXTS[:4])
        n = len(llm.tokenize(long_text.encode(), add_bos=True, special=False))
        assert window < n < 1024, f"long text has {n} tokens; needs ({window}, 1024)"
        texts_in.append(long_text)
    source = llm.metadata.get("tokenizer.chat_template") or (GEMMA3_TEMPLATE if arch == "gemma3" else None)
    assert source, "the GGUF has no chat template"

    def raise_exception(message):
        raise jinja2.TemplateError(message)

    env = jinja2.Environment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    template = env.from_string(source)
    bos = llm.detokenize([llm.token_bos()], special=True).decode()
    greedy_cases = []
    for messages in CHAT_PROMPTS:
        text = template.render(messages=messages, add_generation_prompt=True, bos_token=bos)
        tokens = llm.tokenize(text.encode(), add_bos=False, special=True)
        greedy_cases.append({"kind": "chat", "messages": messages, **greedy(llm, tokens)})
    for prompt in RAW_PROMPTS:
        tokens = llm.tokenize(prompt.encode(), add_bos=True, special=False)
        greedy_cases.append({"kind": "raw", "prompt": prompt, **greedy(llm, tokens)})
    texts = [teacher_forced(llm, t) for t in texts_in]
    variant = precision_variant(texts, args.model)
    fixture = {
        "producer": "tests/reference/make_model_fixtures.py",
        "llama_cpp_python_version": llama_cpp.__version__,
        "model_sha256": sha256(args.model),
        "kv_cache_type": "f16",
        "teacher_forced": texts,
        "greedy": greedy_cases,
        "flash_attention_variant": variant,
    }
    with open(args.out, "w") as f:
        json.dump(fixture, f, separators=(",", ":"))
    print(f"wrote {args.out}: {len(texts)} texts, {len(greedy_cases)} greedy cases")


if __name__ == "__main__":
    main()
