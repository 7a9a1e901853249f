// libbpf-ts: node-addon-api over libbpf 1.1 and libxdp 1.3. This file moves bytes and errnos;
// the TypeScript layer (src/index.ts) gives them types and sentences.
#include <napi.h>

#include "xsk.h"

#include <bpf/bpf.h>
#include <bpf/libbpf.h>
#include <errno.h>
#include <linux/if_link.h>
#include <net/if.h>
#include <stdarg.h>
#include <string.h>
#include <unistd.h>

#include <string>
#include <unordered_map>
#include <vector>

namespace {

std::string g_log;  // libbpf's messages during the current call (the verifier log on a failed load)

int CollectLog(enum libbpf_print_level level, const char *fmt, va_list args) {
  if (level == LIBBPF_DEBUG) return 0;
  char line[1024];
  vsnprintf(line, sizeof(line), fmt, args);
  if (g_log.size() < 64 * 1024) g_log += line;
  return 0;
}

Napi::Value Fail(Napi::Env env, const std::string &op, int err) {
  if (err < 0) err = -err;
  Napi::Error e = Napi::Error::New(env, op + ": " + strerror(err));
  e.Set("errno", Napi::Number::New(env, err));
  e.Set("op", Napi::String::New(env, op));
  if (!g_log.empty()) e.Set("log", Napi::String::New(env, g_log));
  e.ThrowAsJavaScriptException();
  return env.Undefined();
}

std::unordered_map<uint32_t, bpf_object *> g_objects;
uint32_t g_next_object = 1;

bpf_object *ObjectArg(const Napi::CallbackInfo &info) {
  auto it = g_objects.find(info[0].As<Napi::Number>().Uint32Value());
  return it == g_objects.end() ? nullptr : it->second;
}

Napi::Uint8Array Bytes(Napi::Env env, const void *data, size_t n) {
  auto out = Napi::Uint8Array::New(env, n);
  if (n) memcpy(out.Data(), data, n);
  return out;
}

Napi::Value ObjectOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  std::string path = info[0].As<Napi::String>();
  g_log.clear();
  bpf_object *obj = bpf_object__open_file(path.c_str(), nullptr);
  if (!obj) return Fail(env, "open " + path, errno);
  uint32_t id = g_next_object++;
  g_objects[id] = obj;
  return Napi::Number::New(env, id);
}

Napi::Value ObjectLoad(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  bpf_object *obj = ObjectArg(info);
  if (!obj) return Fail(env, "load", EBADF);
  g_log.clear();
  int err = bpf_object__load(obj);
  if (err) return Fail(env, std::string("load ") + bpf_object__name(obj), err);
  g_log.clear();
  return env.Undefined();
}

Napi::Value ObjectClose(const Napi::CallbackInfo &info) {
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  auto it = g_objects.find(id);
  if (it != g_objects.end()) {
    bpf_object__close(it->second);
    g_objects.erase(it);
  }
  return info.Env().Undefined();
}

Napi::Value ObjectPrograms(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  bpf_object *obj = ObjectArg(info);
  if (!obj) return Fail(env, "programs", EBADF);
  auto out = Napi::Array::New(env);
  bpf_program *p;
  uint32_t i = 0;
  bpf_object__for_each_program(p, obj) {
    auto o = Napi::Object::New(env);
    o.Set("name", bpf_program__name(p));
    o.Set("section", bpf_program__section_name(p));
    o.Set("fd", bpf_program__fd(p));
    out.Set(i++, o);
  }
  return out;
}

// A map as native.ts's NativeMap sees it.
Napi::Object MapObject(Napi::Env env, const char *name, int fd, uint32_t type, uint32_t key_size, uint32_t value_size,
                       uint32_t max_entries) {
  auto o = Napi::Object::New(env);
  o.Set("name", name);
  o.Set("fd", fd);
  o.Set("type", type);
  o.Set("keySize", key_size);
  o.Set("valueSize", value_size);
  o.Set("maxEntries", max_entries);
  return o;
}

Napi::Value ObjectMaps(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  bpf_object *obj = ObjectArg(info);
  if (!obj) return Fail(env, "maps", EBADF);
  auto out = Napi::Array::New(env);
  bpf_map *m;
  uint32_t i = 0;
  bpf_object__for_each_map(m, obj) {
    out.Set(i++, MapObject(env, bpf_map__name(m), bpf_map__fd(m), static_cast<uint32_t>(bpf_map__type(m)),
                           bpf_map__key_size(m), bpf_map__value_size(m), bpf_map__max_entries(m)));
  }
  return out;
}

