//! `PopulationBasedTraining` (Ray's `tune/schedulers/pbt.py`), run synchronously.
//!
//! Every `perturbation_interval` of `time_attr` (after `burn_in_period`) the population
//! meets at a barrier. Trials are ranked by their metric (ties by trial index); the top
//! `quantile_fraction` save a checkpoint, and each trial of the bottom `quantile_fraction`
//! *exploits* one of the top ones, drawn at random — it continues from that trial's
//! checkpoint, counters included, so its `training_iteration` goes on from the barrier —
//! and *explores*: each key of `hyperparam_mutations` is resampled with probability
//! `resample_probability`, otherwise a numeric value is multiplied by one of
//! `perturbation_factors` (×1.2 or ×0.8) and a list value moves to a neighbouring
//! element.
//!
//! Where we differ from Ray: perturbations happen only at synchronized points (Ray's
//! `synch=True`; its default asynchronous mode decides on whatever results have arrived,
//! so its decisions depend on timing); perturbed values are kept inside their domain's
//! declared bounds and quantization (Ray's can leave them — Ray issue 11936); a
//! [`choice`](crate::tune::choice) domain moves to a neighbouring category like a list
//! (Ray multiplies it); `time_attr` defaults to `training_iteration` (Ray:
//! `time_total_s`, wall-clock time).

use std::collections::BTreeMap;
use std::sync::Arc;

use rand::{Rng as _, SeedableRng};
use rl_core::metrics::ResultDict;
use rl_core::seeding::derive_seed;
use rl_core::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{json, Value};

use super::{
    metric_value, resolve_metric, BarrierAction, Decision, Member, Ordering, TrialInfo,
    TrialScheduler,
};
use crate::tune::search::domain::Domain;
use crate::tune::search::space::{get_in, set_in};
use crate::tune::{Mode, TuneError};

/// How one hyperparameter mutates.
#[derive(Clone, Debug)]
pub enum Mutation {
    /// A search domain: resampled from it, or multiplied by a perturbation factor (and put
    /// back inside its bounds).
    Domain(Domain),
    /// Allowed values: resampled, or moved to a neighbouring value.
    List(Vec<Value>),
}

impl From<Domain> for Mutation {
    fn from(d: Domain) -> Self {
        match d {
            Domain::Choice(v) => Mutation::List(v),
            other => Mutation::Domain(other),
        }
    }
}

impl<T: Into<Value>> From<Vec<T>> for Mutation {
    fn from(v: Vec<T>) -> Self {
        Mutation::List(v.into_iter().map(Into::into).collect())
    }
}

/// A function applied to a config after the built-in explore step (Ray's
/// `custom_explore_fn`).
pub type ExploreFn = Arc<dyn Fn(&mut Value) + Send + Sync>;

#[derive(Clone, Debug, Default, Serialize, Deserialize)]
struct TrialState {
    last_score: Option<f64>,
    last_perturbation_time: f64,
    last_train_time: f64,
}

#[derive(Clone, Debug, Serialize, Deserialize)]
struct State {
    trials: BTreeMap<String, TrialState>,
    next_perturbation_sync: f64,
    #[serde(with = "super::rng_serde")]
    rng: Rng,
    num_checkpoints: usize,
    num_perturbations: usize,
}

/// Ray's `PopulationBasedTraining`, synchronous (see the module docs).
#[derive(Clone)]
pub struct PopulationBasedTraining {
    /// The result key measuring time (default `training_iteration`).
    pub time_attr: String,
    /// The metric (default: the sweep's).
    pub metric: Option<String>,
    /// Its mode (default: the sweep's).
    pub mode: Option<Mode>,
    /// Perturb every this much `time_attr` (Ray's default 60).
    pub perturbation_interval: f64,
    /// No perturbation before this.
    pub burn_in_period: f64,
    /// The hyperparameters to mutate, by key (nested keys joined by `/`).
    pub hyperparam_mutations: BTreeMap<String, Mutation>,
    /// Fraction of the population in the top and bottom quantiles (0 to 0.5, default 0.25).
    pub quantile_fraction: f64,
    /// Probability of resampling instead of perturbing (default 0.25).
    pub resample_probability: f64,
    /// Factors a numeric value is multiplied by (default `(1.2, 0.8)`).
    pub perturbation_factors: (f64, f64),
    /// Applied after the built-in explore step.
    pub custom_explore_fn: Option<ExploreFn>,
    state: Option<State>,
}

