//! Writing the experiment state after every decision.

use super::{now, Run};
use crate::tune::state::{ExperimentState, SchedulerState, STATE_FORMAT_VERSION};
use crate::tune::TuneError;

impl Run {
    pub(super) fn save_state(&self, finished: bool) -> Result<(), TuneError> {
        let searcher = self.c.searcher.save_state();
        let state = ExperimentState {
            format_version: STATE_FORMAT_VERSION,
            framework: "rl".into(),
            algorithm: self.c.algorithm.clone(),
            experiment_name: self.c.experiment_name.clone(),
            experiment_id: self.c.experiment_id.clone(),
            experiment_path: self.c.experiment_dir.clone(),
            start_time: self.c.start_time,
            timestamp: now(),
            param_space: self.c.param_space_json.clone(),
            param_space_has_functions: self.c.param_space_has_functions,
            tune_config: self.c.tune_config_json.clone(),
            run_config: self.c.run_config_json.clone(),
            scheduler: SchedulerState {
                name: self.c.scheduler.name().to_string(),
                settings: self.c.scheduler_settings.clone(),
                state: self.c.scheduler.save_state(),
            },
            searcher: searcher.clone(),
            trials: self.c.trials.clone(),
            finished,
        };
        state.save(&self.c.state_file)?;
        crate::tune::files::write_atomic(
            &self.c.searcher_file,
            &serde_json::to_string(&searcher).unwrap_or_default(),
        )
    }
}
