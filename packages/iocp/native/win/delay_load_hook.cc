// The addon imports Node-API from "node.exe" through a delay-load import
// library, so the import is resolved on first use by mingw-w64's
// __delayLoadHelper2 rather than by the loader. Left alone, the helper would
// LoadLibrary("node.exe"), which fails (or finds the wrong module) when the
// host executable has another name: a renamed node.exe, or Electron, whose
// executable exports Node-API itself. This hook answers the helper's
// dliNotePreLoadLibrary question with the host process's own module, so the
// Node-API symbols are looked up in whatever executable loaded us.
#include "windows_headers.h"

#include <delayimp.h>

namespace {

FARPROC WINAPI ResolveNodeToHostProcess(unsigned notification,
                                        PDelayLoadInfo info) {
  if (notification != dliNotePreLoadLibrary || info == nullptr ||
      info->szDll == nullptr || lstrcmpiA(info->szDll, "node.exe") != 0) {
    return nullptr;  // Let the helper do what it would have done.
  }
  // GetModuleHandleExW (no UNCHANGED_REFCOUNT flag) takes a reference, as
  // LoadLibrary would have: the helper calls FreeLibrary on the handle when
  // two threads race to resolve the same DLL, and that must balance.
  HMODULE host = nullptr;
  if (!GetModuleHandleExW(0, nullptr, &host)) return nullptr;
  return reinterpret_cast<FARPROC>(host);
}

}  // namespace

// mingw-w64's helper reads this variable on every delay-loaded call. The
// runtime library defines it (as null) in an archive member of its own, so a
// definition here takes its place at link time; the header declares it
// without const, unlike MSVC's, hence the plain definition.
extern "C" {
PfnDliHook __pfnDliNotifyHook2 = ResolveNodeToHostProcess;
}