impl std::fmt::Debug for PopulationBasedTraining {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PopulationBasedTraining")
            .field("time_attr", &self.time_attr)
            .field("metric", &self.metric)
            .field("perturbation_interval", &self.perturbation_interval)
            .field("hyperparam_mutations", &self.hyperparam_mutations)
            .field("quantile_fraction", &self.quantile_fraction)
            .field("resample_probability", &self.resample_probability)
            .finish_non_exhaustive()
    }
}

impl Default for PopulationBasedTraining {
    fn default() -> Self {
        PopulationBasedTraining {
            time_attr: "training_iteration".into(),
            metric: None,
            mode: None,
            perturbation_interval: 60.0,
            burn_in_period: 0.0,
            hyperparam_mutations: BTreeMap::new(),
            quantile_fraction: 0.25,
            resample_probability: 0.25,
            perturbation_factors: (1.2, 0.8),
            custom_explore_fn: None,
            state: None,
        }
    }
}

setters!(PopulationBasedTraining {
    metric;
    /// Sets `perturbation_interval`.
    perturbation_interval: f64 => perturbation_interval;
    /// Sets `burn_in_period`.
    burn_in_period: f64 => burn_in_period;
    /// Sets `quantile_fraction`.
    quantile_fraction: f64 => quantile_fraction;
    /// Sets `resample_probability`.
    resample_probability: f64 => resample_probability;
    /// Sets `time_attr`.
    time_attr: &str => time_attr;
});

impl PopulationBasedTraining {
    /// Ray's defaults (with `time_attr = "training_iteration"`).
    pub fn new() -> Self {
        Self::default()
    }

    /// Mutates `key`.
    pub fn mutate(mut self, key: &str, m: impl Into<Mutation>) -> Self {
        self.hyperparam_mutations.insert(key.to_string(), m.into());
        self
    }

    /// Perturbations so far.
    pub fn num_perturbations(&self) -> usize {
        self.state.as_ref().map_or(0, |s| s.num_perturbations)
    }

    fn state(&mut self) -> &mut State {
        self.state.get_or_insert_with(|| State {
            trials: BTreeMap::new(),
            next_perturbation_sync: 0.0,
            rng: Rng::seed_from_u64(0),
            num_checkpoints: 0,
            num_perturbations: 0,
        })
    }

    /// Ray's `_explore`: a perturbed copy of `config`.
    pub fn explore(&self, config: &Value, rng: &mut Rng) -> Value {
        let mut new = config.clone();
        for (key, mutation) in &self.hyperparam_mutations {
            let current = get_in(config, key).cloned().unwrap_or(Value::Null);
            let value = match mutation {
                Mutation::List(values) => {
                    let pos = values.iter().position(|v| *v == current);
                    match pos {
                        Some(i) if rng.gen::<f64>() >= self.resample_probability => {
                            let shift: isize = if rng.gen_bool(0.5) { -1 } else { 1 };
                            let j = (i as isize + shift).clamp(0, values.len() as isize - 1);
                            values[j as usize].clone()
                        }
                        _ => values[rng.gen_range(0..values.len())].clone(),
                    }
                }
                Mutation::Domain(d) => {
                    if rng.gen::<f64>() < self.resample_probability {
                        d.sample(config, rng)
                    } else {
                        let (a, b) = self.perturbation_factors;
                        let factor = if rng.gen_bool(0.5) { a } else { b };
                        let x = current.as_f64().unwrap_or(0.0) * factor;
                        let projected = d.project(x);
                        if current.is_i64() || current.is_u64() {
                            // Ray: a hyperparameter that started as an integer stays one.
                            Value::from(projected.as_f64().unwrap_or(x).trunc() as i64)
                        } else {
                            projected
                        }
                    }
                }
            };
            if let Value::Object(obj) = &mut new {
                set_in(obj, key, value);
            }
        }
        if let Some(f) = &self.custom_explore_fn {
            f(&mut new);
        }
        new
    }

