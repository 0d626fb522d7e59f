#include "env_handles.h"

namespace overlapped {

void EnvHandles::Install(Napi::Env env) {
  auto* handles = new EnvHandles();
  // The instance data outlives the cleanup hooks and every finalizer that
  // could still name the set; it is deleted with the environment.
  env.SetInstanceData<EnvHandles>(handles);
  napi_add_env_cleanup_hook(env, CloseAll, handles);
}

EnvHandles* EnvHandles::Of(napi_env env) {
  void* data = nullptr;
  napi_get_instance_data(env, &data);
  return static_cast<EnvHandles*>(data);
}

void EnvHandles::CloseAll(void* self) {
  auto* handles = static_cast<EnvHandles*>(self);
  for (const auto& [handle, kind] : handles->open_) CloseHandleNow(handle, kind);
  handles->open_.clear();
}

bool EnvHandles::ReturnsHandle(OpKind kind, HandleKind* which) {
  switch (kind) {
    case OpKind::kFileOpen:
      *which = HandleKind::kFile;
      return true;
    case OpKind::kSocketAccept:
      *which = HandleKind::kSocket;
      return true;
    default:
      return false;
  }
}

bool EnvHandles::ClosesHandle(OpKind kind, HandleKind* which) {
  switch (kind) {
    case OpKind::kFileClose:
      *which = HandleKind::kFile;
      return true;
    case OpKind::kSocketClose:
      *which = HandleKind::kSocket;
      return true;
    default:
      return false;
  }
}

}  // namespace overlapped