// mapLookup(fd, key, valueBytes): the value, or undefined when the key is absent.
Napi::Value MapLookup(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto key = info[1].As<Napi::Uint8Array>();
  std::vector<uint8_t> value(info[2].As<Napi::Number>().Uint32Value());
  if (bpf_map_lookup_elem(fd, key.Data(), value.data())) {
    if (errno == ENOENT) return env.Undefined();
    return Fail(env, "map lookup", errno);
  }
  return Bytes(env, value.data(), value.size());
}

Napi::Value MapUpdate(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto key = info[1].As<Napi::Uint8Array>();
  auto value = info[2].As<Napi::Uint8Array>();
  uint64_t flags = info[3].As<Napi::Number>().Int64Value();
  if (bpf_map_update_elem(fd, key.Data(), value.Data(), flags)) return Fail(env, "map update", errno);
  return env.Undefined();
}

Napi::Value MapDelete(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto key = info[1].As<Napi::Uint8Array>();
  if (bpf_map_delete_elem(fd, key.Data())) {
    if (errno == ENOENT) return Napi::Boolean::New(env, false);
    return Fail(env, "map delete", errno);
  }
  return Napi::Boolean::New(env, true);
}

// mapNextKey(fd, key | null, keyBytes): the key after `key` (the first when null), or undefined.
Napi::Value MapNextKey(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  std::vector<uint8_t> next(info[2].As<Napi::Number>().Uint32Value());
  const void *key = info[1].IsNull() ? nullptr : info[1].As<Napi::Uint8Array>().Data();
  if (bpf_map_get_next_key(fd, key, next.data())) {
    if (errno == ENOENT) return env.Undefined();
    return Fail(env, "map next key", errno);
  }
  return Bytes(env, next.data(), next.size());
}

Napi::Value ProgTestRun(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int fd = info[0].As<Napi::Number>().Int32Value();
  auto frame = info[1].As<Napi::Uint8Array>();
  int repeat = info[2].As<Napi::Number>().Int32Value();
  std::vector<uint8_t> out(frame.ByteLength() + 512);
  LIBBPF_OPTS(bpf_test_run_opts, opts, .data_in = frame.Data(), .data_out = out.data(),
              .data_size_in = static_cast<__u32>(frame.ByteLength()), .data_size_out = static_cast<__u32>(out.size()),
              .repeat = repeat);
  if (bpf_prog_test_run_opts(fd, &opts)) return Fail(env, "test run", errno);
  auto r = Napi::Object::New(env);
  r.Set("retval", opts.retval);
  r.Set("data", Bytes(env, out.data(), opts.data_size_out));
  r.Set("durationNs", opts.duration);
  return r;
}

Napi::Value XdpAttach(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int ifindex = info[0].As<Napi::Number>().Int32Value();
  int fd = info[1].As<Napi::Number>().Int32Value();
  uint32_t flags = info[2].As<Napi::Number>().Uint32Value();
  // Replace only the program the caller saw (0: only if none), so a race can't clobber another.
  LIBBPF_OPTS(bpf_xdp_attach_opts, opts, .old_prog_fd = -1);
  int old_fd = -1;
  uint32_t expected = info[3].As<Napi::Number>().Uint32Value();
  if (expected != 0) {
    old_fd = bpf_prog_get_fd_by_id(expected);
    if (old_fd < 0) return Fail(env, "xdp attach", errno);
    opts.old_prog_fd = old_fd;
    flags |= XDP_FLAGS_REPLACE;
  } else {
    flags |= XDP_FLAGS_UPDATE_IF_NOEXIST;
  }
  g_log.clear();
  int err = bpf_xdp_attach(ifindex, fd, flags, &opts);
  if (old_fd >= 0) close(old_fd);
  if (err) return Fail(env, "xdp attach", err);
  return env.Undefined();
}

Napi::Value XdpDetach(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int ifindex = info[0].As<Napi::Number>().Int32Value();
  uint32_t flags = info[1].As<Napi::Number>().Uint32Value();
  int err = bpf_xdp_detach(ifindex, flags, nullptr);
  if (err) return Fail(env, "xdp detach", err);
  return env.Undefined();
}

// xdpQuery(ifindex): the attached program ids by mode (0 when none).
Napi::Value XdpQuery(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  int ifindex = info[0].As<Napi::Number>().Int32Value();
  LIBBPF_OPTS(bpf_xdp_query_opts, q);
  int err = bpf_xdp_query(ifindex, 0, &q);
  if (err) return Fail(env, "xdp query", err);
  auto r = Napi::Object::New(env);
  r.Set("mode", q.attach_mode);
  r.Set("driver", q.drv_prog_id);
  r.Set("generic", q.skb_prog_id);
  r.Set("offload", q.hw_prog_id);
  return r;
}

