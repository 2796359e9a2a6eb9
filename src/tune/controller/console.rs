//! The console output: the experiment box, trial starts and ends, the table, errors.

use std::time::Instant;

use rl_core::metrics::ResultDict;
use serde_json::Value;

use super::{now, Run};
use crate::tune::report::format::{datetime_str, running_time_str};
use crate::tune::report::table::{Align, Cell, Table};
use crate::tune::report::{best_trial_line, result_box, status_line, trial_table, TableSpec};
use crate::tune::trial::{Trial, TrialStatus};

impl Run {
    pub(super) fn elapsed(&self) -> String {
        running_time_str(self.session_start.elapsed().as_secs_f64())
    }

    pub(super) fn print_intro(&self) {
        if self.c.verbose == 0 {
            return;
        }
        for l in &self.c.intro {
            println!("{l}");
        }
    }

    pub(super) fn print_trial_start(&self, j: usize) {
        let t = &self.c.trials[j];
        let searched: serde_json::Map<String, Value> = t.resolved_vars.iter().cloned().collect();
        println!("Trial {} started with configuration:", t.name);
        let include: Vec<String> = Vec::new();
        if let Some(b) = result_box(&format!("Trial {} config", t.name), &searched, &include) {
            println!("{b}");
        }
        println!();
    }

    pub(super) fn print_result(&self, j: usize, r: &ResultDict) {
        let t = &self.c.trials[j];
        println!(
            "Trial {} finished iteration {} at {}. Total running time: {}",
            t.name,
            Self::iteration_of(r),
            datetime_str(now()),
            self.elapsed()
        );
        if let Some(b) = result_box(
            &format!("Trial {} result", t.name),
            r,
            &self.c.progress.progress_metrics,
        ) {
            println!("{b}");
        }
    }

    pub(super) fn print_complete(&self, j: usize) {
        let t = &self.c.trials[j];
        let iters = t.decided_iteration;
        if let Some(r) = t.last_result.clone() {
            self.print_result(j, &r);
        }
        if let Some(c) = t
            .latest_checkpoint()
            .filter(|c| c.iteration == iters && self.c.verbose < 2)
        {
            println!(
                "Trial {} saved a checkpoint for iteration {iters} at: (local){}",
                t.name,
                c.path.display()
            );
        }
        println!(
            "\nTrial {} completed after {iters} iterations at {}. Total running time: {}\n",
            t.name,
            datetime_str(now()),
            self.elapsed()
        );
    }

    pub(super) fn print_error(&self, j: usize, retrying: bool) {
        let t = &self.c.trials[j];
        println!(
            "Trial {} errored after {} iterations at {}. Total running time: {}\nError file: {}{}\n",
            t.name,
            t.decided_iteration,
            datetime_str(now()),
            self.elapsed(),
            self.dir(j).join("error.txt").display(),
            if retrying {
                format!(" (failure {}; retrying from its latest checkpoint)", t.num_failures)
            } else {
                String::new()
            }
        );
    }

    pub(super) fn report(&mut self, force: bool) {
        if self.c.verbose == 0 {
            return;
        }
        let due = self
            .last_report
            .is_none_or(|l| l.elapsed().as_secs_f64() >= self.c.progress.max_report_frequency);
        if !force && !due {
            return;
        }
        self.last_report = Some(Instant::now());
        let trials = &self.c.trials;
        let (_, used) = self.live();
        println!("{}", status_line(trials));
        println!(
            "Current time: {}. Total running time: {}",
            datetime_str(now()),
            self.elapsed()
        );
        println!(
            "Logical resource usage: {used}.0/{} CPUs, 0/0 GPUs",
            self.c.budget
        );
        if let (Some(m), Some(mode)) = (self.c.metric.as_deref(), self.c.mode) {
            if let Some(l) = best_trial_line(trials, &self.c.params, m, mode) {
                println!("{l}");
            }
        }
        let spec = TableSpec {
            params: &self.c.params,
            metric: self.c.metric.as_deref(),
            mode: self.c.mode,
            max_width: self.c.progress.max_width,
            metric_columns: self.c.progress.metric_columns.as_deref(),
            all_rows: force,
        };
        println!("{}", trial_table(trials, &spec));
        if force {
            self.print_errors();
        }
        println!();
    }

    pub(super) fn print_errors(&self) {
        let errored: Vec<&Trial> = self
            .c
            .trials
            .iter()
            .filter(|t| t.num_failures > 0)
            .collect();
        if errored.is_empty() {
            return;
        }
        println!(
            "\nNumber of errored trials: {}",
            errored
                .iter()
                .filter(|t| t.status == TrialStatus::Error)
                .count()
        );
        let rows = errored
            .iter()
            .map(|t| {
                let first = t
                    .error
                    .as_deref()
                    .unwrap_or("")
                    .lines()
                    .next()
                    .unwrap_or("");
                vec![
                    Cell::Str(t.name.clone()),
                    Cell::Str(format!(
                        "{}{}",
                        t.num_failures,
                        if t.status == TrialStatus::Error {
                            ""
                        } else {
                            "*"
                        }
                    )),
                    Cell::Str(first.to_string()),
                ]
            })
            .collect();
        let mut table = Table::new(
            vec!["Trial name".into(), "# failures".into(), "error".into()],
            rows,
        );
        table.colalign = Some(vec![Align::Left, Align::Right, Align::Left]);
        // The message's start says most: cut its end to fit the width.
        if let Some(max) = self.c.progress.max_width {
            let over = table.width().saturating_sub(max);
            let w = table.widths()[2].saturating_sub(over).max(20);
            for row in &mut table.rows {
                if let Cell::Str(m) = &mut row[2] {
                    if m.chars().count() > w {
                        *m = format!("{}...", m.chars().take(w - 3).collect::<String>());
                    }
                }
            }
        }
        println!("{}", table.render());
        for t in &errored {
            println!(
                "{}: {}",
                t.name,
                self.c
                    .experiment_dir
                    .join(&t.dir_name)
                    .join("error.txt")
                    .display()
            );
        }
        if errored.iter().any(|t| t.status != TrialStatus::Error) {
            println!("* The trial terminated successfully after retrying.");
        }
    }
}
