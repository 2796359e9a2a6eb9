//! The tape: records a forward pass as a list of nodes, then runs it backwards.
//!
//! See the crate docs and `docs/autodiff.md` for the design. In short: every op appends
//! one [`Node`] (an [`Op`] naming its inputs) and computes its value eagerly into a
//! buffer owned by the tape. [`Tape::backward`] walks the nodes in reverse, and each
//! node's arm of one `match` adds its inputs' gradients. [`Tape::reset`] forgets the nodes
//! but keeps the value and gradient buffers, indexed by node position, so a second pass
//! that records the same graph allocates nothing.

use ndarray::{Array2, ArrayView2};

use crate::kernels::{self, exp, ln, Mat};
use crate::params::{Grads, ParamId, ParamStore};
use crate::NnError;

/// Handle to a node of a [`Tape`]: cheap to copy, valid until the tape is reset.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub struct Var(u32);

impl Var {
    /// The node's position on the tape.
    pub fn index(self) -> usize {
        self.0 as usize
    }
}

/// One recorded operation and the nodes it read.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    /// A constant or variable input (no inputs).
    Leaf,
    /// A parameter copied from a [`ParamStore`]; its gradient goes to `Grads[id]`.
    Param(ParamId),
    /// `x · Wᵀ + b`, `W` stored `[out, in]`.
    Linear {
        x: Var,
        w: Var,
        b: Option<Var>,
    },
    /// `a · b`.
    MatMul(Var, Var),
    Add(Var, Var),
    Sub(Var, Var),
    Mul(Var, Var),
    Div(Var, Var),
    Minimum(Var, Var),
    Maximum(Var, Var),
    Neg(Var),
    /// `x · scale + shift` (the shift needs no gradient).
    Affine(Var, f32),
    Tanh(Var),
    Relu(Var),
    Exp(Var),
    Log(Var),
    Square(Var),
    Sqrt(Var),
    Clamp {
        x: Var,
        lo: f32,
        hi: f32,
    },
    Sum(Var),
    Mean(Var),
    SumAxis {
        x: Var,
        axis: usize,
    },
    MeanAxis {
        x: Var,
        axis: usize,
    },
    MaskedMean {
        x: Var,
        mask: Var,
        count: f32,
    },
    LogSoftmax(Var),
    Softmax(Var),
    /// `out[i] = x[i, idx[i]]`; the indices live in `Tape::idx_buf[start..start + rows]`.
    Gather {
        x: Var,
        start: usize,
    },
    /// Inputs `Tape::var_buf[start..start + len]`, concatenated along columns.
    Concat {
        start: usize,
        len: usize,
    },
    /// Columns `col..col + width` of `x`.
    Slice {
        x: Var,
        col: usize,
    },
}

#[derive(Clone, Copy, Debug)]
pub(crate) struct Node {
    op: Op,
    requires_grad: bool,
}

/// Records a forward pass and computes gradients of a scalar by reverse-mode autodiff.
///
/// All values are 2-D `f32` arrays, batch-major (`B × F`); scalars are `1 × 1`.
/// Binary elementwise ops broadcast like NumPy on 2-D shapes (each dimension equal or 1).
///
/// Shapes that do not fit (operands that do not broadcast, a linear layer's input of the
/// wrong width, a gather index out of range, …) never panic: the op records an
/// [`NnError::Shape`] (the first one is kept), returns a NaN placeholder node of a plausible
/// shape that needs no gradient, and [`Tape::backward`] then does nothing. Call
/// [`Tape::check`] after recording (before using the gradients) to get the error.
///
/// ```
/// use ndarray::array;
/// use rl_nn::{Grads, ParamStore, Tape};
/// let mut store = ParamStore::new();
/// let w = store.add("w", array![[2.0f32, -1.0]]).unwrap();
/// let mut grads = Grads::new(&store);
/// let mut tape = Tape::new();
/// let x = tape.constant(array![[1.0f32, 3.0]].view());
/// let wv = tape.param(&store, w);
/// let y = tape.mul(x, wv);
/// let loss = tape.sum(y); // 2·1 − 1·3 = −1
/// assert_eq!(tape.scalar(loss), -1.0);
/// tape.backward(loss, &mut grads);
/// assert_eq!(grads.get(w), &array![[1.0f32, 3.0]]);
/// ```
#[derive(Debug, Default)]
pub struct Tape {
    nodes: Vec<Node>,
    /// Value buffers by node index; may be longer than `nodes` (kept across resets).
    vals: Vec<Array2<f32>>,
    /// Gradient buffers by node index (kept across resets).
    gbufs: Vec<Array2<f32>>,
    /// `fresh[i]`: node `i`'s gradient buffer holds nothing yet in this backward pass.
    fresh: Vec<bool>,
    idx_buf: Vec<usize>,
    var_buf: Vec<Var>,
    /// Node of each parameter already on the tape (`u32::MAX`: none).
    param_nodes: Vec<u32>,
    /// The first shape error since the last reset.
    error: Option<NnError>,
}

/// A buffer of the given shape, reusing `buf`'s allocation when it is large enough.
/// The contents are unspecified (callers overwrite every element).
fn reshape_buf(buf: Array2<f32>, rows: usize, cols: usize) -> Array2<f32> {
    if buf.dim() == (rows, cols) {
        return buf;
    }
    let (mut v, _) = buf.into_raw_vec_and_offset();
    v.clear();
    v.resize(rows * cols, 0.0);
    // Invariant: `v` was just resized to `rows * cols`.
    Array2::from_shape_vec((rows, cols), v).expect("sizes agree")
}

/// The broadcast shape of `a` and `b`, or `None` when they do not broadcast.
fn bcast_shape(a: (usize, usize), b: (usize, usize)) -> Option<(usize, usize)> {
    let dim = |x: usize, y: usize| {
        if x == y || y == 1 {
            Some(x)
        } else if x == 1 {
            Some(y)
        } else {
            None
        }
    };
    Some((dim(a.0, b.0)?, dim(a.1, b.1)?))
}

