//! Spaces: constructors, `contains`, `sample`, flattening, serde.

use proptest::prelude::*;
use rand::SeedableRng;
use rl_core::env::{Space, Value};
use rl_core::Rng;

#[test]
fn discrete_basics() {
    let s = Space::discrete(4).unwrap();
    assert_eq!(s.flat_dim(), 4);
    assert!(s.shape().is_empty());
    assert!(s.contains(&Value::Discrete(3)));
    assert!(!s.contains(&Value::Discrete(4)));
    assert!(!s.contains(&Value::Discrete(-1)));
    let err = Space::discrete(0).unwrap_err().to_string();
    assert!(err.contains("n >= 1"), "{err}");
}

#[test]
fn box_errors_say_what_is_wrong() {
    let e = Space::box_(vec![0.0; 3], vec![1.0; 3], vec![2, 2])
        .unwrap_err()
        .to_string();
    assert!(e.contains("needs 4 bounds"), "{e}");
    let e = Space::box_(vec![1.0], vec![0.0], vec![1])
        .unwrap_err()
        .to_string();
    assert!(e.contains("low[0]"), "{e}");
}

#[test]
fn serde_round_trip() {
    let s = Space::box_(vec![-1.0, f32::NEG_INFINITY], vec![1.0, 2.0], vec![2]).unwrap();
    let j = serde_json::to_string(&s).unwrap();
    let back: Space = serde_json::from_str(&j).unwrap();
    assert_eq!(back, s);
    let d = Space::discrete_with_start(3, 2).unwrap();
    let back: Space = serde_json::from_value(serde_json::to_value(&d).unwrap()).unwrap();
    assert_eq!(back, d);
}

#[test]
fn flatten_one_hot_and_box() {
    let d = Space::discrete(3).unwrap();
    assert_eq!(d.flatten(&Value::Discrete(2)).unwrap(), vec![0.0, 0.0, 1.0]);
    assert!(d.flatten(&Value::Box(vec![1.0])).is_err());
    let b = Space::box_uniform(-1.0, 1.0, vec![2, 1]).unwrap();
    let mut out = [0.0; 2];
    b.flatten_into(&Value::Box(vec![0.5, -0.5]), &mut out)
        .unwrap();
    assert_eq!(out, [0.5, -0.5]);
    let mut short = [0.0; 1];
    assert!(b
        .flatten_into(&Value::Box(vec![0.5, -0.5]), &mut short)
        .is_err());
}

#[test]
fn sample_distributions_follow_gymnasium() {
    // Bounded: uniform in [low, high]; unbounded: normal; half-bounded: shifted exponential.
    let s = Space::box_(
        vec![2.0, f32::NEG_INFINITY, 1.0, f32::NEG_INFINITY],
        vec![3.0, f32::INFINITY, f32::INFINITY, -1.0],
        vec![4],
    )
    .unwrap();
    let mut rng = Rng::seed_from_u64(1);
    let n = 20_000;
    let mut sums = [0.0f64; 4];
    let mut neg = 0;
    for _ in 0..n {
        let v = s.sample(&mut rng);
        assert!(s.contains(&v));
        let v = v.as_box().unwrap().to_vec();
        for i in 0..4 {
            sums[i] += v[i] as f64;
        }
        if v[1] < 0.0 {
            neg += 1;
        }
    }
    let mean = sums.map(|x| x / n as f64);
    assert!((mean[0] - 2.5).abs() < 0.02, "{mean:?}");
    assert!(mean[1].abs() < 0.05, "{mean:?}");
    assert!((mean[2] - 2.0).abs() < 0.05, "{mean:?}");
    assert!((mean[3] + 2.0).abs() < 0.05, "{mean:?}");
    assert!((neg as f64 / n as f64 - 0.5).abs() < 0.02);
}

proptest! {
    #[test]
    fn samples_are_contained(
        bounds in prop::collection::vec((-100.0f32..100.0, 0.0f32..50.0, 0u8..4), 1..6),
        seed in any::<u64>(),
    ) {
        let low: Vec<f32> = bounds.iter().map(|&(l, _, k)| if k & 1 == 1 { f32::NEG_INFINITY } else { l }).collect();
        let high: Vec<f32> = bounds.iter().map(|&(l, w, k)| if k & 2 == 2 { f32::INFINITY } else { l + w }).collect();
        let n = low.len();
        let s = Space::box_(low, high, vec![n]).unwrap();
        let mut rng = Rng::seed_from_u64(seed);
        for _ in 0..20 {
            let v = s.sample(&mut rng);
            prop_assert!(s.contains(&v), "{:?} not in {:?}", v, s);
            prop_assert_eq!(s.flatten(&v).unwrap().len(), s.flat_dim());
        }
    }

    #[test]
    fn discrete_samples_are_contained(n in 1i64..50, start in -20i64..20, seed in any::<u64>()) {
        let s = Space::discrete_with_start(n, start).unwrap();
        let mut rng = Rng::seed_from_u64(seed);
        for _ in 0..20 {
            let v = s.sample(&mut rng);
            prop_assert!(s.contains(&v));
            let flat = s.flatten(&v).unwrap();
            prop_assert_eq!(flat.iter().sum::<f32>(), 1.0);
            prop_assert_eq!(s.unflatten(&flat).unwrap(), v);
        }
    }
}

#[test]
fn infinite_bounds_survive_json() {
    let s = Space::box_(
        vec![f32::NEG_INFINITY, -1.5],
        vec![f32::INFINITY, 2.0],
        vec![2],
    )
    .unwrap();
    let j = serde_json::to_value(&s).unwrap();
    assert_eq!(j["Box"]["low"][0], "-inf");
    let back: Space = serde_json::from_value(j).unwrap();
    assert_eq!(back, s);
    let v = Value::Box(vec![f32::INFINITY, 0.25]);
    let back: Value = serde_json::from_str(&serde_json::to_string(&v).unwrap()).unwrap();
    assert_eq!(back, v);
    assert!(serde_json::from_str::<Value>(r#"{"Box": ["infinite"]}"#).is_err());
}
