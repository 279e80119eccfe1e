// A colour model trained on a tiny image folder: its classes in the checkpoint, held-out
// accuracy from the folder, colour input to the region maps, and unreadable files refused or,
// with skip_bad_images, left out and listed.
#include <gtest/gtest.h>

#include <filesystem>

#include "fmalens/checkpoint.h"
#include "fmalens/image.h"
#include "fmalens/model.h"
#include "fmalens/train.h"
#include "test_util.h"
#include "train_util.h"

namespace fmalens {
namespace {

namespace fs = std::filesystem;
const std::string kFolder = FMALENS_FIXTURES_DIR "/image_folder";

TrainOptions tiny(const std::string& data, const std::string& out) {
  TrainOptions o;
  o.out = out;
  o.data = data;
  o.model.kind = ModelKind::image;
  o.model.n_layer = 2;
  o.model.n_head = 2;
  o.model.n_embd = 32;
  o.model.image_size = 16;
  o.model.patch_size = 2;
  o.model.channels = 3;
  o.model.attention.variant = Variant::grid2d;
  o.model.attention.m = 1;
  o.model.attention.p = 1;
  o.batch_size = 16;
  o.steps = 60;
  o.lr = 3e-3;
  o.warmup = 5;
  o.eval_interval = 30;
  o.eval_batches = 1;
  o.threads = 1;
  o.seed = 5;
  o.folder.val_fraction = 0.2;
  return o;
}

TEST(ImageFolderTraining, TrainsAColourModelOnTheFoldersClasses) {
  test::TempDir tmp;
  const std::string out = tmp.path + "/folder.safetensors";
  train(tiny(kFolder, out), nullptr);
  auto model = Model::load(out);
  EXPECT_EQ(model->config().class_names, (std::vector<std::string>{"blue", "green", "red"}));
  EXPECT_EQ(model->config().num_classes, 3);
  EXPECT_EQ(model->config().channels, 3);
  EXPECT_NE(model->describe().find("classes     blue, green, red"), std::string::npos);
  const EvalResult r = evaluate(out, kFolder, 0, "cpu", nullptr, ImageFolderOptions{0.2, false});
  EXPECT_EQ(r.items, 6);
  EXPECT_GE(r.value, 5.0 / 6) << "colour classes are easy: " << r.value;
  // The region maps get the colour image.
  const Snapshot s = model->run_image(load_image(kFolder + "/red/img_04.png"));
  ASSERT_EQ(s.image.shape, (std::vector<int64_t>{16, 16, 3}));
  double red = 0, blue = 0;
  for (size_t k = 0; k < s.image.data.size(); k += 3) red += s.image.data[k], blue += s.image.data[k + 2];
  EXPECT_GT(red, 2 * blue);
  // Another folder's classes are refused for evaluation.
  const std::string other = tmp.path + "/other";
  for (const char* cls : {"cat", "dog"}) {
    fs::create_directories(other + "/" + cls);
    for (int k = 0; k < 5; ++k) fs::copy_file(kFolder + "/red/img_00.png", other + "/" + cls + "/" + std::to_string(k) + ".png");
  }
  try {
    evaluate(out, other, 0, "cpu", nullptr, ImageFolderOptions{0.2, false});
    ADD_FAILURE() << "evaluated on another folder's classes";
  } catch (const Error& e) {
    EXPECT_NE(std::string(e.what()).find("its classes (cat, dog) are not the model's (blue, green, red)"), std::string::npos) << e.what();
  }
}

TEST(ImageFolderTraining, UnreadableImagesAreRefusedOrSkipped) {
  test::TempDir tmp;
  const std::string data = tmp.path + "/data";
  fs::copy(kFolder, data, fs::copy_options::recursive);
  test::write_file(data + "/green/broken.png", "not a png at all");
  TrainOptions o = tiny(data, tmp.path + "/m.safetensors");
  o.steps = 2;
  try {
    train(o, nullptr);
    ADD_FAILURE() << "trained on a folder with a broken image";
  } catch (const Error& e) {
    const std::string msg = e.what();
    EXPECT_NE(msg.find("broken.png"), std::string::npos) << msg;
    EXPECT_NE(msg.find("--skip-bad-images"), std::string::npos) << msg;
  }
  EXPECT_FALSE(fs::exists(tmp.path + "/m.safetensors"));
  o.folder.skip_bad_images = true;
  const TrainResult r = train(o, nullptr);
  EXPECT_EQ(r.steps, 2);
  EXPECT_TRUE(fs::exists(tmp.path + "/m.safetensors"));
}

// Image batches come from LibTorch's generator: a stopped and resumed training draws the same
// batches (and augmentations) as one run straight through, so its weights are the same bytes.
TEST(ImageFolderTraining, ATrainingInSittingsIsTheSameTrainingAsOneUninterrupted) {
  test::TempDir tmp;
  TrainOptions o = tiny(kFolder, tmp.path + "/whole.safetensors");
  o.steps = 8;
  o.eval_interval = 100;
  train(o, nullptr);
  TrainOptions split = o;
  split.out = tmp.path + "/split.safetensors";
  int calls = 0;
  ASSERT_TRUE(train(split, [&calls](const TrainProgress&) { return ++calls < 3; }).stopped_early);
  split.resume = true;
  ASSERT_FALSE(train(split, nullptr).stopped_early);
  test::expect_same_tensors(o.out, split.out);
  test::expect_same_tensors(o.out + ".state", split.out + ".state");
}

}  // namespace
}  // namespace fmalens
