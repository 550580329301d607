// Convolution and pooling over NCHW images (weights OIHW): conv2d, its two
// transposes (its gradients in x and in w) and max/avg pooling. Every sum
// starts from +0 and adds its products in the order of the loops below;
// positions in the padding (or, for conv2d_input_grad, between the strides)
// are zeros that are multiplied and added like any other element, as a
// convolution through a matrix product does.
#include <limits>

#include "nabla/ir/interpreter_kernels.h"

namespace nabla::interp {
namespace {

// The sizes of a convolution: x [n, c, h, w], weights [o, cg, kh, kw],
// y [n, o, ho, wo], and the attributes.
struct Geometry {
  int64_t n, c, h, w, o, cg, og, kh, kw, ho, wo;
  int64_t sh, sw, pt, pl, dh, dw;
};

Geometry geometry(const Shape& x, const Shape& wt, const Shape& y, const Attrs& a) {
  int64_t groups = a.groups;
  return {x[0], x[1], x[2], x[3], wt[0], wt[1], wt[0] / groups, wt[2], wt[3], y[2], y[3],
          a.stride[0], a.stride[1], a.padding[0], a.padding[1], a.dilation[0], a.dilation[1]};
}

// x[n, c, iy, ix], or 0 outside the image.
template <class T> T padded(const T* x, const Geometry& g, int64_t n, int64_t c, int64_t iy, int64_t ix) {
  if (iy < 0 || iy >= g.h || ix < 0 || ix >= g.w) return T(0);
  return x[((n * g.c + c) * g.h + iy) * g.w + ix];
}

// y[n, o, oy, ox] = sum over (c', ky, kx) of x[n, group's c', oy*sh - pt + ky*dh, ...] * w[o, c', ky, kx].
template <class T> void conv2d(const T* x, const T* w, T* y, const Geometry& g) {
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t o = 0; o < g.o; ++o)
      for (int64_t oy = 0; oy < g.ho; ++oy)
        for (int64_t ox = 0; ox < g.wo; ++ox) {
          T acc(0);
          for (int64_t c = 0; c < g.cg; ++c)
            for (int64_t ky = 0; ky < g.kh; ++ky)
              for (int64_t kx = 0; kx < g.kw; ++kx)
                acc += padded(x, g, n, o / g.og * g.cg + c, oy * g.sh - g.pt + ky * g.dh, ox * g.sw - g.pl + kx * g.dw) *
                       w[((o * g.cg + c) * g.kh + ky) * g.kw + kx];
          *y++ = acc;
        }
}

// The transpose in x: dx[n, c, iy, ix] = sum over (o', ky, kx) of dy[n, o, oy, ox] * w[o, c', ky, kx]
// where oy * sh = iy + pt - ky * dh (0 when no such oy), likewise ox.
template <class T> void input_grad(const T* dy, const T* w, T* dx, const Geometry& g) {
  auto at = [&](int64_t n, int64_t o, int64_t ny, int64_t nx) {
    if (ny < 0 || nx < 0 || ny % g.sh || nx % g.sw || ny / g.sh >= g.ho || nx / g.sw >= g.wo) return T(0);
    return dy[((n * g.o + o) * g.ho + ny / g.sh) * g.wo + nx / g.sw];
  };
  for (int64_t n = 0; n < g.n; ++n)
    for (int64_t c = 0; c < g.c; ++c)
      for (int64_t iy = 0; iy < g.h; ++iy)
        for (int64_t ix = 0; ix < g.w; ++ix) {
          T acc(0);
          for (int64_t q = 0; q < g.og; ++q)
            for (int64_t ky = 0; ky < g.kh; ++ky)
              for (int64_t kx = 0; kx < g.kw; ++kx) {
                int64_t o = c / g.cg * g.og + q;
                acc += at(n, o, iy + g.pt - ky * g.dh, ix + g.pl - kx * g.dw) *
                       w[((o * g.cg + c % g.cg) * g.kh + ky) * g.kw + kx];
              }
          *dx++ = acc;
        }
}

// The transpose in w: dw[o, c', ky, kx] = sum over n of (sum over (oy, ox) of
// dy[n, o, oy, ox] * x[n, c, ...]): one image's sum at a time, as a GEMM per image adds them.
template <class T> void weight_grad(const T* x, const T* dy, T* dw, const Geometry& g) {
  for (int64_t o = 0; o < g.o; ++o)
    for (int64_t c = 0; c < g.cg; ++c)
      for (int64_t ky = 0; ky < g.kh; ++ky)
        for (int64_t kx = 0; kx < g.kw; ++kx) {
          T acc(0);
          for (int64_t n = 0; n < g.n; ++n) {
            T image(0);
            for (int64_t oy = 0; oy < g.ho; ++oy)
              for (int64_t ox = 0; ox < g.wo; ++ox)
                image += dy[((n * g.o + o) * g.ho + oy) * g.wo + ox] *
                         padded(x, g, n, o / g.og * g.cg + c, oy * g.sh - g.pt + ky * g.dh, ox * g.sw - g.pl + kx * g.dw);
            acc += image;
          }
          *dw++ = acc;
        }
}

// Pooling windows over the image's elements (the padding is left out): the
// first largest element (a NaN counts as largest: the first NaN wins) and its
// flat position in x, or the mean.
template <class T> void pool(Op op, const T* x, void* out, const Shape& xs, const Shape& ys, const Attrs& a) {
  int64_t h = xs[2], w = xs[3], ho = ys[2], wo = ys[3];
  for (int64_t plane = 0; plane < xs[0] * xs[1]; ++plane)
    for (int64_t oy = 0; oy < ho; ++oy)
      for (int64_t ox = 0; ox < wo; ++ox) {
        T best(0), sum(0);
        int64_t at = -1, count = 0;
        for (int64_t ky = 0; ky < a.window[0]; ++ky)
          for (int64_t kx = 0; kx < a.window[1]; ++kx) {
            int64_t iy = oy * a.stride[0] - a.padding[0] + ky, ix = ox * a.stride[1] - a.padding[1] + kx;
            if (iy < 0 || iy >= h || ix < 0 || ix >= w) continue;
            int64_t i = (plane * h + iy) * w + ix;
            T v = x[i];
            sum = wrap_add(sum, v);
            ++count;
            if (at < 0 || (is_nan(v) && !is_nan(best)) || (!is_nan(best) && v > best)) best = v, at = i;
          }
        int64_t r = (plane * ho + oy) * wo + ox;
        if (op == Op::MaxPool2DArgmax) static_cast<int64_t*>(out)[r] = at;
        else static_cast<T*>(out)[r] = op == Op::MaxPool2D ? best : sum / static_cast<T>(count);
      }
}

}  // namespace

