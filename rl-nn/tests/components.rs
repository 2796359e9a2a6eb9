//! Parameter store, layers, initializers, optimizers and distributions on plain arrays.

use ndarray::{array, Array2};
use rand::SeedableRng;
use rl_nn::{
    clip_grad_norm, ActionDistKind, Activation, Adam, Categorical, DiagGaussian, Grads, Init, Mlp,
    MlpConfig, NnError, ParamStore, Rng, Sgd, Tape, Workspace,
};

fn mlp(store: &mut ParamStore, rng: &mut Rng, act: Activation) -> Mlp {
    let cfg = MlpConfig {
        in_dim: 4,
        hidden: vec![32, 16],
        activation: act,
        output_dim: Some(3),
        hidden_init: Init::TorchDefault,
        output_init: Init::Orthogonal { gain: 0.01 },
    };
    Mlp::new(store, "net.mlp", &cfg, rng).unwrap()
}

#[test]
fn mlp_names_and_forward_paths_agree() {
    let mut rng = Rng::seed_from_u64(0);
    let mut store = ParamStore::new();
    for act in [Activation::Tanh, Activation::Relu, Activation::Linear] {
        let mut store2 = ParamStore::new();
        let m = mlp(&mut store2, &mut rng, act);
        let names: Vec<&str> = store2.iter().map(|(_, n, _)| n).collect();
        assert_eq!(
            names,
            [
                "net.mlp.0.weight",
                "net.mlp.0.bias",
                "net.mlp.2.weight",
                "net.mlp.2.bias",
                "net.mlp.4.weight",
                "net.mlp.4.bias"
            ]
        );
        assert_eq!(
            store2.num_scalars(),
            4 * 32 + 32 + 32 * 16 + 16 + 16 * 3 + 3
        );
        let mut ws = Workspace::new();
        let mut out = Array2::zeros((0, 0));
        for rows in [1, 3, 8, 33] {
            let x = rl_nn::init::uniform(rows, 4, 2.0, &mut rng);
            m.forward_array(&store2, x.view(), &mut ws, &mut out);
            let mut tape = Tape::new();
            let xv = tape.constant(x.view());
            let y = m.forward(&mut tape, &store2, xv);
            let want = tape.value(y);
            assert_eq!(out.dim(), want.dim());
            for (a, b) in out.iter().zip(want.iter()) {
                assert!((a - b).abs() < 1e-5, "{a} vs {b}");
            }
            assert_eq!(m.forward_owned(&store2, x.view()).unwrap(), out);
        }
        let e = m
            .forward_owned(&store2, Array2::zeros((2, 5)).view())
            .unwrap_err();
        assert!(e.to_string().contains("5 columns, the MLP takes 4"), "{e}");
        store = store2;
    }
    assert_eq!(store.len(), 6);
}

