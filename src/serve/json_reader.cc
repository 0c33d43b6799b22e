// A strict recursive-descent JSON reader into one vector of nodes (see json_reader.h).
#include "serve/json_reader.h"

#include <fmt/format.h>

#include <algorithm>
#include <cstring>

namespace hone::serve {

class JsonParser {
 public:
  JsonParser(std::string_view text, int max_depth, std::vector<JsonValue>& nodes)
      : begin_(text.data()), p_(text.data()), end_(text.data() + text.size()), max_depth_(max_depth), nodes_(nodes) {}

  void parse_document() {
    nodes_.reserve(16);
    parse_value(0);
    skip_space();
    if (p_ != end_) fail("unexpected text after the JSON value");
  }

 private:
  [[noreturn]] void fail(std::string_view what) const {
    std::string found = p_ == end_ ? std::string("the end of the text") : fmt::format("'{}'", printable(*p_));
    throw JsonSyntaxError(fmt::format("{} at byte {} (found {})", what, p_ - begin_, found));
  }
  static std::string printable(char c) {
    auto u = static_cast<unsigned char>(c);
    return u >= 0x20 && u < 0x7f ? std::string(1, c) : fmt::format("\\x{:02x}", u);
  }

  void skip_space() {
    while (p_ != end_ && (*p_ == ' ' || *p_ == '\n' || *p_ == '\r' || *p_ == '\t')) ++p_;
  }

  uint32_t add(JsonValue::Kind kind) {
    nodes_.emplace_back();
    nodes_.back().kind_ = kind;
    return static_cast<uint32_t>(nodes_.size() - 1);
  }

  uint32_t parse_value(int depth) {
    skip_space();
    if (p_ == end_) fail("expected a value");
    switch (*p_) {
      case '{': return parse_container(depth, true);
      case '[': return parse_container(depth, false);
      case '"': {
        uint32_t i = add(JsonValue::Kind::String);
        bool escaped = false;
        std::string_view s = parse_string(escaped);
        nodes_[i].text_ = s.data();
        nodes_[i].text_len_ = static_cast<uint32_t>(s.size());
        nodes_[i].text_escaped_ = escaped;
        return i;
      }
      case 't': return parse_literal("true", JsonValue::Kind::True);
      case 'f': return parse_literal("false", JsonValue::Kind::False);
      case 'n': return parse_literal("null", JsonValue::Kind::Null);
      default:
        if (*p_ == '-' || (*p_ >= '0' && *p_ <= '9')) return parse_number();
        fail("expected a value");
    }
  }

  uint32_t parse_literal(std::string_view word, JsonValue::Kind kind) {
    if (static_cast<size_t>(end_ - p_) < word.size() || std::memcmp(p_, word.data(), word.size()) != 0)
      fail("expected a value");
    p_ += word.size();
    return add(kind);
  }

  uint32_t parse_number() {
    const char* start = p_;
    auto digits = [&] {
      const char* d = p_;
      while (p_ != end_ && *p_ >= '0' && *p_ <= '9') ++p_;
      return p_ != d;
    };
    bool integer = true;
    if (*p_ == '-') ++p_;
    if (p_ != end_ && *p_ == '0') {
      ++p_;
    } else if (!digits()) {
      fail("expected a digit");
    }
    if (p_ != end_ && *p_ == '.') {
      ++p_;
      integer = false;
      if (!digits()) fail("expected a digit after '.'");
    }
    if (p_ != end_ && (*p_ == 'e' || *p_ == 'E')) {
      ++p_;
      integer = false;
      if (p_ != end_ && (*p_ == '+' || *p_ == '-')) ++p_;
      if (!digits()) fail("expected a digit in the exponent");
    }
    uint32_t i = add(JsonValue::Kind::Number);
    nodes_[i].text_ = start;
    nodes_[i].text_len_ = static_cast<uint32_t>(p_ - start);
    nodes_[i].is_integer_ = integer;
    return i;
  }

  // The 4 hex digits after "\\u" (p_ at the 'u'); leaves p_ at the last digit.
  uint32_t read_hex4() {
    uint32_t v = 0;
    for (int k = 0; k < 4; ++k) {
      ++p_;
      if (p_ == end_ || !std::isxdigit(static_cast<unsigned char>(*p_))) fail("expected 4 hex digits after \\u");
      char c = *p_;
      v = v * 16 + static_cast<uint32_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
    }
    return v;
  }

  // The raw contents of a string starting at its opening quote; checks escapes and refuses control characters.
  std::string_view parse_string(bool& escaped) {
    ++p_;  // the opening quote
    const char* start = p_;
    for (;;) {
      if (p_ == end_) fail("unterminated string");
      char c = *p_;
      if (c == '"') break;
      if (static_cast<unsigned char>(c) < 0x20) fail("control character in a string (escape it)");
      if (c == '\\') {
        escaped = true;
        ++p_;
        if (p_ == end_) fail("unterminated string");
        switch (*p_) {
          case '"': case '\\': case '/': case 'b': case 'f': case 'n': case 'r': case 't': break;
          case 'u': {
            // Surrogates must come in pairs (high then low), which spell one code point above U+FFFF.
            uint32_t cp = read_hex4();
            if (cp >= 0xdc00 && cp < 0xe000) fail("a low surrogate \\u escape without a high one before it");
            if (cp >= 0xd800 && cp < 0xdc00) {
              if (end_ - p_ < 3 || p_[1] != '\\' || p_[2] != 'u') fail("a high surrogate \\u escape without a low one");
              p_ += 2;
              uint32_t lo = read_hex4();
              if (lo < 0xdc00 || lo >= 0xe000) fail("a high surrogate \\u escape without a low one");
            }
            break;
          }
          default: fail("unknown escape in a string");
        }
      }
      ++p_;
    }
    std::string_view s(start, static_cast<size_t>(p_ - start));
    ++p_;  // the closing quote
    return s;
  }

