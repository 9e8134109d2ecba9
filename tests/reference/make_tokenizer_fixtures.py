#!/usr/bin/env python3
"""Tokenizer reference fixtures from llama.cpp (through llama-cpp-python).

Writes tests/fixtures/tokenizer/:
  smollm2_tokens.json   the real SmolLM2 vocabulary, pre-tokenizer "smollm"
  pre_variants.json     the same vocabulary re-labelled with the gpt-2,
                        llama-bpe, qwen2 and default pre-tokenizers
  spm_vocab.json        a SentencePiece ("llama") vocabulary derived from
                        SmolLM2's first tokens, plus byte tokens
  spm_tokens.json       llama.cpp's ids for it
  gemma3_tokens.json    the real Gemma 3 vocabulary (SentencePiece, 262144
                        tokens), when its GGUF is present (LOOM_GEMMA_MODEL or
                        the path of scripts/fetch_model.sh gemma3)

  chat/chat_templates.json  jinja2 renderings of known chat templates
                        (SmolLM2's from the GGUF, llama3, llama2, mistral,
                        qwen2, gemma3) for several conversations

Run (after tests/reference/build_llama_cpp.sh):
  PYTHONPATH=~/.cache/loom/llama_cpp_python-0.3.36 \
  LLAMA_CPP_LIB_PATH=~/.cache/loom/llama.cpp-build-0.3.36/bin \
  python3 tests/reference/make_tokenizer_fixtures.py [model.gguf]
Only the chat fixtures (needs jinja2 and gguf, not llama.cpp):
  python3 tests/reference/make_tokenizer_fixtures.py --chat [model.gguf]
Only gemma3_tokens.json:
  ... python3 tests/reference/make_tokenizer_fixtures.py --gemma
gguf is the vendored gguf-py (PYTHONPATH=.../vendor/llama.cpp/gguf-py); an
interpreter with numpy, jinja2, typing_extensions and diskcache, e.g. a venv
on Debian's python3 with --system-site-packages.

Strings are stored as hex of their bytes (so invalid UTF-8 survives JSON),
with a readable "text" when they are valid UTF-8.
"""
import ctypes
import json
import os
import sys
import tempfile

import gguf

CHAT_ONLY = "--chat" in sys.argv
GEMMA_ONLY = "--gemma" in sys.argv
for flag in ("--chat", "--gemma"):
    if flag in sys.argv:
        sys.argv.remove(flag)
if not CHAT_ONLY:
    import llama_cpp

HERE = os.path.dirname(os.path.abspath(__file__))
OUT = os.path.join(HERE, "..", "fixtures", "tokenizer")
MODEL = sys.argv[1] if len(sys.argv) > 1 else os.path.expanduser(
    "~/.cache/loom/SmolLM2-135M-Instruct.Q4_1.gguf")
GEMMA_MODEL = os.environ.get("LOOM_GEMMA_MODEL") or os.path.expanduser(
    "~/.cache/loom/gemma-3-270m-q4_k_m.gguf")

