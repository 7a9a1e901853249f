// Ports: found by the name the EAL gave them (a vdev's name, or a PCI address), configured with
// one rx and one tx queue per worker (RSS across them when the PMD offers it), each with a
// mempool of its own, and started.
#include "dpdk.h"

#include <rte_ethdev.h>
#include <rte_mbuf.h>
#include <rte_mempool.h>
#include <stdio.h>

namespace {

rte_mempool *g_pools[RTE_MAX_ETHPORTS];

uint32_t Prop(const Napi::Object &o, const char *name, uint32_t fallback) {
  Napi::Value v = o.Get(name);
  return v.IsNumber() ? v.As<Napi::Number>().Uint32Value() : fallback;
}

// portOpen(name, { queues, rxDesc, txDesc, mbufs }) -> { port, driver, mac, queues, maxQueues }
Napi::Value PortOpen(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  if (!EalReady()) return DpdkFail(env, "port: the EAL is not initialised", EINVAL);
  std::string name = info[0].As<Napi::String>();
  Napi::Object o = info[1].As<Napi::Object>();
  uint16_t queues = static_cast<uint16_t>(Prop(o, "queues", 1));
  uint16_t rxd = static_cast<uint16_t>(Prop(o, "rxDesc", 1024));
  uint16_t txd = static_cast<uint16_t>(Prop(o, "txDesc", 1024));
  uint32_t mbufs = Prop(o, "mbufs", 8191);
  uint16_t port;
  if (rte_eth_dev_get_port_by_name(name.c_str(), &port) != 0) return DpdkFail(env, name, ENODEV);
  rte_eth_dev_info dev{};
  int err = rte_eth_dev_info_get(port, &dev);
  if (err) return DpdkFail(env, name + ": device info", err);
  if (queues == 0 || queues > dev.max_rx_queues || queues > dev.max_tx_queues) {
    return DpdkFail(
        env, name + ": " + std::to_string(queues) + " queues asked, the port has " + std::to_string(dev.max_rx_queues),
        EINVAL);
  }
  rte_eth_conf conf{};
  uint64_t rss = dev.flow_type_rss_offloads & (RTE_ETH_RSS_IP | RTE_ETH_RSS_UDP);
  if (queues > 1 && rss) {
    conf.rxmode.mq_mode = RTE_ETH_MQ_RX_RSS;
    conf.rx_adv_conf.rss_conf.rss_hf = rss;
  }
  err = rte_eth_dev_configure(port, queues, queues, &conf);
  if (err) return DpdkFail(env, name + ": configure", err);
  err = rte_eth_dev_adjust_nb_rx_tx_desc(port, &rxd, &txd);
  if (err) return DpdkFail(env, name + ": descriptors", err);
  if (!g_pools[port]) {
    char pool_name[RTE_MEMPOOL_NAMESIZE];
    snprintf(pool_name, sizeof(pool_name), "kvlb_p%u", port);
    g_pools[port] =
        rte_pktmbuf_pool_create(pool_name, mbufs, 256, 0, RTE_MBUF_DEFAULT_BUF_SIZE, rte_eth_dev_socket_id(port));
    if (!g_pools[port]) return DpdkFail(env, name + ": mbuf pool of " + std::to_string(mbufs), rte_errno);
  }
  int socket = rte_eth_dev_socket_id(port);
  for (uint16_t q = 0; q < queues; q++) {
    err = rte_eth_rx_queue_setup(port, q, rxd, socket, nullptr, g_pools[port]);
    if (err) return DpdkFail(env, name + ": rx queue " + std::to_string(q), err);
    err = rte_eth_tx_queue_setup(port, q, txd, socket, nullptr);
    if (err) return DpdkFail(env, name + ": tx queue " + std::to_string(q), err);
  }
  err = rte_eth_dev_start(port);
  if (err) return DpdkFail(env, name + ": start", err);
  rte_ether_addr mac;
  rte_eth_macaddr_get(port, &mac);
  auto r = Napi::Object::New(env);
  r.Set("port", port);
  r.Set("driver", dev.driver_name ? dev.driver_name : "");
  auto m = Napi::Uint8Array::New(env, RTE_ETHER_ADDR_LEN);
  memcpy(m.Data(), mac.addr_bytes, RTE_ETHER_ADDR_LEN);
  r.Set("mac", m);
  r.Set("queues", queues);
  r.Set("maxQueues", dev.max_rx_queues);
  r.Set("rss", queues > 1 && rss != 0);
  return r;
}

Napi::Value PortStats(const Napi::CallbackInfo &info) {
  Napi::Env env = info.Env();
  uint16_t port = static_cast<uint16_t>(info[0].As<Napi::Number>().Uint32Value());
  rte_eth_stats s{};
  int err = rte_eth_stats_get(port, &s);
  if (err) return DpdkFail(env, "port " + std::to_string(port) + ": stats", err);
  auto r = Napi::Object::New(env);
  r.Set("rxPackets", static_cast<double>(s.ipackets));
  r.Set("txPackets", static_cast<double>(s.opackets));
  r.Set("rxBytes", static_cast<double>(s.ibytes));
  r.Set("txBytes", static_cast<double>(s.obytes));
  r.Set("rxMissed", static_cast<double>(s.imissed));
  r.Set("rxErrors", static_cast<double>(s.ierrors));
  r.Set("txErrors", static_cast<double>(s.oerrors));
  r.Set("rxNoMbuf", static_cast<double>(s.rx_nombuf));
  return r;
}

Napi::Value PortClose(const Napi::CallbackInfo &info) {
  uint16_t port = static_cast<uint16_t>(info[0].As<Napi::Number>().Uint32Value());
  if (rte_eth_dev_is_valid_port(port)) {
    rte_eth_dev_stop(port);
    rte_eth_dev_close(port);
  }
  if (port < RTE_MAX_ETHPORTS && g_pools[port]) {
    rte_mempool_free(g_pools[port]);
    g_pools[port] = nullptr;
  }
  return info.Env().Undefined();
}

}  // namespace

rte_mempool *PortPool(uint16_t port) { return port < RTE_MAX_ETHPORTS ? g_pools[port] : nullptr; }

void InitPorts(Napi::Env env, Napi::Object exports) {
  exports.Set("portOpen", Napi::Function::New(env, PortOpen));
  exports.Set("portStats", Napi::Function::New(env, PortStats));
  exports.Set("portClose", Napi::Function::New(env, PortClose));
}