/// Index into a (possibly broadcast) `rows × cols` operand for output element `(i, j)`.
#[inline(always)]
fn bidx(shape: (usize, usize), i: usize, j: usize) -> usize {
    let (r, c) = shape;
    (if r == 1 { 0 } else { i }) * c + if c == 1 { 0 } else { j }
}

#[inline(always)]
fn sl(a: &Array2<f32>) -> &[f32] {
    // Invariant: every tape buffer is built by `alloc`/`reshape_buf` in standard layout.
    a.as_slice().expect("tape arrays are contiguous")
}

#[inline(always)]
fn sl_mut(a: &mut Array2<f32>) -> &mut [f32] {
    // Invariant: as in `sl`.
    a.as_slice_mut().expect("tape arrays are contiguous")
}

impl Tape {
    /// An empty tape.
    pub fn new() -> Self {
        Self::default()
    }

    /// Forgets all nodes (invalidating every [`Var`]) but keeps the buffers, so recording
    /// a graph of the same shapes again allocates nothing.
    pub fn reset(&mut self) {
        self.nodes.clear();
        self.idx_buf.clear();
        self.var_buf.clear();
        self.param_nodes.fill(u32::MAX);
        self.error = None;
    }

    /// The first shape error recorded since the last reset (see the type's docs): `Ok`
    /// when every op got operands that fit.
    pub fn check(&self) -> Result<(), NnError> {
        match &self.error {
            None => Ok(()),
            Some(e) => Err(e.clone()),
        }
    }

    /// Records a shape error (the first one is kept) and returns a NaN placeholder
    /// `rows × cols` node that needs no gradient, so recording can go on safely.
    fn poison(&mut self, what: String, rows: usize, cols: usize) -> Var {
        if self.error.is_none() {
            self.error = Some(NnError::Shape(what));
        }
        let mut out = self.alloc(rows, cols);
        out.fill(f32::NAN);
        self.push(Op::Leaf, out, false)
    }

    /// Number of nodes recorded since the last reset.
    pub fn len(&self) -> usize {
        self.nodes.len()
    }

    /// Whether no node was recorded since the last reset.
    pub fn is_empty(&self) -> bool {
        self.nodes.is_empty()
    }

    /// The value of a node.
    pub fn value(&self, v: Var) -> &Array2<f32> {
        // A `Var` from before the last reset is a bug in the calling code (it cannot come
        // from data): a documented panic.
        assert!(v.index() < self.nodes.len(), "stale Var (tape was reset)");
        &self.vals[v.index()]
    }

    /// The value of a `1 × 1` node (NaN for a node of another shape).
    pub fn scalar(&self, v: Var) -> f32 {
        let a = self.value(v);
        if a.dim() == (1, 1) {
            a[[0, 0]]
        } else {
            f32::NAN
        }
    }

    /// The shape `(rows, cols)` of a node.
    pub fn shape(&self, v: Var) -> (usize, usize) {
        self.value(v).dim()
    }

    /// After [`Tape::backward`], the gradient of the loss with respect to a non-parameter
    /// node that requires a gradient (a [`Tape::variable`] or an op on one). `None` if the
    /// node needs no gradient or none reached it. Parameter gradients go to [`Grads`].
    pub fn grad(&self, v: Var) -> Option<&Array2<f32>> {
        let i = v.index();
        let n = self.nodes.get(i)?;
        if !n.requires_grad
            || matches!(n.op, Op::Param(_))
            || self.fresh.get(i).copied().unwrap_or(true)
        {
            return None;
        }
        Some(&self.gbufs[i])
    }

    // ----- recording helpers -----

    fn rg(&self, v: Var) -> bool {
        self.nodes[v.index()].requires_grad
    }

    /// Takes node `len()`'s pooled buffer, shaped `rows × cols` (contents unspecified).
    fn alloc(&mut self, rows: usize, cols: usize) -> Array2<f32> {
        let i = self.nodes.len();
        if i < self.vals.len() {
            reshape_buf(std::mem::take(&mut self.vals[i]), rows, cols)
        } else {
            Array2::zeros((rows, cols))
        }
    }

    fn push(&mut self, op: Op, value: Array2<f32>, requires_grad: bool) -> Var {
        let i = self.nodes.len();
        if i < self.vals.len() {
            self.vals[i] = value;
        } else {
            self.vals.push(value);
        }
        self.nodes.push(Node { op, requires_grad });
        // Invariant: a graph of 2³² nodes would need far more memory than exists.
        Var(u32::try_from(i).expect("tape too long"))
    }

    fn leaf(&mut self, x: ArrayView2<'_, f32>, requires_grad: bool) -> Var {
        let (r, c) = x.dim();
        let mut out = self.alloc(r, c);
        out.assign(&x);
        self.push(Op::Leaf, out, requires_grad)
    }

    /// A constant input (no gradient), copied into a tape buffer.
    pub fn constant(&mut self, x: ArrayView2<'_, f32>) -> Var {
        self.leaf(x, false)
    }

    /// A `1 × 1` constant.
    pub fn scalar_constant(&mut self, x: f32) -> Var {
        let mut out = self.alloc(1, 1);
        out[[0, 0]] = x;
        self.push(Op::Leaf, out, false)
    }

    /// A constant built in place: `fill` receives a `rows × cols` buffer to overwrite
    /// (avoids an intermediate array; used for masks and targets).
    pub fn constant_with(
        &mut self,
        rows: usize,
        cols: usize,
        fill: impl FnOnce(&mut Array2<f32>),
    ) -> Var {
        let mut out = self.alloc(rows, cols);
        fill(&mut out);
        self.push(Op::Leaf, out, false)
    }

    /// An input whose gradient [`Tape::grad`] reports after backward.
    pub fn variable(&mut self, x: ArrayView2<'_, f32>) -> Var {
        self.leaf(x, true)
    }