CASES = [
    ("empty", b""),
    ("space", b" "),
    ("prose", b"The quick brown fox jumps over the lazy dog."),
    ("prose_long", b"In the beginning, the universe was created. This has made a lot of people very angry "
                   b"and been widely regarded as a bad move. Many were increasingly of the opinion that "
                   b"they'd all made a big mistake in coming down from the trees in the first place."),
    ("leading_spaces", b"   leading and trailing   "),
    ("space_runs", b"a  b   c    d     e"),
    ("tabs", b"\tindented\t\ttabs\t"),
    ("newlines", b"line one\nline two\n\nline four\n\n\n"),
    ("crlf", b"windows\r\nline\r\n\r\nend"),
    ("mixed_ws", b" \t \n \r\n\t\t  x \n"),
    ("only_newlines", b"\n\n\n"),
    ("digits", b"0123456789"),
    ("long_number", b"The year 2024 had 31536000 seconds, pi is 3.14159265358979."),
    ("number_words", b"abc123def 4x4 v2.0.1 1,000,000"),
    ("punct", b"Hello, world! How are you? (fine) [ok] {x: y}; a->b && c||d"),
    ("punct_runs", b"!!! ??? ... --- === *** ~~~ @#$%^&*()"),
    ("contractions", b"I'm sure it's what they're saying: we've, I'll, he'd, don't"),
    ("contractions_upper", b"IT'S THEY'RE WE'VE I'LL HE'D DON'T I'M"),
    ("quotes", b"'single' \"double\" `back` 'tis"),
    ("python", b"def fib(n):\n    if n < 2:\n        return n\n    return fib(n - 1) + fib(n - 2)\n"),
    ("c_code", b"int main(void) {\n\tfor (int i = 0; i < 10; ++i) {\n\t\tprintf(\"%d\\n\", i);\n\t}\n\treturn 0;\n}\n"),
    ("json", b'{"key": [1, 2, 3], "nested": {"a": null, "b": true}}'),
    ("url", b"https://example.com/path?query=1&x=y#frag user@mail.org"),
    ("cjk", "\u4eca\u65e5\u306f\u3044\u3044\u5929\u6c17\u3067\u3059\u306d\u3002\u6211\u7231\u5317\u4eac\u3002".encode()),
    ("korean", "\uc548\ub155\ud558\uc138\uc694 \uc138\uacc4".encode()),
    ("emoji", "I love pizza \U0001F355\U0001F355 and cats \U0001F431!".encode()),
    ("emoji_zwj", "family \U0001F468\u200D\U0001F469\u200D\U0001F467\u200D\U0001F466 flag \U0001F3F3\uFE0F\u200D\U0001F308 skin \U0001F44D\U0001F3FD".encode()),
    ("combining", "e\u0301 a\u0300 n\u0303 Zalgo: Z\u0351\u036b\u0343a\u0352l\u0357g\u0308o".encode()),
    ("accents", "caf\u00e9 na\u00efve r\u00e9sum\u00e9 \u00fcber Stra\u00dfe".encode()),
    ("arabic", "\u0645\u0631\u062d\u0628\u0627 \u0628\u0627\u0644\u0639\u0627\u0644\u0645 \u0661\u0662\u0663".encode()),
    ("hindi", "\u0928\u092e\u0938\u094d\u0924\u0947 \u0926\u0941\u0928\u093f\u092f\u093e \u0967\u0968\u0969".encode()),
    ("cyrillic_greek", "\u041f\u0440\u0438\u0432\u0435\u0442 \u043c\u0438\u0440 \u0393\u03b5\u03b9\u03ac \u03c3\u03bf\u03c5".encode()),
    ("unicode_spaces", "a\u00a0b\u2003c\u3000d\u2028e \u00a0 f".encode()),
    ("unicode_numbers", "\u00bd \u00b2 \u2167 \uff11\uff12\uff13 \u0663\u0664".encode()),
    ("symbols", "\u00a9 \u2122 \u20ac100 \u2192 \u2211 \u221e \u2665".encode()),
    ("special_im", b"<|im_start|>user\nHi there<|im_end|>\n<|im_start|>assistant\n"),
    ("special_glued", b"text<|endoftext|>more<|im_end|><|im_start|>"),
    ("special_partial", b"<|im_start <|im_end> |>"),
    ("special_repo", b"<repo_name>loom<file_sep>main.cpp<filename>x"),
    ("invalid_ff", b"bad \xff byte"),
    ("invalid_truncated", b"cut \xe4\xbd"),
    ("invalid_continuation", b"\x80\x80abc\xbf"),
    ("invalid_overlong", b"over \xc0\xaf long"),
    ("invalid_surrogate", b"sur \xed\xa0\x80 rogate"),
    ("control_chars", b"nul\x00 bell\x07 esc\x1b[0m del\x7f"),
    ("long_word", b"Pneumonoultramicroscopicsilicovolcanoconiosis supercalifragilisticexpialidocious"),
    ("repeated", b"aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa"),
    ("markdown", b"# Title\n\n- item *one*\n- item **two**\n\n```bash\nls -la\n```\n"),
]