    fn quantiles(&self, population: &[Member<'_>]) -> (Vec<usize>, Vec<usize>) {
        let Some(state) = &self.state else {
            return (Vec::new(), Vec::new());
        };
        let mut scored: Vec<(usize, f64)> = population
            .iter()
            .filter_map(|m| {
                let s = state.trials.get(m.trial.trial_id)?.last_score?;
                Some((m.trial.index, s))
            })
            .collect();
        // Ascending by score; the sort is stable, so ties keep trial order.
        scored.sort_by(|a, b| a.1.total_cmp(&b.1));
        if scored.len() <= 1 {
            return (Vec::new(), Vec::new());
        }
        let mut n = (scored.len() as f64 * self.quantile_fraction).ceil() as usize;
        if n as f64 > scored.len() as f64 / 2.0 {
            n = scored.len() / 2;
        }
        let lower = scored[..n].iter().map(|s| s.0).collect();
        let upper = scored[scored.len() - n..].iter().map(|s| s.0).collect();
        (lower, upper)
    }
}

impl TrialScheduler for PopulationBasedTraining {
    fn name(&self) -> &str {
        "PopulationBasedTraining"
    }

    fn set_search_properties(
        &mut self,
        metric: Option<&str>,
        mode: Option<Mode>,
        seed: u64,
    ) -> Result<(), TuneError> {
        resolve_metric(
            "PopulationBasedTraining",
            &mut self.metric,
            &mut self.mode,
            metric,
            mode,
        )?;
        let bad = |m: String| Err(TuneError::Config(format!("PopulationBasedTraining: {m}")));
        if self.hyperparam_mutations.is_empty() && self.custom_explore_fn.is_none() {
            return bad("give at least one of hyperparam_mutations or custom_explore_fn".into());
        }
        if !(0.0..=0.5).contains(&self.quantile_fraction) {
            return bad(format!(
                "quantile_fraction = {} must lie in [0, 0.5]",
                self.quantile_fraction
            ));
        }
        if self.perturbation_interval.is_nan() || self.perturbation_interval <= 0.0 {
            return bad(format!(
                "perturbation_interval = {} must be positive",
                self.perturbation_interval
            ));
        }
        for (k, m) in &self.hyperparam_mutations {
            match m {
                Mutation::Domain(d) if d.is_function() || d.is_grid() => {
                    return bad(format!("`{k}`: sample_from and grid_search cannot be mutated; use uniform, loguniform, … or a list"));
                }
                Mutation::Domain(d) => d.validate(k)?,
                Mutation::List(v) if v.is_empty() => {
                    return bad(format!("`{k}`: the list of values is empty"));
                }
                Mutation::List(_) => {}
            }
        }
        self.state = Some(State {
            trials: BTreeMap::new(),
            next_perturbation_sync: self.perturbation_interval.max(self.burn_in_period),
            rng: Rng::seed_from_u64(derive_seed(seed, &["tune", "pbt"])),
            num_checkpoints: 0,
            num_perturbations: 0,
        });
        Ok(())
    }

    fn ordering(&self) -> Ordering {
        Ordering::Synchronous
    }

    fn time_attr(&self) -> &str {
        &self.time_attr
    }

    fn on_trial_add(&mut self, trial: &TrialInfo<'_>, config: &mut Value) {
        let mutations = self.hyperparam_mutations.clone();
        let state = self.state();
        state
            .trials
            .insert(trial.trial_id.to_string(), TrialState::default());
        for (key, m) in &mutations {
            if get_in(config, key).is_some() {
                continue;
            }
            let v = match m {
                Mutation::Domain(d) => d.sample(config, &mut state.rng),
                Mutation::List(values) => values[state.rng.gen_range(0..values.len())].clone(),
            };
            if let Value::Object(obj) = config {
                set_in(obj, key, v);
            }
        }
    }

