{
  "targets": [
    {
      "target_name": "overlapped",
      "sources": [
        "addon.cc",
        "common/aligned_buffer.cc",
        "common/delivery_queue.cc",
        "common/env_handles.cc",
        "common/errors.cc",
        "common/native_posters.cc",
        "common/op_buffers.cc",
        "common/op_table_export.cc",
        "common/port.cc",
        "common/sockets.cc",
        "common/wake_function.cc"
      ],
      "include_dirs": ["<!(node -p \"require('node-addon-api').include_dir\")", "."],
      "defines": ["NAPI_VERSION=8", "NAPI_CPP_EXCEPTIONS", "NODE_API_SWALLOW_UNTHROWABLE_EXCEPTIONS"],
      "cflags!": ["-fno-exceptions"],
      "cflags_cc!": ["-fno-exceptions"],
      "cflags_cc": ["-std=c++17", "-fexceptions", "-Wall", "-Wextra", "-Wno-unused-parameter"],
      "xcode_settings": {
        "GCC_ENABLE_CPP_EXCEPTIONS": "YES",
        "CLANG_CXX_LANGUAGE_STANDARD": "c++17",
        "MACOSX_DEPLOYMENT_TARGET": "11.0"
      },
      "conditions": [
        ["OS=='linux'", {
          "sources": [
            "<!@(node -p \"require('fs').readdirSync('linux').filter(f => f.endsWith('.cc')).map(f => 'linux/' + f).join(' ')\")",
            "<!@(node -p \"require('fs').readdirSync('posix').filter(f => f.endsWith('.cc') && f !== 'registry_posix.cc' && f !== 'poll_readiness.cc').map(f => 'posix/' + f).join(' ')\")"
          ],
          "libraries": ["-lpthread", "-ldl"],
          "ldflags": ["-Wl,-z,now"]
        }],
        ["OS!='linux' and OS!='win'", {
          "sources": [
            "<!@(node -p \"require('fs').readdirSync('posix').filter(f => f.endsWith('.cc')).map(f => 'posix/' + f).join(' ')\")"
          ]
        }],
        ["OS=='win'", {
          "sources": [
            "<!@(node -p \"require('fs').readdirSync('win').filter(f => f.endsWith('.cc')).map(f => 'win/' + f).join(' ')\")"
          ],
          "libraries": ["-lws2_32", "-lmswsock", "-lntdll"],
          "msvs_settings": { "VCCLCompilerTool": { "ExceptionHandling": 1 } }
        }]
      ]
    }
  ]
}