# Gemma 3 adds cases for its own vocabulary: control tokens (<start_of_turn>,
# <unusedN>), user-defined tokens that are whitespace runs ("\n" x1..31,
# "  " x2..31, "\t" x1..31) or HTML tags, "</s>" (user-defined, but an EOG
# name llama.cpp forces to control), byte-token texts and rare characters
# that fall back to <0xXX>.
GEMMA_CASES = CASES + [
    ("gemma_turns", b"<start_of_turn>user\nHello<end_of_turn>\n<start_of_turn>model\n"),
    ("gemma_turns_system", b"<bos><start_of_turn>user\nBe brief.\n\nWhy?<end_of_turn>\n<start_of_turn>model\nBecause.<end_of_turn>\n"),
    ("gemma_control", b"<bos><eos><pad><unk><mask>[multimodal]<start_of_image><end_of_image>"),
    ("gemma_unused", b"<unused0> <unused6241><unused99>x <unused6242>"),
    ("gemma_partial", b"<start_of_turn <end_of_turn> start_of_turn> <start_of_turn>>"),
    ("gemma_html", b"<table><tr><td>cell</td></tr></table> <b>bold</b> <s>strike</s> <code>x</code>"),
    ("gemma_eos_text", b"the end</s> and <eos> then </s></s>"),
    ("byte_token_text", b"<0x41><0xFF> <0x0A>"),
    ("space_runs_long", b"a" + b" " * 40 + b"b" + b"\t" * 35 + b"c" + b"\n" * 40 + b"d"),
    ("mixed_runs", b"x \n \t\t \n\n  y\t \t"),
    ("leading_newlines", b"\n\nHello"),
    ("leading_space_word", b" Hello"),
    ("leading_two_spaces", b"  Hello  world"),
    ("trailing_newline", b"Hello\n"),
    ("spm_marker", "a\u2581b \u2581\u2581c \u2581".encode()),
    ("rare_chars", "\U0001FAE8 \U0001F9CC \U000E0041 \u2F00 \uE000 \U0010FFFF \u0000".encode()),
    ("emoji_modifiers", "\U0001F469\U0001F3FF\u200D\U0001F4BB \u2764\uFE0F \U0001F1EF\U0001F1F5".encode()),
    ("accents_nfd", "Cafe\u0301 Ame\u0301lie \u00c5ngstro\u0308m".encode()),
    ("cjk_mixed", "\u6771\u4eac\u30bf\u30ef\u30fc\u306f333m\u3067\u3059\u3002\ud55c\uad6d\uc5b4 \u4e2d\u6587abc".encode()),
]


def hexs(b):
    return b.hex()


def entry(name, data):
    e = {"name": name, "bytes_hex": hexs(data)}
    try:
        e["text"] = data.decode("utf-8")
    except UnicodeDecodeError:
        pass
    return e


class Vocab:
    def __init__(self, path):
        self.llm = llama_cpp.Llama(path, vocab_only=True, verbose=False)
        self.vocab = llama_cpp.llama_model_get_vocab(self.llm.model)

    def tokenize(self, data, add_bos, special):
        return self.llm.tokenize(data, add_bos=add_bos, special=special)

    def piece(self, tok, special=True):
        buf = ctypes.create_string_buffer(256)
        n = llama_cpp.llama_token_to_piece(self.vocab, tok, buf, 256, 0, special)
        assert 0 <= n <= 256
        return buf.raw[:n]

    def run(self, cases):
        out = []
        for name, data in cases:
            e = entry(name, data)
            for add_bos in (False, True):
                for special in (False, True):
                    e[f"ids_bos{int(add_bos)}_special{int(special)}"] = self.tokenize(data, add_bos, special)
            ids = e["ids_bos1_special1"]
            dec = b"".join(self.piece(t, True) for t in ids)
            e["decoded_hex"] = hexs(dec)  # pieces with special tokens rendered
            e["decoded_nospecial_hex"] = hexs(b"".join(self.piece(t, False) for t in ids))
            # Reference for the incremental detokenizer (Python's replace rule).
            e["decoded_replaced_hex"] = hexs(dec.decode("utf-8", "replace").encode())
            out.append(e)
        return out


