// The EAL: initialised once per process, with DPDK's log captured in memory so that a failure
// can be told as a sentence with DPDK's own lines beside it, and so that nothing but kvlb's
// JSON log reaches stdout.
#include "dpdk.h"

#include <pthread.h>
#include <rte_eal.h>
#include <rte_errno.h>
#include <rte_lcore.h>
#include <rte_log.h>
#include <stdio.h>
#include <stdlib.h>
#include <string.h>
#include <unistd.h>

#include <vector>

namespace {

char *g_log_buf = nullptr;
size_t g_log_len = 0;
FILE *g_log = nullptr;
bool g_ready = false;
std::vector<char *> g_argv;  // the EAL keeps pointers into its arguments

void OpenLog() {
  if (!g_log) g_log = open_memstream(&g_log_buf, &g_log_len);
  if (g_log) rte_openlog_stream(g_log);
}

// ealInit(args): args as for any DPDK application, without the program name.
Napi::Value EalInit(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (g_ready) return DpdkFail(env, "EAL init: already initialised in this process", EALREADY);
  auto args = info[0].As<Napi::Array>();
  g_argv.push_back(strdup("kvlb"));
  for (uint32_t i = 0; i < args.Length(); i++) {
    std::string a = args.Get(i).As<Napi::String>();
    g_argv.push_back(strdup(a.c_str()));
  }
  OpenLog();
  // The EAL pins the calling thread to its main lcore's CPU; kvlb's main thread and the
  // workers it starts later must keep every CPU they had.
  cpu_set_t before;
  bool saved = pthread_getaffinity_np(pthread_self(), sizeof(before), &before) == 0;
  // The EAL prints its usage and getopt's complaints straight to stdout and stderr; they go to
  // the captured log with the rest, so that kvlb's output stays kvlb's.
  fflush(stdout);
  fflush(stderr);
  FILE *spill = tmpfile();
  int out = dup(1), errfd = dup(2);
  if (spill) {
    dup2(fileno(spill), 1);
    dup2(fileno(spill), 2);
  }
  int ret = rte_eal_init(static_cast<int>(g_argv.size()), g_argv.data());
  int err = rte_errno;
  fflush(stdout);
  fflush(stderr);
  dup2(out, 1);
  dup2(errfd, 2);
  close(out);
  close(errfd);
  if (spill) {
    rewind(spill);
    char line[512];
    while (fgets(line, sizeof(line), spill) && g_log) fputs(line, g_log);
    fclose(spill);
  }
  if (saved) pthread_setaffinity_np(pthread_self(), sizeof(before), &before);
  if (ret < 0) return DpdkFail(env, "EAL init", err ? err : EINVAL);
  g_ready = true;
  return env.Undefined();
}

Napi::Value EalCleanup(const Napi::CallbackInfo &info) {
  if (g_ready) rte_eal_cleanup();
  g_ready = false;
  return info.Env().Undefined();
}

// registerThread(): makes the calling thread (a Node worker) an lcore; returns its lcore id.
Napi::Value RegisterThread(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!g_ready) return DpdkFail(env, "lcore register: the EAL is not initialised", EINVAL);
  cpu_set_t before;
  bool saved = pthread_getaffinity_np(pthread_self(), sizeof(before), &before) == 0;
  if (rte_thread_register() < 0) return DpdkFail(env, "lcore register", rte_errno);
  if (saved) pthread_setaffinity_np(pthread_self(), sizeof(before), &before);
  return Napi::Number::New(env, rte_lcore_id());
}

Napi::Value UnregisterThread(const Napi::CallbackInfo &info) {
  if (g_ready && rte_lcore_id() != LCORE_ID_ANY) rte_thread_unregister();
  return info.Env().Undefined();
}

Napi::Value TakeLog(const Napi::CallbackInfo &info) { return Napi::String::New(info.Env(), DpdkTakeLog()); }

}  // namespace

std::string DpdkTakeLog() {
  if (!g_log) return "";
  fflush(g_log);
  std::string s(g_log_buf ? g_log_buf : "", g_log_len);
  fseeko(g_log, 0, SEEK_SET);
  fflush(g_log);
  return s;
}

bool EalReady() { return g_ready; }

Napi::Value DpdkFail(Napi::Env env, const std::string &what, int err) {
  if (err < 0) err = -err;
  Napi::Error e = Napi::Error::New(env, what + ": " + rte_strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("log", Napi::String::New(env, DpdkTakeLog()));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

void InitEal(Napi::Env env, Napi::Object exports) {
  exports.Set("ealInit", Napi::Function::New(env, EalInit));
  exports.Set("ealCleanup", Napi::Function::New(env, EalCleanup));
  exports.Set("registerThread", Napi::Function::New(env, RegisterThread));
  exports.Set("unregisterThread", Napi::Function::New(env, UnregisterThread));
  exports.Set("takeLog", Napi::Function::New(env, TakeLog));
}
