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

namespace {

bool HandleOf(OpHandle handle, HandleKind* which) {
  if (handle == OpHandle::kNone) return false;
  *which = handle == OpHandle::kFile ? HandleKind::kFile : HandleKind::kSocket;
  return true;
}

}  // namespace

bool EnvHandles::ReturnsHandle(OpKind kind, HandleKind* which) {
  return HandleOf(TraitsOf(kind).returns_handle, which);
}

bool EnvHandles::ClosesHandle(OpKind kind, HandleKind* which) {
  return HandleOf(TraitsOf(kind).closes_handle, which);
}

}  // namespace overlapped