    fn on_trial_result(&mut self, trial: &TrialInfo<'_>, result: &ResultDict) -> Decision {
        let (Some(metric), Some(mode)) = (self.metric.clone(), self.mode) else {
            return Decision::Continue;
        };
        let (Some(time), Some(score)) = (
            metric_value(result, &self.time_attr),
            metric_value(result, &metric),
        ) else {
            return Decision::Continue;
        };
        let (burn_in, interval) = (self.burn_in_period, self.perturbation_interval);
        let state = self.state();
        let ts = state.trials.entry(trial.trial_id.to_string()).or_default();
        if time < burn_in || time - ts.last_perturbation_time < interval {
            return Decision::Continue;
        }
        ts.last_score = Some(mode.sign() * score);
        ts.last_train_time = time;
        Decision::Pause
    }

    fn on_trial_complete(&mut self, trial: &TrialInfo<'_>, _: Option<&ResultDict>) {
        if let Some(s) = &mut self.state {
            s.trials.remove(trial.trial_id);
        }
    }

    fn on_trial_error(&mut self, trial: &TrialInfo<'_>) {
        self.on_trial_complete(trial, None);
    }

    fn next_barrier(&self) -> Option<f64> {
        self.state.as_ref().map(|s| s.next_perturbation_sync)
    }

