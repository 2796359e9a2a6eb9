//! Finite-difference gradient checks for every tape op, as proptest properties over random
//! shapes and values, plus unit tests of the edge conventions (clamp boundaries, ties in
//! minimum/maximum, large logits in log-softmax) that finite differences cannot see.

use ndarray::{array, Array2};
use proptest::prelude::*;
use rand::SeedableRng;
use rl_nn::distributions::{self, ActionDistKind};
use rl_nn::{Grads, Init, Linear, ParamStore, Rng, Tape, Var};

/// Central-difference step. The ops run in f32: with values O(1) and a loss O(10), the
/// rounding error of a difference quotient is ~10·6e-8/(2h) ≈ 3e-5 and the truncation
/// error ~h²·f'''/6 ≈ 2e-5, so the tolerance below (2e-3 relative + 2e-3 absolute) is
/// two orders of magnitude above the noise and far below any real gradient bug.
const H: f32 = 1e-2;
const RTOL: f32 = 2e-3;
const ATOL: f32 = 2e-3;

fn arr(r: usize, c: usize, lo: f32, hi: f32) -> impl Strategy<Value = Array2<f32>> {
    proptest::collection::vec(lo..hi, r * c)
        .prop_map(move |v| Array2::from_shape_vec((r, c), v).unwrap())
}

fn shape() -> impl Strategy<Value = (usize, usize)> {
    (1usize..6, 1usize..6)
}

fn mat(lo: f32, hi: f32) -> impl Strategy<Value = Array2<f32>> {
    shape().prop_flat_map(move |(r, c)| arr(r, c, lo, hi))
}

/// Evaluates `Σ weights ⊙ f(inputs)` on a fresh tape; returns the loss and, when asked, the
/// gradients of the inputs.
fn eval(
    inputs: &[Array2<f32>],
    f: &dyn Fn(&mut Tape, &[Var]) -> Var,
    weights_seed: u64,
    want_grads: bool,
) -> (f32, Vec<Array2<f32>>) {
    let mut tape = Tape::new();
    let vars: Vec<Var> = inputs.iter().map(|x| tape.variable(x.view())).collect();
    let out = f(&mut tape, &vars);
    let (r, c) = tape.shape(out);
    // Fixed pseudo-random upstream weights so every output element matters differently.
    let w = Array2::from_shape_fn((r, c), |(i, j)| {
        let k = (i * 31 + j * 17) as u64 ^ weights_seed;
        0.5 + ((k.wrapping_mul(2654435761) % 1000) as f32) / 1000.0
    });
    let wv = tape.constant(w.view());
    let prod = tape.mul(out, wv);
    let loss = tape.sum(prod);
    let value = tape.scalar(loss);
    if !want_grads {
        return (value, vec![]);
    }
    let mut grads = Grads::default();
    tape.backward(loss, &mut grads);
    let g = vars
        .iter()
        .zip(inputs)
        .map(|(&v, x)| {
            tape.grad(v)
                .cloned()
                .unwrap_or_else(|| Array2::zeros(x.dim()))
        })
        .collect();
    (value, g)
}

fn check(
    inputs: Vec<Array2<f32>>,
    f: &dyn Fn(&mut Tape, &[Var]) -> Var,
) -> Result<(), TestCaseError> {
    let seed = inputs.iter().map(|x| x.len() as u64).sum::<u64>();
    let (_, analytic) = eval(&inputs, f, seed, true);
    for (k, x) in inputs.iter().enumerate() {
        for idx in 0..x.len() {
            let mut plus = inputs.clone();
            plus[k].as_slice_mut().unwrap()[idx] += H;
            let mut minus = inputs.clone();
            minus[k].as_slice_mut().unwrap()[idx] -= H;
            let fd = (eval(&plus, f, seed, false).0 - eval(&minus, f, seed, false).0) / (2.0 * H);
            let an = analytic[k].as_slice().unwrap()[idx];
            prop_assert!(
                (fd - an).abs() <= ATOL + RTOL * fd.abs().max(an.abs()),
                "input {k} element {idx}: finite difference {fd} vs analytic {an}"
            );
        }
    }
    Ok(())
}

