// kvlb's DPDK addon: the parts that the EAL, port and queue files share.
#pragma once

#include <napi.h>

#include <string>

// Throws an Error whose message is `what: strerror(err)`, with .errno and .log (DPDK's own
// recent lines), and returns undefined.
Napi::Value DpdkFail(Napi::Env env, const std::string &what, int err);

// What DPDK logged since the last call, and forget it.
std::string DpdkTakeLog();

bool EalReady();

struct rte_mempool;
// The mbuf pool of a port that portOpen() started, or null.
rte_mempool *PortPool(uint16_t port);

void InitEal(Napi::Env env, Napi::Object exports);
void InitPorts(Napi::Env env, Napi::Object exports);
Napi::Function DefineFrameQueues(Napi::Env env);
