//! Search-space domains: Ray Tune's `tune.grid_search`, `tune.choice`, `tune.uniform`, …,
//! with Ray's sampling semantics, a JSON/TOML form, and seeded sampling.
//!
//! | function | samples | Ray's semantics kept |
//! |---|---|---|
//! | [`grid_search`] | every value, one trial each | grid points combine as a product; `num_samples` repeats the grid |
//! | [`choice`] | one of the values, uniformly | |
//! | [`uniform`]`(lower, upper)` | a float in `[lower, upper)` | |
//! | [`quniform`]`(lower, upper, q)` | uniform, rounded to a multiple of `q` | bounds must be multiples of `q`; the upper bound becomes reachable |
//! | [`loguniform`]`(lower, upper)` | `exp(uniform(ln lower, ln upper))` | `0 < lower < upper` |
//! | [`qloguniform`]`(lower, upper, q)` | log-uniform, rounded to a multiple of `q` | |
//! | [`randint`]`(lower, upper)` | an integer in `[lower, upper)` | upper bound exclusive |
//! | [`qrandint`]`(lower, upper, q)` | an integer multiple of `q` in `[lower, upper]` | upper bound inclusive, as Ray documents it |
//! | [`randn`]`(mean, sd)` | a normal float | |
//! | [`sample_from`]`(f)` | whatever `f(config, rng)` returns | `f` sees the trial's other resolved values |
//!
//! Rounding to `q` is round-half-to-even of `value / q`, as NumPy's `np.round`, so the end
//! points of a quantized range come up half as often as the inner multiples (as in Ray).
//! Where Ray's code and its documentation disagree — `qrandint(l, u, q=1)` excludes `u` in
//! Ray 2.x's code although its docstring says inclusive — we follow the documentation.

use std::fmt;
use std::sync::Arc;

use rand::Rng as _;
use rand_distr::{Distribution, Normal};
use rl_core::Rng;
use serde_json::{json, Value};

use crate::tune::TuneError;

/// A user function drawing a value: it gets the trial's config as resolved so far (every
/// non-function value; functions are resolved in key order) and the trial's seeded RNG.
pub type SampleFn = Arc<dyn Fn(&Value, &mut Rng) -> Value + Send + Sync>;

/// One searchable key's domain (Ray's `Domain` subclasses and `grid_search`).
#[derive(Clone)]
pub enum Domain {
    /// `tune.grid_search(values)`: one trial per value.
    Grid(Vec<Value>),
    /// `tune.choice(categories)`.
    Choice(Vec<Value>),
    /// `tune.uniform(lower, upper)`.
    Uniform {
        /// Lower bound (inclusive).
        lower: f64,
        /// Upper bound (exclusive).
        upper: f64,
    },
    /// `tune.quniform(lower, upper, q)`.
    QUniform {
        /// Lower bound, a multiple of `q`.
        lower: f64,
        /// Upper bound, a multiple of `q` (reachable).
        upper: f64,
        /// The quantum.
        q: f64,
    },
    /// `tune.loguniform(lower, upper)`.
    LogUniform {
        /// Lower bound (> 0).
        lower: f64,
        /// Upper bound.
        upper: f64,
    },
    /// `tune.qloguniform(lower, upper, q)`.
    QLogUniform {
        /// Lower bound (> 0), a multiple of `q`.
        lower: f64,
        /// Upper bound, a multiple of `q`.
        upper: f64,
        /// The quantum.
        q: f64,
    },
    /// `tune.randint(lower, upper)`: `upper` excluded.
    RandInt {
        /// Lower bound (inclusive).
        lower: i64,
        /// Upper bound (exclusive).
        upper: i64,
    },
    /// `tune.qrandint(lower, upper, q)`: `upper` included.
    QRandInt {
        /// Lower bound (inclusive).
        lower: i64,
        /// Upper bound (inclusive).
        upper: i64,
        /// The quantum (≥ 1).
        q: i64,
    },
    /// `tune.randn(mean, sd)`.
    Randn {
        /// Mean.
        mean: f64,
        /// Standard deviation (> 0).
        sd: f64,
    },
    /// `tune.sample_from(f)`.
    SampleFrom(SampleFn),
}