/// Whether every pair of elements that meet under broadcasting is at least `gap` apart.
fn apart(a: &Array2<f32>, b: &Array2<f32>, gap: f32) -> bool {
    let (r, c) = (a.nrows().max(b.nrows()), a.ncols().max(b.ncols()));
    let at = |m: &Array2<f32>, i: usize, j: usize| m[[i.min(m.nrows() - 1), j.min(m.ncols() - 1)]];
    (0..r).all(|i| (0..c).all(|j| (at(a, i, j) - at(b, i, j)).abs() >= gap))
}

/// A pair of arrays whose shapes broadcast: `b` is full, a row, a column or a scalar.
fn bpair(lo: f32, hi: f32) -> impl Strategy<Value = (Array2<f32>, Array2<f32>)> {
    (shape(), 0usize..4, any::<bool>()).prop_flat_map(move |((r, c), kind, swap)| {
        let (br, bc) = match kind {
            0 => (r, c),
            1 => (1, c),
            2 => (r, 1),
            _ => (1, 1),
        };
        (arr(r, c, lo, hi), arr(br, bc, lo, hi))
            .prop_map(move |(a, b)| if swap { (b, a) } else { (a, b) })
    })
}

/// Values with magnitude in [0.3, 2] and random sign (safe denominators).
fn away_from_zero(a: Array2<f32>) -> Array2<f32> {
    a.mapv(|x| if x >= 0.0 { 0.3 + x } else { -0.3 + x })
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 24, ..ProptestConfig::default() })]

    #[test]
    fn linear_grad((rows, n_in, n_out) in (1usize..9, 1usize..6, 1usize..6), seed in any::<u64>()) {
        let mut rng = Rng::seed_from_u64(seed);
        let x = rl_nn::init::uniform(rows, n_in, 1.0, &mut rng);
        let w = rl_nn::init::uniform(n_out, n_in, 1.0, &mut rng);
        let b = rl_nn::init::uniform(1, n_out, 1.0, &mut rng);
        check(vec![x.clone(), w.clone(), b], &|t, v| t.linear(v[0], v[1], Some(v[2])))?;
        check(vec![x, w], &|t, v| t.linear(v[0], v[1], None))?;
    }

    #[test]
    fn matmul_grad((m, k, n) in (1usize..7, 1usize..6, 1usize..6), seed in any::<u64>()) {
        let mut rng = Rng::seed_from_u64(seed);
        let a = rl_nn::init::uniform(m, k, 1.0, &mut rng);
        let b = rl_nn::init::uniform(k, n, 1.0, &mut rng);
        check(vec![a, b], &|t, v| t.matmul(v[0], v[1]))?;
    }

    #[test]
    fn add_sub_mul_grad((a, b) in bpair(-2.0, 2.0)) {
        check(vec![a.clone(), b.clone()], &|t, v| t.add(v[0], v[1]))?;
        check(vec![a.clone(), b.clone()], &|t, v| t.sub(v[0], v[1]))?;
        check(vec![a, b], &|t, v| t.mul(v[0], v[1]))?;
    }

    #[test]
    fn div_grad((a, b) in bpair(-1.7, 1.7)) {
        check(vec![a, away_from_zero(b)], &|t, v| t.div(v[0], v[1]))?;
    }

    #[test]
    fn minimum_maximum_grad((a, b) in bpair(-2.0, 2.0)) {
        prop_assume!(apart(&a, &b, 3.0 * H));
        check(vec![a.clone(), b.clone()], &|t, v| t.minimum(v[0], v[1]))?;
        check(vec![a, b], &|t, v| t.maximum(v[0], v[1]))?;
    }

    #[test]
    fn elementwise_grad(x in mat(-2.0, 2.0), scale in -3.0f32..3.0, shift in -1.0f32..1.0) {
        check(vec![x.clone()], &|t, v| t.neg(v[0]))?;
        check(vec![x.clone()], &move |t, v| t.affine(v[0], scale, shift))?;
        check(vec![x.clone()], &|t, v| t.tanh(v[0]))?;
        check(vec![x.clone()], &|t, v| t.exp(v[0]))?;
        check(vec![x.clone()], &|t, v| t.square(v[0]))?;
        let pos = x.mapv(|z| z.abs() + 0.3);
        check(vec![pos.clone()], &|t, v| t.log(v[0]))?;
        check(vec![pos], &|t, v| t.sqrt(v[0]))?;
        let off_kink = x.mapv(|z| if z.abs() < 3.0 * H { z + 0.1 } else { z });
        check(vec![off_kink], &|t, v| t.relu(v[0]))?;
    }

    #[test]
    fn clamp_grad(x in mat(-2.0, 2.0), lo in -1.0f32..0.0, width in 0.1f32..1.5) {
        let hi = lo + width;
        prop_assume!(x.iter().all(|&z| (z - lo).abs() > 2.0 * H && (z - hi).abs() > 2.0 * H));
        check(vec![x], &move |t, v| t.clamp(v[0], lo, hi))?;
    }

    #[test]
    fn reductions_grad(x in mat(-2.0, 2.0)) {
        check(vec![x.clone()], &|t, v| t.sum(v[0]))?;
        check(vec![x.clone()], &|t, v| t.mean(v[0]))?;
        for axis in 0..2 {
            check(vec![x.clone()], &move |t, v| t.sum_axis(v[0], axis))?;
            check(vec![x.clone()], &move |t, v| t.mean_axis(v[0], axis))?;
        }
    }

    #[test]
    fn masked_mean_grad(x in mat(-2.0, 2.0), bits in any::<u64>()) {
        let mut mask = Array2::from_shape_fn(x.dim(), |(i, j)| ((bits >> ((i * 7 + j) % 64)) & 1) as f32);
        mask[[0, 0]] = 1.0;
        check(vec![x], &move |t, v| {
            let m = t.constant(mask.view());
            t.masked_mean(v[0], m)
        })?;
    }

    #[test]
    fn softmax_grad(x in mat(-3.0, 3.0)) {
        check(vec![x.clone()], &|t, v| t.log_softmax(v[0]))?;
        check(vec![x], &|t, v| t.softmax(v[0]))?;
    }

    #[test]
    fn gather_grad(x in mat(-2.0, 2.0), seed in any::<u64>()) {
        let (r, c) = x.dim();
        let idx: Vec<usize> = (0..r).map(|i| ((seed >> (i % 60)) as usize + i) % c).collect();
        check(vec![x], &move |t, v| t.gather(v[0], &idx))?;
    }

    #[test]
    fn concat_split_grad((r, c1, c2, c3) in (1usize..5, 1usize..4, 1usize..4, 1usize..4), seed in any::<u64>()) {
        let mut rng = Rng::seed_from_u64(seed);
        let a = rl_nn::init::uniform(r, c1, 2.0, &mut rng);
        let b = rl_nn::init::uniform(r, c2, 2.0, &mut rng);
        let c = rl_nn::init::uniform(r, c3, 2.0, &mut rng);
        // The same input twice exercises gradient accumulation.
        check(vec![a.clone(), b.clone(), c.clone()], &|t, v| t.concat(&[v[0], v[1], v[2], v[0]]))?;
        let x = ndarray::concatenate![ndarray::Axis(1), a, b, c].as_standard_layout().to_owned();
        check(vec![x], &move |t, v| {
            let parts = t.split(v[0], &[c1, c2, c3]);
            let s = t.mul(parts[0], parts[0]);
            let u = t.tanh(parts[2]);
            let k = t.concat(&[u, parts[1], s]);
            t.slice_cols(k, 1, c3 + c2 - 1 + c1)
        })?;
    }

    #[test]
    fn categorical_dist_grad(x in mat(-3.0, 3.0), prev_seed in any::<u64>()) {
        let (r, c) = x.dim();
        let actions = Array2::from_shape_fn((r, 1), |(i, _)| ((prev_seed as usize >> (i % 50)) % c) as f32);
        let mut rng = Rng::seed_from_u64(prev_seed);
        let prev = rl_nn::init::uniform(r, c, 3.0, &mut rng);
        let a2 = actions.clone();
        check(vec![x.clone()], &move |t, v| distributions::categorical_logp(t, v[0], a2.view()).unwrap())?;
        check(vec![x.clone()], &|t, v| distributions::categorical_entropy(t, v[0]))?;
        let p2 = prev.clone();
        check(vec![x.clone()], &move |t, v| distributions::categorical_kl(t, p2.view(), v[0]).unwrap())?;
        // In-graph values agree with the plain-array distributions.
        let mut tape = Tape::new();
        let xv = tape.constant(x.view());
        let lp = ActionDistKind::Categorical.logp_var(&mut tape, xv, actions.view()).unwrap();
        let en = ActionDistKind::Categorical.entropy_var(&mut tape, xv).unwrap();
        let kl = ActionDistKind::Categorical.kl_var(&mut tape, prev.view(), xv).unwrap();
        for i in 0..r {
            let d = rl_nn::Categorical::new(x.row(i)).unwrap();
            let p = rl_nn::Categorical::new(prev.row(i)).unwrap();
            prop_assert!((tape.value(lp)[[i, 0]] - d.log_prob(actions[[i, 0]] as usize)).abs() < 1e-5);
            prop_assert!((tape.value(en)[[i, 0]] - d.entropy()).abs() < 1e-5);
            prop_assert!((tape.value(kl)[[i, 0]] - p.kl(&d)).abs() < 1e-5);
        }
    }

    #[test]
    fn gaussian_dist_grad((r, d) in (1usize..5, 1usize..4), seed in any::<u64>()) {
        let mut rng = Rng::seed_from_u64(seed);
        let x = rl_nn::init::uniform(r, 2 * d, 1.0, &mut rng);
        let prev = rl_nn::init::uniform(r, 2 * d, 1.0, &mut rng);
        let actions = rl_nn::init::uniform(r, d, 2.0, &mut rng);
        let a2 = actions.clone();
        check(vec![x.clone()], &move |t, v| distributions::diag_gaussian_logp(t, v[0], a2.view()).unwrap())?;
        check(vec![x.clone()], &|t, v| distributions::diag_gaussian_entropy(t, v[0]).unwrap())?;
        let p2 = prev.clone();
        check(vec![x.clone()], &move |t, v| distributions::diag_gaussian_kl(t, p2.view(), v[0]).unwrap())?;
        let mut tape = Tape::new();
        let xv = tape.constant(x.view());
        let lp = ActionDistKind::DiagGaussian.logp_var(&mut tape, xv, actions.view()).unwrap();
        let en = ActionDistKind::DiagGaussian.entropy_var(&mut tape, xv).unwrap();
        let kl = ActionDistKind::DiagGaussian.kl_var(&mut tape, prev.view(), xv).unwrap();
        for i in 0..r {
            let g = rl_nn::DiagGaussian::from_inputs(x.row(i)).unwrap();
            let p = rl_nn::DiagGaussian::from_inputs(prev.row(i)).unwrap();
            let a: Vec<f32> = actions.row(i).to_vec();
            prop_assert!((tape.value(lp)[[i, 0]] - g.log_prob(&a)).abs() < 1e-4);
            prop_assert!((tape.value(en)[[i, 0]] - g.entropy()).abs() < 1e-5);
            prop_assert!((tape.value(kl)[[i, 0]] - p.kl(&g)).abs() < 1e-4);
        }
    }

    /// Large logits: log-softmax stays finite, is shift-invariant, and its gradient matches
    /// the analytic `w − softmax·Σw` (finite differences are useless at this magnitude).
    #[test]
    fn log_softmax_large_logits(u in mat(-5.0, 5.0), offset in -3.0e4f32..3.0e4) {
        let big = u.mapv(|z| z + offset);
        let mut tape = Tape::new();
        let xb = tape.variable(big.view());
        let xs = tape.constant(u.view());
        let lb = tape.log_softmax(xb);
        let ls = tape.log_softmax(xs);
        let loss = tape.sum(lb);
        let mut grads = Grads::default();
        tape.backward(loss, &mut grads);
        let (vb, vs) = (tape.value(lb), tape.value(ls));
        // f32 spacing at 3e4 is ~2e-3: the shifted logits themselves are rounded that much.
        for (a, b) in vb.iter().zip(vs.iter()) {
            prop_assert!(a.is_finite() && (a - b).abs() < 1e-2, "{a} vs {b}");
        }
        let g = tape.grad(xb).unwrap();
        let c = u.ncols() as f32;
        for i in 0..u.nrows() {
            for j in 0..u.ncols() {
                let want = 1.0 - c * vb[[i, j]].exp();
                prop_assert!((g[[i, j]] - want).abs() < 1e-4, "{} vs {want}", g[[i, j]]);
            }
        }
    }
}

