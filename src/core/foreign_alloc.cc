#include "core/foreign_alloc.h"

namespace hone {
namespace {
thread_local int depth = 0;
}
int foreign_call_depth() { return depth; }
ForeignCall::ForeignCall() { ++depth; }
ForeignCall::~ForeignCall() { --depth; }
}  // namespace hone