    /// A parameter of `store`, copied onto the tape once per pass (a second call with the
    /// same id returns the same node). Its gradient is added to `grads[id]` by backward.
    pub fn param(&mut self, store: &ParamStore, id: ParamId) -> Var {
        if id.index() < self.param_nodes.len() {
            let n = self.param_nodes[id.index()];
            if n != u32::MAX {
                return Var(n);
            }
        } else {
            self.param_nodes.resize(id.index() + 1, u32::MAX);
        }
        let p = store.get(id);
        let mut out = self.alloc(p.nrows(), p.ncols());
        // Invariant: `ParamStore::add` stores every value in standard layout.
        sl_mut(&mut out).copy_from_slice(p.as_slice().expect("parameters are contiguous"));
        let v = self.push(Op::Param(id), out, true);
        self.param_nodes[id.index()] = v.0;
        v
    }

    fn unary(&mut self, x: Var, op: Op, f: impl Fn(f32) -> f32) -> Var {
        let (r, c) = self.shape(x);
        let mut out = self.alloc(r, c);
        {
            let src = sl(&self.vals[x.index()]);
            let dst = sl_mut(&mut out);
            for (d, &s) in dst.iter_mut().zip(src) {
                *d = f(s);
            }
        }
        let rg = self.rg(x);
        self.push(op, out, rg)
    }

    fn binary(&mut self, a: Var, b: Var, op: Op, what: &str, f: impl Fn(f32, f32) -> f32) -> Var {
        let (sa, sb) = (self.shape(a), self.shape(b));
        let Some((r, c)) = bcast_shape(sa, sb) else {
            return self.poison(
                format!("{what}: shapes {sa:?} and {sb:?} do not broadcast"),
                sa.0,
                sa.1,
            );
        };
        let mut out = self.alloc(r, c);
        {
            let (va, vb) = (sl(&self.vals[a.index()]), sl(&self.vals[b.index()]));
            let dst = sl_mut(&mut out);
            if sa == sb {
                for ((d, &x), &y) in dst.iter_mut().zip(va).zip(vb) {
                    *d = f(x, y);
                }
            } else if sb == (1, 1) && sa == (r, c) {
                let y = vb[0];
                for (d, &x) in dst.iter_mut().zip(va) {
                    *d = f(x, y);
                }
            } else {
                for i in 0..r {
                    for j in 0..c {
                        dst[i * c + j] = f(va[bidx(sa, i, j)], vb[bidx(sb, i, j)]);
                    }
                }
            }
        }
        let rg = self.rg(a) || self.rg(b);
        self.push(op, out, rg)
    }

    // ----- ops -----

    /// Fused linear layer `x · Wᵀ + b` with `w` of shape `[out, in]` (torch layout), `x`
    /// of shape `B × in` and `b` (optional) `1 × out`. Result `B × out`.
    pub fn linear(&mut self, x: Var, w: Var, b: Option<Var>) -> Var {
        let (rows, n_in) = self.shape(x);
        let (n_out, w_in) = self.shape(w);
        if n_in != w_in {
            return self.poison(
                format!("linear: x has {n_in} columns, W is [{n_out}, {w_in}]"),
                rows,
                n_out,
            );
        }
        if let Some(b) = b {
            let sb = self.shape(b);
            if sb != (1, n_out) {
                return self.poison(
                    format!("linear: bias is {sb:?}, it must be 1×{n_out}"),
                    rows,
                    n_out,
                );
            }
        }
        let mut out = self.alloc(rows, n_out);
        kernels::linear_forward(
            sl(&self.vals[x.index()]),
            sl(&self.vals[w.index()]),
            b.map(|b| sl(&self.vals[b.index()])),
            sl_mut(&mut out),
            rows,
            n_in,
            n_out,
        );
        let rg = self.rg(x) || self.rg(w) || b.is_some_and(|b| self.rg(b));
        self.push(Op::Linear { x, w, b }, out, rg)
    }

    /// Matrix product `a · b` (`m × k` times `k × n`).
    pub fn matmul(&mut self, a: Var, b: Var) -> Var {
        let (m, k) = self.shape(a);
        let (k2, n) = self.shape(b);
        if k != k2 {
            return self.poison(
                format!("matmul: inner dimensions {k} and {k2} differ"),
                m,
                n,
            );
        }
        let mut out = self.alloc(m, n);
        kernels::matmul(
            m,
            n,
            k,
            sl_mut(&mut out),
            false,
            Mat::rows(sl(&self.vals[a.index()]), k),
            Mat::rows(sl(&self.vals[b.index()]), n),
        );
        let rg = self.rg(a) || self.rg(b);
        self.push(Op::MatMul(a, b), out, rg)
    }

    /// `a + b` (broadcasting).
    pub fn add(&mut self, a: Var, b: Var) -> Var {
        self.binary(a, b, Op::Add(a, b), "add", |x, y| x + y)
    }

    /// `a − b` (broadcasting).
    pub fn sub(&mut self, a: Var, b: Var) -> Var {
        self.binary(a, b, Op::Sub(a, b), "sub", |x, y| x - y)
    }

    /// `a · b` elementwise (broadcasting).
    pub fn mul(&mut self, a: Var, b: Var) -> Var {
        self.binary(a, b, Op::Mul(a, b), "mul", |x, y| x * y)
    }

    /// `a / b` elementwise (broadcasting).
    pub fn div(&mut self, a: Var, b: Var) -> Var {
        self.binary(a, b, Op::Div(a, b), "div", |x, y| x / y)
    }

    /// Elementwise minimum (broadcasting). NaN propagates; on ties the gradient is split
    /// equally between the two inputs, as `torch.minimum`.
    pub fn minimum(&mut self, a: Var, b: Var) -> Var {
        self.binary(a, b, Op::Minimum(a, b), "minimum", |x, y| {
            if x <= y {
                x
            } else if y < x {
                y
            } else {
                f32::NAN
            }
        })
    }

