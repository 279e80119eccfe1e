// Image folders (torchvision's ImageFolder layout): classes, the held-out split, refusals.
#include <gtest/gtest.h>

#include <filesystem>

#include "fmalens/image_folder.h"
#include "test_util.h"

namespace fmalens {
namespace {

namespace fs = std::filesystem;
const std::string kFolder = FMALENS_FIXTURES_DIR "/image_folder";

TEST(ImageFolder, ClassesAndAnEvenHeldOutShare) {
  ASSERT_TRUE(is_image_folder(kFolder));
  const ImageFolder f = scan_image_folder(kFolder, 0.2);
  EXPECT_EQ(f.classes, (std::vector<std::string>{"blue", "green", "red"}));
  EXPECT_FALSE(f.split_by_folders);
  EXPECT_EQ(f.train.size(), 24u);
  ASSERT_EQ(f.val.size(), 6u);  // 2 of each class's 10: images 4 and 9
  EXPECT_EQ(fs::path(f.val[0].path).filename(), "img_04.png");
  EXPECT_EQ(f.val[5].label, 2);
  EXPECT_EQ(scan_image_folder(kFolder, 0.0).val.size(), 0u);
  EXPECT_EQ(scan_image_folder(kFolder, 0.5).val.size(), 15u);
  for (const auto& item : f.train) EXPECT_EQ(fs::path(item.path).parent_path().filename(), f.classes[static_cast<size_t>(item.label)]);
}

TEST(ImageFolder, TrainAndValFolders) {
  test::TempDir tmp;
  for (const char* split : {"train", "val"})
    for (const char* cls : {"cat", "dog"}) {
      fs::create_directories(tmp.path(std::string(split) + "/" + cls + "/deeper"));
      fs::copy_file(kFolder + "/red/img_00.png", tmp.path(std::string(split) + "/" + cls + "/deeper/a.PNG"));
    }
  test::write_file(tmp.path("train/cat/notes.txt"), "not an image: not listed");
  const ImageFolder f = scan_image_folder(tmp.str(), 0.5);
  EXPECT_TRUE(f.split_by_folders);
  EXPECT_EQ(f.classes, (std::vector<std::string>{"cat", "dog"}));
  EXPECT_EQ(f.train.size(), 2u);
  EXPECT_EQ(f.val.size(), 2u);
  fs::create_directories(tmp.path("val/cow"));
  fs::copy_file(kFolder + "/red/img_00.png", tmp.path("val/cow/a.png"));
  test::expect_error([&] { scan_image_folder(tmp.str()); }, tmp.path("val") + ": ", "class 'cow' is not among train/'s classes");
  EXPECT_FALSE(is_image_folder(FMALENS_FIXTURES_DIR "/nanogpt_tiny.pt"));
}

TEST(ImageFolder, RefusesFoldersThatCannotTrainAClassifier) {
  test::TempDir tmp;
  test::expect_error([&] { scan_image_folder(tmp.str()); }, tmp.str() + ": ", "no class folders");
  fs::create_directories(tmp.path("only"));
  fs::copy_file(kFolder + "/red/img_00.png", tmp.path("only/a.png"));
  test::expect_error([&] { scan_image_folder(tmp.str()); }, tmp.str() + ": ", "only one class folder ('only')");
  fs::create_directories(tmp.path("empty"));
  test::write_file(tmp.path("empty/readme.md"), "x");
  test::expect_error([&] { scan_image_folder(tmp.str()); }, tmp.str() + ": ", "class folder 'empty' holds no images");
  test::expect_error([&] { scan_image_folder(kFolder, 1.0); }, kFolder + ": ", "held-out fraction");
  test::expect_error([&] { scan_image_folder(tmp.path("missing")); }, tmp.path("missing") + ": ", "not a folder");
}

}  // namespace
}  // namespace fmalens