impl fmt::Debug for Domain {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.to_json())
    }
}

/// `tune.grid_search(values)`: one trial per value (Ray's `{"grid_search": [...]}`).
pub fn grid_search<T: Into<Value>>(values: impl IntoIterator<Item = T>) -> Domain {
    Domain::Grid(values.into_iter().map(Into::into).collect())
}

/// `tune.choice(categories)`: one of the values, uniformly.
pub fn choice<T: Into<Value>>(categories: impl IntoIterator<Item = T>) -> Domain {
    Domain::Choice(categories.into_iter().map(Into::into).collect())
}

/// `tune.uniform(lower, upper)`: a float in `[lower, upper)`.
pub fn uniform(lower: f64, upper: f64) -> Domain {
    Domain::Uniform { lower, upper }
}

/// `tune.quniform(lower, upper, q)`: uniform, rounded to a multiple of `q`.
pub fn quniform(lower: f64, upper: f64, q: f64) -> Domain {
    Domain::QUniform { lower, upper, q }
}

/// `tune.loguniform(lower, upper)`: uniform in log space.
pub fn loguniform(lower: f64, upper: f64) -> Domain {
    Domain::LogUniform { lower, upper }
}

/// `tune.qloguniform(lower, upper, q)`: log-uniform, rounded to a multiple of `q`.
pub fn qloguniform(lower: f64, upper: f64, q: f64) -> Domain {
    Domain::QLogUniform { lower, upper, q }
}

/// `tune.randint(lower, upper)`: an integer in `[lower, upper)`.
pub fn randint(lower: i64, upper: i64) -> Domain {
    Domain::RandInt { lower, upper }
}

/// `tune.qrandint(lower, upper, q)`: a multiple of `q` in `[lower, upper]`.
pub fn qrandint(lower: i64, upper: i64, q: i64) -> Domain {
    Domain::QRandInt { lower, upper, q }
}

/// `tune.randn(mean, sd)`: a normal float.
pub fn randn(mean: f64, sd: f64) -> Domain {
    Domain::Randn { mean, sd }
}

/// `tune.sample_from(f)`: `f(config, rng)` draws the value, seeing the trial's other
/// resolved values.
pub fn sample_from(f: impl Fn(&Value, &mut Rng) -> Value + Send + Sync + 'static) -> Domain {
    Domain::SampleFrom(Arc::new(f))
}

/// The JSON names of the domains, as `{"<name>": [arguments]}`.
pub const DOMAIN_NAMES: [&str; 10] = [
    "grid_search",
    "choice",
    "uniform",
    "quniform",
    "loguniform",
    "qloguniform",
    "randint",
    "qrandint",
    "randn",
    "sample_from",
];

/// NumPy's `np.round`: half to even.
pub(crate) fn round_half_even(x: f64) -> f64 {
    let r = x.round();
    if (x - x.trunc()).abs() == 0.5 {
        2.0 * (x / 2.0).round()
    } else {
        r
    }
}

fn quantize(x: f64, q: f64) -> f64 {
    round_half_even(x / q) * q
}

fn is_multiple(x: f64, q: f64) -> bool {
    let r = x / q;
    (r - r.round()).abs() <= 1e-9 * r.abs().max(1.0)
}

impl Domain {
    /// Whether this is a grid (expanded, not sampled).
    pub fn is_grid(&self) -> bool {
        matches!(self, Domain::Grid(_))
    }

    /// Whether this is a user function.
    pub fn is_function(&self) -> bool {
        matches!(self, Domain::SampleFrom(_))
    }

