// SDFS name validation: what users may name a file, and that every refusal
// says what is wrong.

#include "fs/sdfs_name.hpp"

#include <gtest/gtest.h>

namespace idunno::fs {
namespace {

struct Case {
  std::string name;
  bool valid;
  std::string error_mentions;  // for invalid names
};

TEST(SdfsName, AcceptsAndRejectsByTheRules) {
  using namespace std::string_literals;
  const std::vector<Case> cases = {
      {"a", true, ""},
      {"data/train-images-idx3-ubyte.gz", true, ""},
      {"../../etc/passwd", true, ""},  // a plain name, never a path
      {"/", true, ""},
      {"..", true, ""},
      {"with space and ~!@#$%^&*()", true, ""},
      {"caf\xC3\xA9", true, ""},                  // U+00E9
      {"\xE2\x82\xAC", true, ""},                  // U+20AC
      {"\xF0\x9F\x98\x80", true, ""},              // U+1F600
      {"\xF4\x8F\xBF\xBF", true, ""},              // U+10FFFF, the last code point
      {"\xC2\xA0", true, ""},                      // U+00A0, just past C1
      {std::string(1024, 'x'), true, ""},
      {"", false, "empty"},
      {std::string(1025, 'x'), false, "1025"},
      {"a\0b"s, false, "NUL"},
      {"tab\there", false, "control"},
      {"new\nline", false, "control"},
      {"\x1F", false, "control"},
      {"del\x7F", false, "control"},
      {"c1\xC2\x80", false, "control"},  // U+0080
      {"c1\xC2\x9F", false, "control"},  // U+009F
      {"\xC0\xAF", false, "overlong"},   // '/' in two bytes
      {"\xE0\x80\xAF", false, "overlong"},
      {"\xF0\x80\x80\xAF", false, "overlong"},
      {"\xC1\xBF", false, "overlong"},
      {"\xED\xA0\x80", false, "surrogate"},  // U+D800
      {"\xED\xBF\xBF", false, "surrogate"},  // U+DFFF
      {"\xF4\x90\x80\x80", false, "U+10FFFF"},
      {"\xF8\x88\x80\x80\x80", false, "cannot start"},
      {"\x80", false, "cannot start"},
      {"\xFF", false, "cannot start"},
      {"ab\xC3", false, "cut off"},
      {"\xE2\x82", false, "cut off"},
      {"\xC3(", false, "cut short"},
      {"\xE2\x28\xA1", false, "cut short"},
  };
  for (const auto& c : cases) {
    const auto error = sdfs_name_error(c.name);
    if (c.valid) {
      EXPECT_FALSE(error) << "name of " << c.name.size() << " bytes: " << error.value_or("");
    } else {
      ASSERT_TRUE(error) << "accepted an invalid name of " << c.name.size() << " bytes";
      EXPECT_NE(error->find(c.error_mentions), std::string::npos) << *error;
    }
  }
}

TEST(SdfsName, ErrorSaysWhereTheBadByteIs) {
  const auto error = sdfs_name_error("abc\x01");
  ASSERT_TRUE(error);
  EXPECT_NE(error->find("byte 3"), std::string::npos) << *error;
}

TEST(SdfsName, MultiByteCharactersCountAsBytesTowardTheLimit) {
  std::string name;
  for (int i = 0; i < 256; ++i) name += "\xF0\x9F\x98\x80";  // 1024 bytes
  EXPECT_FALSE(sdfs_name_error(name));
  name += "x";
  EXPECT_TRUE(sdfs_name_error(name));
}

}  // namespace
}  // namespace idunno::fs
