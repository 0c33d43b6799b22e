#include <gtest/gtest.h>

#include "serve/inference_server.h"

namespace hone::serve {
namespace {

TEST(ServeProtocolTypes, DatatypesRoundTrip) {
  for (DType t : {DType::Bool, DType::UInt8, DType::Int8, DType::Int32, DType::Int64, DType::Float16,
                  DType::BFloat16, DType::Float32, DType::Float64, DType::String})
    EXPECT_EQ(dtype_from_kserve(kserve_datatype(t)), t);
  EXPECT_EQ(kserve_datatype(DType::Float32), "FP32");
  EXPECT_EQ(kserve_datatype(DType::String), "BYTES");
}

TEST(ServeProtocolTypes, UnknownDatatypeIsInvalidArgument) {
  try {
    dtype_from_kserve("FLOAT32");
    FAIL() << "no error";
  } catch (const ServeError& e) {
    EXPECT_EQ(e.kind(), ErrorKind::InvalidArgument);
    EXPECT_NE(std::string(e.what()).find("FLOAT32"), std::string::npos);
  }
  EXPECT_THROW(kserve_datatype(DType::Complex64), ServeError);
}

TEST(ServeProtocolTypes, HttpStatuses) {
  EXPECT_EQ(http_status(ErrorKind::InvalidArgument), 400);
  EXPECT_EQ(http_status(ErrorKind::NotFound), 404);
  EXPECT_EQ(http_status(ErrorKind::TooLarge), 413);
  EXPECT_EQ(http_status(ErrorKind::Unavailable), 503);
  EXPECT_EQ(http_status(ErrorKind::Internal), 500);
}

}  // namespace
}  // namespace hone::serve