    /// Checks the arguments as Ray does when the domain is made, saying what to change.
    pub fn validate(&self, key: &str) -> Result<(), TuneError> {
        let bad = |msg: String| Err(TuneError::SearchSpace(format!("`{key}`: {msg}")));
        let finite = |x: f64| x.is_finite();
        match *self {
            Domain::Grid(ref v) | Domain::Choice(ref v) if v.is_empty() => {
                bad("no values given; list at least one".into())
            }
            Domain::Uniform { lower, upper } if !(finite(lower) && finite(upper) && lower < upper) => {
                bad(format!("uniform({lower}, {upper}) needs finite bounds with lower < upper"))
            }
            Domain::QUniform { lower, upper, q } | Domain::QLogUniform { lower, upper, q }
                if !(q > 0.0 && finite(q)) =>
            {
                bad(format!("quantization q = {q} must be positive (bounds {lower}, {upper})"))
            }
            Domain::QUniform { lower, upper, q } | Domain::QLogUniform { lower, upper, q }
                if !is_multiple(lower, q) || !is_multiple(upper, q) =>
            {
                bad(format!("bounds {lower} and {upper} must be multiples of q = {q} (Ray's rule); use e.g. {} and {}", (lower / q).ceil() * q, (upper / q).floor() * q))
            }
            Domain::QUniform { lower, upper, .. } if !(finite(lower) && finite(upper) && lower < upper) => {
                bad(format!("quniform({lower}, {upper}, …) needs finite bounds with lower < upper"))
            }
            Domain::LogUniform { lower, upper } | Domain::QLogUniform { lower, upper, .. }
                if !(lower > 0.0 && finite(upper) && lower < upper) =>
            {
                bad(format!("loguniform({lower}, {upper}) needs 0 < lower < upper < inf; pass the values themselves, not their logarithms"))
            }
            Domain::RandInt { lower, upper } if lower >= upper => bad(format!(
                "randint({lower}, {upper}): the upper bound is exclusive, so it must exceed the lower one"
            )),
            Domain::QRandInt { lower, upper, q } if q < 1 || lower > upper => bad(format!(
                "qrandint({lower}, {upper}, {q}) needs q ≥ 1 and lower ≤ upper"
            )),
            Domain::QRandInt { lower, upper, q } if first_multiple(lower, q) > upper => {
                bad(format!("qrandint({lower}, {upper}, {q}) holds no multiple of {q}"))
            }
            Domain::Randn { mean, sd } if !(finite(mean) && sd > 0.0 && finite(sd)) => {
                bad(format!("randn({mean}, {sd}) needs a finite mean and sd > 0"))
            }
            _ => Ok(()),
        }
    }

    /// Draws one value. `config` is what a [`sample_from`] function sees.
    pub fn sample(&self, config: &Value, rng: &mut Rng) -> Value {
        match self {
            Domain::Grid(values) | Domain::Choice(values) => {
                values[rng.gen_range(0..values.len())].clone()
            }
            Domain::Uniform { lower, upper } => json!(lower + (upper - lower) * rng.gen::<f64>()),
            Domain::QUniform { lower, upper, q } => {
                let (lo, hi) = ((lower / q).ceil() * q, (upper / q).floor() * q);
                json!(quantize(lo + (hi - lo) * rng.gen::<f64>(), *q))
            }
            Domain::LogUniform { lower, upper } => json!(log_uniform(*lower, *upper, rng)),
            Domain::QLogUniform { lower, upper, q } => {
                let (lo, hi) = ((lower / q).ceil() * q, (upper / q).floor() * q);
                json!(quantize(log_uniform(lo, hi, rng), *q))
            }
            Domain::RandInt { lower, upper } => json!(rng.gen_range(*lower..*upper)),
            Domain::QRandInt { lower, upper, q } => {
                let lo = first_multiple(*lower, *q) / q;
                let hi = upper.div_euclid(*q);
                json!(rng.gen_range(lo..=hi) * q)
            }
            Domain::Randn { mean, sd } => {
                let normal = Normal::new(*mean, *sd).unwrap_or_else(|_| {
                    Normal::new(0.0, 1.0).expect("the standard normal is valid")
                });
                json!(normal.sample(rng))
            }
            Domain::SampleFrom(f) => f(config, rng),
        }
    }

