// Hostile and odd inputs to the torch-free loaders (issue 7): regressions of what fuzzing and
// the CLI's bad-inputs suite found, special files that must not block, images that must work,
// and every committed fuzz seed run through its loader (under tools/sanitize.sh this checks
// them with ASan + UBSan).
#include <gtest/gtest.h>
#include <sys/stat.h>

#include <filesystem>
#include <string>

#include "fmalens/checkpoint.h"
#include "fmalens/image.h"
#include "fmalens/text_window.h"
#include "base/io/idx.h"
#include "test_util.h"

namespace fmalens {
namespace {

namespace fs = std::filesystem;

const std::string kTests = FMALENS_TESTS_DIR;
const std::string kBadInputs = kTests + "/cli/bad_inputs/";

class RobustnessTest : public ::testing::Test {
 protected:
  std::string write(const std::string& name, const std::string& bytes) {
    const std::string p = tmp_.path(name);
    test::write_file(p, bytes);
    return p;
  }
  test::TempDir tmp_;
};

// Found by fuzz_image: stb_image 2.27 builds a JPEG Huffman table without checking that the
// code counts sum to at most 256 and writes past the table, and its bit reader lets the bit
// count go negative on corrupt entropy-coded data (undefined shifts). JPEGs are decoded by
// libjpeg-turbo now, which refuses a bad table and stops on corrupt data.
TEST_F(RobustnessTest, RefusesJpegHuffmanTableWithTooManyCodes) {
  std::string jpeg("\xff\xd8\xff\xc4\x00\x13\x00", 7);
  jpeg += std::string(16, '\x20');  // 16 x 32 = 512 codes
  jpeg += std::string("\xff\xd9", 2);
  const std::string p = write("huffman.jpg", jpeg);
  test::expect_error([&] { load_image(p); }, p + ": ", "Huffman table");
  // The input the fuzzer found (a real JPEG with a mutated DHT segment).
  const std::string found = kTests + "/fuzz/corpus/image/regress_stb_huffman_overflow.jpg";
  test::expect_error([&] { load_image(found); }, found + ": ", "Huffman table");
}

// Found by fuzz_image in a clean CI run: a second DHT segment with 1142 codes after damaged
// segments. libjpeg-turbo never reaches it: the image decodes (a warning, not an error).
TEST_F(RobustnessTest, JpegWithAnUnreachedBadHuffmanTableDecodes) {
  const Image img = load_image(kTests + "/fuzz/corpus/image/regress_stb_huffman_second_dht.jpg");
  EXPECT_GE(img.width, 1);
  EXPECT_EQ(img.pixels.size(), static_cast<size_t>(img.width) * img.height * img.channels);
}

// Found by the deterministic fuzz stage: corrupt entropy-coded data that drove stb's bit count
// negative (stb_image.h:2065, shift exponent 33). Refused in one line or decoded; never UB.
TEST_F(RobustnessTest, JpegWithCorruptEntropyCodedDataIsSafe) {
  const std::string found = kTests + "/fuzz/corpus/image/regress_stb_jpeg_negative_bit_count.jpg";
  try {
    const Image img = load_image(found);
    EXPECT_EQ(img.pixels.size(), static_cast<size_t>(img.width) * img.height * img.channels);
  } catch (const Error& e) {
    EXPECT_EQ(std::string(e.what()).find('\n'), std::string::npos);
  }
}

// Found by fuzz_config: nlohmann converts 4.6e40 to int64_t without a check (undefined
// behaviour). Integer fields take whole numbers in range only.
TEST_F(RobustnessTest, ConfigIntegersMustBeWholeNumbersInRange) {
  const std::string found = kTests + "/fuzz/corpus/config/regress_float_out_of_long_range.json";
  EXPECT_THROW(model_config_from_json(test::read_file(found)), ConfigError);
  const std::string base = R"({"kind":"text","n_layer":LAYERS,"n_head":2,"n_embd":8,"block_size":64,"vocab_size":256})";
  auto with_layers = [&](const std::string& v) { return std::string(base).replace(base.find("LAYERS"), 6, v); };
  test::expect_error([&] { model_config_from_json(with_layers("4.6e40")); }, "model config: ", "'n_layer' must be a whole number in range");
  test::expect_error([&] { model_config_from_json(with_layers("2.5")); }, "model config: ", "'n_layer' must be a whole number");
  test::expect_error([&] { model_config_from_json(with_layers("18446744073709551615")); }, "model config: ",
                     "'n_layer' is out of range");
  test::expect_error([&] { model_config_from_json(with_layers("\"2\"")); }, "model config: ", "'n_layer' has the wrong type");
}

// Found by fuzz_image: stb's reason for an unknown PNG chunk quotes the chunk type's bytes, so a
// chunk named "IP5\n" put a newline into the one-line error.
TEST_F(RobustnessTest, ImageErrorsStayOnOneLine) {
  const std::string found = kTests + "/fuzz/corpus/image/regress_png_chunk_newline.png";
  test::expect_error([&] { load_image(found); }, found + ": ", "PNG chunk not known");
  test::expect_error([&] { load_image(found); }, found + ": ", "IP5\\n");
}

// Found by fuzz_image (a timeout under ASan): a 94-byte PNG whose IDAT declares 1.8 GB made stb
// allocate 1.8 GB before reading it. Chunks must fit in the file.
TEST_F(RobustnessTest, RefusesPngChunksLongerThanTheFile) {
  const std::string found = kTests + "/fuzz/corpus/image/regress_png_huge_chunk.png";
  test::expect_error([&] { load_image(found); }, found + ": ", "declares 1895825445 bytes, past the end of the file");
}

// Found by fuzz_image in a fresh clone's CI run: stb_image 2.27 appends an IDAT chunk to its
// not yet allocated buffer with memcpy(NULL + 0, ..., 0) when the chunk is empty (UBSan stops at
// stb_image.h:5130). An empty IDAT is legal, so the loader drops empty IDATs before stb reads
// the file: the valid image keeps exactly its pixels, the damaged one is refused in one line.
// (Under tools/sanitize.sh these tests run against stb compiled with UBSan, so the undefined
// behaviour itself fails them.)
TEST_F(RobustnessTest, DecodesPngWhoseFirstIdatIsEmpty) {
  const Image img = load_image(kTests + "/fuzz/corpus/image/regress_png_valid_empty_first_idat.png");
  ASSERT_EQ(img.width, 2);
  ASSERT_EQ(img.height, 2);
  ASSERT_EQ(img.channels, 1);
  EXPECT_EQ(img.pixels, (std::vector<uint8_t>{16, 32, 48, 64}));
}

TEST_F(RobustnessTest, RefusesDamagedPngWithAnEmptyIdatInOneLine) {
  const std::string found = kTests + "/fuzz/corpus/image/regress_png_empty_idat.png";
  test::expect_error([&] { load_image(found); }, found + ": ", "PNG");
  // Found by the deterministic fuzz stage once the first was fixed: the empty IDAT is the last
  // chunk and its CRC is cut off (stb reads such a chunk all the same).
  const std::string no_crc = kTests + "/fuzz/corpus/image/regress_png_empty_idat_no_crc.png";
  test::expect_error([&] { load_image(no_crc); }, no_crc + ": ", "PNG");
}

// Found by fuzz_config: a config whose `kind` holds newlines and backspaces made a refusal of
// six lines. Outside values are quoted with their control bytes escaped and cut with their length.
TEST_F(RobustnessTest, ConfigValuesWithControlBytesAreQuotedOnOneLine) {
  const std::string found = kTests + "/fuzz/corpus/config/regress_kind_control_bytes.json";
  test::expect_error([&] { model_config_from_json(test::read_file(found)); }, "model config: ",
                     "kind must be text or image, got 'ntion_nd&n\\\\kn_l");
  test::expect_error([&] { model_config_from_json(test::read_file(found)); }, "model config: ", "...' (118 bytes)");
  test::expect_error([&] { model_config_from_json(R"({"kind":"te\bxt"})"); }, "model config: ", "got 'te\\x08xt'");
}

TEST_F(RobustnessTest, DecodesValidJpegWithItsHuffmanTables) {
  const Image img = load_image(kBadInputs + "img_ok_rgb.jpg");
  EXPECT_EQ(img.width, 16);
  EXPECT_EQ(img.height, 12);
  EXPECT_EQ(img.channels, 3);
}

// Opening a FIFO for reading blocks until a writer comes: every loader must refuse it first.
TEST_F(RobustnessTest, RefusesFifosWithoutBlocking) {
  const std::string fifo = tmp_.path("model.safetensors");
  ASSERT_EQ(::mkfifo(fifo.c_str(), 0644), 0);
  test::expect_error([&] { detect_checkpoint_format(fifo); }, fifo + ": ", "not a regular file");
  test::expect_error([&] { read_safetensors(fifo); }, fifo + ": ", "not a regular file");
  test::expect_error([&] { read_torch_checkpoint(fifo); }, fifo + ": ", "not a regular file");
  test::expect_error([&] { load_image(fifo); }, fifo + ": ", "not a regular file");
  test::expect_error([&] { read_text_window(fifo, 16); }, fifo + ": ", "not a regular file");
}

// A JSON header after a wrong length is still detected as safetensors, so that the reader can
// say which rule is broken instead of "not a checkpoint".
TEST_F(RobustnessTest, WrongHeaderLengthIsNamedNotUnknown) {
  auto with_length = [&](uint64_t n) {
    std::string bytes;
    for (int i = 0; i < 8; ++i) bytes.push_back(static_cast<char>((n >> (8 * i)) & 0xff));
    return write("model.safetensors", bytes + "{}      ");
  };
  std::string p = with_length(1000);
  EXPECT_EQ(detect_checkpoint_format(p), CheckpointFormat::safetensors);
  test::expect_error([&] { read_safetensors(p); }, p + ": ", "is larger than the file");
  p = with_length(uint64_t{1} << 63);
  EXPECT_EQ(detect_checkpoint_format(p), CheckpointFormat::safetensors);
  test::expect_error([&] { read_safetensors(p); }, p + ": ", "is larger than the file");
  // A plausible length before something that is not an object: the reader says what is wrong.
  std::string bytes("\x08\0\0\0\0\0\0\0[1,2,3] ", 16);
  p = write("array.safetensors", bytes);
  EXPECT_EQ(detect_checkpoint_format(p), CheckpointFormat::safetensors);
  test::expect_error([&] { read_safetensors(p); }, p + ": ", "header is not a JSON object");
}

TEST_F(RobustnessTest, RefusesHugeImagesBeforeDecoding) {
  // A PNG signature and IHDR of 9000 x 9000 and nothing else: refused on the header alone.
  const std::string png = test::read_file(kBadInputs + "img_ok_gray8.png");
  std::string huge = png.substr(0, 33);
  for (int at : {16, 20}) {
    huge[at] = 0;
    huge[at + 1] = 0;
    huge[at + 2] = static_cast<char>(9000 >> 8);
    huge[at + 3] = static_cast<char>(9000 & 0xff);
  }
  const std::string p = write("huge.png", huge);
  test::expect_error([&] { load_image(p); }, p + ": ", "exceeds the limit of 8192x8192");
}

TEST_F(RobustnessTest, RefusesFormatsWithoutMagic) {
  const std::string p = write("image.tga", std::string("\0\0\2\0\0\0\0\0\0\0\0\0\1\0\1\0\x18\0\1\2\3", 21));
  test::expect_error([&] { load_image(p); }, p + ": ", "not a PNG, JPEG, BMP or GIF image");
}

// Found by fuzz_image: stb 2.27 reads PNM header numbers into an int without an overflow check
// (UB on "P6 10000100000 ..."). PNM is no longer passed to stb.
TEST_F(RobustnessTest, RefusesPnmWhoseHeaderOverflowsStb) {
  const std::string found = kTests + "/fuzz/corpus/image/regress_pnm_int_overflow.ppm";
  test::expect_error([&] { load_image(found); }, found + ": ", "not a PNG, JPEG, BMP or GIF image");
}

// 16-bit, gray, alpha and palette images are legitimate: they decode to 8 bits per channel.
TEST_F(RobustnessTest, DecodesEveryPngColourType) {
  struct Case {
    const char* file;
    int width, height, channels;
  };
  for (const Case& c : {Case{"img_ok_gray8.png", 8, 6, 1}, Case{"img_ok_gray16.png", 8, 6, 1},
                        Case{"img_ok_rgb16.png", 8, 6, 3}, Case{"img_ok_rgba.png", 8, 6, 4},
                        Case{"img_ok_gray_alpha.png", 8, 6, 2}, Case{"img_ok_palette.png", 8, 6, 4},
                        Case{"img_ok_palette4bit.png", 8, 6, 3}, Case{"img_ok_1bit.png", 8, 6, 1},
                        Case{"img_ok_1x1.png", 1, 1, 3}, Case{"img_ok_rgb.bmp", 5, 3, 3}}) {
    SCOPED_TRACE(c.file);
    const Image img = load_image(kBadInputs + c.file);
    EXPECT_EQ(img.width, c.width);
    EXPECT_EQ(img.height, c.height);
    EXPECT_EQ(img.channels, c.channels);
    EXPECT_EQ(img.pixels.size(), static_cast<size_t>(c.width * c.height * c.channels));
  }
  // 16-bit samples are scaled to 8 bits: 0x1F40 (8000) -> 0x1F.
  const Image g16 = load_image(kBadInputs + "img_ok_gray16.png");
  EXPECT_EQ(g16.pixels[1], 8000 >> 8);
}

TEST_F(RobustnessTest, RefusesBrokenImagesWithOneLine) {
  int seen = 0;
  for (const auto& e : fs::directory_iterator(kBadInputs)) {
    const std::string name = e.path().filename().string();
    if (name.rfind("img_bad_", 0) != 0) continue;
    SCOPED_TRACE(name);
    ++seen;
    test::expect_error([&] { load_image(e.path().string()); }, e.path().string() + ": ", "");
  }
  EXPECT_GE(seen, 8);
}

// Every committed fuzz seed through its loader: refused with one line naming the file, or read.
TEST_F(RobustnessTest, FuzzSeedsAreReadOrRefusedCleanly) {
  const std::string corpus = kTests + "/fuzz/corpus/";
  int seen = 0;
  auto each = [&](const std::string& target, auto&& load) {
    for (const auto& e : fs::directory_iterator(corpus + target)) {
      const std::string p = e.path().string();
      SCOPED_TRACE(p);
      ++seen;
      try {
        load(p);
      } catch (const Error& err) {
        const std::string msg = err.what();
        EXPECT_EQ(msg.find('\n'), std::string::npos) << msg;
        EXPECT_FALSE(msg.empty());
      }
    }
  };
  each("safetensors", [](const std::string& p) { read_safetensors(p); });
  each("image", [](const std::string& p) { load_image(p); });
  each("idx", [](const std::string& p) { read_idx(p, uint64_t{16} << 20); });
  each("config", [](const std::string& p) { model_config_from_json(test::read_file(p)); });
  each("torch_zip", [](const std::string& p) {
    if (test::read_file(p).rfind("PK", 0) == 0) read_torch_checkpoint(p);
  });
  EXPECT_GE(seen, 40);
}

}  // namespace
}  // namespace fmalens
