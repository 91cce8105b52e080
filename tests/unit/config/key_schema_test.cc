#include <gtest/gtest.h>

#include "config/key_schema.h"

namespace portway::config {
namespace {

TEST(KeySchema, ClassifiesEachLevel) {
  EXPECT_EQ(classify_key(KeyLevel::app, "name"), KeyKind::interpreted);
  EXPECT_EQ(classify_key(KeyLevel::app, "env"), KeyKind::preserved);
  EXPECT_EQ(classify_key(KeyLevel::app, "port"), KeyKind::unknown);
  EXPECT_EQ(classify_key(KeyLevel::service, "ports"), KeyKind::interpreted);
  EXPECT_EQ(classify_key(KeyLevel::service, "disks"), KeyKind::preserved);
  EXPECT_EQ(classify_key(KeyLevel::service, "name"), KeyKind::unknown);
  EXPECT_EQ(classify_key(KeyLevel::port, "node_port"), KeyKind::interpreted);
  EXPECT_EQ(classify_key(KeyLevel::port, "env"), KeyKind::unknown) << "ports carry no Miren extras";
}

TEST(KeySchema, EditDistance) {
  EXPECT_EQ(edit_distance("", ""), 0u);
  EXPECT_EQ(edit_distance("port", "port"), 0u);
  EXPECT_EQ(edit_distance("prot", "port"), 1u) << "one transposition";
  EXPECT_EQ(edit_distance("ab", "ba"), 1u);
  EXPECT_EQ(edit_distance("kitten", "sitting"), 3u);
  EXPECT_EQ(edit_distance("", "abc"), 3u);
}

TEST(KeySchema, SuggestsTyposAndKnownAliases) {
  EXPECT_EQ(suggest_key(KeyLevel::port, "nmae"), "name");
  EXPECT_EQ(suggest_key(KeyLevel::port, "protocol"), "type");
  EXPECT_EQ(suggest_key(KeyLevel::port, "nodePort"), "node_port");
  EXPECT_EQ(suggest_key(KeyLevel::service, "imgae"), "image");
  EXPECT_EQ(suggest_key(KeyLevel::app, "nam"), "name");
  EXPECT_EQ(suggest_key(KeyLevel::port, "completely-different"), std::nullopt);
  EXPECT_EQ(suggest_key(KeyLevel::port, std::string(1000, 'x')), std::nullopt);
}

}  // namespace
}  // namespace portway::config
