// IDX datasets: parsing, gzip, labels beside the images, shards, and clear
// errors for bad files.
#include <gtest/gtest.h>
#include <zlib.h>

#include <fstream>
#include <iterator>

#include "ml/base/errors.hpp"
#include "ml/base/gzip.hpp"
#include "ml/base/idx_dataset.hpp"
#include "ml/base/test_util.hpp"

namespace idunno::ml {
namespace {

std::string gzip(const std::string& bytes) {
  z_stream zs{};
  EXPECT_EQ(deflateInit2(&zs, 6, Z_DEFLATED, 16 + MAX_WBITS, 8, Z_DEFAULT_STRATEGY), Z_OK);
  std::string out(deflateBound(&zs, static_cast<uLong>(bytes.size())) + 64, '\0');
  zs.next_in = reinterpret_cast<Bytef*>(const_cast<char*>(bytes.data()));
  zs.avail_in = static_cast<uInt>(bytes.size());
  zs.next_out = reinterpret_cast<Bytef*>(out.data());
  zs.avail_out = static_cast<uInt>(out.size());
  EXPECT_EQ(deflate(&zs, Z_FINISH), Z_STREAM_END);
  out.resize(zs.total_out);
  deflateEnd(&zs);
  return out;
}

// Runs `fn`, expects a DatasetError whose message contains `needle`.
template <typename Fn>
void expect_dataset_error(Fn fn, const std::string& needle) {
  try {
    fn();
    ADD_FAILURE() << "expected DatasetError containing '" << needle << "'";
  } catch (const DatasetError& e) {
    EXPECT_NE(std::string(e.what()).find(needle), std::string::npos) << e.what();
  }
}

TEST(IdxDataset, ParsesImagesAndLabels) {
  const auto dataset = IdxDataset::from_bytes(test::idx_images(5), test::idx_labels(5, 3));
  ASSERT_EQ(dataset->size(), 5U);
  EXPECT_EQ(dataset->sample_shape(), (ImageShape{1, 28, 28}));
  EXPECT_TRUE(dataset->has_labels());
  EXPECT_EQ(dataset->classes(), 3);
  EXPECT_EQ(dataset->label(4), 1);
  const auto image = dataset->image(2);
  ASSERT_EQ(image.pixels.size(), 784U);
  EXPECT_EQ(image.pixels[0], 14);
  EXPECT_EQ(image.pixels[1], 15);
  expect_dataset_error([&] { dataset->image(5); }, "out of range");
}

TEST(IdxDataset, TheStartOfAGzipFileGivesItsHeader) {
  const std::string plain = test::idx_images(200);
  const std::string zipped = gzip(plain);
  // A prefix of the compressed bytes is enough for the header.
  const std::string head = gunzip_prefix(std::string_view(zipped).substr(0, zipped.size() / 2), "x.gz", 16);
  EXPECT_EQ(head, plain.substr(0, 16));
  EXPECT_EQ(parse_idx_header(head, "x.gz").count(), 200U);
  EXPECT_EQ(gunzip_prefix(zipped, "x.gz", plain.size() + 100), plain) << "fewer bytes when the stream ends first";
  EXPECT_THROW(gunzip_prefix(std::string("\x1f\x8b\x08\x00garbage-garbage", 19), "bad.gz", 16), DatasetError);
}

// Feeds `zipped` to a GunzipStream in pieces of `piece` bytes; returns
// what came out.
std::string inflate_in_pieces(const std::string& zipped, std::size_t piece) {
  std::string out;
  GunzipStream stream("x.gz", [&](std::string_view bytes) {
    EXPECT_LE(bytes.size(), std::size_t{256} << 10) << "output comes in bounded pieces";
    out.append(bytes);
  });
  for (std::size_t at = 0; at < zipped.size(); at += piece) stream.feed(std::string_view(zipped).substr(at, piece));
  stream.finish();
  return out;
}

TEST(GunzipStream, GivesTheSameBytesHoweverTheInputIsCutAndAcrossMembers) {
  // Two members, as `cat a.gz b.gz` makes; the first is large enough to
  // fill several output pieces.
  const std::string first = test::idx_images(1000);
  const std::string second = test::idx_labels(300);
  const std::string zipped = gzip(first) + gzip(second);
  for (const std::size_t piece : {std::size_t{1}, std::size_t{2}, std::size_t{3}, std::size_t{4096}, zipped.size()}) {
    EXPECT_EQ(inflate_in_pieces(zipped, piece), first + second) << "pieces of " << piece;
  }
  EXPECT_EQ(gunzip(zipped, "x.gz"), first + second);
  // Bytes after the last member that do not start another are ignored.
  EXPECT_EQ(inflate_in_pieces(zipped + "trailing junk", 5), first + second);
  EXPECT_EQ(inflate_in_pieces(gzip(second) + "\x1f", 1), second) << "a lone byte after the last member";
}

TEST(GunzipStream, ATruncatedOrCorruptStreamIsAnError) {
  const std::string zipped = gzip(test::idx_images(50));
  expect_dataset_error([&] { inflate_in_pieces(zipped.substr(0, zipped.size() - 5), 7); }, "truncated");
  expect_dataset_error([&] { inflate_in_pieces("", 1); }, "truncated");
  std::string corrupted = zipped;
  corrupted[20] = static_cast<char>(corrupted[20] ^ 0x55);
  corrupted[21] = static_cast<char>(corrupted[21] ^ 0x55);
  expect_dataset_error([&] { inflate_in_pieces(corrupted, 64); }, "x.gz");
  expect_dataset_error([&] { gunzip(zipped, "x.gz", 100); }, "exceeds the limit");
}

TEST(GunzipFile, InflatesFileToFileAndRefusesOutputOverItsLimit) {
  test::TempDir dir;
  const std::string plain = test::idx_images(3000);  // 2.3 MB: several reads and pieces
  test::write_file(dir.file("a.gz"), gzip(plain));
  EXPECT_EQ(gunzip_file(dir.file("a.gz"), dir.file("a"), "a.gz", plain.size()), plain.size());
  std::ifstream in(dir.file("a"), std::ios::binary);
  const std::string back((std::istreambuf_iterator<char>(in)), std::istreambuf_iterator<char>());
  EXPECT_EQ(back, plain);
  expect_dataset_error([&] { gunzip_file(dir.file("a.gz"), dir.file("b"), "a.gz", plain.size() - 1); }, "exceeds");
  expect_dataset_error([&] { gunzip_file(dir.file("missing.gz"), dir.file("c"), "missing.gz", 1); }, "cannot open");
  test::write_file(dir.file("half.gz"), gzip(plain).substr(0, 1000));
  expect_dataset_error([&] { gunzip_file(dir.file("half.gz"), dir.file("d"), "half.gz", plain.size()); }, "truncated");
}

TEST(IdxDataset, ReadsGzipAndPlainTheSame) {
  const auto plain = IdxDataset::from_bytes(test::idx_images(4), test::idx_labels(4));
  const auto zipped = IdxDataset::from_bytes(gzip(test::idx_images(4)), gzip(test::idx_labels(4)));
  ASSERT_EQ(zipped->size(), 4U);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(zipped->image(i).pixels, plain->image(i).pixels);
    EXPECT_EQ(zipped->label(i), plain->label(i));
  }
}

TEST(IdxDataset, FindsTheLabelsFileBeside) {
  test::TempDir dir;
  test::write_file(dir.file("train-images-idx3-ubyte.gz"), gzip(test::idx_images(6)));
  test::write_file(dir.file("train-labels-idx1-ubyte.gz"), gzip(test::idx_labels(6)));
  test::write_file(dir.file("other-images-idx3-ubyte"), test::idx_images(2));
  EXPECT_EQ(labels_path_for(dir.file("train-images-idx3-ubyte.gz")), dir.file("train-labels-idx1-ubyte.gz"));
  EXPECT_EQ(labels_path_for(dir.file("other-images-idx3-ubyte")), std::nullopt);
  const auto dataset = IdxDataset::open(dir.file("train-images-idx3-ubyte.gz"));
  EXPECT_EQ(dataset->size(), 6U);
  EXPECT_TRUE(dataset->has_labels());
  const auto unlabelled = open_dataset(dir.file("other-images-idx3-ubyte"));
  EXPECT_FALSE(unlabelled->has_labels());
  EXPECT_EQ(unlabelled->label(0), std::nullopt);
}

TEST(IdxDataset, ShardFromAByteRangeMatchesTheWholeFile) {
  const std::string images = test::idx_images(10);
  const std::string labels = test::idx_labels(10);
  const auto whole = IdxDataset::from_bytes(images, labels);
  const IdxHeader image_header = parse_idx_header(images, "images");
  const IdxHeader label_header = parse_idx_header(labels, "labels");
  const ByteRange image_range = idx_item_range(image_header, 3, 7);
  const ByteRange label_range = idx_item_range(label_header, 3, 7);
  EXPECT_EQ(image_range.offset, 16U + 3 * 784);
  EXPECT_EQ(image_range.length, 4U * 784);
  const auto shard = IdxDataset::from_range(images.substr(0, 16), 3, images.substr(image_range.offset, image_range.length),
                                            labels.substr(label_range.offset, label_range.length));
  ASSERT_EQ(shard->size(), 4U);
  EXPECT_EQ(shard->first_index(), 3U);
  for (std::size_t i = 0; i < 4; ++i) {
    EXPECT_EQ(shard->image(i).pixels, whole->image(3 + i).pixels);
    EXPECT_EQ(shard->label(i), whole->label(3 + i));
  }
  expect_dataset_error([&] { IdxDataset::from_range(images.substr(0, 16), 8, images.substr(16, 4 * 784), std::nullopt); },
                       "passes the 10 images");
  expect_dataset_error([&] { IdxDataset::from_range(images.substr(0, 16), 0, images.substr(16, 100), std::nullopt); },
                       "not a whole number");
}

TEST(IdxDataset, WrongMagicIsAClearError) {
  std::string bad = test::idx_images(2);
  bad[0] = 'P';
  expect_dataset_error([&] { IdxDataset::from_bytes(bad, std::nullopt); }, "wrong magic");
  expect_dataset_error([&] { IdxDataset::from_bytes("hello", std::nullopt); }, "wrong magic");
  std::string floats = test::idx_images(2);
  floats[2] = 0x0D;
  expect_dataset_error([&] { IdxDataset::from_bytes(floats, std::nullopt); }, "not supported");
  expect_dataset_error([&] { IdxDataset::from_bytes(test::idx_labels(3), std::nullopt); }, "is it a labels file");
}

TEST(IdxDataset, TruncatedFilesAreClearErrors) {
  const std::string images = test::idx_images(3);
  expect_dataset_error([&] { IdxDataset::from_bytes(images.substr(0, images.size() - 1), std::nullopt); }, "truncated");
  expect_dataset_error([&] { IdxDataset::from_bytes(images.substr(0, 10), std::nullopt); }, "truncated IDX header");
  const std::string zipped = gzip(images);
  expect_dataset_error([&] { IdxDataset::from_bytes(zipped.substr(0, zipped.size() / 2), std::nullopt); }, "truncated gzip");
  std::string corrupt = zipped;
  corrupt[12] = static_cast<char>(corrupt[12] ^ 0x5a);
  corrupt[13] = static_cast<char>(corrupt[13] ^ 0x5a);
  expect_dataset_error([&] { IdxDataset::from_bytes(corrupt, std::nullopt); }, "gzip");
}

TEST(IdxDataset, LabelCountMismatchIsAClearError) {
  expect_dataset_error([&] { IdxDataset::from_bytes(test::idx_images(5), test::idx_labels(4)); }, "label count mismatch: 4 labels for 5 images");
  test::TempDir dir;
  test::write_file(dir.file("x-images-idx3-ubyte"), test::idx_images(5));
  test::write_file(dir.file("x-labels-idx1-ubyte"), test::idx_labels(6));
  expect_dataset_error([&] { IdxDataset::open(dir.file("x-images-idx3-ubyte")); }, "label count mismatch");
}

TEST(IdxDataset, MissingFileNamesThePath) {
  expect_dataset_error([] { open_dataset("/nonexistent/train-images-idx3-ubyte.gz"); }, "/nonexistent/train-images");
}

TEST(IdxDataset, OpensDebianFashionMnist) {
  ASSERT_TRUE(test::have_fashion_mnist()) << test::fashion_mnist_missing();
  const auto test_set = open_dataset(test::fashion_mnist_dir() + "/t10k-images-idx3-ubyte.gz");
  EXPECT_EQ(test_set->size(), 10000U);
  EXPECT_EQ(test_set->sample_shape(), (ImageShape{1, 28, 28}));
  EXPECT_TRUE(test_set->has_labels());
  EXPECT_EQ(test_set->classes(), 10);
  EXPECT_EQ(test_set->label(0), 9);  // the first test image is an ankle boot
}

}  // namespace
}  // namespace idunno::ml
