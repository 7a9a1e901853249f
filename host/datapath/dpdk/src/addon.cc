// kvlb's DPDK addon: node-addon-api over DPDK 22.11 (pkg-config libdpdk). eal.cc starts the
// EAL, ports.cc configures ports, frame_queues.cc moves bursts; dpdk.ts gives them types and
// sentences.
#include "dpdk.h"

Napi::Object Init(Napi::Env env, Napi::Object exports) {
  InitEal(env, exports);
  InitPorts(env, exports);
  exports.Set("FrameQueues", DefineFrameQueues(env));
  return exports;
}

NODE_API_MODULE(kvlb_dpdk, Init)
