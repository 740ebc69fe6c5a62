{
  "targets": [
    {
      "target_name": "nflog_native",
      "sources": ["native/addon.c"],
      "cflags": ["-Wall", "-Wextra", "-O2", "-std=gnu11"],
      "defines": ["NAPI_VERSION=8"]
    }
  ]
}
