// The image models' optional convolutional stem (--stem-channels, --stem-layers): what the
// config says and refuses, that each patch token then sees an overlapping field of pixels
// (and without a stem only its own patch), that it trains, and that a checkpoint with a stem
// loads back to the same logits.
#include <gtest/gtest.h>

#include <torch/torch.h>

#include "fmalens/config.h"
#include "fmalens/image.h"
#include "fmalens/model.h"
#include "fmalens/train.h"
#include "model/network.h"
#include "test_util.h"
#include "train_util.h"

namespace fmalens {
namespace {

ModelConfig small_image(int64_t stem_channels, int64_t stem_layers) {
  ModelConfig c;
  c.kind = ModelKind::image;
  c.n_layer = 1;
  c.n_head = 2;
  c.n_embd = 16;
  c.image_size = 16;
  c.patch_size = 2;
  c.channels = 1;
  c.num_classes = 3;
  c.attention.variant = Variant::grid2d;
  c.attention.m = 1;
  c.attention.p = 1;
  c.stem_channels = stem_channels;
  c.stem_layers = stem_layers;
  return c;
}

TEST(ImageStem, ConfigRoundTripsAndRefusesHalfAStem) {
  const ModelConfig with = small_image(8, 2), without = small_image(0, 0);
  EXPECT_EQ(to_json(without).find("stem"), std::string::npos);  // older readers see the same config
  const ModelConfig back = model_config_from_json(to_json(with));
  EXPECT_EQ(back.stem_channels, 8);
  EXPECT_EQ(back.stem_layers, 2);
  for (auto [channels, layers] : {std::pair<int64_t, int64_t>{8, 0}, {0, 1}, {8, 5}, {257, 1}, {-1, 1}}) {
    try {
      validate(small_image(channels, layers));
      ADD_FAILURE() << "accepted a stem of " << layers << " x " << channels;
    } catch (const ConfigError& e) {
      EXPECT_NE(std::string(e.what()).find("stem_channels from 1 to 256 and stem_layers from 1 to 4"), std::string::npos) << e.what();
    }
  }
  ModelConfig text = test::tiny_text_config(64, 8, 4);
  text.stem_channels = 8;
  text.stem_layers = 1;
  try {
    validate(text);
    ADD_FAILURE() << "a text model took a stem";
  } catch (const ConfigError& e) {
    EXPECT_NE(std::string(e.what()).find("a convolutional stem is for image models"), std::string::npos) << e.what();
  }
}

// Whether the first layer's input at patch (row 3, column 3) (pixels 6-7 on each side) moves when
// the pixel at (row, column) changes.
bool token_sees_pixel(ViTImpl& vit, int64_t row, int64_t col) {
  torch::NoGradGuard no_grad;
  torch::manual_seed(3);
  const auto image = torch::rand({1, 1, 16, 16});
  auto changed = image.clone();
  changed[0][0][row][col] += 0.5;
  return !torch::allclose(vit.embed(image)[0][3 * 8 + 3], vit.embed(changed)[0][3 * 8 + 3]);  // (C) each
}

TEST(ImageStem, EachLayerWidensATokensFieldByOnePixelOnEachSide) {
  torch::manual_seed(1);
  ViT plain(small_image(0, 0)), one(small_image(8, 1)), two(small_image(8, 2));
  EXPECT_EQ(plain->patch_embed->weight.size(1), 1 * 2 * 2);
  EXPECT_EQ(one->patch_embed->weight.size(1), 8 * 2 * 2);
  bool has_second = false;
  for (const auto& p : two->named_parameters()) has_second = has_second || p.key() == "stem.2.weight";
  EXPECT_TRUE(has_second);
  // Patch (3, 3) covers pixels 6..7; one stem layer reaches 5..8, two 4..9.
  EXPECT_TRUE(token_sees_pixel(*plain, 6, 7));
  EXPECT_FALSE(token_sees_pixel(*plain, 5, 7));
  EXPECT_TRUE(token_sees_pixel(*one, 5, 8));
  EXPECT_FALSE(token_sees_pixel(*one, 4, 7));
  EXPECT_TRUE(token_sees_pixel(*two, 4, 9));
  EXPECT_FALSE(token_sees_pixel(*two, 3, 7));
  EXPECT_FALSE(token_sees_pixel(*two, 7, 10));
  // The loss reaches the stem's first convolution through the patch embedding.
  two->forward(torch::rand({2, 1, 16, 16})).pow(2).sum().backward();
  for (const auto& p : two->named_parameters()) {
    if (p.key() == "stem.0.weight") {
      ASSERT_TRUE(p.value().grad().defined());
      EXPECT_GT(p.value().grad().abs().sum().item<double>(), 0.0);
    }
  }
}

TEST(ImageStem, TrainsAndLoadsBackToTheSameLogits) {
  test::TempDir tmp;
  TrainOptions o;
  o.out = tmp.path + "/stem.safetensors";
  o.data = FMALENS_FIXTURES_DIR "/image_folder";
  o.model = small_image(4, 1);
  o.model.channels = 3;
  o.batch_size = 8;
  o.steps = 4;
  o.eval_interval = 4;
  o.eval_batches = 1;
  o.threads = 1;
  o.folder.val_fraction = 0.2;
  train(o, nullptr);
  const auto model = Model::load(o.out);
  EXPECT_EQ(model->config().stem_channels, 4);
  EXPECT_NE(model->describe().find("a convolutional stem of 1 x 3x3 to 4 channels"), std::string::npos) << model->describe();
  EXPECT_NE(model->describe().find("convolutional stem: 112"), std::string::npos) << model->describe();  // 4*3*9 + 4
  const auto logits_a = model->run_image(load_image(FMALENS_FIXTURES_DIR "/image_folder/red/img_04.png")).logits;
  const auto logits_b = Model::load(o.out)->run_image(load_image(FMALENS_FIXTURES_DIR "/image_folder/red/img_04.png")).logits;
  ASSERT_EQ(logits_a.data.size(), 3u);
  EXPECT_EQ(logits_a.data, logits_b.data);
}

}  // namespace
}  // namespace fmalens
