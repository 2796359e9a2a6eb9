//! Layers: [`Linear`] and [`Mlp`], each with a recorded forward (on a [`Tape`]) and a
//! no-grad fast path on plain arrays for acting.

use ndarray::{Array2, ArrayView2};
use serde::{Deserialize, Serialize};

use crate::kernels;
use crate::{Init, NnError, ParamId, ParamStore, Rng, Tape, Var};

/// Activation applied after each hidden layer of an [`Mlp`].
#[derive(Clone, Copy, Debug, PartialEq, Eq, Serialize, Deserialize, Default)]
#[serde(rename_all = "lowercase")]
pub enum Activation {
    /// `tanh` (RLlib's default `fcnet_activation`).
    #[default]
    Tanh,
    /// `max(x, 0)`.
    Relu,
    /// Identity.
    Linear,
}

impl Activation {
    /// Records the activation on a tape.
    pub fn apply(self, tape: &mut Tape, x: Var) -> Var {
        match self {
            Activation::Tanh => tape.tanh(x),
            Activation::Relu => tape.relu(x),
            Activation::Linear => x,
        }
    }

    /// Applies the activation in place to plain values.
    pub fn apply_slice(self, xs: &mut [f32]) {
        match self {
            Activation::Tanh => kernels::tanh_inplace(xs),
            Activation::Relu => kernels::relu_inplace(xs),
            Activation::Linear => {}
        }
    }
}

/// A fully connected layer `y = x · Wᵀ + b`, `W` stored `[out, in]` as in torch. Its
/// parameters live in a [`ParamStore`] as `{name}.weight` and `{name}.bias`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Linear {
    /// The weight `[out_features, in_features]`.
    pub weight: ParamId,
    /// The bias `1 × out_features`, if any.
    pub bias: Option<ParamId>,
    /// Input width.
    pub in_features: usize,
    /// Output width.
    pub out_features: usize,
}

impl Linear {
    /// Registers `{name}.weight` (and `{name}.bias` if `bias`) in `store`, initialized by
    /// `init` from `rng`. Errors if a name is taken.
    pub fn new(
        store: &mut ParamStore,
        name: &str,
        in_features: usize,
        out_features: usize,
        bias: bool,
        init: Init,
        rng: &mut Rng,
    ) -> Result<Self, NnError> {
        let (w, b) = init.linear(out_features, in_features, rng);
        let weight = store.add(&format!("{name}.weight"), w)?;
        let bias = if bias {
            Some(store.add(&format!("{name}.bias"), b)?)
        } else {
            None
        };
        Ok(Linear {
            weight,
            bias,
            in_features,
            out_features,
        })
    }

    /// Records `x · Wᵀ + b` on the tape (`x`: `B × in_features`).
    pub fn forward(&self, tape: &mut Tape, store: &ParamStore, x: Var) -> Var {
        let w = tape.param(store, self.weight);
        let b = self.bias.map(|b| tape.param(store, b));
        tape.linear(x, w, b)
    }

    /// No-grad forward on plain arrays: writes `x · Wᵀ + b` into `out` (resized to
    /// `B × out_features` if needed, reusing its allocation). Panics if `x` does not have
    /// `in_features` columns.
    pub fn forward_array(&self, store: &ParamStore, x: ArrayView2<'_, f32>, out: &mut Array2<f32>) {
        assert_eq!(
            x.ncols(),
            self.in_features,
            "Linear::forward_array: input width"
        );
        let rows = x.nrows();
        resize(out, rows, self.out_features);
        let xs = x.as_standard_layout();
        // Invariant: `xs` and `out` were just made standard layout; parameters are stored in
        // it (`ParamStore::add`).
        kernels::linear_forward(
            xs.as_slice().expect("standard layout"),
            store.get(self.weight).as_slice().expect("contiguous"),
            self.bias
                .map(|b| store.get(b).as_slice().expect("contiguous")),
            out.as_slice_mut().expect("contiguous"),
            rows,
            self.in_features,
            self.out_features,
        );
    }
}

/// Resizes `a` to `rows × cols`, reusing its allocation when it is large enough.
pub(crate) fn resize(a: &mut Array2<f32>, rows: usize, cols: usize) {
    if a.dim() != (rows, cols) || !a.is_standard_layout() {
        let (mut v, _) = std::mem::take(a).into_raw_vec_and_offset();
        v.clear();
        v.resize(rows * cols, 0.0);
        // Invariant: `v` was just resized to `rows * cols`.
        *a = Array2::from_shape_vec((rows, cols), v).expect("sizes agree");
    }
}

/// How to build an [`Mlp`].
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct MlpConfig {
    /// Input width.
    pub in_dim: usize,
    /// Widths of the hidden layers, each followed by `activation`.
    pub hidden: Vec<usize>,
    /// Activation after each hidden layer.
    pub activation: Activation,
    /// Width of an optional output layer (no activation after it).
    pub output_dim: Option<usize>,
    /// Initializer of the hidden layers.
    pub hidden_init: Init,
    /// Initializer of the output layer.
    pub output_init: Init,
}

