/* A plain-C host for a Loom backend plugin (C99 + POSIX, no Loom library):
 *   loom_c_host path/to/libloom_cpu.so '{"model": "m.gguf"}' [prompt]
 * With a prompt: runs it in-process (greedy, 16 tokens), printing the deltas.
 * Without one: prints the stats and waits for SIGTERM/SIGINT, then drains.
 * (Network doors, e.g. ZeroMQ, are the host's: `loom serve` composes them.) */
#include <dlfcn.h>
#include <pthread.h>
#include <signal.h>
#include <stdio.h>
#include <string.h>

#include "loom/plugin.h"

static const loom_plugin_api* api;
static pthread_mutex_t mu = PTHREAD_MUTEX_INITIALIZER;
static pthread_cond_t cv = PTHREAD_COND_INITIALIZER;
static int finished;

/* Prints and frees `err`; returns 1 when there was one. */
static int failed(loom_error* err, const char* what) {
  if (!err) return 0;
  fprintf(stderr, "%s: %s\n", what, api->error_message(err));
  api->error_free(err);
  return 1;
}

/* Runs on the backend's output thread; the event's pointers die on return. */
static void on_event(void* user_data, const loom_job_event* ev) {
  (void)user_data;
  fwrite(ev->text.data, 1, ev->text.size, stdout);
  if (ev->kind == LOOM_EVENT_DELTA) {
    fflush(stdout);
    return;
  }
  if (ev->kind == LOOM_EVENT_DONE)
    printf("\n[finish=%s tokens=%d]\n", ev->finish_reason == LOOM_FINISH_LENGTH ? "length" : "other",
           ev->completion_tokens);
  else
    printf("\n[error %.*s: %.*s]\n", (int)ev->error_name.size, ev->error_name.data, (int)ev->message.size,
           ev->message.data);
  pthread_mutex_lock(&mu);
  finished = 1;
  pthread_cond_signal(&cv);
  pthread_mutex_unlock(&mu);
}

static int run_prompt(loom_backend* backend, const char* prompt) {
  loom_job_request req;
  loom_job_request_init(&req);
  req.id.data = "c-host-1";
  req.id.size = strlen(req.id.data);
  req.prompt_kind = LOOM_PROMPT_TEXT;
  req.prompt_text.data = prompt;
  req.prompt_text.size = strlen(prompt);
  req.max_tokens = 16;
  req.temperature = 0.0f;
  if (failed(api->submit(backend, &req, on_event, NULL), "submit")) return 1;
  pthread_mutex_lock(&mu);
  while (!finished) pthread_cond_wait(&cv, &mu);
  pthread_mutex_unlock(&mu);
  return 0;
}

static void serve_until_signal(loom_backend* backend, sigset_t* signals) {
  loom_text* stats = NULL;
  int sig = 0;
  if (!failed(api->stats(backend, &stats), "stats")) {
    printf("ready; stats: %s\n", stats->data);
    api->text_free(stats);
  }
  fflush(stdout);
  sigwait(signals, &sig);
  printf("signal %d: draining\n", sig);
}

int main(int argc, char** argv) {
  if (argc < 3) {
    fprintf(stderr, "usage: %s libloom_X.so CONFIG_JSON [PROMPT]\n", argv[0]);
    return 2;
  }
  /* Block the stop signals before any plugin thread exists, so only sigwait sees them. */
  sigset_t signals;
  sigemptyset(&signals);
  sigaddset(&signals, SIGTERM);
  sigaddset(&signals, SIGINT);
  pthread_sigmask(SIG_BLOCK, &signals, NULL);

  void* lib = dlopen(argv[1], RTLD_NOW | RTLD_LOCAL);
  if (!lib) return fprintf(stderr, "dlopen: %s\n", dlerror()), 1;
  loom_plugin_get_api_fn get_api = (loom_plugin_get_api_fn)dlsym(lib, LOOM_PLUGIN_ENTRY_SYMBOL);
  api = get_api ? get_api(LOOM_PLUGIN_ABI_MAJOR) : NULL;
  if (!api || api->abi_major != LOOM_PLUGIN_ABI_MAJOR) {
    fprintf(stderr, "%s: no Loom ABI %d plugin here\n", argv[1], LOOM_PLUGIN_ABI_MAJOR);
    return 1;
  }
  printf("plugin %s, ABI %u.%u: %s\n", api->backend_name, api->abi_major, api->abi_minor, api->build_info);

  loom_probe_info info;
  memset(&info, 0, sizeof(info));
  info.struct_size = sizeof(info);
  if (failed(api->probe(&info), "probe")) return 1;
  printf("probe: %s\n", info.device);

  loom_backend* backend = NULL;
  if (failed(api->create(argv[2], strlen(argv[2]), &backend), "create")) return 1;
  int rc = failed(api->start(backend), "start");
  if (!rc && argc > 3) rc = run_prompt(backend, argv[3]);
  if (!rc && argc <= 3) serve_until_signal(backend, &signals);
  failed(api->drain(backend, 30000), "drain");
  api->destroy(backend);
  dlclose(lib);
  return rc;
}
