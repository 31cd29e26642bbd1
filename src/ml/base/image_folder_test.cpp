// Image folders (PNG/JPEG) and preprocessing: ordering, class sub-folders,
// in-memory files, resize / channel conversion / normalisation.
#include <gtest/gtest.h>
#include <stb_image_write.h>

#include "ml/base/batch.hpp"
#include "ml/base/errors.hpp"
#include "ml/base/image_folder.hpp"
#include "ml/base/test_util.hpp"

namespace idunno::ml {
namespace {

void append_bytes(void* context, void* data, int size) {
  static_cast<std::string*>(context)->append(static_cast<const char*>(data), static_cast<std::size_t>(size));
}

// A width x height image of `channels` channels, every byte `value`.
std::string png(int width, int height, int channels, unsigned char value) {
  const std::vector<unsigned char> pixels(static_cast<std::size_t>(width * height * channels), value);
  std::string out;
  stbi_write_png_to_func(append_bytes, &out, width, height, channels, pixels.data(), width * channels);
  return out;
}

std::string jpeg(int width, int height, unsigned char value) {
  const std::vector<unsigned char> pixels(static_cast<std::size_t>(width * height * 3), value);
  std::string out;
  stbi_write_jpg_to_func(append_bytes, &out, width, height, 3, pixels.data(), 95);
  return out;
}

TEST(ImageFolder, ClassSubFoldersGiveLabelsInNameOrder) {
  test::TempDir dir;
  std::filesystem::create_directories(dir.path() / "dog");
  std::filesystem::create_directories(dir.path() / "cat");
  test::write_file(dir.file("dog/b.png"), png(8, 6, 3, 200));
  test::write_file(dir.file("dog/a.jpg"), jpeg(8, 6, 100));
  test::write_file(dir.file("cat/z.PNG"), png(8, 6, 1, 50));
  test::write_file(dir.file("cat/notes.txt"), "not an image");
  const auto dataset = open_dataset(dir.path().string());
  ASSERT_EQ(dataset->size(), 3U);
  const auto& folder = dynamic_cast<const ImageFolderDataset&>(*dataset);
  EXPECT_EQ(folder.class_names(), (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(folder.file_name(0), "cat/z.PNG");
  EXPECT_EQ(folder.file_name(1), "dog/a.jpg");
  EXPECT_EQ(dataset->label(0), 0);
  EXPECT_EQ(dataset->label(2), 1);
  EXPECT_EQ(dataset->classes(), 2);
  EXPECT_EQ(dataset->image(0).shape, (ImageShape{1, 6, 8}));
  EXPECT_EQ(dataset->image(2).shape, (ImageShape{3, 6, 8}));
  EXPECT_EQ(dataset->image(2).pixels[5], 200);
  EXPECT_NEAR(dataset->image(1).pixels[0], 100, 3);  // JPEG is lossy
}

TEST(ImageFolder, InMemoryFilesWithoutFoldersAreUnlabelled) {
  const auto dataset = ImageFolderDataset::from_files({{"2.png", png(4, 4, 1, 20)}, {"1.png", png(4, 4, 1, 10)}});
  ASSERT_EQ(dataset->size(), 2U);
  EXPECT_FALSE(dataset->has_labels());
  EXPECT_EQ(dataset->label(0), std::nullopt);
  EXPECT_EQ(dataset->image(0).pixels[0], 10);
}

TEST(ImageFolder, BadInputsAreClearErrors) {
  EXPECT_THROW(ImageFolderDataset::from_files({{"x.txt", "hello"}}), DatasetError);
  EXPECT_THROW(ImageFolderDataset::from_files({{"a/1.png", png(2, 2, 1, 0)}, {"2.png", png(2, 2, 1, 0)}}), DatasetError);
  try {
    ImageFolderDataset::from_files({{"broken.png", "\x89PNG garbage"}});
    FAIL() << "expected DatasetError";
  } catch (const DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find("broken.png"), std::string::npos) << e.what();
  }
}

TEST(Preprocess, ResizesConvertsAndNormalises) {
  ModelInfo gray{"m", ModelSource::zoo, {1, 28, 28}, 10, {{0.5F}, {0.5F}}};
  const auto dataset = ImageFolderDataset::from_files({{"a.png", png(10, 10, 3, 255)}, {"b.png", png(56, 56, 1, 0)}});
  const Batch batch = make_batch(*dataset, 0, 2, gray);
  ASSERT_EQ(batch.size(), 2U);
  ASSERT_EQ(batch.values.size(), 2U * 784);
  EXPECT_NEAR(batch.values[0], 1.0F, 1e-5F);      // (1 - 0.5) / 0.5
  EXPECT_NEAR(batch.values[783], 1.0F, 1e-5F);
  EXPECT_NEAR(batch.values[784], -1.0F, 1e-5F);   // (0 - 0.5) / 0.5
  EXPECT_EQ(batch.indices, (std::vector<std::int64_t>{0, 1}));
  EXPECT_EQ(batch.labels, (std::vector<std::int64_t>{-1, -1}));

  ModelInfo colour{"m", ModelSource::zoo, {3, 4, 4}, 10, {{0.0F, 0.5F, 1.0F}, {1.0F}}};
  const Batch rgb = make_batch(*dataset, 1, 2, colour);
  ASSERT_EQ(rgb.values.size(), 48U);
  EXPECT_NEAR(rgb.values[0], 0.0F, 1e-6F);    // channel 0
  EXPECT_NEAR(rgb.values[16], -0.5F, 1e-6F);  // channel 1
  EXPECT_NEAR(rgb.values[32], -1.0F, 1e-6F);  // channel 2
  EXPECT_THROW(make_batch(*dataset, 1, 3, colour), DatasetError);
}

}  // namespace
}  // namespace idunno::ml
