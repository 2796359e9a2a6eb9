//! Env→module connectors: from the envs' observations to the module's input batch.

use ndarray::Array2;
use serde::{Deserialize, Serialize};

use super::{connector_methods, impl_connector_for, ConnectorContext, ConnectorError, Pipeline};

/// The data an env→module pipeline transforms: one observation per env in, one row of
/// module input per env out.
#[derive(Clone, Debug, Default)]
pub struct EnvToModuleBatch {
    /// The envs' observations (the input), flattened as the vector env returns them
    /// ([`Space::flatten_into`](crate::env::Space::flatten_into)): `rows × obs_dim`, row-major.
    pub env_obs: Vec<f32>,
    /// Number of observations in `env_obs`.
    pub rows: usize,
    /// The module's input batch, rows in env order (built by the pipeline).
    pub obs: Array2<f32>,
}

/// One env→module transformation. Implement it (with `#[typetag::serde]`) to plug in your
/// own: `process` is the only method to write (the name defaults to the type's, the state to
/// none); register nothing else: typetag makes it serializable inside configs.
///
/// ```
/// use rl_core::connectors::{ConnectorContext, ConnectorError, EnvToModule, EnvToModuleBatch};
/// use serde::{Deserialize, Serialize};
///
/// /// Clips observations to ±`limit`.
/// #[derive(Serialize, Deserialize)]
/// struct ClipObs {
///     limit: f32,
/// }
///
/// #[typetag::serde]
/// impl EnvToModule for ClipObs {
///     fn process(
///         &mut self,
///         batch: &mut EnvToModuleBatch,
///         _ctx: &mut ConnectorContext<'_>,
///     ) -> Result<(), ConnectorError> {
///         batch.obs.mapv_inplace(|x| x.clamp(-self.limit, self.limit));
///         Ok(())
///     }
/// }
///
/// let mut pipeline = rl_core::connectors::Pipeline::default_env_to_module(false);
/// pipeline.append(Box::new(ClipObs { limit: 5.0 }));
/// assert_eq!(pipeline.names(), ["BatchObservations", "ClipObs"]);
/// ```
#[typetag::serde(tag = "type")]
pub trait EnvToModule: CloneEnvToModule + Send + Sync {
    connector_methods!();

    /// Transforms the batch in place.
    fn process(
        &mut self,
        batch: &mut EnvToModuleBatch,
        ctx: &mut ConnectorContext<'_>,
    ) -> Result<(), ConnectorError>;
}

impl_connector_for!(EnvToModule);
super::pipeline::connector_clone!(EnvToModule, CloneEnvToModule);

impl Pipeline<dyn EnvToModule> {
    /// Runs every connector in order.
    pub fn run(
        &mut self,
        batch: &mut EnvToModuleBatch,
        ctx: &mut ConnectorContext<'_>,
    ) -> Result<(), ConnectorError> {
        self.connectors_mut()
            .iter_mut()
            .try_for_each(|c| c.process(batch, ctx))
    }

    /// RLlib's default env→module pipeline: batch the observations, then the
    /// mean/std filter when `observation_filter` is `"MeanStdFilter"`.
    pub fn default_env_to_module(mean_std_filter: bool) -> Self {
        let mut p: Self = Pipeline::new(vec![Box::new(BatchObservations)]);
        if mean_std_filter {
            p.append(Box::new(MeanStdFilter::default()));
        }
        p
    }
}

/// Batches the envs' flattened observations into the module's input array (RLlib's
/// `BatchIndividualItems` and `NumpyToTensor` for a flat observation space).
#[derive(Clone, Debug, Default, Serialize, Deserialize)]
pub struct BatchObservations;

#[typetag::serde]
impl EnvToModule for BatchObservations {
    fn process(
        &mut self,
        batch: &mut EnvToModuleBatch,
        ctx: &mut ConnectorContext<'_>,
    ) -> Result<(), ConnectorError> {
        let dim = ctx.observation_space.flat_dim();
        if batch.rows * dim != batch.env_obs.len() {
            return Err(ConnectorError::BadInput {
                connector: self.name().into(),
                reason: format!(
                    "{} numbers for {} observations of width {dim}",
                    batch.env_obs.len(),
                    batch.rows
                ),
            });
        }
        // A connector may have left `obs` in another layout: rebuild it then, so the
        // slice below is always contiguous.
        if batch.obs.dim() != (batch.rows, dim) || !batch.obs.is_standard_layout() {
            batch.obs = Array2::zeros((batch.rows, dim));
        }
        // Invariant: `obs` is in standard layout (just checked or rebuilt).
        batch
            .obs
            .as_slice_mut()
            .expect("fresh arrays are contiguous")
            .copy_from_slice(&batch.env_obs);
        Ok(())
    }
}

