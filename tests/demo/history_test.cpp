// The demos' reports (examples/common/history.h, evaluate.h): the CSV log,
// the SVG plot's curves, the confusion matrix.
#include <gtest/gtest.h>

#include <algorithm>
#include <cmath>
#include <cstdio>
#include <filesystem>
#include <fstream>

#include "examples/common/evaluate.h"
#include "examples/common/history.h"
#include "nabla/runtime/error.h"

namespace nabla::demo {
namespace {

std::vector<Epoch> three_epochs() {
  return {{1, 20, 1.5, 0.60, 1.25, 0.625, 0.5}, {2, 40, 0.75, 0.8, 0.8, 0.75, 1.0}, {3, 60, 0.5, 0.9, 0.7, 0.875, 1.5}};
}

TEST(DemoHistory, CsvLog) {
  std::string path = std::string(NABLA_BINARY_DIR) + "/demo_history_test.csv";
  {
    CsvLog log(path);
    for (const Epoch& e : three_epochs()) log.add(e);
  }
  std::ifstream in(path);
  std::string text((std::istreambuf_iterator<char>(in)), {});
  EXPECT_EQ(text,
            "epoch,step,loss,train_accuracy,validation_loss,validation_accuracy,seconds\n"
            "1,20,1.500000,0.600000,1.250000,0.625000,0.500\n"
            "2,40,0.750000,0.800000,0.800000,0.750000,1.000\n"
            "3,60,0.500000,0.900000,0.700000,0.875000,1.500\n");
  EXPECT_THROW(CsvLog(std::string(NABLA_BINARY_DIR) + "/no/such/dir/log.csv"), Error);
}

// Each curve is a polyline of one point per epoch; the lowest value of a
// panel is drawn lowest (larger y), the highest highest.
TEST(DemoHistory, PlotCurves) {
  std::string svg = plot_svg(three_epochs(), "a <title> & more");
  EXPECT_EQ(svg.rfind("<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<svg xmlns=\"http://www.w3.org/2000/svg\"", 0), 0u);
  EXPECT_NE(svg.find("<title>a &lt;title&gt; &amp; more</title>"), std::string::npos);
  for (const char* id : {"train_loss", "validation_loss", "train_accuracy", "validation_accuracy"}) {
    size_t at = svg.find(std::string("<polyline id=\"") + id + "\"");
    ASSERT_NE(at, std::string::npos) << id;
    size_t p = svg.find("points=\"", at) + 8;
    std::string points = svg.substr(p, svg.find('"', p) - p);
    EXPECT_EQ(std::count(points.begin(), points.end(), ' '), 2) << id << ": " << points;
  }
  size_t at = svg.find("<polyline id=\"train_loss\"");
  size_t p = svg.find("points=\"", at) + 8;
  float x1, y1, x2, y2, x3, y3;
  ASSERT_EQ(std::sscanf(svg.c_str() + p, "%f,%f %f,%f %f,%f", &x1, &y1, &x2, &y2, &x3, &y3), 6);
  EXPECT_LT(x1, x2);
  EXPECT_LT(x2, x3);
  EXPECT_LT(y1, y2);  // the loss falls, and SVG y grows downwards
  EXPECT_LT(y2, y3);
  EXPECT_THROW(plot_svg({}, "empty"), Error);
}

TEST(DemoHistory, ConfusionMatrix) {
  Dataset d;
  d.count = 5;
  d.labels = {0, 0, 1, 2, 2};
  std::string text = confusion_matrix(d, {0, 1, 1, 2, 0}, 3);
  EXPECT_EQ(text,
            "confusion matrix (5 test images; rows: true class, columns: predicted)\n"
            "true\\pred     0     1     2   total  recall\n"
            "        0     1     1     0       2   50.0%\n"
            "        1     0     1     0       1  100.0%\n"
            "        2     1     0     1       2   50.0%\n");
}

}  // namespace
}  // namespace nabla::demo
