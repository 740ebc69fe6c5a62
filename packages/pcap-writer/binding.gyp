{
  "targets": [
    {
      "target_name": "pcap_pipe",
      "sources": ["native/addon.c", "native/pw_pipe.c"],
      "cflags": ["-Wall", "-Wextra", "-std=gnu11", "-fvisibility=hidden"],
      "defines": ["NAPI_VERSION=8"],
      "configurations": {
        "Release": { "cflags": ["-O2"] },
        "Debug": {
          "cflags": ["-O1", "-g", "-fno-omit-frame-pointer", "-fsanitize=address,undefined"],
          "ldflags": ["-fsanitize=address,undefined"]
        }
      }
    }
  ]
}