    /// Elementwise maximum (broadcasting). NaN propagates; ties split the gradient, as
    /// `torch.maximum`.
    pub fn maximum(&mut self, a: Var, b: Var) -> Var {
        self.binary(a, b, Op::Maximum(a, b), "maximum", |x, y| {
            if x >= y {
                x
            } else if y > x {
                y
            } else {
                f32::NAN
            }
        })
    }

    /// `−x`.
    pub fn neg(&mut self, x: Var) -> Var {
        self.unary(x, Op::Neg(x), |v| -v)
    }

    /// `x · scale + shift`.
    pub fn affine(&mut self, x: Var, scale: f32, shift: f32) -> Var {
        self.unary(x, Op::Affine(x, scale), |v| v * scale + shift)
    }

    /// `x · scale`.
    pub fn scale(&mut self, x: Var, scale: f32) -> Var {
        self.affine(x, scale, 0.0)
    }

    /// `tanh(x)` (vectorized; a few ulp from the exact value).
    pub fn tanh(&mut self, x: Var) -> Var {
        let (r, c) = self.shape(x);
        let mut out = self.alloc(r, c);
        kernels::tanh_into(sl(&self.vals[x.index()]), sl_mut(&mut out));
        let rg = self.rg(x);
        self.push(Op::Tanh(x), out, rg)
    }

    /// `max(x, 0)` (gradient 0 at 0, as torch).
    pub fn relu(&mut self, x: Var) -> Var {
        self.unary(x, Op::Relu(x), |v| if v <= 0.0 { 0.0 } else { v })
    }

    /// `exp(x)`.
    pub fn exp(&mut self, x: Var) -> Var {
        self.unary(x, Op::Exp(x), kernels::exp)
    }

    /// Natural logarithm.
    pub fn log(&mut self, x: Var) -> Var {
        self.unary(x, Op::Log(x), kernels::ln)
    }

    /// `x²`.
    pub fn square(&mut self, x: Var) -> Var {
        self.unary(x, Op::Square(x), |v| v * v)
    }

    /// `√x`.
    pub fn sqrt(&mut self, x: Var) -> Var {
        self.unary(x, Op::Sqrt(x), f32::sqrt)
    }

    /// Clamps to `[lo, hi]`. As torch: the gradient passes where `lo ≤ x ≤ hi` (boundaries
    /// included) and is zero strictly outside; NaN propagates.
    pub fn clamp(&mut self, x: Var, lo: f32, hi: f32) -> Var {
        self.unary(x, Op::Clamp { x, lo, hi }, move |v| {
            if v < lo {
                lo
            } else if v > hi {
                hi
            } else {
                v
            }
        })
    }

    /// Sum of all elements (`1 × 1`).
    pub fn sum(&mut self, x: Var) -> Var {
        let s: f32 = sl(&self.vals[x.index()]).iter().sum();
        let mut out = self.alloc(1, 1);
        out[[0, 0]] = s;
        let rg = self.rg(x);
        self.push(Op::Sum(x), out, rg)
    }

    /// Mean of all elements (`1 × 1`).
    pub fn mean(&mut self, x: Var) -> Var {
        let v = sl(&self.vals[x.index()]);
        let s: f32 = v.iter().sum::<f32>() / v.len() as f32;
        let mut out = self.alloc(1, 1);
        out[[0, 0]] = s;
        let rg = self.rg(x);
        self.push(Op::Mean(x), out, rg)
    }

    fn reduce_axis(&mut self, x: Var, axis: usize, mean: bool) -> Var {
        let (r, c) = self.shape(x);
        if axis >= 2 {
            return self.poison(
                format!("axis {axis}: it must be 0 (rows) or 1 (columns)"),
                r,
                c,
            );
        }
        let mut out = if axis == 0 {
            self.alloc(1, c)
        } else {
            self.alloc(r, 1)
        };
        {
            let v = sl(&self.vals[x.index()]);
            let o = sl_mut(&mut out);
            if axis == 0 {
                o.fill(0.0);
                for row in v.chunks_exact(c.max(1)).take(r) {
                    for (d, &s) in o.iter_mut().zip(row) {
                        *d += s;
                    }
                }
                if mean {
                    o.iter_mut().for_each(|d| *d /= r as f32);
                }
            } else {
                for (i, d) in o.iter_mut().enumerate() {
                    let s: f32 = v[i * c..(i + 1) * c].iter().sum();
                    *d = if mean { s / c as f32 } else { s };
                }
            }
        }
        let op = if mean {
            Op::MeanAxis { x, axis }
        } else {
            Op::SumAxis { x, axis }
        };
        let rg = self.rg(x);
        self.push(op, out, rg)
    }

    /// Sum along `axis` keeping it: axis 0 gives `1 × cols`, axis 1 gives `rows × 1`.
    pub fn sum_axis(&mut self, x: Var, axis: usize) -> Var {
        self.reduce_axis(x, axis, false)
    }

    /// Mean along `axis` keeping it (see [`Tape::sum_axis`]).
    pub fn mean_axis(&mut self, x: Var, axis: usize) -> Var {
        self.reduce_axis(x, axis, true)
    }

    /// `Σ x[mask] / count(mask)` (`1 × 1`), as RLlib's `possibly_masked_mean`: `mask` has
    /// `x`'s shape and selects elements where it is non-zero. Unselected elements do not
    /// enter the sum (a NaN or ∞ there is harmless). An all-false mask gives NaN, as torch.
    pub fn masked_mean(&mut self, x: Var, mask: Var) -> Var {
        let (sx, sm) = (self.shape(x), self.shape(mask));
        if sx != sm {
            return self.poison(format!("masked_mean: mask is {sm:?}, x is {sx:?}"), 1, 1);
        }
        let (s, count) = {
            let (v, m) = (sl(&self.vals[x.index()]), sl(&self.vals[mask.index()]));
            let mut s = 0.0f32;
            let mut n = 0.0f32;
            for (&xv, &mv) in v.iter().zip(m) {
                if mv != 0.0 {
                    s += xv;
                    n += 1.0;
                }
            }
            (s, n)
        };
        let mut out = self.alloc(1, 1);
        out[[0, 0]] = s / count;
        let rg = self.rg(x);
        self.push(Op::MaskedMean { x, mask, count }, out, rg)
    }

