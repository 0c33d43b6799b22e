// NonMaxSuppression (opset 10, 11): per batch and class, greedily selects boxes by descending score (ties: lower
// index first), skipping boxes whose IoU with an already selected box exceeds iou_threshold and, when
// score_threshold is given, boxes not scoring above it; at most max_output_boxes_per_class per class (default 0).
// boxes [batch, boxes, 4] as [y1, x1, y2, x2] (corners in any order) or, with center_point_box = 1,
// [x_center, y_center, width, height]; scores [batch, classes, boxes]. Output int64 [selected, 3] rows of
// (batch, class, box).
#include <algorithm>
#include <array>

#include "ops/attention/float_io.h"

namespace hone {
namespace {

struct Box {
  double x_min, x_max, y_min, y_max;
};

Box box_at(const std::vector<double>& b, size_t i, bool center) {
  const double* p = &b[i * 4];
  if (center) return {p[0] - p[2] / 2, p[0] + p[2] / 2, p[1] - p[3] / 2, p[1] + p[3] / 2};
  return {std::min(p[1], p[3]), std::max(p[1], p[3]), std::min(p[0], p[2]), std::max(p[0], p[2])};
}

bool suppresses(const Box& a, const Box& b, double iou_threshold) {
  double ix_min = std::max(a.x_min, b.x_min), ix_max = std::min(a.x_max, b.x_max);
  if (ix_max <= ix_min) return false;
  double iy_min = std::max(a.y_min, b.y_min), iy_max = std::min(a.y_max, b.y_max);
  if (iy_max <= iy_min) return false;
  double inter = (ix_max - ix_min) * (iy_max - iy_min);
  double area_a = (a.x_max - a.x_min) * (a.y_max - a.y_min), area_b = (b.x_max - b.x_min) * (b.y_max - b.y_min);
  double uni = area_a + area_b - inter;
  if (inter <= 0 || area_a <= 0 || area_b <= 0 || uni <= 0) return false;
  return inter / uni > iou_threshold;
}

void non_max_suppression(OpContext& ctx) {
  const Node& n = ctx.node();
  const Tensor& boxes = ctx.input(0);
  const Tensor& scores = ctx.input(1);
  if (boxes.rank() != 3 || boxes.dim(2) != 4) fail("{}: boxes must be [batch, boxes, 4], got {}", n.label(), shape_str(boxes.shape()));
  if (scores.rank() != 3 || scores.dim(0) != boxes.dim(0) || scores.dim(2) != boxes.dim(1))
    fail("{}: scores {} must be [{}, classes, {}]", n.label(), shape_str(scores.shape()), boxes.dim(0), boxes.dim(1));
  int64_t center_point_box = n.attr_int("center_point_box", 0);
  if (center_point_box != 0 && center_point_box != 1)
    fail("{}: center_point_box must be 0 or 1, got {}", n.label(), center_point_box);
  auto scalar = [&](size_t i) -> const Tensor* {
    if (!ctx.has_input(i) || ctx.input(i).numel() == 0) return nullptr;
    if (ctx.input(i).numel() != 1) fail("{}: input {} must hold one value", n.label(), i);
    return &ctx.input(i);
  };
  int64_t max_out = 0;
  if (const Tensor* t = scalar(2)) max_out = std::max<int64_t>(t->get_int(0), 0);
  double iou_threshold = 0;
  if (const Tensor* t = scalar(3)) iou_threshold = t->get_double(0);
  const Tensor* score_threshold_t = scalar(4);
  double score_threshold = score_threshold_t ? score_threshold_t->get_double(0) : 0;

  std::vector<double> b = float_values(boxes, n), s = float_values(scores, n);
  int64_t batches = boxes.dim(0), num_boxes = boxes.dim(1), classes = scores.dim(1);
  std::vector<std::array<int64_t, 3>> selected;
  std::vector<int64_t> order, kept;
  for (int64_t bi = 0; bi < batches; ++bi)
    for (int64_t c = 0; c < classes; ++c) {
      const double* cs = &s[static_cast<size_t>((bi * classes + c) * num_boxes)];
      order.clear();
      for (int64_t i = 0; i < num_boxes; ++i)
        if (!score_threshold_t || cs[i] > score_threshold) order.push_back(i);
      std::stable_sort(order.begin(), order.end(), [&](int64_t x, int64_t y) { return cs[x] > cs[y]; });
      kept.clear();
      for (int64_t i : order) {
        if (static_cast<int64_t>(kept.size()) >= max_out) break;
        Box bx = box_at(b, static_cast<size_t>(bi * num_boxes + i), center_point_box == 1);
        bool keep = std::none_of(kept.begin(), kept.end(), [&](int64_t k) {
          return suppresses(bx, box_at(b, static_cast<size_t>(bi * num_boxes + k), center_point_box == 1), iou_threshold);
        });
        if (keep) {
          kept.push_back(i);
          selected.push_back({bi, c, i});
        }
      }
    }
  Tensor& y = ctx.output_uninitialized(0, DType::Int64, {static_cast<int64_t>(selected.size()), 3});
  for (size_t i = 0; i < selected.size(); ++i)
    for (size_t k = 0; k < 3; ++k) y.data<int64_t>()[i * 3 + k] = selected[i][k];
}

void infer_non_max_suppression(InferenceContext& ctx) { ctx.set_output_tensor(0, DType::Int64, SymShape{Dim(), 3}); }

}  // namespace

HONE_REGISTER_OP({.name = "NonMaxSuppression", .since = 10, .infer = infer_non_max_suppression,
                  .compute = non_max_suppression});

}  // namespace hone