#[test]
fn param_store_load_and_serde() {
    let mut rng = Rng::seed_from_u64(1);
    let mut store = ParamStore::new();
    let _m = mlp(&mut store, &mut rng, Activation::Tanh);
    // 1-D bias loads into 1×n.
    store
        .load("net.mlp.4.bias", &[3], &[1.0, 2.0, 3.0])
        .unwrap();
    assert_eq!(
        store.get_by_name("net.mlp.4.bias").unwrap(),
        &array![[1.0f32, 2.0, 3.0]]
    );
    assert_eq!(
        store.load("nope", &[3], &[0.0; 3]),
        Err(NnError::UnknownParam("nope".into()))
    );
    assert!(matches!(
        store.load("net.mlp.4.bias", &[4], &[0.0; 4]),
        Err(NnError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        store.load("net.mlp.0.weight", &[4, 32], &[0.0; 128]),
        Err(NnError::ShapeMismatch { .. })
    ));
    assert!(matches!(
        store.load("net.mlp.0.weight", &[32, 4], &[0.0; 12]),
        Err(NnError::ValueCount { .. })
    ));
    assert!(matches!(
        store.add("net.mlp.0.weight", Array2::zeros((1, 1))),
        Err(NnError::DuplicateParam(_))
    ));
    let json = serde_json::to_string(&store).unwrap();
    let back: ParamStore = serde_json::from_str(&json).unwrap();
    assert_eq!(back, store);
    assert_eq!(back.id("net.mlp.2.bias"), store.id("net.mlp.2.bias"));
}

#[test]
#[allow(clippy::needless_range_loop)]
fn adam_matches_torch_formula_and_roundtrips() {
    let mut store = ParamStore::new();
    let p = store.add("p", array![[1.0f32, -2.0, 0.5]]).unwrap();
    let mut grads = Grads::new(&store);
    let mut adam = Adam::new(0.1);
    // Reference in f64, torch's formula.
    let (mut pr, mut m, mut v) = ([1.0f64, -2.0, 0.5], [0.0f64; 3], [0.0f64; 3]);
    for t in 1..=5 {
        let g = [0.3 * t as f64, -1.0, 1e-3];
        grads.get_mut(p).assign(&ndarray::Array1::from(
            g.iter().map(|&x| x as f32).collect::<Vec<_>>(),
        ));
        adam.step(&mut store, &grads).unwrap();
        for i in 0..3 {
            m[i] = 0.9 * m[i] + 0.1 * g[i];
            v[i] = 0.999 * v[i] + 0.001 * g[i] * g[i];
            let bc1 = 1.0 - 0.9f64.powi(t);
            let bc2 = 1.0 - 0.999f64.powi(t);
            pr[i] -= 0.1 / bc1 * m[i] / (v[i].sqrt() / bc2.sqrt() + 1e-8);
        }
    }
    for i in 0..3 {
        assert!(
            (store.get(p)[[0, i]] as f64 - pr[i]).abs() < 1e-5,
            "{} vs {}",
            store.get(p)[[0, i]],
            pr[i]
        );
    }
    let json = serde_json::to_string(&adam).unwrap();
    let back: Adam = serde_json::from_str(&json).unwrap();
    assert_eq!(back, adam);
    // Mismatched state is an error, not a panic.
    let mut other = ParamStore::new();
    other.add("q", Array2::zeros((2, 2))).unwrap();
    let g2 = Grads::new(&other);
    assert!(matches!(
        adam.clone().step(&mut other, &g2),
        Err(NnError::StateMismatch(_))
    ));
    let mut sgd = Sgd::new(0.5);
    sgd.step(&mut store, &grads).unwrap();
}

#[test]
fn clip_grad_norm_as_torch() {
    let mut store = ParamStore::new();
    let a = store.add("a", array![[0.0f32, 0.0]]).unwrap();
    let b = store.add("b", array![[0.0f32]]).unwrap();
    let mut grads = Grads::new(&store);
    grads.get_mut(a).assign(&array![[3.0f32, 0.0]]);
    grads.get_mut(b).assign(&array![[4.0f32]]);
    let n = clip_grad_norm(&mut grads, 1.0);
    assert!((n - 5.0).abs() < 1e-6);
    assert!((grads.global_norm() - 1.0).abs() < 1e-5);
    let n2 = clip_grad_norm(&mut grads, 10.0);
    assert!((n2 - 1.0).abs() < 1e-5);
    assert!((grads.global_norm() - 1.0).abs() < 1e-5);
}

#[test]
fn categorical_on_arrays() {
    let logits = array![0.0f32, (2.0f32).ln(), f32::NEG_INFINITY];
    let d = Categorical::new(logits.view()).unwrap();
    assert!((d.log_prob(1) - (2.0f32 / 3.0).ln()).abs() < 1e-6);
    assert_eq!(d.log_prob(2), f32::NEG_INFINITY);
    assert_eq!(d.log_prob(7), f32::NEG_INFINITY);
    assert_eq!(d.deterministic(), 1);
    let h = -(1.0f32 / 3.0 * (1.0f32 / 3.0).ln() + 2.0 / 3.0 * (2.0f32 / 3.0).ln());
    assert!((d.entropy() - h).abs() < 1e-6);
    let mut rng = Rng::seed_from_u64(5);
    let mut counts = [0usize; 3];
    for _ in 0..30_000 {
        counts[d.sample(&mut rng)] += 1;
    }
    assert_eq!(counts[2], 0);
    assert!((counts[1] as f32 / 30_000.0 - 2.0 / 3.0).abs() < 0.02);
    let u = Categorical::new(array![0.0f32, 0.0, 0.0].view()).unwrap();
    assert!(u.kl(&u).abs() < 1e-7);
    assert!(d.kl(&u) > 0.0);
    assert!(Categorical::new(array![f32::NAN].view()).is_err());
    assert!(Categorical::new(ndarray::Array1::<f32>::zeros(0).view()).is_err());
}

#[test]
fn gaussian_on_arrays_and_kind_helpers() {
    let inputs = array![0.5f32, -1.0, 0.0, (2.0f32).ln()];
    let g = DiagGaussian::from_inputs(inputs.view()).unwrap();
    assert_eq!(g.deterministic(), vec![0.5, -1.0]);
    let lp = g.log_prob(&[0.5, 1.0]);
    let want = -0.5 * (2.0f32 * std::f32::consts::PI).ln()
        + (-0.5 * 1.0 - 2.0f32.ln() - 0.5 * (2.0f32 * std::f32::consts::PI).ln());
    assert!((lp - want).abs() < 1e-5, "{lp} vs {want}");
    assert!(g.log_prob(&[1.0]).is_nan());
    assert!(DiagGaussian::from_inputs(array![1.0f32, 2.0, 3.0].view()).is_err());
    let mut rng = Rng::seed_from_u64(2);
    let n = 20_000;
    let mut s = [0.0f64; 2];
    for _ in 0..n {
        let a = g.sample(&mut rng);
        s[0] += a[0] as f64;
        s[1] += (a[1] as f64 + 1.0).powi(2);
    }
    assert!((s[0] / n as f64 - 0.5).abs() < 0.03);
    assert!((s[1] / n as f64 - 4.0).abs() < 0.15);
    assert!(g.kl(&g).abs() < 1e-6);

    let kind = ActionDistKind::DiagGaussian;
    let mut a = [0.0f32; 2];
    let lp = kind.sample_into(inputs.view(), &mut rng, &mut a).unwrap();
    assert!((lp - g.log_prob(&a)).abs() < 1e-5);
    assert!(
        (kind.deterministic_into(inputs.view(), &mut a).unwrap() - g.log_prob(&[0.5, -1.0])).abs()
            < 1e-6
    );
    assert!(kind
        .sample_into(inputs.view(), &mut rng, &mut [0.0; 3])
        .is_err());
    let kind = ActionDistKind::Categorical;
    let mut a = [0.0f32];
    let logits = array![0.1f32, 3.0, -1.0];
    assert!(
        (kind.deterministic_into(logits.view(), &mut a).unwrap()
            - kind.log_prob(logits.view(), &[1.0]).unwrap())
        .abs()
            < 1e-7
    );
    assert_eq!(a[0], 1.0);
    assert!(kind.log_prob(logits.view(), &[3.0]).is_err());
    assert!(kind.log_prob(logits.view(), &[0.5]).is_err());
    assert_eq!(kind.input_dim(3), 3);
    assert_eq!(ActionDistKind::DiagGaussian.input_dim(2), 4);
}
