// Protobuf arenas for the hot RPC paths, and the one build where they must not be used.
#pragma once

#include <google/protobuf/arena.h>

#include <cstddef>
#include <memory>

namespace connpool::firestore::detail {

// Under ThreadSanitizer, protobuf 3.21's map_field.h gives MapFieldBase two extra members
// (`seq1_`, `seq2_`, under __SANITIZE_THREAD__), while Debian's libprotobuf.so was built without
// them. An arena's cleanup runs the library's MapFieldBase::Destruct on our (TSan-layout) map
// fields, reads the wrong offsets and crashes (SEGV in RepeatedPtrFieldBase::DestroyProtos, every
// Document with fields). Heap messages are destroyed by our inline code and are fine, so TSan
// builds allocate on the heap; every other build uses arenas.
#if defined(__SANITIZE_THREAD__)
inline constexpr bool kProtoArenas = false;
#else
inline constexpr bool kProtoArenas = true;
#endif

/// An arena with these block sizes, or nullptr where arenas are off (see above).
inline std::unique_ptr<google::protobuf::Arena> make_proto_arena(std::size_t start_block_size,
                                                                 std::size_t max_block_size = 0) {
  if (!kProtoArenas) return nullptr;
  google::protobuf::ArenaOptions o;
  o.start_block_size = start_block_size;
  if (max_block_size != 0) o.max_block_size = max_block_size;
  return std::make_unique<google::protobuf::Arena>(o);
}

/// A new message on `arena`, or, without one, on the heap and owned by `heap`.
template <class M>
M* create_message(google::protobuf::Arena* arena, std::unique_ptr<M>& heap) {
  if (arena != nullptr) return google::protobuf::Arena::CreateMessage<M>(arena);
  heap = std::make_unique<M>();
  return heap.get();
}

}  // namespace connpool::firestore::detail
