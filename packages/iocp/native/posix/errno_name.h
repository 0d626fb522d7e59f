// Turns an errno value into its symbolic name ("EPERM"), the `code` that
// BackendError and Node's own system errors carry.
#pragma once

namespace overlapped {

// Returns a static string such as "ENOMEM", or "EUNKNOWN" for a value the
// table does not know. Never allocates, so it is safe on worker threads.
const char* ErrnoName(int errnum);

}  // namespace overlapped
