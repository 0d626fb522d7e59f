#include "op_table_export.h"

#include "backend.h"

namespace overlapped {

namespace {

const char* HandleName(OpHandle handle) {
  switch (handle) {
    case OpHandle::kNone: return "none";
    case OpHandle::kFile: return "file";
    case OpHandle::kSocket: return "socket";
  }
  return "?";
}

const char* ReactorName(ReactorRole role) {
  switch (role) {
    case ReactorRole::kNone: return "none";
    case ReactorRole::kRead: return "read";
    case ReactorRole::kWrite: return "write";
    case ReactorRole::kFlush: return "flush";
    case ReactorRole::kClose: return "close";
  }
  return "?";
}

const char* FamilyName(OpFamily family) {
  switch (family) {
    case OpFamily::kGeneric: return "generic";
    case OpFamily::kFile: return "file";
    case OpFamily::kSocket: return "socket";
  }
  return "?";
}

}  // namespace

Napi::Object OpTableExport(Napi::Env env) {
  Napi::Function parse = env.Global().Get("JSON").As<Napi::Object>().Get("parse").As<Napi::Function>();
  Napi::Array ops = Napi::Array::New(env, kOpKindCount);
  for (size_t i = 0; i < kOpKindCount; ++i) {
    const OpTraits& t = TraitsOf(kOpKinds[i]);
    Napi::Object traits = Napi::Object::New(env);
    traits.Set("blockingOnWindows", t.blocking_on_windows);
    traits.Set("uringHelper", t.uring_helper);
    traits.Set("uringCopiesInline", t.uring_copies_inline);
    traits.Set("returnsHandle", HandleName(t.returns_handle));
    traits.Set("closesHandle", HandleName(t.closes_handle));
    traits.Set("relays", t.relays);
    traits.Set("multishot", t.multishot);
    traits.Set("reactor", ReactorName(t.reactor));
    traits.Set("reactorQueuesDirectly", t.reactor_queues_directly);
    Napi::Object op = Napi::Object::New(env);
    op.Set("kind", static_cast<double>(kOpKinds[i]));
    op.Set("family", FamilyName(t.family));
    op.Set("name", t.name);
    op.Set("layout", parse.Call({Napi::String::New(env, t.layout_json)}));
    op.Set("traits", traits);
    ops.Set(static_cast<uint32_t>(i), op);
  }
  Napi::Object constants = Napi::Object::New(env);
  constants.Set("recordWords", static_cast<double>(kRecordWords));
  constants.Set("opRecordFinal", kOpRecordFinal);
  constants.Set("opRecordMore", kOpRecordMore);
  constants.Set("batchFields", static_cast<double>(kSubmitBatchFields));
  constants.Set("kindLimit", static_cast<double>(kOpKindLimit));
  constants.Set("maxTransfer", static_cast<double>(kMaxTransfer));
  constants.Set("statFieldCount", static_cast<double>(kStatFieldCount));
  constants.Set("acceptAddressEntryBytes", static_cast<double>(kAcceptAddressEntryBytes));
  constants.Set("acceptAddressBytes", static_cast<double>(kAcceptAddressBytes));
  constants.Set("forwardStatsBytes", static_cast<double>(kForwardStatsBytes));
  constants.Set("sendProgressBytes", static_cast<double>(kSendProgressBytes));
  Napi::Object flags = Napi::Object::New(env);
  flags.Set("multishot", static_cast<double>(op_flags::kMultishot));
  flags.Set("batch", static_cast<double>(op_flags::kBatch));
  constants.Set("opFlags", flags);
  Napi::Object sides = Napi::Object::New(env);
  sides.Set("recv", static_cast<double>(kForwardFailedRecv));
  sides.Set("send", static_cast<double>(kForwardFailedSend));
  constants.Set("forwardFailedSide", sides);
  Napi::Object table = Napi::Object::New(env);
  table.Set("abiId", kOpTableAbiId);
  table.Set("ops", ops);
  table.Set("constants", constants);
  return table;
}

}  // namespace overlapped
