{
  "targets": [
    {
      "target_name": "udp_batch",
      "sources": ["udp_batch.cc", "stream_conns.cc", "backend_conns.cc", "send_batch.cc"],
      "libraries": ["-luring"],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")"],
      "defines": ["NAPI_VERSION=8", "NAPI_DISABLE_CPP_EXCEPTIONS"],
      "cflags_cc": ["-O2", "-std=c++17", "-Wall", "-Wextra"]
    }
  ]
}
