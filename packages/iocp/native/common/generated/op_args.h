// Generated from packages/common/src/op-table.ts by packages/iocp/scripts/op-table.mjs.
// Do not edit. Included by backend.h after Op.
#pragma once

#include <string>

namespace overlapped {

// OpArgs<OpKind::kX>::field(op): an op's fields by the names its layout
// gives them, read from the record slot the table maps them to.
template <OpKind kind>
struct OpArgs;

template <>
struct OpArgs<OpKind::kNop> {
};

template <>
struct OpArgs<OpKind::kFileOpen> {
  static int64_t open_bits(const Op& op) { return op.arg; }
  static const std::string& path(const Op& op) { return op.path; }
};

template <>
struct OpArgs<OpKind::kFileClose> {
  static int64_t file(const Op& op) { return op.handle; }
};

template <>
struct OpArgs<OpKind::kFileRead> {
  static int64_t file(const Op& op) { return op.handle; }
  static int64_t position(const Op& op) { return op.offset; }
  static constexpr size_t kDataBuffer = 0;
  static const OpBuffer* data(const Op& op) { return op.buffers.size() > 0 ? &op.buffers[0] : nullptr; }
};

template <>
struct OpArgs<OpKind::kFileWrite> {
  static int64_t file(const Op& op) { return op.handle; }
  static int64_t position(const Op& op) { return op.offset; }
  static constexpr size_t kDataBuffer = 0;
  static const OpBuffer* data(const Op& op) { return op.buffers.size() > 0 ? &op.buffers[0] : nullptr; }
};

template <>
struct OpArgs<OpKind::kFileReadv> {
  static int64_t file(const Op& op) { return op.handle; }
  static int64_t position(const Op& op) { return op.offset; }
};

template <>
struct OpArgs<OpKind::kFileWritev> {
  static int64_t file(const Op& op) { return op.handle; }
  static int64_t position(const Op& op) { return op.offset; }
};

template <>
struct OpArgs<OpKind::kFileSync> {
  static int64_t file(const Op& op) { return op.handle; }
};

template <>
struct OpArgs<OpKind::kFileAllocate> {
  static int64_t file(const Op& op) { return op.handle; }
  static int64_t size(const Op& op) { return op.arg; }
};

template <>
struct OpArgs<OpKind::kFileTruncate> {
  static int64_t file(const Op& op) { return op.handle; }
  static int64_t size(const Op& op) { return op.arg; }
};

template <>
struct OpArgs<OpKind::kFileStat> {
  static int64_t file(const Op& op) { return op.handle; }
  static constexpr size_t kRecordBuffer = 0;
  static const OpBuffer* record(const Op& op) { return op.buffers.size() > 0 ? &op.buffers[0] : nullptr; }
};

template <>
struct OpArgs<OpKind::kFileCopyRange> {
  static int64_t source(const Op& op) { return op.handle; }
  static int64_t position(const Op& op) { return op.offset; }
  static int64_t target(const Op& op) { return op.arg; }
  static int64_t length(const Op& op) { return op.length; }
  static constexpr size_t kBounceBuffer = 0;
  static const OpBuffer* bounce(const Op& op) { return op.buffers.size() > 0 ? &op.buffers[0] : nullptr; }
};

template <>
struct OpArgs<OpKind::kFileDatasync> {
  static int64_t file(const Op& op) { return op.handle; }
};

template <>
struct OpArgs<OpKind::kFileRealpath> {
  static int64_t file(const Op& op) { return op.handle; }
  static constexpr size_t kPathBuffer = 0;
  static const OpBuffer* path(const Op& op) { return op.buffers.size() > 0 ? &op.buffers[0] : nullptr; }
};

template <>
struct OpArgs<OpKind::kSocketAccept> {
  static int64_t listener(const Op& op) { return op.handle; }
  static constexpr size_t kAddressesBuffer = 0;
  // Null when the op was given none.
  static const OpBuffer* addresses(const Op& op) { return op.buffers.size() > 0 ? &op.buffers[0] : nullptr; }
};

template <>
struct OpArgs<OpKind::kSocketConnect> {
  static int64_t socket(const Op& op) { return op.handle; }
  static int64_t port(const Op& op) { return op.arg; }
  static const std::string& host(const Op& op) { return op.path; }
};

template <>
struct OpArgs<OpKind::kSocketRecv> {
  static int64_t socket(const Op& op) { return op.handle; }
  static constexpr size_t kDataBuffer = 0;
  static const OpBuffer* data(const Op& op) { return op.buffers.size() > 0 ? &op.buffers[0] : nullptr; }
};

template <>
struct OpArgs<OpKind::kSocketSend> {
  static int64_t socket(const Op& op) { return op.handle; }
  static constexpr size_t kDataBuffer = 0;
  static const OpBuffer* data(const Op& op) { return op.buffers.size() > 0 ? &op.buffers[0] : nullptr; }
  static constexpr size_t kProgressBuffer = 1;
  // Null when the op was given none.
  static const OpBuffer* progress(const Op& op) { return op.buffers.size() > 1 ? &op.buffers[1] : nullptr; }
};

template <>
struct OpArgs<OpKind::kSocketShutdown> {
  static int64_t socket(const Op& op) { return op.handle; }
  static int64_t how(const Op& op) { return op.arg; }
};

template <>
struct OpArgs<OpKind::kSocketClose> {
  static int64_t socket(const Op& op) { return op.handle; }
};

template <>
struct OpArgs<OpKind::kSocketForward> {
  static int64_t socket(const Op& op) { return op.handle; }
  static int64_t to(const Op& op) { return op.arg; }
  static constexpr size_t kDataBuffer = 0;
  static const OpBuffer* data(const Op& op) { return op.buffers.size() > 0 ? &op.buffers[0] : nullptr; }
  static constexpr size_t kStatsBuffer = 1;
  // Null when the op was given none.
  static const OpBuffer* stats(const Op& op) { return op.buffers.size() > 1 ? &op.buffers[1] : nullptr; }
};

template <>
struct OpArgs<OpKind::kSocketSendfile> {
  static int64_t socket(const Op& op) { return op.handle; }
  static int64_t position(const Op& op) { return op.offset; }
  static int64_t file(const Op& op) { return op.arg; }
  static int64_t length(const Op& op) { return op.length; }
  static constexpr size_t kHeadBuffer = 0;
  static const OpBuffer* head(const Op& op) { return op.buffers.size() > 0 ? &op.buffers[0] : nullptr; }
  static constexpr size_t kProgressBuffer = 1;
  // Null when the op was given none.
  static const OpBuffer* progress(const Op& op) { return op.buffers.size() > 1 ? &op.buffers[1] : nullptr; }
};

}  // namespace overlapped
