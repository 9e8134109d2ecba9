#!/usr/bin/env python3
"""Writes the model directory `vllm serve` needs, from a GGUF file, without weights.

    make_model_dir.py MODEL.gguf DIR

Run it with the vLLM venv's python (scripts/vllm_venv.sh): transformers reads the
GGUF's tokenizer and architecture (the `gguf` package parses it). The frontend
only tokenizes, renders chat templates and detokenizes; Loom runs the model, so
DIR gets config.json (with `architectures`, which vLLM uses to pick its model
class), tokenizer.json, tokenizer_config.json (EOS, chat template),
chat_template.jinja and generation_config.json. Context length and EOS come
from the GGUF's own keys, so the frontend's limits are Loom's.
"""
import json
import os
import sys


def gguf_fields(path):
    """The GGUF metadata Loom also reads: context length, EOS, architecture."""
    from gguf import GGUFReader

    reader = GGUFReader(path)

    def value(key):
        field = reader.fields.get(key)
        if field is None:
            return None
        v = field.parts[field.data[0]]
        return bytes(v).decode() if field.types and field.types[0].name == "STRING" else v.tolist()[0]

    arch = value("general.architecture")
    return {
        "arch": arch,
        "context_length": value(f"{arch}.context_length"),
        "eos_token_id": value("tokenizer.ggml.eos_token_id"),
        "bos_token_id": value("tokenizer.ggml.bos_token_id"),
        "name": value("general.name"),
    }


def main(argv):
    if len(argv) != 3:
        print("usage: make_model_dir.py MODEL.gguf DIR", file=sys.stderr)
        return 2
    gguf_path, out = os.path.abspath(argv[1]), argv[2]
    if not os.path.isfile(gguf_path):
        print(f"error: {gguf_path} is not a file", file=sys.stderr)
        return 1
    from transformers import AutoConfig, AutoTokenizer

    folder, name = os.path.split(gguf_path)
    meta = gguf_fields(gguf_path)
    config = AutoConfig.from_pretrained(folder, gguf_file=name)
    tokenizer = AutoTokenizer.from_pretrained(folder, gguf_file=name)
    os.makedirs(out, exist_ok=True)
    if meta["context_length"]:
        config.max_position_embeddings = int(meta["context_length"])
    if meta["eos_token_id"] is not None:
        config.eos_token_id = int(meta["eos_token_id"])
        tokenizer.eos_token = tokenizer.convert_ids_to_tokens(int(meta["eos_token_id"]))
    if meta["bos_token_id"] is not None:
        config.bos_token_id = int(meta["bos_token_id"])
    if not getattr(config, "architectures", None):
        # transformers knows the class from the GGUF's architecture key.
        config.architectures = [type(config).__name__.replace("Config", "ForCausalLM")]
    config.save_pretrained(out)
    tokenizer.save_pretrained(out)
    template = tokenizer.chat_template
    if template:
        with open(os.path.join(out, "chat_template.jinja"), "w") as f:
            f.write(template)
    generation = {"eos_token_id": config.eos_token_id}
    if meta["bos_token_id"] is not None:
        generation["bos_token_id"] = config.bos_token_id
    with open(os.path.join(out, "generation_config.json"), "w") as f:
        json.dump(generation, f, indent=2)
    print(f"{out}: {config.architectures[0]}, max_position_embeddings {config.max_position_embeddings}, "
          f"eos {config.eos_token_id} ({tokenizer.eos_token!r}), chat template {'yes' if template else 'no'}")
    return 0


if __name__ == "__main__":
    sys.exit(main(sys.argv))
