// The op table as the addon exports it (`opTable`), built from the traits
// and constants the native code itself uses (generated/op_table.h), so that
// a test can compare them with @overlapped/common's.
#pragma once

#include <napi.h>

namespace overlapped {

// { abiId, ops: [{ kind, family, name, layout, traits }], constants }
Napi::Object OpTableExport(Napi::Env env);

}  // namespace overlapped