    /// Log-softmax along the last axis (per row), stable for large logits.
    pub fn log_softmax(&mut self, x: Var) -> Var {
        let (r, c) = self.shape(x);
        let mut out = self.alloc(r, c);
        {
            let v = sl(&self.vals[x.index()]);
            let o = sl_mut(&mut out);
            for i in 0..r {
                let row = &v[i * c..(i + 1) * c];
                let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
                let lse = m + ln(row.iter().map(|&z| exp(z - m)).sum::<f32>());
                for (d, &z) in o[i * c..(i + 1) * c].iter_mut().zip(row) {
                    *d = z - lse;
                }
            }
        }
        let rg = self.rg(x);
        self.push(Op::LogSoftmax(x), out, rg)
    }

    /// Softmax along the last axis (per row).
    pub fn softmax(&mut self, x: Var) -> Var {
        let (r, c) = self.shape(x);
        let mut out = self.alloc(r, c);
        {
            let v = sl(&self.vals[x.index()]);
            let o = sl_mut(&mut out);
            for i in 0..r {
                let row = &v[i * c..(i + 1) * c];
                let m = row.iter().fold(f32::NEG_INFINITY, |a, &b| a.max(b));
                let dst = &mut o[i * c..(i + 1) * c];
                let mut s = 0.0;
                for (d, &z) in dst.iter_mut().zip(row) {
                    *d = exp(z - m);
                    s += *d;
                }
                dst.iter_mut().for_each(|d| *d /= s);
            }
        }
        let rg = self.rg(x);
        self.push(Op::Softmax(x), out, rg)
    }

    /// Selects one column per row: `out[i, 0] = x[i, indices[i]]` (`B × 1`), e.g. the
    /// log-probability of the taken action. An index out of range is a shape error.
    pub fn gather(&mut self, x: Var, indices: &[usize]) -> Var {
        self.gather_iter(x, indices.iter().copied())
    }

    /// [`Tape::gather`] with the indices from an iterator (one per row; no allocation
    /// once warmed up).
    pub fn gather_iter(&mut self, x: Var, indices: impl IntoIterator<Item = usize>) -> Var {
        let (r, c) = self.shape(x);
        let start = self.idx_buf.len();
        self.idx_buf.extend(indices);
        let got = self.idx_buf.len() - start;
        if got != r {
            self.idx_buf.truncate(start);
            return self.poison(format!("gather: {got} indices for {r} rows"), r, 1);
        }
        if let Some(&k) = self.idx_buf[start..].iter().find(|&&k| k >= c) {
            self.idx_buf.truncate(start);
            return self.poison(
                format!("gather: index {k} out of range for {c} columns"),
                r,
                1,
            );
        }
        let mut out = self.alloc(r, 1);
        {
            let v = sl(&self.vals[x.index()]);
            let idx = &self.idx_buf[start..];
            for (i, (d, &k)) in sl_mut(&mut out).iter_mut().zip(idx).enumerate() {
                *d = v[i * c + k];
            }
        }
        let rg = self.rg(x);
        self.push(Op::Gather { x, start }, out, rg)
    }

    /// Concatenates along the last axis (all inputs have the same number of rows).
    pub fn concat(&mut self, xs: &[Var]) -> Var {
        let Some(&first) = xs.first() else {
            return self.poison("concat: no input".into(), 0, 0);
        };
        let r = self.shape(first).0;
        let mut c = 0;
        for &x in xs {
            c += self.shape(x).1;
        }
        if let Some(&x) = xs.iter().find(|&&x| self.shape(x).0 != r) {
            let got = self.shape(x).0;
            return self.poison(format!("concat: row counts {r} and {got} differ"), r, c);
        }
        let start = self.var_buf.len();
        self.var_buf.extend_from_slice(xs);
        let mut out = self.alloc(r, c);
        {
            let o = sl_mut(&mut out);
            let mut off = 0;
            for &x in xs {
                let v = sl(&self.vals[x.index()]);
                let w = self.vals[x.index()].ncols();
                for i in 0..r {
                    o[i * c + off..i * c + off + w].copy_from_slice(&v[i * w..(i + 1) * w]);
                }
                off += w;
            }
        }
        let rg = xs.iter().any(|&x| self.rg(x));
        self.push(
            Op::Concat {
                start,
                len: xs.len(),
            },
            out,
            rg,
        )
    }

    /// Columns `col .. col + width` of `x`.
    pub fn slice_cols(&mut self, x: Var, col: usize, width: usize) -> Var {
        let (r, c) = self.shape(x);
        if col.checked_add(width).is_none_or(|end| end > c) {
            return self.poison(
                format!("slice_cols: columns {col}..{col}+{width} of {c}"),
                r,
                width,
            );
        }
        let mut out = self.alloc(r, width);
        {
            let v = sl(&self.vals[x.index()]);
            let o = sl_mut(&mut out);
            for i in 0..r {
                o[i * width..(i + 1) * width].copy_from_slice(&v[i * c + col..i * c + col + width]);
            }
        }
        let rg = self.rg(x);
        self.push(Op::Slice { x, col }, out, rg)
    }

    /// Splits along the last axis into pieces of the given widths (which must sum to the
    /// number of columns).
    pub fn split(&mut self, x: Var, widths: &[usize]) -> Vec<Var> {
        let c = self.shape(x).1;
        let total = widths.iter().fold(0usize, |a, &w| a.saturating_add(w));
        if total != c {
            let r = self.shape(x).0;
            return widths
                .iter()
                .map(|&w| self.poison(format!("split: widths {widths:?} do not sum to {c}"), r, w))
                .collect();
        }
        let mut col = 0;
        widths
            .iter()
            .map(|&w| {
                let v = self.slice_cols(x, col, w);
                col += w;
                v
            })
            .collect()
    }