/// Running mean and variance (Welford), mergeable across workers (Chan et al.).
#[derive(Clone, Debug, Default, PartialEq, Serialize, Deserialize)]
pub struct RunningStat {
    /// Number of samples pushed.
    pub count: u64,
    /// Per-element mean.
    pub mean: Vec<f64>,
    /// Per-element sum of squared deviations from the mean.
    pub m2: Vec<f64>,
}

impl RunningStat {
    /// Adds one sample.
    pub fn push(&mut self, x: &[f32]) {
        if self.mean.len() != x.len() {
            *self = RunningStat {
                count: 0,
                mean: vec![0.0; x.len()],
                m2: vec![0.0; x.len()],
            };
        }
        self.count += 1;
        let n = self.count as f64;
        for ((m, s), &x) in self.mean.iter_mut().zip(&mut self.m2).zip(x) {
            let x = f64::from(x);
            let delta = x - *m;
            *m += delta / n;
            *s += delta * (x - *m);
        }
    }

    /// Adds every sample another stat has seen.
    pub fn merge(&mut self, other: &RunningStat) {
        if other.count == 0 {
            return;
        }
        if self.count == 0 {
            *self = other.clone();
            return;
        }
        let (na, nb) = (self.count as f64, other.count as f64);
        let n = na + nb;
        for i in 0..self.mean.len().min(other.mean.len()) {
            let delta = other.mean[i] - self.mean[i];
            self.mean[i] += delta * nb / n;
            self.m2[i] += other.m2[i] + delta * delta * na * nb / n;
        }
        self.count += other.count;
    }

    /// Per-element standard deviation as RLlib's `RunningStat.std`: the unbiased variance
    /// after two samples, `mean²` before.
    pub fn std(&self, i: usize) -> f64 {
        let var = if self.count > 1 {
            self.m2[i] / (self.count - 1) as f64
        } else {
            self.mean[i] * self.mean[i]
        };
        var.sqrt()
    }
}

/// RLlib's `MeanStdFilter`: `clip((x − mean) / (std + 1e-8), ±clip)` with running statistics.
///
/// Each env runner keeps the synchronized statistics (`synced`) plus what it saw since the
/// last sync (`delta`); it normalizes with both. The driver merges every runner's delta, in
/// runner order, into the synced statistics and broadcasts them with the weights.
#[derive(Clone, Debug, Serialize, Deserialize)]
pub struct MeanStdFilter {
    /// Clip normalized values to `±clip` (RLlib: 10).
    pub clip: f32,
    /// Statistics agreed across runners at the last sync.
    pub synced: RunningStat,
    /// Statistics of what this copy saw since the last sync.
    pub delta: RunningStat,
    #[serde(skip)]
    merged: RunningStat,
}

impl Default for MeanStdFilter {
    fn default() -> Self {
        MeanStdFilter {
            clip: 10.0,
            synced: RunningStat::default(),
            delta: RunningStat::default(),
            merged: RunningStat::default(),
        }
    }
}

#[typetag::serde]
impl EnvToModule for MeanStdFilter {
    fn get_state(&self) -> Option<serde_json::Value> {
        serde_json::to_value(self).ok()
    }

    fn set_state(&mut self, state: &serde_json::Value) -> Result<(), ConnectorError> {
        *self = serde_json::from_value(state.clone()).map_err(|e| ConnectorError::BadInput {
            connector: "MeanStdFilter".into(),
            reason: format!("bad state: {e}"),
        })?;
        Ok(())
    }

    fn merge_states(&mut self, states: &[serde_json::Value]) -> Result<(), ConnectorError> {
        for state in states {
            let other: MeanStdFilter =
                serde_json::from_value(state.clone()).map_err(|e| ConnectorError::BadInput {
                    connector: "MeanStdFilter".into(),
                    reason: format!("bad state: {e}"),
                })?;
            self.synced.merge(&other.delta);
        }
        self.delta = RunningStat::default();
        Ok(())
    }