    /// The declared bounds of a numeric domain (for PBT's perturbations: values stay inside).
    pub fn bounds(&self) -> Option<(f64, f64)> {
        match *self {
            Domain::Uniform { lower, upper }
            | Domain::QUniform { lower, upper, .. }
            | Domain::LogUniform { lower, upper }
            | Domain::QLogUniform { lower, upper, .. } => Some((lower, upper)),
            Domain::RandInt { lower, upper } => Some((lower as f64, (upper - 1) as f64)),
            Domain::QRandInt { lower, upper, .. } => Some((lower as f64, upper as f64)),
            _ => None,
        }
    }

    /// Puts a perturbed value back into the domain: clamped to the bounds, re-quantized,
    /// integers kept integers.
    pub fn project(&self, x: f64) -> Value {
        let clamp = |x: f64| match self.bounds() {
            Some((lo, hi)) => x.clamp(lo, hi),
            None => x,
        };
        match *self {
            Domain::QUniform { q, lower, upper } | Domain::QLogUniform { q, lower, upper } => {
                json!(quantize(clamp(x), q).clamp(lower, upper))
            }
            Domain::RandInt { .. } => json!(clamp(x.trunc()) as i64),
            Domain::QRandInt { q, .. } => {
                let v = (clamp(x) / q as f64).trunc() as i64 * q;
                json!(v)
            }
            _ => json!(clamp(x)),
        }
    }

    /// The JSON form (`{"uniform": [0.0, 1.0]}`, Ray's `{"grid_search": [...]}`); a
    /// function becomes `{"sample_from": "<function>"}`, which cannot be read back.
    pub fn to_json(&self) -> Value {
        match self {
            Domain::Grid(v) => json!({ "grid_search": v }),
            Domain::Choice(v) => json!({ "choice": v }),
            Domain::Uniform { lower, upper } => json!({ "uniform": [lower, upper] }),
            Domain::QUniform { lower, upper, q } => json!({ "quniform": [lower, upper, q] }),
            Domain::LogUniform { lower, upper } => json!({ "loguniform": [lower, upper] }),
            Domain::QLogUniform { lower, upper, q } => {
                json!({ "qloguniform": [lower, upper, q] })
            }
            Domain::RandInt { lower, upper } => json!({ "randint": [lower, upper] }),
            Domain::QRandInt { lower, upper, q } => json!({ "qrandint": [lower, upper, q] }),
            Domain::Randn { mean, sd } => json!({ "randn": [mean, sd] }),
            Domain::SampleFrom(_) => json!({ "sample_from": "<function>" }),
        }
    }

    /// Reads the JSON form: an object with exactly one key among [`DOMAIN_NAMES`]. Returns
    /// `Ok(None)` for any other value (a constant).
    pub fn from_json(key: &str, value: &Value) -> Result<Option<Domain>, TuneError> {
        let Some(obj) = value.as_object() else {
            return Ok(None);
        };
        if obj.len() != 1 {
            return Ok(None);
        }
        let (name, args) = obj.iter().next().expect("one entry");
        if name == "eval" {
            return Err(TuneError::SearchSpace(format!(
                "`{key}`: {{\"eval\": …}} holds a Python expression; in Rust use tune::sample_from(|config, rng| …)"
            )));
        }
        if !DOMAIN_NAMES.contains(&name.as_str()) {
            return Ok(None);
        }
        let bad = |what: &str| {
            TuneError::SearchSpace(format!(
                "`{key}`: {{\"{name}\": {args}}} is not valid: expected {what}"
            ))
        };
        let nums = |n: usize, what: &str| -> Result<Vec<f64>, TuneError> {
            let a = args.as_array().ok_or_else(|| bad(what))?;
            if a.len() != n {
                return Err(bad(what));
            }
            a.iter()
                .map(|v| v.as_f64().ok_or_else(|| bad(what)))
                .collect()
        };
        let ints = |n: usize, what: &str| -> Result<Vec<i64>, TuneError> {
            let a = args.as_array().ok_or_else(|| bad(what))?;
            if a.len() != n {
                return Err(bad(what));
            }
            a.iter()
                .map(|v| v.as_i64().ok_or_else(|| bad(what)))
                .collect()
        };
        let list = || -> Result<Vec<Value>, TuneError> {
            args.as_array()
                .cloned()
                .ok_or_else(|| bad("a list of values"))
        };
        let d = match name.as_str() {
            "grid_search" => Domain::Grid(list()?),
            "choice" => Domain::Choice(list()?),
            "uniform" => {
                let v = nums(2, "[lower, upper]")?;
                uniform(v[0], v[1])
            }
            "quniform" => {
                let v = nums(3, "[lower, upper, q]")?;
                quniform(v[0], v[1], v[2])
            }
            "loguniform" => {
                let v = nums(2, "[lower, upper]")?;
                loguniform(v[0], v[1])
            }
            "qloguniform" => {
                let v = nums(3, "[lower, upper, q]")?;
                qloguniform(v[0], v[1], v[2])
            }
            "randint" => {
                let v = ints(2, "[lower, upper] (integers)")?;
                randint(v[0], v[1])
            }
            "qrandint" => {
                let v = ints(3, "[lower, upper, q] (integers)")?;
                qrandint(v[0], v[1], v[2])
            }
            "randn" => {
                let v = nums(2, "[mean, sd]")?;
                randn(v[0], v[1])
            }
            _ => {
                return Err(TuneError::SearchSpace(format!(
                    "`{key}`: a sample_from function cannot be read from JSON; set it again with tune::sample_from(…) on the param space"
                )))
            }
        };
        d.validate(key)?;
        Ok(Some(d))
    }
}

