// The AF_XDP part of the addon (xsk.cc), registered by addon.cc.
#pragma once
#include <napi.h>

#include <string>

// Throws `op: strerror(err)` with the errno attached, as the rest of the addon does.
Napi::Value XskFail(Napi::Env env, const std::string &op, int err);
void InitXsk(Napi::Env env, Napi::Object exports);
