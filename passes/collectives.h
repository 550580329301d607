#pragma once
// The collectives' passes (docs/distributed.md#the-schedule-overlap):
//
// bucket-collectives{bytes=N}: runs of all_reduce ops (same reduction and
//   dtype, each smaller than N bytes, consecutive in the order their operands
//   are defined) become one all_reduce of their concatenation, so that small
//   gradients travel in one message; each former result is a slice of it,
//   placed just before its first user. N = 0 turns it off.
// schedule-collectives: moves each all_reduce up to just after its operand's
//   definition, so that it starts as early as the graph allows (the lowering
//   waits for it at its first reader).
#include <cstdint>
#include <memory>

#include "nabla/ir/function.h"

namespace nabla {

inline constexpr int64_t kDefaultBucketBytes = int64_t{256} << 10;

// Returns true when it made a bucket.
bool bucket_collectives(Function& f, int64_t max_bytes = kDefaultBucketBytes);
// Returns true when it moved a node.
bool schedule_collectives(Function& f);
// Whether f holds a collective.
bool has_collectives(const Function& f);

}  // namespace nabla