    fn on_barrier(&mut self, population: &[Member<'_>]) -> Vec<BarrierAction> {
        let (lower, upper) = self.quantiles(population);
        let time = population
            .iter()
            .filter_map(|m| metric_value(m.result, &self.time_attr))
            .fold(f64::MIN, f64::max);
        let by_index: BTreeMap<usize, &Member<'_>> =
            population.iter().map(|m| (m.trial.index, m)).collect();
        // Upper quantile first (their checkpoints must exist before anyone clones them),
        // then the rest in trial order, then the lower quantile.
        let mut order: Vec<usize> = upper.clone();
        order.extend(
            by_index
                .keys()
                .filter(|i| !upper.contains(i) && !lower.contains(i)),
        );
        order.extend(lower.iter().copied());
        let mut actions = Vec::new();
        let mut rng = self.state().rng.clone();
        for &i in &order {
            let id = by_index[&i].trial.trial_id;
            if let Some(ts) = self.state().trials.get_mut(id) {
                ts.last_perturbation_time = time;
            }
            if upper.contains(&i) {
                actions.push(BarrierAction::Checkpoint(i));
                self.state().num_checkpoints += 1;
            }
            if lower.contains(&i) && !upper.is_empty() {
                let from = upper[rng.gen_range(0..upper.len())];
                let clone = by_index[&from];
                let config = self.explore(clone.trial.config, &mut rng);
                let clone_state = self.state().trials.get(clone.trial.trial_id).cloned();
                let state = self.state();
                if let (Some(ts), Some(cs)) = (state.trials.get_mut(id), clone_state) {
                    ts.last_perturbation_time = cs.last_perturbation_time;
                    ts.last_train_time = cs.last_train_time;
                }
                state.num_perturbations += 1;
                actions.push(BarrierAction::Exploit {
                    trial: i,
                    from,
                    config,
                });
            }
        }
        let interval = self.perturbation_interval;
        let state = self.state();
        state.rng = rng;
        let max_train = state
            .trials
            .values()
            .map(|t| t.last_train_time)
            .fold(f64::MIN, f64::max);
        state.next_perturbation_sync = (state.next_perturbation_sync + interval).max(max_train);
        actions
    }

    fn settings(&self) -> Value {
        self.settings_json()
    }

    fn mutated_keys(&self) -> Vec<String> {
        self.hyperparam_mutations.keys().cloned().collect()
    }

    fn save_state(&self) -> Value {
        super::state_json(&self.state)
    }

    fn restore_state(&mut self, state: &Value) -> Result<(), TuneError> {
        self.state = serde_json::from_value(state.clone())
            .map_err(|e| TuneError::Restore(format!("PopulationBasedTraining state: {e}")))?;
        Ok(())
    }

    fn debug_string(&self) -> String {
        let (c, p) = self
            .state
            .as_ref()
            .map_or((0, 0), |s| (s.num_checkpoints, s.num_perturbations));
        format!("PopulationBasedTraining: {c} checkpoints, {p} perturbs")
    }
}

impl PopulationBasedTraining {
    fn settings_json(&self) -> Value {
        if self.custom_explore_fn.is_some() {
            // A function cannot be saved: restore needs the scheduler again.
            return Value::Null;
        }
        let mutations: serde_json::Map<String, Value> = self
            .hyperparam_mutations
            .iter()
            .map(|(k, m)| {
                let v = match m {
                    Mutation::Domain(d) => d.to_json(),
                    Mutation::List(v) => json!({ "list": v }),
                };
                (k.clone(), v)
            })
            .collect();
        json!({
            "time_attr": self.time_attr, "metric": self.metric, "mode": self.mode,
            "perturbation_interval": self.perturbation_interval,
            "burn_in_period": self.burn_in_period,
            "quantile_fraction": self.quantile_fraction,
            "resample_probability": self.resample_probability,
            "perturbation_factors": [self.perturbation_factors.0, self.perturbation_factors.1],
            "hyperparam_mutations": mutations,
        })
    }
}

/// Rebuilds a PBT scheduler from its saved settings.
pub(crate) fn from_settings(v: &Value) -> Result<PopulationBasedTraining, TuneError> {
    let bad = || {
        TuneError::Restore(
            "the sweep's PopulationBasedTraining had a custom_explore_fn, which cannot be saved: pass the scheduler again with Tuner::restore(path)?.tune_config(…)".into(),
        )
    };
    let obj = v.as_object().ok_or_else(bad)?;
    let num = |k: &str, d: f64| obj.get(k).and_then(Value::as_f64).unwrap_or(d);
    let mut p = PopulationBasedTraining::new()
        .perturbation_interval(num("perturbation_interval", 60.0))
        .burn_in_period(num("burn_in_period", 0.0))
        .quantile_fraction(num("quantile_fraction", 0.25))
        .resample_probability(num("resample_probability", 0.25));
    if let Some(t) = obj.get("time_attr").and_then(Value::as_str) {
        p.time_attr = t.to_string();
    }
    p.metric = obj.get("metric").and_then(Value::as_str).map(String::from);
    p.mode = obj
        .get("mode")
        .and_then(|m| serde_json::from_value(m.clone()).ok());
    if let Some(f) = obj.get("perturbation_factors").and_then(Value::as_array) {
        if let (Some(a), Some(b)) = (
            f.first().and_then(Value::as_f64),
            f.get(1).and_then(Value::as_f64),
        ) {
            p.perturbation_factors = (a, b);
        }
    }
    for (k, m) in obj
        .get("hyperparam_mutations")
        .and_then(Value::as_object)
        .into_iter()
        .flatten()
    {
        let mutation = match m.get("list").and_then(Value::as_array) {
            Some(list) => Mutation::List(list.clone()),
            None => Mutation::from(Domain::from_json(k, m)?.ok_or_else(bad)?),
        };
        p.hyperparam_mutations.insert(k.clone(), mutation);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::tune::search::domain::{loguniform, qrandint, uniform};

    #[test]
    fn explore_keeps_values_inside_their_bounds() {
        let pbt = PopulationBasedTraining::new()
            .mutate("lr", loguniform(1e-4, 1e-2))
            .mutate("clip", uniform(0.1, 0.3))
            .mutate("minibatch_size", qrandint(64, 512, 64))
            .mutate("num_epochs", vec![1, 5, 10]);
        let mut rng = Rng::seed_from_u64(1);
        let mut config = json!({"lr": 1e-2, "clip": 0.3, "minibatch_size": 512, "num_epochs": 10});
        let mut moved_epochs = false;
        for _ in 0..500 {
            config = pbt.explore(&config, &mut rng);
            let lr = config["lr"].as_f64().unwrap();
            let clip = config["clip"].as_f64().unwrap();
            let mb = config["minibatch_size"].as_i64().unwrap();
            assert!((1e-4..=1e-2).contains(&lr), "lr {lr}");
            assert!((0.1..=0.3).contains(&clip), "clip {clip}");
            assert!((64..=512).contains(&mb) && mb % 64 == 0, "minibatch {mb}");
            assert!(config["minibatch_size"].is_i64());
            let e = config["num_epochs"].as_i64().unwrap();
            assert!([1, 5, 10].contains(&e));
            moved_epochs |= e != 10;
        }
        assert!(moved_epochs);
    }

    #[test]
    fn perturbation_multiplies_by_the_factors() {
        let pbt = PopulationBasedTraining::new()
            .mutate("lr", loguniform(1e-6, 1.0))
            .resample_probability(0.0);
        let mut rng = Rng::seed_from_u64(3);
        let mut seen = std::collections::BTreeSet::new();
        for _ in 0..50 {
            let c = pbt.explore(&json!({"lr": 0.01}), &mut rng);
            seen.insert((c["lr"].as_f64().unwrap() * 1e6).round() as i64);
        }
        assert_eq!(seen.into_iter().collect::<Vec<_>>(), vec![8000, 12000]);
    }

    #[test]
    fn barrier_checkpoints_the_top_and_clones_into_the_bottom() {
        let mut pbt = PopulationBasedTraining::new()
            .metric("score", Mode::Max)
            .perturbation_interval(2.0)
            .mutate("lr", vec![0.1, 0.2, 0.3]);
        pbt.set_search_properties(None, None, 0).unwrap();
        let configs: Vec<Value> = (0..4).map(|_| json!({"lr": 0.2})).collect();
        let ids = ["a", "b", "c", "d"];
        let mut results = Vec::new();
        for (i, id) in ids.iter().enumerate() {
            let mut c = configs[i].clone();
            let info = TrialInfo {
                index: i,
                trial_id: id,
                config: &configs[i],
            };
            pbt.on_trial_add(&info, &mut c);
            let r1 = json!({"training_iteration": 1, "score": i})
                .as_object()
                .unwrap()
                .clone();
            assert_eq!(pbt.on_trial_result(&info, &r1), Decision::Continue);
            let r2 = json!({"training_iteration": 2, "score": ([3, 0, 2, 1][i])})
                .as_object()
                .unwrap()
                .clone();
            assert_eq!(pbt.on_trial_result(&info, &r2), Decision::Pause);
            results.push(r2);
        }
        let members: Vec<Member<'_>> = (0..4)
            .map(|i| Member {
                trial: TrialInfo {
                    index: i,
                    trial_id: ids[i],
                    config: &configs[i],
                },
                result: &results[i],
            })
            .collect();
        let actions = pbt.on_barrier(&members);
        // Scores 3, 0, 2, 1: ceil(4 × 0.25) = 1 per quantile; a is top, b bottom.
        assert_eq!(actions[0], BarrierAction::Checkpoint(0));
        assert_eq!(actions.len(), 2);
        match &actions[1] {
            BarrierAction::Exploit {
                trial,
                from,
                config,
            } => {
                assert_eq!((*trial, *from), (1, 0));
                let lr = config["lr"].as_f64().unwrap();
                assert!([0.1, 0.2, 0.3].contains(&lr));
            }
            other => panic!("{other:?}"),
        }
        assert_eq!(pbt.next_barrier(), Some(4.0));
        assert_eq!(pbt.num_perturbations(), 1);
        let saved = pbt.save_state();
        assert!(saved["trials"].is_object(), "{saved}");
        let mut back = PopulationBasedTraining::new();
        back.restore_state(&saved).unwrap();
        assert_eq!(back.save_state(), saved);
    }
}