def meta():
    return {"llama_cpp_python": llama_cpp.__version__,
            "llama_cpp_system_info": llama_cpp.llama_print_system_info().decode()[:200],
            "generator": "tests/reference/make_tokenizer_fixtures.py"}


def copy_kv(reader, writer, overrides, skip=()):
    for key, field in reader.fields.items():
        if key.startswith("GGUF.") or key == "general.architecture" or key in skip:
            continue
        if key in overrides:
            continue
        vtype = field.types[0]
        if vtype == gguf.GGUFValueType.ARRAY:
            sub = field.types[-1]
            if sub == gguf.GGUFValueType.STRING:
                val = [bytes(field.parts[i]) for i in field.data]
            else:
                val = [field.parts[i].tolist()[0] for i in field.data]
            writer.add_array(key, val) if sub != gguf.GGUFValueType.STRING else writer.add_array(key, val)
        elif vtype == gguf.GGUFValueType.STRING:
            writer.add_string(key, bytes(field.parts[field.data[0]]).decode("utf-8"))
        else:
            writer.add_key_value(key, field.parts[field.data[0]].tolist()[0], vtype)
    for key, (val, vtype) in overrides.items():
        writer.add_key_value(key, val, vtype)


def write_metadata_only(reader, path, overrides, skip=()):
    w = gguf.GGUFWriter(path, "llama")
    copy_kv(reader, w, overrides, skip)
    w.write_header_to_file()
    w.write_kv_data_to_file()
    w.write_tensors_to_file()
    w.close()


def spm_vocab(reader):
    """A SentencePiece vocabulary: <unk> <s> </s>, 256 byte tokens, then the
    first SmolLM2 tokens in raw form (spaces as U+2581), scored by id order."""
    f = reader.fields["tokenizer.ggml.tokens"]
    toks = [bytes(f.parts[i]).decode("utf-8") for i in f.data]
    inv = {}
    n = 256
    i = 0
    for b in list(range(0x21, 0x7f)) + list(range(0xa1, 0xad)) + list(range(0xae, 0x100)):
        inv[chr(b)] = b
    for b in range(256):
        if b not in inv.values():
            inv[chr(n)] = b
            n += 1
    tokens = ["<unk>", "<s>", "</s>"] + [f"<0x{b:02X}>" for b in range(256)]
    types = [2, 3, 3] + [6] * 256
    seen = set(tokens)
    for t in toks[17:6000]:
        raw = bytes(inv[c] for c in t)
        try:
            s = raw.decode("utf-8").replace(" ", "\u2581")
        except UnicodeDecodeError:
            continue
        if s in seen or not s:
            continue
        seen.add(s)
        tokens.append(s)
        types.append(1)
    scores = [0.0] * 3 + [0.0] * 256 + [-float(i) for i in range(len(tokens) - 259)]
    return tokens, scores, types


# Well-known templates, as published in the models' tokenizer_config.json.
LLAMA3_TEMPLATE = ("{% set loop_messages = messages %}{% for message in loop_messages %}{% set content = "
                   "'<|start_header_id|>' + message['role'] + '<|end_header_id|>\n\n'+ message['content'] | trim + "
                   "'<|eot_id|>' %}{% if loop.index0 == 0 %}{% set content = bos_token + content %}{% endif %}"
                   "{{ content }}{% endfor %}{% if add_generation_prompt %}{{ '<|start_header_id|>assistant"
                   "<|end_header_id|>\n\n' }}{% endif %}")
LLAMA2_TEMPLATE = ("{% if messages[0]['role'] == 'system' %}{% set loop_messages = messages[1:] %}{% set system_message = "
                   "messages[0]['content'] %}{% else %}{% set loop_messages = messages %}{% set system_message = false %}"
                   "{% endif %}{% for message in loop_messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                   "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                   "{% if loop.index0 == 0 and system_message != false %}{% set content = '<<SYS>>\\n' + system_message + "
                   "'\\n<</SYS>>\\n\\n' + message['content'] %}{% else %}{% set content = message['content'] %}{% endif %}"
                   "{% if message['role'] == 'user' %}{{ bos_token + '[INST] ' + content.strip() + ' [/INST]' }}"
                   "{% elif message['role'] == 'assistant' %}{{ ' '  + content.strip() + ' ' + eos_token }}{% endif %}{% endfor %}")