/// The smallest multiple of `q` (≥ 1) that is ≥ `x`.
fn first_multiple(x: i64, q: i64) -> i64 {
    (x.div_euclid(q) + i64::from(x.rem_euclid(q) != 0)) * q
}

fn log_uniform(lower: f64, upper: f64, rng: &mut Rng) -> f64 {
    let (a, b) = (lower.ln(), upper.ln());
    (a + (b - a) * rng.gen::<f64>()).exp()
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::SeedableRng;

    fn draws(d: &Domain, n: usize) -> Vec<f64> {
        let mut rng = Rng::seed_from_u64(7);
        (0..n)
            .map(|_| d.sample(&Value::Null, &mut rng).as_f64().unwrap())
            .collect()
    }

    fn mean(v: &[f64]) -> f64 {
        v.iter().sum::<f64>() / v.len() as f64
    }

    #[test]
    fn continuous_domains_stay_in_bounds_with_the_right_moments() {
        let u = draws(&uniform(2.0, 4.0), 20_000);
        assert!(u.iter().all(|&x| (2.0..4.0).contains(&x)));
        assert!((mean(&u) - 3.0).abs() < 0.02, "{}", mean(&u));
        let l = draws(&loguniform(1e-4, 1e-1), 20_000);
        assert!(l.iter().all(|&x| (1e-4..1e-1).contains(&x)));
        // log10 is uniform on [-4, -1): mean -2.5, and a quarter of the mass per decade-ish.
        let logs: Vec<f64> = l.iter().map(|x| x.log10()).collect();
        assert!((mean(&logs) + 2.5).abs() < 0.02, "{}", mean(&logs));
        let below_1e3 = l.iter().filter(|&&x| x < 1e-3).count() as f64 / l.len() as f64;
        assert!((below_1e3 - 1.0 / 3.0).abs() < 0.015, "{below_1e3}");
        let n = draws(&randn(1.0, 2.0), 40_000);
        let m = mean(&n);
        let sd = (n.iter().map(|x| (x - m).powi(2)).sum::<f64>() / n.len() as f64).sqrt();
        assert!(
            (m - 1.0).abs() < 0.04 && (sd - 2.0).abs() < 0.04,
            "{m} {sd}"
        );
    }

    #[test]
    fn quantized_domains_round_half_to_even_and_reach_the_upper_bound() {
        let q = draws(&quniform(0.0, 1.0, 0.25), 20_000);
        let mut counts = [0usize; 5];
        for x in &q {
            let k = (x / 0.25).round() as usize;
            assert!(
                (x - k as f64 * 0.25).abs() < 1e-12,
                "{x} is a multiple of 0.25"
            );
            counts[k] += 1;
        }
        // Rounding a uniform draw: the end points get half the weight of inner points.
        let f: Vec<f64> = counts.iter().map(|&c| c as f64 / q.len() as f64).collect();
        assert!(
            (f[0] - 0.125).abs() < 0.01 && (f[4] - 0.125).abs() < 0.01,
            "{f:?}"
        );
        assert!((f[2] - 0.25).abs() < 0.015, "{f:?}");
        assert_eq!(round_half_even(2.5), 2.0);
        assert_eq!(round_half_even(3.5), 4.0);
        assert_eq!(round_half_even(-2.5), -2.0);
        let ql = draws(&qloguniform(1.0, 100.0, 1.0), 5_000);
        assert!(ql
            .iter()
            .all(|&x| x.fract() == 0.0 && (1.0..=100.0).contains(&x)));
    }

    #[test]
    fn integer_domains_respect_ray_bound_rules() {
        let r = draws(&randint(3, 6), 3_000);
        assert!(
            r.iter().all(|&x| [3.0, 4.0, 5.0].contains(&x)),
            "upper exclusive"
        );
        assert!(r.contains(&3.0) && r.contains(&5.0));
        let q = draws(&qrandint(10, 50, 20), 3_000);
        assert!(q.iter().all(|&x| [20.0, 40.0].contains(&x)), "{q:?}");
        let q1 = draws(&qrandint(1, 3, 1), 3_000);
        assert!(q1.contains(&3.0), "qrandint's upper bound is inclusive");
        let c = draws(&choice([1, 2, 3]), 3_000);
        for v in [1.0, 2.0, 3.0] {
            let share = c.iter().filter(|&&x| x == v).count() as f64 / 3_000.0;
            assert!((share - 1.0 / 3.0).abs() < 0.04);
        }
    }

    #[test]
    fn bad_arguments_say_what_to_change() {
        let e = loguniform(0.0, 1.0).validate("lr").unwrap_err().to_string();
        assert!(e.contains("`lr`") && e.contains("0 < lower"), "{e}");
        let e = quniform(0.05, 1.0, 0.1)
            .validate("x")
            .unwrap_err()
            .to_string();
        assert!(e.contains("multiples of q"), "{e}");
        assert!(randint(3, 3).validate("n").is_err());
        assert!(grid_search(Vec::<i32>::new()).validate("g").is_err());
        assert!(uniform(0.0, 1.0).validate("u").is_ok());
    }

    #[test]
    fn json_form_round_trips() {
        for d in [
            grid_search([128, 256]),
            choice(["a", "b"]),
            uniform(0.0, 1.0),
            quniform(0.0, 1.0, 0.5),
            loguniform(1e-5, 1e-2),
            qloguniform(1.0, 64.0, 1.0),
            randint(1, 10),
            qrandint(0, 100, 10),
            randn(0.0, 1.0),
        ] {
            let j = d.to_json();
            let back = Domain::from_json("k", &j).unwrap().unwrap();
            assert_eq!(back.to_json(), j);
        }
        assert!(Domain::from_json("k", &json!({"lower": 1}))
            .unwrap()
            .is_none());
        assert!(Domain::from_json("k", &json!({"eval": "1"})).is_err());
        let e = Domain::from_json("k", &json!({"uniform": [1]})).unwrap_err();
        assert!(e.to_string().contains("[lower, upper]"), "{e}");
    }

    #[test]
    fn projection_keeps_perturbed_values_inside_the_domain() {
        assert_eq!(uniform(0.0, 1.0).project(1.2), json!(1.0));
        assert_eq!(loguniform(1e-4, 1e-2).project(1e-5), json!(1e-4));
        assert_eq!(randint(1, 10).project(12.7), json!(9));
        assert_eq!(qrandint(0, 100, 10).project(57.0), json!(50));
        assert_eq!(quniform(0.0, 1.0, 0.25).project(0.6), json!(0.5));
        assert_eq!(randn(0.0, 1.0).project(7.5), json!(7.5));
    }
}
