// The REST path's JSON reader (serve/json_reader.h) against nlohmann::json as the oracle: the same trees for valid
// documents, the same verdict on thousands of mutated ones, and clear messages for the invalid.
#include <gtest/gtest.h>

#include <nlohmann/json.hpp>
#include <random>

#include "serve/json_reader.h"

namespace hone::serve {
namespace {

using json = nlohmann::json;

// Whether a reader value equals an nlohmann value (numbers compared as parsed doubles).
bool same(const JsonValue& v, const json& j) {
  switch (v.kind()) {
    case JsonValue::Kind::Null: return j.is_null();
    case JsonValue::Kind::True: return j.is_boolean() && j.get<bool>();
    case JsonValue::Kind::False: return j.is_boolean() && !j.get<bool>();
    case JsonValue::Kind::Number: {
      if (!j.is_number()) return false;
      // nlohmann holds an integer literal past 64 bits as a double; an integer it holds must be one in the text.
      if (j.is_number_integer() && !v.is_integer_literal()) return false;
      return std::strtod(std::string(v.number_text()).c_str(), nullptr) == j.get<double>();
    }
    case JsonValue::Kind::String: return j.is_string() && v.string_value() == j.get<std::string>();
    case JsonValue::Kind::Array: {
      if (!j.is_array() || v.size() != j.size()) return false;
      size_t i = 0;
      bool ok = true;
      v.for_each([&](const JsonValue& e) { ok = ok && same(e, j[i++]); });
      return ok;
    }
    case JsonValue::Kind::Object: {
      if (!j.is_object() || v.size() != j.size()) return false;  // (documents here have no duplicate keys)
      bool ok = true;
      v.for_each([&](const JsonValue& e) { ok = ok && j.contains(e.key()) && same(e, j[e.key()]); });
      return ok;
    }
  }
  return false;
}

bool reader_accepts(const std::string& text) {
  try {
    JsonDocument::parse(text);
    return true;
  } catch (const JsonSyntaxError&) {
    return false;
  }
}

std::string reader_error(const std::string& text) {
  try {
    JsonDocument::parse(text);
  } catch (const JsonSyntaxError& e) {
    return e.what();
  }
  ADD_FAILURE() << "accepted: " << text;
  return "";
}

const char* kValid[] = {
    R"({"inputs": [{"name": "x", "shape": [2, 3], "datatype": "FP32", "data": [[1, -2.5, 3e2], [0, -0.0, 1E-3]]}]})",
    R"([])", R"({})", R"(  [ 1 , 2 ]  )", R"("just a string")", R"(-0)", R"(123456789012345678)", R"(true)",
    R"(null)", R"({"a": {"b": {"c": [null, false, true, {"d": []}]}}})",
    R"({"esc": "q\" b\\ s\/ \b\f\n\r\t u\u00e9 \u20ac pair \ud83d\ude00", "k\"ey": 1})",
    R"([1.5e+10, 2E-5, 0.000001, 9007199254740993, -9223372036854775808])",
};

TEST(JsonReader, BuildsTheTreeNlohmannBuilds) {
  for (const char* text : kValid) {
    JsonDocument doc = JsonDocument::parse(text);
    EXPECT_TRUE(same(doc.root(), json::parse(text))) << text;
  }
  JsonDocument doc = JsonDocument::parse(R"({"id": "a", "n": 3})");
  ASSERT_NE(doc.root().find("n"), nullptr);
  EXPECT_EQ(doc.root().find("n")->number_text(), "3");
  EXPECT_EQ(doc.root().find("missing"), nullptr);
  // A moved document keeps its nodes.
  JsonDocument moved = std::move(doc);
  EXPECT_EQ(moved.root().find("id")->string_value(), "a");
}

TEST(JsonReader, RefusesWhatJsonDoesNotAllowSayingWhere) {
  EXPECT_NE(reader_error("").find("expected a value at byte 0"), std::string::npos);
  EXPECT_NE(reader_error("[1, 2,]").find("expected a value at byte 6"), std::string::npos);
  EXPECT_NE(reader_error("{\"a\" 1}").find("expected ':'"), std::string::npos);
  EXPECT_NE(reader_error("[1 2]").find("expected ',' or ']'"), std::string::npos);
  EXPECT_NE(reader_error("01").find("unexpected text after the JSON value at byte 1"), std::string::npos);
  EXPECT_NE(reader_error("1.").find("expected a digit after '.'"), std::string::npos);
  EXPECT_NE(reader_error("-").find("expected a digit"), std::string::npos);
  EXPECT_NE(reader_error("1e").find("exponent"), std::string::npos);
  EXPECT_NE(reader_error("\"abc").find("unterminated string"), std::string::npos);
  EXPECT_NE(reader_error("\"a\tb\"").find("control character"), std::string::npos);
  EXPECT_NE(reader_error("\"\\x\"").find("unknown escape"), std::string::npos);
  EXPECT_NE(reader_error("\"\\u12g4\"").find("4 hex digits"), std::string::npos);
  EXPECT_NE(reader_error("{1: 2}").find("member name in quotes"), std::string::npos);
  EXPECT_NE(reader_error("nul").find("expected a value"), std::string::npos);
  EXPECT_NE(reader_error("{} {}").find("unexpected text"), std::string::npos);
  EXPECT_NE(reader_error(std::string(100000, '[')).find("nested more than 64 levels deep"), std::string::npos);
  EXPECT_TRUE(reader_accepts(std::string(64, '[') + std::string(64, ']')));
}

// Random single-byte edits of valid documents (ASCII only, no NUL: nlohmann also checks UTF-8, which this reader
// leaves to the consumer, and stops at NUL; numbers past double's range are left out too): both readers must agree
// on every one, and on the trees they accept.
TEST(JsonReader, AgreesWithNlohmannOnMutatedDocuments) {
  std::mt19937 rng(7);
  const std::string alphabet = "{}[]:,\" \\/-+.0123456789eEtrufalsn\tabu";
  int accepted = 0, refused = 0;
  for (const char* base : kValid) {
    std::string text = base;
    for (int trial = 0; trial < 600; ++trial) {
      std::string m = text;
      int edits = 1 + static_cast<int>(rng() % 3);
      for (int e = 0; e < edits; ++e) {
        size_t at = m.empty() ? 0 : rng() % m.size();
        char c = alphabet[rng() % alphabet.size()];
        switch (rng() % 3) {
          case 0: if (!m.empty()) m[at] = c; break;
          case 1: m.insert(m.begin() + static_cast<std::ptrdiff_t>(at), c); break;
          default: if (!m.empty()) m.erase(at, 1);
        }
      }
      json j;
      try {
        j = json::parse(m);
      } catch (const json::out_of_range&) {
        continue;  // a number past double's range: nlohmann refuses it; the reader leaves range to conversion
      } catch (const json::exception&) {
        j = json::value_t::discarded;
      }
      bool ours = reader_accepts(m);
      ASSERT_EQ(ours, !j.is_discarded()) << "disagree on: " << m;
      if (ours) {
        ++accepted;
        // Duplicate keys (nlohmann keeps the last) cannot be compared member by member; skip those.
        if (j.is_object() || j.is_array()) {
          JsonDocument doc = JsonDocument::parse(m);
          if (doc.root().size() == j.size()) EXPECT_TRUE(same(doc.root(), j)) << m;
        }
      } else {
        ++refused;
      }
    }
  }
  EXPECT_GT(accepted, 100);
  EXPECT_GT(refused, 1000);
}

}  // namespace
}  // namespace hone::serve