/// Parameter gradients go to `Grads` (and accumulate across backward calls, as torch).
#[test]
fn param_grads_through_linear() {
    let mut rng = Rng::seed_from_u64(3);
    let mut store = ParamStore::new();
    let lin = Linear::new(&mut store, "l", 3, 2, true, Init::TorchDefault, &mut rng).unwrap();
    let x = rl_nn::init::uniform(6, 3, 1.0, &mut rng);
    let loss_of = |store: &ParamStore, grads: Option<&mut Grads>| {
        let mut tape = Tape::new();
        let xv = tape.constant(x.view());
        let y = lin.forward(&mut tape, store, xv);
        let y = tape.tanh(y);
        let l = tape.sum(y);
        let v = tape.scalar(l);
        if let Some(g) = grads {
            tape.backward(l, g);
        }
        v
    };
    let mut grads = Grads::new(&store);
    loss_of(&store, Some(&mut grads));
    for id in store.ids().collect::<Vec<_>>() {
        let n = store.get(id).len();
        for k in 0..n {
            let mut s = store.clone();
            s.get_mut(id).as_slice_mut().unwrap()[k] += H;
            let fp = loss_of(&s, None);
            s.get_mut(id).as_slice_mut().unwrap()[k] -= 2.0 * H;
            let fm = loss_of(&s, None);
            let fd = (fp - fm) / (2.0 * H);
            let an = grads.get(id).as_slice().unwrap()[k];
            assert!(
                (fd - an).abs() <= ATOL + RTOL * an.abs(),
                "{}[{k}]: {fd} vs {an}",
                store.name(id)
            );
        }
    }
    let once = grads.clone();
    loss_of(&store, Some(&mut grads));
    for (a, b) in grads.values().iter().zip(once.values()) {
        assert!(a
            .iter()
            .zip(b.iter())
            .all(|(x, y)| (x - 2.0 * y).abs() < 1e-5));
    }
}

