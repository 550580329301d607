#pragma once
// The collectives' passes (docs/distributed.md#the-schedule-overlap):
//
// bucket-collectives{bytes=N}: runs of all_reduce ops (same reduction and
//   dtype, each smaller than N bytes, consecutive in the order their operands
//   are defined) become one all_reduce of their concatenation, so that small
//   gradients travel in one message; each former result is a slice of it,
//   placed just before its first user. N = 0 turns it off.
// split-collectives{bytes=N} (passes/split_collectives.cpp): an all_reduce of
//   at least 2N bytes whose operand has several rows becomes one all_reduce
//   per block of rows (floor(bytes / N) blocks, a multiple of 8 rows each
//   where there are enough; concatenated again; run after
//   bucket-collectives, which would join small blocks again), and the
//   operand's computation is split with it through elementwise ops and a
//   rank-2 matmul used only there (rows of the first operand, or its columns
//   when transposed), so that each block's message starts once that block is
//   computed. N = 0 turns it off.
// schedule-collectives: moves each all_reduce up to just after its operand's
//   definition, so that it starts as early as the graph allows (the lowering
//   waits for it at its first reader).
#include <cstdint>
#include <memory>

#include "nabla/ir/function.h"

namespace nabla {

inline constexpr int64_t kDefaultBucketBytes = int64_t{256} << 10;
inline constexpr int64_t kDefaultSplitBytes = int64_t{256} << 10;

// Returns true when it made a bucket.
bool bucket_collectives(Function& f, int64_t max_bytes = kDefaultBucketBytes);
// Returns true when it split an all_reduce.
bool split_collectives(Function& f, int64_t max_bytes = kDefaultSplitBytes);
// Returns true when it moved a node.
bool schedule_collectives(Function& f);
// Whether f holds a collective.
bool has_collectives(const Function& f);

}  // namespace nabla
