//! `rl::plot` on a small synthetic run and sweep: both files are written, the PNG decodes
//! at the requested size with the curves' colours in it, the SVG is a complete document
//! holding the panels, legend labels and the band; unreadable directories are refused.

use std::fs;
use std::path::{Path, PathBuf};

use rl::plot::{plot_dir, PlotError, PlotOptions};
use rl::results::ResultsError;
use serde_json::json;

fn temp_dir(name: &str) -> PathBuf {
    let dir = std::env::temp_dir().join(format!("rl-plot-{name}-{}", std::process::id()));
    let _ = fs::remove_dir_all(&dir);
    fs::create_dir_all(&dir).unwrap();
    dir
}

/// A trial directory whose return climbs at `rate` per iteration, evaluated every 5th.
fn write_trial(dir: &Path, minibatch_size: u64, rate: f64) {
    fs::create_dir_all(dir).unwrap();
    let params = json!({"env": "CartPole-v1", "lr": 3e-4, "minibatch_size": minibatch_size});
    fs::write(dir.join("params.json"), params.to_string()).unwrap();
    let mut lines = String::new();
    for i in 1..=30u64 {
        let ret = 10.0 + rate * i as f64;
        let mut r = json!({
            "training_iteration": i,
            "num_env_steps_sampled_lifetime": 500 * i,
            "env_runners": {"episode_return_mean": ret, "episode_return_min": ret * 0.5,
                            "episode_return_max": ret * 1.5},
            "learners": {"default_policy": {"policy_loss": -0.01 * i as f64, "vf_loss": 9.0 / i as f64,
                                             "mean_kl_loss": 0.01, "entropy": 0.69 - 0.005 * i as f64}},
        });
        if i % 5 == 0 {
            r["evaluation"] = json!({"env_runners": {"episode_return_mean": ret + 3.0,
                "episode_return_min": ret, "episode_return_max": ret + 6.0}});
        }
        lines.push_str(&format!("{r}\n"));
    }
    fs::write(dir.join("result.json"), lines).unwrap();
}

fn decode_png(path: &Path) -> (u32, u32, Vec<u8>) {
    let decoder = png::Decoder::new(std::io::BufReader::new(fs::File::open(path).unwrap()));
    let mut reader = decoder.read_info().unwrap();
    let mut buf = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut buf).unwrap();
    assert_eq!(info.color_type, png::ColorType::Rgb);
    buf.truncate(info.buffer_size());
    (info.width, info.height, buf)
}

fn has_pixel(rgb: &[u8], color: [u8; 3]) -> bool {
    rgb.chunks_exact(3).any(|p| p == color)
}

fn check_svg(path: &Path, must_contain: &[&str]) {
    let svg = fs::read_to_string(path).unwrap();
    assert!(svg.starts_with("<svg"), "{} is not an SVG", path.display());
    assert!(
        svg.trim_end().ends_with("</svg>"),
        "{} is truncated",
        path.display()
    );
    assert_eq!(svg.matches("<svg").count(), 1);
    for s in must_contain {
        assert!(svg.contains(s), "{} lacks {s:?}", path.display());
    }
}

const BLUE: [u8; 3] = [31, 119, 180]; // tab10's first colour: the run's / first trial's line
const ORANGE: [u8; 3] = [255, 127, 14]; // the second trial's

#[test]
fn a_run_gives_a_png_and_an_svg() {
    let dir = temp_dir("run");
    write_trial(&dir, 128, 10.0);
    let options = PlotOptions {
        size: (1200, 700),
        ..PlotOptions::default()
    };
    let [png, svg] = plot_dir(&dir, &dir, &options).unwrap();
    assert_eq!(png, dir.join("learning_curves.png"));
    let (w, h, rgb) = decode_png(&png);
    assert_eq!((w, h), (1200, 700));
    assert!(has_pixel(&rgb, BLUE), "the curve is drawn");
    assert!(!has_pixel(&rgb, ORANGE), "one run, one colour");
    check_svg(
        &svg,
        &[
            "Training return",
            "Evaluation return",
            "Policy loss",
            "Value loss",
            "KL divergence",
            "Entropy",
            "num_env_steps_sampled_lifetime",
            "learners/default_policy/vf_loss",
            "min–max",
            "<polygon",
        ],
    );
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn a_sweep_gives_one_line_per_trial_best_highlighted() {
    let dir = temp_dir("sweep");
    write_trial(
        &dir.join("PPO_CartPole-v1_00000_minibatch_size=128"),
        128,
        10.0,
    );
    write_trial(
        &dir.join("PPO_CartPole-v1_00001_minibatch_size=256"),
        256,
        15.0,
    );
    let out = dir.join("plots");
    let [png, svg] = plot_dir(&dir, &out, &PlotOptions::default()).unwrap();
    let (w, h, rgb) = decode_png(&png);
    assert_eq!((w, h), (1500, 900));
    assert!(
        has_pixel(&rgb, BLUE) && has_pixel(&rgb, ORANGE),
        "both trials drawn"
    );
    check_svg(
        &svg,
        &[
            "minibatch_size=128",
            "minibatch_size=256 (best)",
            "best: min–max",
        ],
    );
    let svg_text = fs::read_to_string(&svg).unwrap();
    assert!(
        !svg_text.contains("lr="),
        "lr did not vary, so it labels nothing"
    );
    assert!(!svg_text.contains("minibatch_size=128 (best)"));
    fs::remove_dir_all(&dir).unwrap();
}

#[test]
fn unreadable_directories_are_refused_with_the_reason() {
    let dir = temp_dir("bad");
    let err = plot_dir(&dir, &dir, &PlotOptions::default()).unwrap_err();
    assert!(
        matches!(err, PlotError::Results(ResultsError::NoTrials(_))),
        "{err}"
    );
    assert!(err.to_string().contains("no result.json"));

    fs::write(
        dir.join("result.json"),
        "{\"training_iteration\": 1}\nnot json\n",
    )
    .unwrap();
    let err = plot_dir(&dir, &dir, &PlotOptions::default()).unwrap_err();
    assert!(
        matches!(err, PlotError::Results(ResultsError::Json { line: 2, .. })),
        "{err}"
    );

    fs::write(
        dir.join("result.json"),
        "{\"training_iteration\": 1, \"loss\": 3}\n",
    )
    .unwrap();
    let err = plot_dir(&dir, &dir, &PlotOptions::default()).unwrap_err();
    assert!(matches!(err, PlotError::NothingToPlot(_)), "{err}");
    assert!(!dir.join("learning_curves.png").exists());
    fs::remove_dir_all(&dir).unwrap();
}