fn grad_of(x: Array2<f32>, f: impl Fn(&mut Tape, Var) -> Var) -> Array2<f32> {
    let mut tape = Tape::new();
    let v = tape.variable(x.view());
    let y = f(&mut tape, v);
    let l = tape.sum(y);
    tape.backward(l, &mut Grads::default());
    tape.grad(v).unwrap().clone()
}

/// torch: `clamp_backward` = `grad * (x >= min & x <= max)` — the gradient passes at the
/// boundaries and is zero strictly outside.
#[test]
fn clamp_boundaries_pass_gradient() {
    let g = grad_of(array![[-1.5f32, -1.0, 0.0, 1.0, 1.5]], |t, v| {
        t.clamp(v, -1.0, 1.0)
    });
    assert_eq!(g, array![[0.0f32, 1.0, 1.0, 1.0, 0.0]]);
}

/// torch: `minimum`/`maximum` split the gradient equally on ties.
#[test]
fn min_max_ties_split_gradient() {
    for which in 0..2 {
        let mut tape = Tape::new();
        let a = tape.variable(array![[1.0f32, 2.0, 3.0]].view());
        let b = tape.variable(array![[1.0f32, 5.0, 0.0]].view());
        let m = if which == 0 {
            tape.minimum(a, b)
        } else {
            tape.maximum(a, b)
        };
        let l = tape.sum(m);
        tape.backward(l, &mut Grads::default());
        let (ga, gb) = (tape.grad(a).unwrap().clone(), tape.grad(b).unwrap().clone());
        if which == 0 {
            assert_eq!(tape.value(m), &array![[1.0f32, 2.0, 0.0]]);
            assert_eq!(ga, array![[0.5f32, 1.0, 0.0]]);
            assert_eq!(gb, array![[0.5f32, 0.0, 1.0]]);
        } else {
            assert_eq!(tape.value(m), &array![[1.0f32, 5.0, 3.0]]);
            assert_eq!(ga, array![[0.5f32, 0.0, 1.0]]);
            assert_eq!(gb, array![[0.5f32, 1.0, 0.0]]);
        }
    }
}

