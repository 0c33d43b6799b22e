// Marks calls into third-party libraries whose own bookkeeping allocates (oneDNN 2.6 builds an argument map on every
// primitive execution), so that tests of Hone's "no allocation in a steady-state run" can tell Hone's allocations
// from theirs. One thread-local counter; costs an increment and a decrement per call.
#pragma once

namespace hone {

int foreign_call_depth();  // > 0 while the calling thread is inside a ForeignCall

class ForeignCall {
 public:
  ForeignCall();
  ~ForeignCall();
  ForeignCall(const ForeignCall&) = delete;
  ForeignCall& operator=(const ForeignCall&) = delete;
};

}  // namespace hone
