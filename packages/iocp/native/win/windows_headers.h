// The one way native/win includes the Windows SDK: winsock2.h must come
// before windows.h, and WIN32_LEAN_AND_MEAN keeps windows.h from pulling in
// the old winsock.h that would clash with it.
#pragma once

#ifndef WIN32_LEAN_AND_MEAN
#define WIN32_LEAN_AND_MEAN
#endif
#ifndef NOMINMAX
#define NOMINMAX
#endif

#include <winsock2.h>
#include <mswsock.h>
#include <windows.h>
