# Builds two plain native artifacts (neither is a Node addon; no Node headers needed).
# Linux only; on other systems nothing is built.
#   build/Release/rebind.so: native/rebind.c, a shared library used through LD_PRELOAD by
#     websockify's wrap mode. src/wrap/rebind-library.ts expects exactly this path.
#   build/Release/websockify-init: native/init.c, a tiny init that bin/websockify runs
#     websockify under when it is PID 1 (it reaps orphans and passes signals on), and
#     whose --watchdog mode stops a wrapped program's tree if websockify dies.
#     bin/websockify and src/wrap/watchdog.ts expect exactly this path.
{
  "targets": [
    {
      "target_name": "rebind",
      "conditions": [
        ["OS=='linux'", {
          "type": "shared_library",
          "product_name": "rebind",
          "product_prefix": "",
          "product_extension": "so",
          "product_dir": "<(PRODUCT_DIR)",
          "sources": ["native/rebind.c"],
          "cflags": ["-fPIC", "-O2"],
          "ldflags": ["-Wl,--no-undefined"],
          "libraries": ["-ldl"]
        }, {
          "type": "none"
        }]
      ]
    },
    {
      "target_name": "websockify-init",
      "conditions": [
        ["OS=='linux'", {
          "type": "executable",
          "product_name": "websockify-init",
          "product_dir": "<(PRODUCT_DIR)",
          "sources": ["native/init.c"],
          "cflags": ["-O2"]
        }, {
          "type": "none"
        }]
      ]
    }
  ]
}
