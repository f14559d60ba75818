#include "resp.hpp"

#include <hiredis/hiredis.h>
#include <hiredis/read.h>

#include <algorithm>
#include <cstring>
#include <new>
#include <string>
#include <vector>

namespace connpool::redis::detail {

namespace {

// The reader keeps consumed bytes until `maxbuf` of free space accumulates; hiredis' default
// (16 KiB) makes every large reply and every deep pipeline burst free and regrow its buffer.
// 1 MiB keeps a busy connection's buffer warm while idle connections stay cheap.
constexpr std::size_t kReaderMaxBuf = 1024 * 1024;

// An array's announced length comes from the peer: at most this many elements are reserved up
// front, the rest as they arrive. Trusting it let "*366666666\r\n" allocate and initialise
// gigabytes before a single element came (found by fuzz/resp_fuzz.cpp).
constexpr std::size_t kMaxArrayReserve = 1024;

// Objects are created in place: the root is heap-allocated, children live inside their
// parent's element vector (hiredis creates an array before its elements and tells each child
// its parent and index; children arrive in index order, and a child is complete before the
// next one is placed, so growing the parent's vector never moves an element still being read).
Reply* place(const redisReadTask* task, Reply value) {
  if (task->parent != nullptr) {
    auto* parent = static_cast<Reply*>(task->parent->obj);
    auto& elements = parent->elements();
    const auto idx = static_cast<std::size_t>(task->idx);
    if (elements.size() <= idx) elements.resize(idx + 1);
    Reply& slot = elements[idx];
    slot = std::move(value);
    return &slot;
  }
  return new (std::nothrow) Reply(std::move(value));
}

void* create_string(const redisReadTask* task, char* str, size_t len) {
  std::string bytes(str, len);
  switch (task->type) {
    case REDIS_REPLY_ERROR:
      return place(task, Reply::error(std::move(bytes)));
    case REDIS_REPLY_STATUS:
      return place(task, Reply::status(std::move(bytes)));
    default:
      return place(task, Reply::string(std::move(bytes)));
  }
}
void* create_array(const redisReadTask* task, int elements) {
  std::vector<Reply> storage;
  storage.reserve(std::min(static_cast<std::size_t>(std::max(elements, 0)), kMaxArrayReserve));
  return place(task, Reply::array(std::move(storage)));
}
void* create_integer(const redisReadTask* task, long long value) {
  return place(task, Reply::integer(value));
}
void* create_nil(const redisReadTask* task) {
  return place(task, Reply::nil());
}
// hiredis frees only the root (on error or when a caller discards it); children belong to it.
void free_object(void* obj) {
  delete static_cast<Reply*>(obj);
}

redisReplyObjectFunctions kFunctions = {create_string, create_array, create_integer, create_nil,
                                        free_object};

}  // namespace

RespReader::RespReader() : reader_(redisReaderCreateWithFunctions(&kFunctions)) {
  if (reader_ == nullptr) throw std::bad_alloc();
  reader_->maxbuf = kReaderMaxBuf;
}

RespReader::~RespReader() {
  redisReaderFree(reader_);
}

Result<void> RespReader::feed(const char* data, std::size_t size) {
  if (redisReaderFeed(reader_, data, size) != REDIS_OK) {
    return Error(errc::protocol_error, std::string("RESP reader: ") + reader_->errstr);
  }
  return ok();
}

Result<std::optional<Reply>> RespReader::next() {
  void* obj = nullptr;
  if (redisReaderGetReply(reader_, &obj) != REDIS_OK) {
    return Error(errc::protocol_error, std::string("malformed RESP from server: ") +
                                           (reader_->errstr[0] ? reader_->errstr : "parse error"));
  }
  if (obj == nullptr) return std::optional<Reply>{};
  std::unique_ptr<Reply> owned(static_cast<Reply*>(obj));
  return std::optional<Reply>(std::move(*owned));
}

FormattedCommand FormattedCommand::format(std::span<const std::string_view> args) {
  // Small commands (the common case) avoid heap allocation for the argument tables.
  constexpr std::size_t kInline = 16;
  const char* argv_inline[kInline];
  std::size_t len_inline[kInline];
  std::vector<const char*> argv_heap;
  std::vector<std::size_t> len_heap;
  const char** argv = argv_inline;
  std::size_t* lens = len_inline;
  if (args.size() > kInline) {
    argv_heap.resize(args.size());
    len_heap.resize(args.size());
    argv = argv_heap.data();
    lens = len_heap.data();
  }
  for (std::size_t i = 0; i < args.size(); ++i) {
    argv[i] = args[i].data() != nullptr ? args[i].data() : "";
    lens[i] = args[i].size();
  }
  char* out = nullptr;
  const int len = redisFormatCommandArgv(&out, static_cast<int>(args.size()), argv, lens);
  if (len < 0 || out == nullptr) throw std::bad_alloc();
  FormattedCommand cmd;
  cmd.data_.reset(out);
  cmd.size_ = static_cast<std::size_t>(len);
  return cmd;
}

void FormattedCommand::Free::operator()(char* p) const noexcept {
  redisFreeCommand(p);
}

}  // namespace connpool::redis::detail
