# Builds native/rebind.c into build/Release/rebind.so: a plain shared library
# used through LD_PRELOAD by websockify's wrap mode. It is not a Node addon and
# needs no Node headers. Linux only; on other systems nothing is built.
# src/wrap/rebind-library.ts expects exactly build/Release/rebind.so.
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
    }
  ]
}