/// torch: relu's gradient at 0 is 0; NaN propagates through clamp and minimum.
#[test]
fn relu_at_zero_and_nan_propagation() {
    let g = grad_of(array![[-1.0f32, 0.0, 2.0]], |t, v| t.relu(v));
    assert_eq!(g, array![[0.0f32, 0.0, 1.0]]);
    let mut tape = Tape::new();
    let x = tape.constant(array![[f32::NAN, 1.0]].view());
    let c = tape.clamp(x, 0.0, 0.5);
    let m = tape.minimum(x, c);
    assert!(tape.value(c)[[0, 0]].is_nan() && tape.value(m)[[0, 0]].is_nan());
    assert_eq!(tape.value(c)[[0, 1]], 0.5);
}

/// Masked-out elements do not enter a masked mean, even if infinite.
#[test]
fn masked_mean_ignores_unselected() {
    let mut tape = Tape::new();
    let x = tape.variable(array![[1.0f32], [f32::INFINITY], [3.0]].view());
    let m = tape.constant(array![[1.0f32], [0.0], [1.0]].view());
    let mm = tape.masked_mean(x, m);
    assert_eq!(tape.scalar(mm), 2.0);
    tape.backward(mm, &mut Grads::default());
    assert_eq!(tape.grad(x).unwrap(), &array![[0.5f32], [0.0], [0.5]]);
}

/// Resetting and re-recording gives identical values and gradients.
#[test]
fn reset_reuses_buffers_consistently() {
    let mut rng = Rng::seed_from_u64(9);
    let x = rl_nn::init::uniform(7, 4, 1.0, &mut rng);
    let w = rl_nn::init::uniform(3, 4, 1.0, &mut rng);
    let mut tape = Tape::new();
    let mut results = vec![];
    for _ in 0..3 {
        tape.reset();
        let xv = tape.variable(x.view());
        let wv = tape.variable(w.view());
        let y = tape.linear(xv, wv, None);
        let y = tape.log_softmax(y);
        let l = tape.mean(y);
        tape.backward(l, &mut Grads::default());
        results.push((
            tape.scalar(l),
            tape.grad(xv).unwrap().clone(),
            tape.grad(wv).unwrap().clone(),
        ));
    }
    assert_eq!(results[0], results[1]);
    assert_eq!(results[1], results[2]);
}