/// A multi-layer perceptron: hidden Linear layers each followed by an activation, then an
/// optional output Linear layer. Parameter names follow torch's `nn.Sequential` indexing
/// under a prefix: `{prefix}.0`, `{prefix}.2`, `{prefix}.4`, … (activations take the odd
/// indices), e.g. RLlib's `encoder.actor_encoder.net.mlp.0.weight`.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct Mlp {
    /// The Linear layers in order (the output layer last, if any).
    pub layers: Vec<Linear>,
    /// Activation after each hidden layer.
    pub activation: Activation,
    /// Whether the last layer is an output layer (no activation after it).
    pub has_output_layer: bool,
}

/// Scratch buffers for [`Mlp::forward_array`]; reuse one across calls to avoid allocating.
#[derive(Clone, Debug, Default)]
pub struct Workspace {
    a: Array2<f32>,
    b: Array2<f32>,
}

impl Workspace {
    /// Empty buffers (they grow on first use).
    pub fn new() -> Self {
        Self::default()
    }
}

impl Mlp {
    /// Registers the layers' parameters in `store` under `prefix` and initializes them.
    pub fn new(
        store: &mut ParamStore,
        prefix: &str,
        config: &MlpConfig,
        rng: &mut Rng,
    ) -> Result<Self, NnError> {
        let mut layers = Vec::new();
        let mut d = config.in_dim;
        for (k, &h) in config.hidden.iter().enumerate() {
            layers.push(Linear::new(
                store,
                &format!("{prefix}.{}", 2 * k),
                d,
                h,
                true,
                config.hidden_init,
                rng,
            )?);
            d = h;
        }
        if let Some(o) = config.output_dim {
            let k = config.hidden.len();
            layers.push(Linear::new(
                store,
                &format!("{prefix}.{}", 2 * k),
                d,
                o,
                true,
                config.output_init,
                rng,
            )?);
        }
        Ok(Mlp {
            layers,
            activation: config.activation,
            has_output_layer: config.output_dim.is_some(),
        })
    }

    /// Input width (0 for an MLP without layers).
    pub fn in_dim(&self) -> usize {
        self.layers.first().map_or(0, |l| l.in_features)
    }

    /// Output width (0 for an MLP without layers).
    pub fn out_dim(&self) -> usize {
        self.layers.last().map_or(0, |l| l.out_features)
    }

    fn activated(&self, k: usize) -> bool {
        !(self.has_output_layer && k + 1 == self.layers.len())
    }

    /// Records the MLP on a tape.
    pub fn forward(&self, tape: &mut Tape, store: &ParamStore, x: Var) -> Var {
        let mut h = x;
        for (k, l) in self.layers.iter().enumerate() {
            h = l.forward(tape, store, h);
            if self.activated(k) {
                h = self.activation.apply(tape, h);
            }
        }
        h
    }

    /// No-grad forward on plain arrays into a new array, after checking the input's width
    /// (an error, not a panic, when it does not fit). It allocates its buffers on every call;
    /// [`Mlp::forward_array`] reuses them.
    pub fn forward_owned(
        &self,
        store: &ParamStore,
        x: ArrayView2<'_, f32>,
    ) -> Result<Array2<f32>, NnError> {
        if !self.layers.is_empty() && x.ncols() != self.in_dim() {
            return Err(NnError::StateMismatch(format!(
                "the input has {} columns, the MLP takes {}",
                x.ncols(),
                self.in_dim()
            )));
        }
        let mut out = Array2::zeros((0, 0));
        self.forward_array(store, x, &mut Workspace::new(), &mut out);
        Ok(out)
    }

    /// No-grad forward on plain arrays into `out` (resized as needed, allocation reused),
    /// with intermediates in `ws`. After warm-up it allocates nothing. Gives the same bits
    /// as [`Mlp::forward`] on a tape (the same kernels).
    pub fn forward_array(
        &self,
        store: &ParamStore,
        x: ArrayView2<'_, f32>,
        ws: &mut Workspace,
        out: &mut Array2<f32>,
    ) {
        let n = self.layers.len();
        if n == 0 {
            resize(out, x.nrows(), x.ncols());
            out.assign(&x);
            return;
        }
        for (k, l) in self.layers.iter().enumerate() {
            // Layer k reads from the previous buffer and writes to `out` (last layer) or to
            // the workspace buffer it did not read from.
            let last = k + 1 == n;
            let (src, dst): (Option<&Array2<f32>>, &mut Array2<f32>) = match (k % 2, last) {
                (0, true) => (if k == 0 { None } else { Some(&ws.b) }, &mut *out),
                (0, false) => (if k == 0 { None } else { Some(&ws.b) }, &mut ws.a),
                (_, true) => (Some(&ws.a), &mut *out),
                (_, false) => (Some(&ws.a), &mut ws.b),
            };
            match src {
                None => l.forward_array(store, x, dst),
                Some(s) => l.forward_array(store, s.view(), dst),
            }
            if self.activated(k) {
                // Invariant: `forward_array` leaves `dst` in standard layout (`resize`).
                self.activation
                    .apply_slice(dst.as_slice_mut().expect("contiguous"));
            }
        }
    }
}
