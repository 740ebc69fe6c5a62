{
  "targets": [
    {
      "target_name": "nflog_native",
      "sources": [
        "native/addon.c",
        "native/nl_socket.c",
        "native/nl_records.c",
        "native/nl_ip.c",
        "native/nl_flow.c",
        "native/nl_shard.c",
        "native/nl_merge.c",
        "native/nl_account.c",
        "native/nl_privs.c"
      ],
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
