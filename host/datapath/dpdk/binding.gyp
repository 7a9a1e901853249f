{
  "targets": [
    {
      "target_name": "kvlb_dpdk",
      "sources": ["src/addon.cc", "src/eal.cc", "src/ports.cc", "src/frame_queues.cc"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17", "-Wall", "-Wextra", "<!@(pkg-config --cflags libdpdk)"],
      "cflags_cc!": ["-fno-exceptions"],
      "libraries": ["<!@(pkg-config --libs libdpdk)"]
    }
  ]
}