Napi::Value ProgInfo(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return Fail(env, "program " + std::to_string(id), errno);
  bpf_prog_info pi{};
  uint32_t len = sizeof(pi);
  int err = bpf_obj_get_info_by_fd(fd, &pi, &len);
  close(fd);
  if (err) return Fail(env, "program info", errno);
  auto r = Napi::Object::New(env);
  r.Set("id", pi.id);
  r.Set("name", pi.name);
  r.Set("type", pi.type);
  return r;
}

// progMaps(id): the maps of a loaded program (one some other loader attached), each with an fd
// of its own that the caller closes with closeFd().
Napi::Value ProgMaps(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint32_t id = info[0].As<Napi::Number>().Uint32Value();
  int fd = bpf_prog_get_fd_by_id(id);
  if (fd < 0) return Fail(env, "program " + std::to_string(id), errno);
  uint32_t ids[64];
  bpf_prog_info pi{};
  pi.nr_map_ids = 64;
  pi.map_ids = reinterpret_cast<uint64_t>(ids);
  uint32_t len = sizeof(pi);
  int err = bpf_obj_get_info_by_fd(fd, &pi, &len);
  close(fd);
  if (err) return Fail(env, "program info", errno);
  auto out = Napi::Array::New(env);
  uint32_t n = pi.nr_map_ids < 64 ? pi.nr_map_ids : 64;
  for (uint32_t i = 0; i < n; i++) {
    int mfd = bpf_map_get_fd_by_id(ids[i]);
    if (mfd < 0) continue;  // gone since
    bpf_map_info mi{};
    uint32_t mlen = sizeof(mi);
    if (bpf_obj_get_info_by_fd(mfd, &mi, &mlen)) {
      close(mfd);
      continue;
    }
    out.Set(out.Length(), MapObject(env, mi.name, mfd, mi.type, mi.key_size, mi.value_size, mi.max_entries));
  }
  return out;
}

Napi::Value CloseFd(const Napi::CallbackInfo &info) {
  close(info[0].As<Napi::Number>().Int32Value());
  return info.Env().Undefined();
}

Napi::Value IfIndex(const Napi::CallbackInfo &info) {
  std::string name = info[0].As<Napi::String>();
  return Napi::Number::New(info.Env(), if_nametoindex(name.c_str()));
}

Napi::Value PossibleCpus(const Napi::CallbackInfo &info) {
  int n = libbpf_num_possible_cpus();
  if (n < 0) return Fail(info.Env(), "possible cpus", n);
  return Napi::Number::New(info.Env(), n);
}

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  libbpf_set_print(CollectLog);
  libbpf_set_strict_mode(LIBBPF_STRICT_ALL);
  exports.Set("objectOpen", Napi::Function::New(env, ObjectOpen));
  exports.Set("objectLoad", Napi::Function::New(env, ObjectLoad));
  exports.Set("objectClose", Napi::Function::New(env, ObjectClose));
  exports.Set("objectPrograms", Napi::Function::New(env, ObjectPrograms));
  exports.Set("objectMaps", Napi::Function::New(env, ObjectMaps));
  exports.Set("mapLookup", Napi::Function::New(env, MapLookup));
  exports.Set("mapUpdate", Napi::Function::New(env, MapUpdate));
  exports.Set("mapDelete", Napi::Function::New(env, MapDelete));
  exports.Set("mapNextKey", Napi::Function::New(env, MapNextKey));
  exports.Set("progTestRun", Napi::Function::New(env, ProgTestRun));
  exports.Set("xdpAttach", Napi::Function::New(env, XdpAttach));
  exports.Set("xdpDetach", Napi::Function::New(env, XdpDetach));
  exports.Set("xdpQuery", Napi::Function::New(env, XdpQuery));
  exports.Set("progInfo", Napi::Function::New(env, ProgInfo));
  exports.Set("progMaps", Napi::Function::New(env, ProgMaps));
  exports.Set("closeFd", Napi::Function::New(env, CloseFd));
  exports.Set("ifIndex", Napi::Function::New(env, IfIndex));
  exports.Set("possibleCpus", Napi::Function::New(env, PossibleCpus));
  InitXsk(env, exports);
  return exports;
}

}  // namespace

Napi::Value XskFail(Napi::Env env, const std::string &op, int err) { return Fail(env, op, err); }

NODE_API_MODULE(bpf_addon, Init)