    // ----- backward -----

    /// Computes the gradient of the `1 × 1` node `loss` and *adds* every parameter's
    /// gradient into `grads` (which must be aligned with the store the parameters came
    /// from). Gradients of [`Tape::variable`] nodes are then available via [`Tape::grad`].
    /// The tape stays valid: values can still be read; call [`Tape::reset`] before the
    /// next pass.
    ///
    /// Does nothing on a tape with a shape error ([`Tape::check`] returns it), for a loss
    /// that is not `1 × 1`, or for `grads` not shaped like the parameters on the tape
    /// (these two are recorded as shape errors too).
    pub fn backward(&mut self, loss: Var, grads: &mut Grads) {
        if self.error.is_some() {
            return;
        }
        let sl = self.shape(loss);
        if sl != (1, 1) {
            self.error = Some(NnError::Shape(format!(
                "backward: the loss is {sl:?}, it must be 1×1"
            )));
            return;
        }
        let misaligned =
            self.nodes[..=loss.index()]
                .iter()
                .enumerate()
                .find_map(|(i, n)| match n.op {
                    Op::Param(id)
                        if grads.values().get(id.index()).map(|g| g.dim())
                            != Some(self.vals[i].dim()) =>
                    {
                        Some(id)
                    }
                    _ => None,
                });
        if let Some(id) = misaligned {
            self.error = Some(NnError::Shape(format!(
                "backward: Grads not aligned with the ParamStore (parameter #{})",
                id.index()
            )));
            return;
        }
        let n = loss.index() + 1;
        if self.gbufs.len() < self.nodes.len() {
            self.gbufs.resize_with(self.nodes.len(), Default::default);
        }
        self.fresh.clear();
        self.fresh.resize(self.nodes.len(), true);
        if !self.nodes[loss.index()].requires_grad {
            return;
        }
        {
            let g = &mut self.gbufs[loss.index()];
            *g = reshape_buf(std::mem::take(g), 1, 1);
            g[[0, 0]] = 1.0;
            self.fresh[loss.index()] = false;
        }
        let Tape {
            nodes,
            vals,
            gbufs,
            fresh,
            idx_buf,
            var_buf,
            ..
        } = self;
        let mut bw = Backward {
            nodes,
            vals,
            gbufs,
            fresh,
            grads,
        };
        for i in (0..n).rev() {
            let node = bw.nodes[i];
            if !node.requires_grad || bw.fresh[i] || matches!(node.op, Op::Leaf | Op::Param(_)) {
                continue;
            }
            let g = std::mem::take(&mut bw.gbufs[i]);
            bw.node(i, node.op, &g, idx_buf, var_buf);
            bw.gbufs[i] = g;
        }
    }
}

/// Borrowed state of one backward pass.
struct Backward<'a> {
    nodes: &'a [Node],
    vals: &'a [Array2<f32>],
    gbufs: &'a mut Vec<Array2<f32>>,
    fresh: &'a mut [bool],
    grads: &'a mut Grads,
}

/// Writes `f(i)` into `d[i]` (fresh buffer) or adds it.
#[inline(always)]
fn acc1(d: &mut [f32], fresh: bool, f: impl Fn(usize) -> f32) {
    if fresh {
        for (i, x) in d.iter_mut().enumerate() {
            *x = f(i);
        }
    } else {
        for (i, x) in d.iter_mut().enumerate() {
            *x += f(i);
        }
    }
}

