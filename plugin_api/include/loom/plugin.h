/* Loom backend plugin C ABI, version 1 (see plugin_api/ABI.md: the contract
 * in prose; when this header and ABI.md disagree, that is a bug).
 *
 * A backend .so exports exactly one symbol, loom_plugin_get_api(), returning a
 * const table of function pointers. Everything crossing the boundary is plain
 * C99: opaque handles, pointer+length strings, structs whose first field is
 * struct_size (the size the producer of the struct was compiled with).
 * Structs are append-only: a newer reader treats fields past struct_size as
 * absent (defaults), a newer writer never writes past the reader's size.
 *
 * Every fallible call returns loom_error* (NULL: success). The error is made
 * by the plugin and must be freed with api->error_free().
 */
#ifndef LOOM_PLUGIN_H_
#define LOOM_PLUGIN_H_

#include <stddef.h>
#include <stdint.h>
#include <string.h>

#ifdef __cplusplus
extern "C" {
#endif

#define LOOM_PLUGIN_ABI_MAJOR 1
#define LOOM_PLUGIN_ABI_MINOR 2
#define LOOM_PLUGIN_ENTRY_SYMBOL "loom_plugin_get_api"

#if defined(_WIN32)
#define LOOM_PLUGIN_EXPORT __declspec(dllexport)
#else
#define LOOM_PLUGIN_EXPORT __attribute__((visibility("default")))
#endif

/* ---- errors ------------------------------------------------------------ */

typedef int32_t loom_error_code;
#define LOOM_OK 0
#define LOOM_ERR_INVALID_ARGUMENT 1  /* bad config, bad request, bad call  */
#define LOOM_ERR_NOT_FOUND 2         /* model file, job id                 */
#define LOOM_ERR_RESOURCE_EXHAUSTED 3 /* memory budget, queue full          */
#define LOOM_ERR_UNAVAILABLE 4       /* cannot run here, not started, drained */
#define LOOM_ERR_CANCELLED 5         /* reserved: a call aborted by drain   */
#define LOOM_ERR_INTERNAL 6          /* a bug or an unexpected failure      */

typedef struct loom_error loom_error;     /* opaque, plugin-owned */
typedef struct loom_backend loom_backend; /* opaque, plugin-owned */

/* A string that is NOT necessarily NUL-terminated. Frozen: never grows. */
typedef struct loom_str {
  const char* data;
  size_t size;
} loom_str;

/* ---- plugin-allocated results (free through the table) ----------------- */

typedef struct loom_tokens {
  size_t struct_size;
  const int32_t* ids;
  size_t count;
} loom_tokens;

typedef struct loom_text {
  size_t struct_size;
  const char* data; /* NUL-terminated as well, for convenience */
  size_t size;      /* bytes, without the NUL */
} loom_text;

/* ---- probe ------------------------------------------------------------- */

typedef struct loom_probe_info {
  size_t struct_size;    /* set by the caller: sizeof(loom_probe_info) */
  char device[128];      /* out: what would run, e.g. "cpu: AMD EPYC ..., isa avx512" */
  int32_t hardware_threads; /* out */
  int64_t memory_available_bytes; /* out: what a kv_cache_fraction is taken of */
} loom_probe_info;

/* ---- jobs ---------------------------------------------------------------- */

#define LOOM_PROMPT_TEXT 0     /* prompt_text */
#define LOOM_PROMPT_TOKENS 1   /* prompt_tokens[n_prompt_tokens] */
#define LOOM_PROMPT_MESSAGES 2 /* messages[n_messages], rendered with the chat template */

typedef struct loom_chat_message {
  size_t struct_size;
  loom_str role;
  loom_str content;
} loom_chat_message;

/* Fill with loom_job_request_init() first: it sets struct_size and the
 * defaults (which are not all zero). All pointers are borrowed for the
 * duration of submit() only. */
typedef struct loom_job_request {
  size_t struct_size;
  loom_str id; /* required, 1..128 bytes, unique among this backend's in-process jobs in flight */
  int32_t prompt_kind; /* LOOM_PROMPT_* */
  loom_str prompt_text;
  const int32_t* prompt_tokens;
  size_t n_prompt_tokens;
  const loom_chat_message* const* messages;
  size_t n_messages;
  int32_t max_tokens;        /* default 256 */
  float temperature;         /* default 1.0; 0 = greedy */
  float top_p;               /* default 1.0 */
  int32_t top_k;             /* default 0 (off) */
  float min_p;               /* default 0 (off) */
  float repetition_penalty;  /* default 1.0 (off) */
  float presence_penalty;    /* default 0 */
  float frequency_penalty;   /* default 0 */
  int32_t has_seed;          /* default 0: a random seed */
  uint64_t seed;
  const loom_str* stop;      /* stop strings, never emitted */
  size_t n_stop;
  const int32_t* stop_token_ids;
  size_t n_stop_token_ids;
  int32_t ignore_eos;        /* default 0 */
  int32_t logprobs;          /* top-n alternatives per token; default 0 */
  int32_t priority;          /* higher runs first; default 0 */
  int64_t deadline_ms;       /* from submit, queueing included; <= 0: none (default) */
  int32_t stream;            /* default 1; 0: one DONE event carries the whole text */
  /* ---- appended in 1.2 (an older host's struct ends before them: defaults) ---- */
  int32_t reserved_1_2;      /* keep 0: pads the 1.1 struct's tail, so that a 1.2 field starts
                                at or after the 1.1 sizeof */
  int32_t prompt_logprobs;   /* default 0; 1: the DONE event carries, for every prompt position i
                                but the last, log P(prompt[i+1] | prompt[0..i]) (natural log). A
                                prompt-logprobs job never reads the prefix cache. Other values are
                                refused (reserved for alternatives per position) */
} loom_job_request;

#define LOOM_EVENT_DELTA 0
#define LOOM_EVENT_DONE 1  /* terminal */
#define LOOM_EVENT_ERROR 2 /* terminal */

#define LOOM_FINISH_STOP 0
#define LOOM_FINISH_LENGTH 1
#define LOOM_FINISH_CANCELLED 2
#define LOOM_FINISH_DEADLINE 3

/* Every pointer inside is valid only during the callback. */
typedef struct loom_job_event {
  size_t struct_size;
  int32_t kind;  /* LOOM_EVENT_* */
  loom_str id;   /* the request's id */
  loom_str text; /* DELTA: new text (whole UTF-8, never part of a stop string); DONE, stream=0: all of it */
  const int32_t* token_ids; /* [n_token_ids] */
  size_t n_token_ids;
  /* logprobs (request.logprobs > 0): one entry per token id, alternatives
   * flattened [n_token_ids][n_top], missing alternatives are id -1. */
  const float* logprobs;       /* [n_token_ids] or NULL */
  size_t n_top;
  const int32_t* top_ids;      /* [n_token_ids * n_top] */
  const float* top_logprobs;   /* [n_token_ids * n_top] */
  /* DONE */
  int32_t finish_reason; /* LOOM_FINISH_* */
  int32_t prompt_tokens, completion_tokens, cached_tokens;
  double queue_ms, ttft_ms, total_ms;
  /* ERROR */
  loom_error_code error_code;
  loom_str error_name; /* the protocol's name: "bad_request", "too_long", "overloaded", ... */
  loom_str message;
  /* ---- appended in 1.2 (read only when struct_size covers them) ---- */
  /* DONE of a request with prompt_logprobs = 1: entry i is log P(prompt[i+1] |
   * prompt[0..i]); n_prompt_logprobs = prompt_tokens - 1 once the whole prompt
   * was computed (fewer when the job ended before that). NULL / 0 otherwise. */
  const float* prompt_logprobs; /* [n_prompt_logprobs] */
  size_t n_prompt_logprobs;
} loom_job_event;

/* Called on the backend's output thread; see ABI.md "Callbacks". */
typedef void (*loom_job_callback)(void* user_data, const loom_job_event* event);

/* ---- the table ----------------------------------------------------------- */

typedef struct loom_plugin_api {
  size_t struct_size;
  uint32_t abi_major; /* LOOM_PLUGIN_ABI_MAJOR the plugin was built with */
  uint32_t abi_minor;
  const char* backend_name; /* static: "cpu", "cpu-ref" */
  const char* build_info;   /* static: free-form build description */

  loom_error_code (*error_code)(const loom_error* error);
  const char* (*error_message)(const loom_error* error); /* NUL-terminated, valid until error_free */
  void (*error_free)(loom_error* error);                 /* NULL is fine */

  loom_error* (*probe)(loom_probe_info* info);

  loom_error* (*create)(const char* config_json, size_t config_len, loom_backend** out);
  loom_error* (*start)(loom_backend* backend);
  loom_error* (*drain)(loom_backend* backend, int64_t timeout_ms);
  void (*destroy)(loom_backend* backend); /* NULL is fine */

  loom_error* (*submit)(loom_backend* backend, const loom_job_request* request,
                        loom_job_callback callback, void* user_data);
  loom_error* (*cancel)(loom_backend* backend, const char* id, size_t id_len);

  loom_error* (*tokenize)(loom_backend* backend, const char* text, size_t len,
                          int32_t add_special, int32_t parse_special, loom_tokens** out);
  void (*tokens_free)(loom_tokens* tokens);
  loom_error* (*detokenize)(loom_backend* backend, const int32_t* ids, size_t count, loom_text** out);
  void (*text_free)(loom_text* text);
  loom_error* (*stats)(loom_backend* backend, loom_text** out_json);

  /* ---- appended in 1.1 (check struct_size before calling) ---- */
  /* The engine contract's name for the error ("bad_request", "too_long",
   * "overloaded", "unavailable", "internal"; "" when it has none) and the
   * request field at fault as a dotted path ("top_p", "stop[2]",
   * "messages[0].role"; "" when none). NUL-terminated, valid until error_free. */
  const char* (*error_name)(const loom_error* error);
  const char* (*error_field)(const loom_error* error);
} loom_plugin_api;

/* The one exported symbol. Returns NULL when the plugin cannot serve a host
 * built for host_abi_major. The table lives as long as the library is loaded. */
typedef const loom_plugin_api* (*loom_plugin_get_api_fn)(uint32_t host_abi_major);
LOOM_PLUGIN_EXPORT const loom_plugin_api* loom_plugin_get_api(uint32_t host_abi_major);

/* Defaults for a request; the plugin applies the same ones to fields past an
 * older host's struct_size. */
static inline void loom_job_request_init(loom_job_request* r) {
  memset(r, 0, sizeof(*r));
  r->struct_size = sizeof(loom_job_request);
  r->max_tokens = 256;
  r->temperature = 1.0f;
  r->top_p = 1.0f;
  r->repetition_penalty = 1.0f;
  r->stream = 1;
}

static inline void loom_chat_message_init(loom_chat_message* m, const char* role, const char* content) {
  size_t nr = 0, nc = 0;
  while (role[nr]) ++nr;
  while (content[nc]) ++nc;
  m->struct_size = sizeof(loom_chat_message);
  m->role.data = role;
  m->role.size = nr;
  m->content.data = content;
  m->content.size = nc;
}

#ifdef __cplusplus
} /* extern "C" */
#endif

#endif /* LOOM_PLUGIN_H_ */