MISTRAL_TEMPLATE = ("{{ bos_token }}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                    "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                    "{% if message['role'] == 'user' %}{{ '[INST] ' + message['content'] + ' [/INST]' }}"
                    "{% elif message['role'] == 'assistant' %}{{ message['content'] + eos_token}}{% else %}"
                    "{{ raise_exception('Only user and assistant roles are supported!') }}{% endif %}{% endfor %}")
QWEN2_TEMPLATE = ("{% for message in messages %}{% if loop.first and messages[0]['role'] != 'system' %}"
                  "{{ '<|im_start|>system\nYou are a helpful assistant.<|im_end|>\n' }}{% endif %}"
                  "{{'<|im_start|>' + message['role'] + '\n' + message['content'] + '<|im_end|>' + '\n'}}"
                  "{% endfor %}{% if add_generation_prompt %}{{ '<|im_start|>assistant\n' }}{% endif %}")

# Gemma 3's template as published with the instruction-tuned models
# (google/gemma-3-270m-it tokenizer_config.json). The base model's GGUF has no
# tokenizer.chat_template, so this is used unless the GGUF carries one.
GEMMA3_TEMPLATE = (
    "{{ bos_token }}\n"
    "{%- if messages[0]['role'] == 'system' -%}\n"
    "    {%- if messages[0]['content'] is string -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'] + '\\n\\n' -%}\n"
    "    {%- else -%}\n"
    "        {%- set first_user_prefix = messages[0]['content'][0]['text'] + '\\n\\n' -%}\n"
    "    {%- endif -%}\n"
    "    {%- set loop_messages = messages[1:] -%}\n"
    "{%- else -%}\n"
    "    {%- set first_user_prefix = \"\" -%}\n"
    "    {%- set loop_messages = messages -%}\n"
    "{%- endif -%}\n"
    "{%- for message in loop_messages -%}\n"
    "    {%- if (message['role'] == 'user') != (loop.index0 % 2 == 0) -%}\n"
    "        {{ raise_exception(\"Conversation roles must alternate user/assistant/user/assistant/...\") }}\n"
    "    {%- endif -%}\n"
    "    {%- if (message['role'] == 'assistant') -%}\n"
    "        {%- set role = \"model\" -%}\n"
    "    {%- else -%}\n"
    "        {%- set role = message['role'] -%}\n"
    "    {%- endif -%}\n"
    "    {{ '<start_of_turn>' + role + '\\n' + (first_user_prefix if loop.first else \"\") }}\n"
    "    {%- if message['content'] is string -%}\n"
    "        {{ message['content'] | trim }}\n"
    "    {%- elif message['content'] is iterable -%}\n"
    "        {%- for item in message['content'] -%}\n"
    "            {%- if item['type'] == 'image' -%}\n"
    "                {{ '<start_of_image>' }}\n"
    "            {%- elif item['type'] == 'text' -%}\n"
    "                {{ item['text'] | trim }}\n"
    "            {%- endif -%}\n"
    "        {%- endfor -%}\n"
    "    {%- else -%}\n"
    "        {{ raise_exception(\"Invalid content type\") }}\n"
    "    {%- endif -%}\n"
    "    {{ '<end_of_turn>\\n' }}\n"
    "{%- endfor -%}\n"
    "{%- if add_generation_prompt -%}\n"
    "    {{'<start_of_turn>model\\n'}}\n"
    "{%- endif -%}\n")

# Gemma 2's (google/gemma-2-2b-it; also llama.cpp's models/templates): same
# turns, but a system message raises.
GEMMA2_TEMPLATE = ("{{ bos_token }}{% if messages[0]['role'] == 'system' %}{{ raise_exception('System role not supported') }}"
                   "{% endif %}{% for message in messages %}{% if (message['role'] == 'user') != (loop.index0 % 2 == 0) %}"
                   "{{ raise_exception('Conversation roles must alternate user/assistant/user/assistant/...') }}{% endif %}"
                   "{% if (message['role'] == 'assistant') %}{% set role = 'model' %}{% else %}{% set role = message['role'] %}"
                   "{% endif %}{{ '<start_of_turn>' + role + '\n' + message['content'] | trim + '<end_of_turn>\n' }}"
                   "{% endfor %}{% if add_generation_prompt %}{{'<start_of_turn>model\n'}}{% endif %}")