  uint32_t parse_container(int depth, bool object) {
    if (depth >= max_depth_) fail(fmt::format("nested more than {} levels deep", max_depth_));
    uint32_t self = add(object ? JsonValue::Kind::Object : JsonValue::Kind::Array);
    ++p_;
    skip_space();
    char close = object ? '}' : ']';
    if (p_ != end_ && *p_ == close) {
      ++p_;
      return self;
    }
    uint32_t last = 0, count = 0;
    for (;;) {
      std::string_view key;
      bool key_escaped = false;
      if (object) {
        skip_space();
        if (p_ == end_ || *p_ != '"') fail("expected a member name in quotes");
        key = parse_string(key_escaped);
        skip_space();
        if (p_ == end_ || *p_ != ':') fail("expected ':' after a member name");
        ++p_;
      }
      uint32_t child = parse_value(depth + 1);
      nodes_[child].key_ = key.data();
      nodes_[child].key_len_ = static_cast<uint32_t>(key.size());
      nodes_[child].key_escaped_ = key_escaped;
      if (count > 0) nodes_[last].next_ = child - last;
      last = child;
      ++count;
      skip_space();
      if (p_ != end_ && *p_ == ',') {
        ++p_;
        continue;
      }
      if (p_ != end_ && *p_ == close) {
        ++p_;
        break;
      }
      fail(object ? "expected ',' or '}' in an object" : "expected ',' or ']' in an array");
    }
    nodes_[self].count_ = count;
    return self;
  }

  const char* begin_;
  const char* p_;
  const char* end_;
  int max_depth_;
  std::vector<JsonValue>& nodes_;
};

namespace {

void append_utf8(std::string& out, uint32_t cp) {
  if (cp < 0x80) {
    out += static_cast<char>(cp);
  } else if (cp < 0x800) {
    out += static_cast<char>(0xc0 | (cp >> 6));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else if (cp < 0x10000) {
    out += static_cast<char>(0xe0 | (cp >> 12));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  } else {
    out += static_cast<char>(0xf0 | (cp >> 18));
    out += static_cast<char>(0x80 | ((cp >> 12) & 0x3f));
    out += static_cast<char>(0x80 | ((cp >> 6) & 0x3f));
    out += static_cast<char>(0x80 | (cp & 0x3f));
  }
}

uint32_t hex4(std::string_view s, size_t at) {
  uint32_t v = 0;
  for (size_t k = 0; k < 4; ++k) {
    char c = s[at + k];
    v = v * 16 + static_cast<uint32_t>(c <= '9' ? c - '0' : (c | 0x20) - 'a' + 10);
  }
  return v;
}

// Decodes the escapes the parser has already checked.
std::string unescape(std::string_view raw) {
  std::string out;
  out.reserve(raw.size());
  for (size_t i = 0; i < raw.size(); ++i) {
    if (raw[i] != '\\') {
      out += raw[i];
      continue;
    }
    char e = raw[++i];
    switch (e) {
      case 'b': out += '\b'; break;
      case 'f': out += '\f'; break;
      case 'n': out += '\n'; break;
      case 'r': out += '\r'; break;
      case 't': out += '\t'; break;
      case 'u': {
        uint32_t cp = hex4(raw, i + 1);
        i += 4;
        if (cp >= 0xd800 && cp < 0xdc00) {  // the parser checked that a low surrogate follows
          cp = 0x10000 + ((cp - 0xd800) << 10) + (hex4(raw, i + 3) - 0xdc00);
          i += 6;
        }
        append_utf8(out, cp);
        break;
      }
      default: out += e;  // " \ /
    }
  }
  return out;
}

}  // namespace

std::string JsonValue::string_value() const {
  std::string_view raw(text_, text_len_);
  return text_escaped_ ? unescape(raw) : std::string(raw);
}

std::string JsonValue::key() const {
  std::string_view raw(key_, key_len_);
  return key_escaped_ ? unescape(raw) : std::string(raw);
}

const JsonValue* JsonValue::find(std::string_view key) const {
  if (kind_ != Kind::Object) return nullptr;
  const JsonValue* found = nullptr;
  for_each([&](const JsonValue& v) {
    std::string_view raw(v.key_, v.key_len_);
    if (!found && (v.key_escaped_ ? unescape(raw) == key : raw == key)) found = &v;
  });
  return found;
}

std::string JsonValue::brief() const {
  switch (kind_) {
    case Kind::Null: return "null";
    case Kind::False: return "false";
    case Kind::True: return "true";
    case Kind::Number: return std::string(text_, std::min<uint32_t>(text_len_, 40));
    case Kind::String:
      return "\"" + std::string(text_, std::min<uint32_t>(text_len_, 30)) + (text_len_ > 30 ? "...\"" : "\"");
    case Kind::Array: return count_ ? "[...]" : "[]";
    case Kind::Object: return count_ ? "{...}" : "{}";
  }
  return "?";
}

static_assert(sizeof(JsonValue) <= 40, "a value's size bounds how much memory a request body costs");

JsonDocument JsonDocument::parse(std::string_view text, int max_depth) {
  if (text.size() >= (size_t{1} << 32)) throw JsonSyntaxError("JSON text of 4 GiB or more");  // 32-bit lengths
  JsonDocument doc;
  JsonParser(text, max_depth, doc.nodes_).parse_document();
  return doc;
}

}  // namespace hone::serve