impl Backward<'_> {
    /// The gradient buffer of `v` and whether it is still fresh (to be overwritten), or
    /// `None` if `v` needs no gradient. A parameter's buffer is its entry in `grads`.
    fn slot(&mut self, v: Var) -> Option<(&mut Array2<f32>, bool)> {
        let i = v.index();
        let node = self.nodes[i];
        if !node.requires_grad {
            return None;
        }
        if let Op::Param(id) = node.op {
            // `backward` checked that every parameter's gradient has its shape.
            return Some((self.grads.get_mut(id), false));
        }
        let (r, c) = self.vals[i].dim();
        let fresh = self.fresh[i];
        if fresh {
            let b = std::mem::take(&mut self.gbufs[i]);
            self.gbufs[i] = reshape_buf(b, r, c);
            self.fresh[i] = false;
        }
        Some((&mut self.gbufs[i], fresh))
    }

    /// Accumulates `f(g, x, y)` into `x`'s gradient, elementwise (`y` is the output value).
    fn unary(&mut self, x: Var, out: usize, g: &Array2<f32>, f: impl Fn(f32, f32, f32) -> f32) {
        let vals = self.vals;
        if let Some((d, fresh)) = self.slot(x) {
            let (xv, yv, gv) = (sl(&vals[x.index()]), sl(&vals[out]), sl(g));
            let n = xv.len();
            let (xv, yv, gv) = (&xv[..n], &yv[..n], &gv[..n]);
            acc1(&mut sl_mut(d)[..n], fresh, |i| f(gv[i], xv[i], yv[i]));
        }
    }

    /// Accumulates `f(g, a, b)` into the gradient of `target` (which is `a` or `b`),
    /// reducing over broadcast dimensions.
    fn binary(
        &mut self,
        target: Var,
        a: Var,
        b: Var,
        g: &Array2<f32>,
        f: impl Fn(f32, f32, f32) -> f32,
    ) {
        let vals = self.vals;
        let (va, vb) = (&vals[a.index()], &vals[b.index()]);
        let (sa, sb, so) = (va.dim(), vb.dim(), g.dim());
        if let Some((d, fresh)) = self.slot(target) {
            let st = d.dim();
            let (av, bv, gv) = (sl(va), sl(vb), sl(g));
            let dv = sl_mut(d);
            if sa == so && sb == so {
                let n = gv.len();
                let (av, bv, gv) = (&av[..n], &bv[..n], &gv[..n]);
                acc1(&mut dv[..n], fresh, |i| f(gv[i], av[i], bv[i]));
            } else {
                if fresh {
                    dv.fill(0.0);
                }
                let (r, c) = so;
                for i in 0..r {
                    for j in 0..c {
                        dv[bidx(st, i, j)] +=
                            f(gv[i * c + j], av[bidx(sa, i, j)], bv[bidx(sb, i, j)]);
                    }
                }
            }
        }
    }

    fn node(&mut self, i: usize, op: Op, g: &Array2<f32>, idx_buf: &[usize], var_buf: &[Var]) {
        let vals = self.vals;
        match op {
            Op::Leaf | Op::Param(_) => {}
            Op::Linear { x, w, b } => {
                let (rows, n_in) = vals[x.index()].dim();
                let n_out = vals[w.index()].nrows();
                let gv = sl(g);
                // dX = G · W  (B×out · out×in)
                if let Some((d, fresh)) = self.slot(x) {
                    kernels::matmul(
                        rows,
                        n_in,
                        n_out,
                        sl_mut(d),
                        !fresh,
                        Mat::rows(gv, n_out),
                        Mat::rows(sl(&vals[w.index()]), n_in),
                    );
                }
                // dW = Gᵀ · X  (out×B · B×in)
                if let Some((d, fresh)) = self.slot(w) {
                    kernels::matmul(
                        n_out,
                        n_in,
                        rows,
                        sl_mut(d),
                        !fresh,
                        Mat::transposed(gv, n_out),
                        Mat::rows(sl(&vals[x.index()]), n_in),
                    );
                }
                // db = column sums of G
                if let Some(b) = b {
                    if let Some((d, fresh)) = self.slot(b) {
                        let dv = sl_mut(d);
                        if fresh {
                            dv.fill(0.0);
                        }
                        for row in gv.chunks_exact(n_out) {
                            for (s, &v) in dv.iter_mut().zip(row) {
                                *s += v;
                            }
                        }
                    }
                }
            }
            Op::MatMul(a, b) => {
                let (m, k) = vals[a.index()].dim();
                let n = vals[b.index()].ncols();
                let gv = sl(g);
                if let Some((d, fresh)) = self.slot(a) {
                    // dA = G · Bᵀ
                    kernels::matmul(
                        m,
                        k,
                        n,
                        sl_mut(d),
                        !fresh,
                        Mat::rows(gv, n),
                        Mat::transposed(sl(&vals[b.index()]), n),
                    );
                }
                if let Some((d, fresh)) = self.slot(b) {
                    // dB = Aᵀ · G
                    kernels::matmul(
                        k,
                        n,
                        m,
                        sl_mut(d),
                        !fresh,
                        Mat::transposed(sl(&vals[a.index()]), k),
                        Mat::rows(gv, n),
                    );
                }
            }
            Op::Add(a, b) => {
                self.binary(a, a, b, g, |g, _, _| g);
                self.binary(b, a, b, g, |g, _, _| g);
            }
            Op::Sub(a, b) => {
                self.binary(a, a, b, g, |g, _, _| g);
                self.binary(b, a, b, g, |g, _, _| -g);
            }
            Op::Mul(a, b) => {
                self.binary(a, a, b, g, |g, _, y| g * y);
                self.binary(b, a, b, g, |g, x, _| g * x);
            }
            Op::Div(a, b) => {
                self.binary(a, a, b, g, |g, _, y| g / y);
                self.binary(b, a, b, g, |g, x, y| -g * x / (y * y));
            }
            // torch: where(a == b, g/2, g).masked_fill_(a > b, 0) for a (mirror for b).
            Op::Minimum(a, b) => {
                self.binary(a, a, b, g, |g, x, y| {
                    if x == y {
                        0.5 * g
                    } else if x > y {
                        0.0
                    } else {
                        g
                    }
                });
                self.binary(b, a, b, g, |g, x, y| {
                    if x == y {
                        0.5 * g
                    } else if x < y {
                        0.0
                    } else {
                        g
                    }
                });
            }
            Op::Maximum(a, b) => {
                self.binary(a, a, b, g, |g, x, y| {
                    if x == y {
                        0.5 * g
                    } else if x < y {
                        0.0
                    } else {
                        g
                    }
                });
                self.binary(b, a, b, g, |g, x, y| {
                    if x == y {
                        0.5 * g
                    } else if x > y {
                        0.0
                    } else {
                        g
                    }
                });
            }
            Op::Neg(x) => self.unary(x, i, g, |g, _, _| -g),
            Op::Affine(x, s) => self.unary(x, i, g, |g, _, _| g * s),
            Op::Tanh(x) => self.unary(x, i, g, |g, _, y| g * (1.0 - y * y)),
            Op::Relu(x) => self.unary(x, i, g, |g, _, y| if y > 0.0 { g } else { 0.0 }),
            Op::Exp(x) => self.unary(x, i, g, |g, _, y| g * y),
            Op::Log(x) => self.unary(x, i, g, |g, x, _| g / x),
            Op::Square(x) => self.unary(x, i, g, |g, x, _| 2.0 * g * x),
            Op::Sqrt(x) => self.unary(x, i, g, |g, _, y| g / (2.0 * y)),
            Op::Clamp { x, lo, hi } => {
                self.unary(
                    x,
                    i,
                    g,
                    move |g, x, _| if x >= lo && x <= hi { g } else { 0.0 },
                )
            }
            Op::Sum(x) | Op::Mean(x) => {
                let mut s = g[[0, 0]];
                if matches!(op, Op::Mean(_)) {
                    s /= vals[x.index()].len() as f32;
                }
                if let Some((d, fresh)) = self.slot(x) {
                    acc1(sl_mut(d), fresh, |_| s);
                }
            }
            Op::SumAxis { x, axis } | Op::MeanAxis { x, axis } => {
                let (r, c) = vals[x.index()].dim();
                let div = match (op, axis) {
                    (Op::MeanAxis { .. }, 0) => r as f32,
                    (Op::MeanAxis { .. }, _) => c as f32,
                    _ => 1.0,
                };
                let gv = sl(g);
                if let Some((d, fresh)) = self.slot(x) {
                    let c = c.max(1);
                    if axis == 0 {
                        acc1(sl_mut(d), fresh, |k| gv[k % c] / div);
                    } else {
                        acc1(sl_mut(d), fresh, |k| gv[k / c] / div);
                    }
                }
            }
            Op::MaskedMean { x, mask, count } => {
                let s = g[[0, 0]] / count;
                let m = sl(&vals[mask.index()]);
                if let Some((d, fresh)) = self.slot(x) {
                    acc1(sl_mut(d), fresh, |k| if m[k] != 0.0 { s } else { 0.0 });
                }
            }
            Op::LogSoftmax(x) => {
                let y = sl(&vals[i]);
                let c = vals[i].ncols();
                let gv = sl(g);
                if let Some((d, fresh)) = self.slot(x) {
                    let dv = sl_mut(d);
                    for ((drow, grow), yrow) in dv
                        .chunks_exact_mut(c)
                        .zip(gv.chunks_exact(c))
                        .zip(y.chunks_exact(c))
                    {
                        let s: f32 = grow.iter().sum();
                        acc1(drow, fresh, |k| grow[k] - exp(yrow[k]) * s);
                    }
                }
            }
            Op::Softmax(x) => {
                let y = sl(&vals[i]);
                let c = vals[i].ncols();
                let gv = sl(g);
                if let Some((d, fresh)) = self.slot(x) {
                    let dv = sl_mut(d);
                    for ((drow, grow), yrow) in dv
                        .chunks_exact_mut(c)
                        .zip(gv.chunks_exact(c))
                        .zip(y.chunks_exact(c))
                    {
                        let s: f32 = grow.iter().zip(yrow).map(|(a, b)| a * b).sum();
                        acc1(drow, fresh, |k| yrow[k] * (grow[k] - s));
                    }
                }
            }
            Op::Gather { x, start } => {
                let (r, c) = vals[x.index()].dim();
                let idx = &idx_buf[start..start + r];
                let gv = sl(g);
                if let Some((d, fresh)) = self.slot(x) {
                    let dv = sl_mut(d);
                    if fresh {
                        dv.fill(0.0);
                    }
                    for (row, &k) in idx.iter().enumerate() {
                        dv[row * c + k] += gv[row];
                    }
                }
            }
            Op::Concat { start, len } => {
                let c = g.ncols();
                let gv = sl(g);
                let mut off = 0;
                for &x in &var_buf[start..start + len] {
                    let w = vals[x.index()].ncols();
                    if let Some((d, fresh)) = self.slot(x) {
                        let dv = sl_mut(d);
                        acc1(dv, fresh, |k| gv[(k / w) * c + off + k % w]);
                    }
                    off += w;
                }
            }
            Op::Slice { x, col } => {
                let (_, c) = vals[x.index()].dim();
                let w = g.ncols();
                let gv = sl(g);
                if let Some((d, fresh)) = self.slot(x) {
                    let dv = sl_mut(d);
                    if fresh {
                        dv.fill(0.0);
                    }
                    for (drow, grow) in dv.chunks_exact_mut(c).zip(gv.chunks_exact(w.max(1))) {
                        for (dd, &gg) in drow[col..col + w].iter_mut().zip(grow) {
                            *dd += gg;
                        }
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod shape_error_tests {
    use super::*;
    use ndarray::array;

    /// Operands that do not broadcast give a typed error, not a panic; backward then
    /// leaves the gradients alone and the next pass after a reset works again.
    #[test]
    fn a_broadcast_mismatch_is_an_error_not_a_panic() {
        let mut store = ParamStore::new();
        let w = store.add("w", array![[1.0f32, 2.0, 3.0]]).unwrap();
        let mut grads = Grads::new(&store);
        let mut tape = Tape::new();
        let x = tape.constant(array![[1.0f32, 2.0]].view());
        let wv = tape.param(&store, w);
        let y = tape.mul(x, wv); // 1×2 with 1×3
        let z = tape.add(y, wv);
        let loss = tape.sum(z);
        assert!(tape.scalar(loss).is_nan());
        tape.backward(loss, &mut grads);
        let err = tape.check().unwrap_err();
        assert!(
            matches!(&err, NnError::Shape(m) if m.contains("mul") && m.contains("(1, 2)") && m.contains("(1, 3)")),
            "{err}"
        );
        assert!(grads.values().iter().all(|g| g.iter().all(|&v| v == 0.0)));
        tape.reset();
        assert!(tape.check().is_ok());
        let wv = tape.param(&store, w);
        let loss = tape.sum(wv);
        tape.backward(loss, &mut grads);
        assert!(tape.check().is_ok());
        assert_eq!(grads.get(w), &array![[1.0f32, 1.0, 1.0]]);
    }

    #[test]
    fn other_shape_errors_are_recorded_too() {
        let mut tape = Tape::new();
        for case in 0..7 {
            tape.reset();
            let a = tape.constant(array![[1.0f32, 2.0], [3.0, 4.0]].view());
            let b = tape.constant(array![[1.0f32, 2.0, 3.0]].view());
            match case {
                0 => tape.matmul(a, b),
                1 => tape.linear(a, b, None),
                2 => tape.masked_mean(a, b),
                3 => tape.concat(&[a, b]),
                4 => tape.slice_cols(a, 1, 5),
                5 => tape.gather(a, &[0, 7]),
                _ => tape.sum_axis(a, 3),
            };
            assert!(tape.check().is_err(), "case {case}");
        }
    }
}