CONVERSATIONS = [
    [],
    [{"role": "user", "content": "Hello!"}],
    [{"role": "system", "content": "You are terse."}, {"role": "user", "content": "What is 2+2?"}],
    [{"role": "user", "content": "  Tell me a joke.  "}, {"role": "assistant", "content": " Why did the chicken cross the road? \n"},
     {"role": "user", "content": "Another one\nplease"}],
    [{"role": "system", "content": ""}, {"role": "user", "content": "Hi"}, {"role": "assistant", "content": "Hello."}],
    [{"role": "user", "content": "\u65e5\u672c\u8a9e\u3067 \U0001F600 <b>html</b> {{ not jinja }}"}],
    [{"role": "assistant", "content": "I start"}, {"role": "user", "content": "odd order"}],
    [{"role": "user", "content": "a"}, {"role": "user", "content": "b"}],
    [{"role": "system", "content": " Be brief.\n"}, {"role": "user", "content": "Q1"},
     {"role": "assistant", "content": "A1"}, {"role": "user", "content": "\tQ2\n\n"}],
    [{"role": "system", "content": "only a system prompt"}],
]


def gguf_string(reader, key):
    f = reader.fields.get(key)
    return bytes(f.parts[f.data[0]]).decode("utf-8") if f else None


def make_chat_fixtures(reader):
    import jinja2
    from jinja2.sandbox import ImmutableSandboxedEnvironment

    def raise_exception(msg):
        raise jinja2.exceptions.TemplateError(msg)

    env = ImmutableSandboxedEnvironment(trim_blocks=True, lstrip_blocks=True)
    env.globals["raise_exception"] = raise_exception
    f = reader.fields["tokenizer.chat_template"]
    smol = bytes(f.parts[f.data[0]]).decode("utf-8")
    templates = {
        "smollm2": (smol, "chatml", "<|im_start|>", "<|im_end|>"),
        "llama3": (LLAMA3_TEMPLATE, "llama3", "<|begin_of_text|>", "<|eot_id|>"),
        "llama2": (LLAMA2_TEMPLATE, "llama2", "<s>", "</s>"),
        "mistral": (MISTRAL_TEMPLATE, "mistral", "<s>", "</s>"),
        "qwen2": (QWEN2_TEMPLATE, "chatml", "<|endoftext|>", "<|im_end|>"),
        "gemma3": (GEMMA3_TEMPLATE, "gemma", "<bos>", "<eos>"),
        "gemma2": (GEMMA2_TEMPLATE, "gemma", "<bos>", "<eos>"),
    }
    if os.path.exists(GEMMA_MODEL):  # the GGUF's own template wins where it has one
        own = gguf_string(gguf.GGUFReader(GEMMA_MODEL), "tokenizer.chat_template")
        if own:
            templates["gemma3"] = (own, "gemma", "<bos>", "<eos>")
    out = {"meta": {"jinja2": jinja2.__version__, "env": "ImmutableSandboxedEnvironment(trim_blocks, lstrip_blocks)"},
           "templates": []}
    for name, (text, family, bos, eos) in templates.items():
        t = env.from_string(text)
        renders = []
        for conv in CONVERSATIONS:
            for gen in (False, True):
                r = {"messages": conv, "add_generation_prompt": gen}
                try:
                    r["expected"] = t.render(messages=conv, add_generation_prompt=gen, bos_token=bos, eos_token=eos)
                except jinja2.exceptions.TemplateError as e:
                    r["error"] = str(e)
                renders.append(r)
        out["templates"].append({"name": name, "family": family, "template": text, "bos_token": bos,
                                 "eos_token": eos, "renders": renders})
    os.makedirs(os.path.join(OUT, "chat"), exist_ok=True)
    with open(os.path.join(OUT, "chat", "chat_templates.json"), "w") as fp:
        json.dump(out, fp, indent=1, ensure_ascii=False)