Tensor eval_conv(const Call& c) {
  const Tensor &a = c.args[0];
  Tensor out(c.type.dtype, c.type.shape);
  switch (c.op) {
    case Op::MaxPool2D:
    case Op::MaxPool2DArgmax:
    case Op::AvgPool2D:
      visit_numeric(c.op, a.dtype(), [&](auto zero) {
        using T = decltype(zero);
        pool<T>(c.op, a.data_as<T>(), out.data(), a.shape(), c.type.shape, c.attrs);
      });
      return out;
    case Op::Conv2D:
    case Op::Conv2DInputGrad:
    case Op::Conv2DWeightGrad: break;
    default: unsupported_dtype(c.op, a.dtype());
  }
  const Tensor& b = c.args[1];
  visit_float(c.op, a.dtype(), [&](auto zero) {
    using T = decltype(zero);
    const T *pa = a.data_as<T>(), *pb = b.data_as<T>();
    T* po = out.data_as<T>();
    if (c.op == Op::Conv2D) conv2d(pa, pb, po, geometry(a.shape(), b.shape(), c.type.shape, c.attrs));
    else if (c.op == Op::Conv2DInputGrad) input_grad(pa, pb, po, geometry(c.type.shape, b.shape(), a.shape(), c.attrs));
    else weight_grad(pa, pb, po, geometry(a.shape(), c.type.shape, b.shape(), c.attrs));
  });
  return out;
}

}  // namespace nabla::interp