    fn process(
        &mut self,
        batch: &mut EnvToModuleBatch,
        ctx: &mut ConnectorContext<'_>,
    ) -> Result<(), ConnectorError> {
        for mut row in batch.obs.rows_mut() {
            let Some(x) = row.as_slice_mut() else {
                return Err(ConnectorError::BadInput {
                    connector: "MeanStdFilter".into(),
                    reason: "the observations are not in standard (row-major) layout; a connector before the filter changed it".into(),
                });
            };
            if ctx.update_stats {
                self.delta.push(x);
            }
            self.merged.clone_from(&self.synced);
            self.merged.merge(&self.delta);
            if self.merged.count == 0 {
                continue;
            }
            // Statistics restored from a file may be of another width: an error, not an
            // out-of-bounds index.
            if self.merged.mean.len() != x.len() || self.merged.m2.len() != x.len() {
                return Err(ConnectorError::BadInput {
                    connector: "MeanStdFilter".into(),
                    reason: format!(
                        "its statistics are for {}-number observations, the env's have {}; the filter state does not belong to this env",
                        self.merged.mean.len(),
                        x.len()
                    ),
                });
            }
            for (i, v) in x.iter_mut().enumerate() {
                let z = (f64::from(*v) - self.merged.mean[i]) / (self.merged.std(i) + 1e-8);
                *v = (z as f32).clamp(-self.clip, self.clip);
            }
        }
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A connector whose JSON does not read back (it writes its number as a string).
    #[derive(Clone, Debug, Serialize, Deserialize)]
    struct NoRoundTrip {
        #[serde(serialize_with = "as_string")]
        limit: f32,
    }

    fn as_string<S: serde::Serializer>(x: &f32, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&x.to_string())
    }

    #[typetag::serde]
    impl EnvToModule for NoRoundTrip {
        fn process(
            &mut self,
            _: &mut EnvToModuleBatch,
            _: &mut ConnectorContext<'_>,
        ) -> Result<(), ConnectorError> {
            Ok(())
        }
    }

    /// Cloning a pipeline copies its connectors: it cannot fail (it used to go through JSON
    /// and panic on a connector that does not read back), and `try_clone` still reports it.
    #[test]
    fn pipeline_clone_is_infallible() {
        let mut p = Pipeline::<dyn EnvToModule>::default_env_to_module(true);
        p.append(Box::new(NoRoundTrip { limit: 0.5 }));
        assert!(p.try_clone().is_err());
        let copy = p.clone();
        assert_eq!(
            copy.names(),
            ["BatchObservations", "MeanStdFilter", "NoRoundTrip"]
        );
        assert_eq!(format!("{:?}", copy.connectors()[2].get_state()), "None");
    }

    #[test]
    fn merged_stats_equal_stats_of_all_samples() {
        let xs: Vec<[f32; 2]> = (0..10).map(|i| [i as f32, (i * i) as f32]).collect();
        let mut all = RunningStat::default();
        xs.iter().for_each(|x| all.push(x));
        let (mut a, mut b) = (RunningStat::default(), RunningStat::default());
        xs[..3].iter().for_each(|x| a.push(x));
        xs[3..].iter().for_each(|x| b.push(x));
        a.merge(&b);
        assert_eq!(a.count, all.count);
        for i in 0..2 {
            assert!((a.mean[i] - all.mean[i]).abs() < 1e-9);
            assert!((a.std(i) - all.std(i)).abs() < 1e-9);
        }
    }

    #[test]
    fn pipeline_state_entries_round_trip_and_refuse_other_connectors() {
        let mut trained = Pipeline::<dyn EnvToModule>::default_env_to_module(true);
        let filter: &mut Box<dyn EnvToModule> = trained
            .connectors_mut()
            .iter_mut()
            .find(|c| c.name() == "MeanStdFilter")
            .unwrap();
        let mut stats = MeanStdFilter::default();
        stats.synced.push(&[1.0, 2.0]);
        stats.synced.push(&[3.0, -2.0]);
        filter.set_state(&stats.get_state().unwrap()).unwrap();
        let saved = trained.state_entries();
        assert_eq!(saved.len(), trained.len());

        let mut fresh = Pipeline::<dyn EnvToModule>::default_env_to_module(true);
        assert_ne!(fresh.state_entries(), saved);
        fresh.set_state_entries(&saved).unwrap();
        assert_eq!(fresh.state_entries(), saved);

        let mut unfiltered = Pipeline::<dyn EnvToModule>::default_env_to_module(false);
        let err = unfiltered.set_state_entries(&saved).unwrap_err();
        assert!(matches!(err, ConnectorError::StateMismatch { .. }), "{err}");
        assert!(err.to_string().contains("MeanStdFilter"), "{err}");
    }
}