def make_gemma_fixture():
    if not os.path.exists(GEMMA_MODEL):
        print(f"skipping gemma3_tokens.json: {GEMMA_MODEL} missing (scripts/fetch_model.sh gemma3)")
        return
    v = Vocab(GEMMA_MODEL)
    n = llama_cpp.llama_vocab_n_tokens(v.vocab)
    # Pieces of the first tokens (control, whitespace runs, HTML tags, bytes),
    # the last user-defined ones, and a sample of the rest.
    ids = sorted(set(range(520)) | set(range(255960, 256010)) | set(range(0, n, 997)) | {n - 1})
    doc = {"meta": meta(), "model": os.path.basename(GEMMA_MODEL), "pre": "default",
           "vocab": {"n_vocab": n, "bos_id": llama_cpp.llama_vocab_bos(v.vocab),
                     "eos_id": llama_cpp.llama_vocab_eos(v.vocab), "eot_id": llama_cpp.llama_vocab_eot(v.vocab),
                     "eog_ids": [t for t in range(n) if llama_cpp.llama_vocab_is_eog(v.vocab, t)],
                     "pieces": [[t, hexs(v.piece(t, True)), hexs(v.piece(t, False))] for t in ids]},
           "cases": v.run(GEMMA_CASES)}
    with open(os.path.join(OUT, "gemma3_tokens.json"), "w") as fp:
        json.dump(doc, fp, indent=1, ensure_ascii=False)
    print("wrote", os.path.join(OUT, "gemma3_tokens.json"))


def main():
    if GEMMA_ONLY:
        make_gemma_fixture()
        return
    reader = gguf.GGUFReader(MODEL)
    make_chat_fixtures(reader)
    if CHAT_ONLY:
        return
    make_gemma_fixture()
    os.makedirs(OUT, exist_ok=True)
    smol = Vocab(MODEL)
    doc = {"meta": meta(), "model": os.path.basename(MODEL), "pre": "smollm", "cases": smol.run(CASES)}
    with open(os.path.join(OUT, "smollm2_tokens.json"), "w") as fp:
        json.dump(doc, fp, indent=1, ensure_ascii=False)

    S = gguf.GGUFValueType.STRING
    variants = {}
    with tempfile.TemporaryDirectory() as tmp:
        for pre in ("gpt-2", "llama-bpe", "qwen2", "default"):
            path = os.path.join(tmp, f"{pre}.gguf")
            write_metadata_only(reader, path, {"tokenizer.ggml.pre": (pre, S)})
            variants[pre] = Vocab(path).run(CASES)
        with open(os.path.join(OUT, "pre_variants.json"), "w") as fp:
            json.dump({"meta": meta(), "model": os.path.basename(MODEL), "variants": variants},
                      fp, indent=1, ensure_ascii=False)

        tokens, scores, types = spm_vocab(reader)
        path = os.path.join(tmp, "spm.gguf")
        w = gguf.GGUFWriter(path, "llama")
        copy_kv(reader, w, {}, skip=tuple(k for k in reader.fields if k.startswith("tokenizer.")))
        w.add_tokenizer_model("llama")
        w.add_token_list(tokens)
        w.add_token_scores(scores)
        w.add_token_types(types)
        w.add_bos_token_id(1)
        w.add_eos_token_id(2)
        w.add_unk_token_id(0)
        w.write_header_to_file()
        w.write_kv_data_to_file()
        w.write_tensors_to_file()
        w.close()
        spm_cases = Vocab(path).run(CASES)
    with open(os.path.join(OUT, "spm_vocab.json"), "w") as fp:
        json.dump({"model": "llama", "tokens": tokens, "scores": scores, "token_types": types,
                   "bos_id": 1, "eos_id": 2, "unk_id": 0, "add_bos": True, "add_space_prefix": True},
                  fp, ensure_ascii=False)
    with open(os.path.join(OUT, "spm_tokens.json"), "w") as fp:
        json.dump({"meta": meta(), "cases": spm_cases}, fp, indent=1, ensure_ascii=False)
    print("wrote", OUT)


if __name__ == "__main__":
    main()
