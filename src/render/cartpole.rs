//! CartPole as a few lines of text, drawn from its observation `[x, x_dot, theta,
//! theta_dot]` with Gymnasium's geometry: the track spans the termination limits
//! (|x| ≤ 2.4), the pole is 1.0 long (twice Gymnasium's half-length 0.5), and a character
//! cell counts as twice as tall as it is wide.
//!
//! ```
//! use rl::render::{CartPoleRenderer, CartPoleState};
//!
//! let state = CartPoleState::from_array([0.12, 0.0, 4f64.to_radians(), 0.0]).unwrap();
//! let frame = CartPoleRenderer::default().frame(&state);
//! assert_eq!(frame, [
//!     "                          /",
//!     "                          /",
//!     "                          /",
//!     "                         /",
//!     "                         /",
//!     "                       [=o=]",
//!     "|-----------------------------------------------|",
//!     "x=+0.120 x_dot=+0.000 theta=+4.0deg theta_dot=+0.000",
//! ].join("\n"));
//! ```

use thiserror::Error;

/// Half the track, Gymnasium's `x_threshold`: the episode terminates beyond it.
pub const X_LIMIT: f64 = 2.4;
/// The pole's full length (Gymnasium's `length` is half of it).
pub const POLE_LENGTH: f64 = 1.0;
/// The cart as drawn: centred on `x`, pivot `o`.
const CART: &str = "[=o=]";
/// Below this |theta| the pole is drawn `|`, above it `/` or `\`.
const UPRIGHT: f64 = 0.035;

/// Why an observation could not be drawn.
#[derive(Debug, Error, PartialEq)]
pub enum RenderError {
    /// CartPole observations have 4 numbers.
    #[error("a CartPole observation has 4 numbers [x, x_dot, theta, theta_dot], got {0}")]
    ObservationLength(usize),
    /// A NaN or infinite number cannot be placed on the screen.
    #[error("the CartPole observation {0:?} holds a NaN or an infinity")]
    NonFinite([f64; 4]),
}

/// CartPole's state, as its observation holds it.
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct CartPoleState {
    /// Cart position.
    pub x: f64,
    /// Cart velocity.
    pub x_dot: f64,
    /// Pole angle from upright in radians, positive leaning right (towards +x).
    pub theta: f64,
    /// Pole angular velocity.
    pub theta_dot: f64,
}

impl CartPoleState {
    /// Reads an observation `[x, x_dot, theta, theta_dot]` (the flat `f32` vector env
    /// runners hold).
    pub fn from_observation(obs: &[f32]) -> Result<Self, RenderError> {
        let &[x, x_dot, theta, theta_dot] = obs else {
            return Err(RenderError::ObservationLength(obs.len()));
        };
        Self::from_array([x, x_dot, theta, theta_dot].map(f64::from))
    }

    /// Reads a physics state `[x, x_dot, theta, theta_dot]` (`CartPoleEnv::state`).
    pub fn from_array(s: [f64; 4]) -> Result<Self, RenderError> {
        if s.iter().any(|v| !v.is_finite()) {
            return Err(RenderError::NonFinite(s));
        }
        Ok(CartPoleState {
            x: s[0],
            x_dot: s[1],
            theta: s[2],
            theta_dot: s[3],
        })
    }
}

/// Draws CartPole states as frames of [`lines`](Self::lines) lines of text.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct CartPoleRenderer {
    width: usize,
}

impl Default for CartPoleRenderer {
    /// 49 columns: 10 per unit of track, so the pole stands 5 lines tall.
    fn default() -> Self {
        CartPoleRenderer { width: 49 }
    }
}

impl CartPoleRenderer {
    /// The narrowest track drawn; narrower requests are widened to it.
    pub const MIN_WIDTH: usize = 13;

    /// A renderer whose track is `width` columns wide (at least [`Self::MIN_WIDTH`]).
    pub fn with_width(width: usize) -> Self {
        CartPoleRenderer {
            width: width.max(Self::MIN_WIDTH),
        }
    }

    /// The track's width in columns.
    pub fn width(&self) -> usize {
        self.width
    }

    fn cols_per_unit(&self) -> f64 {
        (self.width - 1) as f64 / (2.0 * X_LIMIT)
    }

    fn pole_rows(&self) -> usize {
        // A cell is twice as tall as wide: a unit spans half as many rows as columns.
        ((POLE_LENGTH * self.cols_per_unit() / 2.0).round() as usize).max(2)
    }

    /// Lines per frame: the pole's, the cart, the track and a line of numbers. Constant for
    /// a renderer, so a caller can redraw in place (move the cursor up this many lines).
    pub fn lines(&self) -> usize {
        self.pole_rows() + 3
    }

    /// The frame of `state`: lines joined by `\n`, without trailing spaces or a final
    /// newline (to redraw in place, move the cursor up and clear each line). A cart beyond
    /// the track is drawn at its end; the numbers line tells where it is.
    pub fn frame(&self, state: &CartPoleState) -> String {
        let w = self.width;
        let scale = self.cols_per_unit();
        let half = CART.len() / 2;
        // The cart's centre column, kept on the track so the cart is always whole.
        let pivot = ((state.x + X_LIMIT) * scale).clamp(half as f64, (w - 1 - half) as f64);
        let rows = self.pole_rows();
        let glyph = if state.theta.abs() < UPRIGHT {
            '|'
        } else if state.theta > 0.0 {
            '/'
        } else {
            '\\'
        };

        let mut lines = Vec::with_capacity(self.lines());
        for k in (1..=rows).rev() {
            let mut line = vec![' '; w];
            // The pole's point at this row's mid-height, if it reaches that high.
            let height = (k as f64 - 0.5) / rows as f64 * POLE_LENGTH;
            if height <= POLE_LENGTH * state.theta.cos() {
                let col = (pivot + height * state.theta.tan() * scale).round();
                if (0.0..w as f64).contains(&col) {
                    line[col as usize] = glyph;
                }
            }
            lines.push(line.into_iter().collect::<String>());
        }

        let mut cart_line = vec![' '; w];
        let centre = pivot.round() as usize;
        for (i, c) in CART.chars().enumerate() {
            cart_line[centre - half + i] = c;
        }
        lines.push(cart_line.into_iter().collect());

        let mut track = vec!['-'; w];
        track[0] = '|';
        track[w - 1] = '|';
        lines.push(track.into_iter().collect());

        lines.push(format!(
            "x={:+.3} x_dot={:+.3} theta={:+.1}deg theta_dot={:+.3}",
            state.x,
            state.x_dot,
            state.theta.to_degrees(),
            state.theta_dot
        ));
        lines
            .iter()
            .map(|l| l.trim_end())
            .collect::<Vec<_>>()
            .join("\n")
    }
}

/// The frame of a CartPole observation with the default renderer.
pub fn render_observation(obs: &[f32]) -> Result<String, RenderError> {
    Ok(CartPoleRenderer::default().frame(&CartPoleState::from_observation(obs)?))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn frame(s: [f64; 4]) -> String {
        CartPoleRenderer::default().frame(&CartPoleState::from_array(s).unwrap())
    }

    #[test]
    fn upright_at_the_centre() {
        let expected = [
            "                        |",
            "                        |",
            "                        |",
            "                        |",
            "                        |",
            "                      [=o=]",
            "|-----------------------------------------------|",
            "x=+0.000 x_dot=+0.000 theta=+0.0deg theta_dot=+0.000",
        ];
        assert_eq!(frame([0.0; 4]), expected.join("\n"));
    }

    #[test]
    fn leaning_right_right_of_centre() {
        // x = 1.0 is column 24 + 10; theta = 0.2 moves the pole tan(0.2) * 10 ≈ 2 columns
        // over its length: rows at heights 0.1 … 0.9 sit 0.2 … 1.8 columns right.
        let expected = [
            "                                    /",
            "                                   /",
            "                                   /",
            "                                   /",
            "                                  /",
            "                                [=o=]",
            "|-----------------------------------------------|",
            "x=+1.000 x_dot=+0.500 theta=+11.5deg theta_dot=-0.300",
        ];
        assert_eq!(frame([1.0, 0.5, 0.2, -0.3]), expected.join("\n"));
    }

    #[test]
    fn mirrored_state_gives_the_mirrored_picture() {
        let right = frame([1.3, 0.0, 0.15, 0.0]);
        let left = frame([-1.3, 0.0, -0.15, 0.0]);
        let r = CartPoleRenderer::default();
        let mirror = |line: &str| {
            let padded = format!("{line:<width$}", width = r.width());
            padded
                .chars()
                .rev()
                .map(|c| match c {
                    '/' => '\\',
                    '\\' => '/',
                    '[' => ']',
                    ']' => '[',
                    c => c,
                })
                .collect::<String>()
                .trim_end()
                .to_string()
        };
        let n = r.lines() - 1; // all but the numbers
        let mirrored: Vec<String> = right.lines().take(n).map(mirror).collect();
        let left: Vec<&str> = left.lines().take(n).collect();
        assert_eq!(mirrored, left);
    }

    #[test]
    fn every_frame_has_the_same_number_of_lines() {
        let r = CartPoleRenderer::default();
        assert_eq!(r.lines(), 8);
        for s in [
            [0.0; 4],
            [2.4, 1.0, 0.21, 2.0],
            [-9.0, -3.0, -1.6, -5.0],
            [0.0, 0.0, 3.1, 0.0],
        ] {
            let f = r.frame(&CartPoleState::from_array(s).unwrap());
            assert_eq!(f.lines().count(), r.lines(), "{f}");
            assert!(f
                .lines()
                .take(r.lines() - 1)
                .all(|l| l.chars().count() <= r.width()));
        }
        let narrow = CartPoleRenderer::with_width(1);
        assert_eq!(narrow.width(), CartPoleRenderer::MIN_WIDTH);
        let f = narrow.frame(&CartPoleState::from_array([0.0; 4]).unwrap());
        assert_eq!(f.lines().count(), narrow.lines());
    }

    #[test]
    fn a_cart_off_the_track_is_drawn_at_its_end() {
        let f = frame([7.5, 0.0, 0.0, 0.0]);
        let cart = f.lines().nth(5).unwrap();
        assert!(cart.ends_with("[=o=]") && cart.len() == 49, "{cart:?}");
        assert!(f.ends_with("x=+7.500 x_dot=+0.000 theta=+0.0deg theta_dot=+0.000"));
    }

    #[test]
    fn bad_observations_are_refused() {
        assert_eq!(
            render_observation(&[0.0, 0.0, 0.0]),
            Err(RenderError::ObservationLength(3))
        );
        assert!(matches!(
            render_observation(&[0.0, f32::NAN, 0.0, 0.0]),
            Err(RenderError::NonFinite(_))
        ));
        assert_eq!(render_observation(&[0.0; 4]).unwrap(), frame([0.0; 4]));
    }

    #[test]
    fn draws_the_env_observations_as_the_env_moves() {
        use rl_core::env::Env;
        let mut env = rl_envs::CartPoleEnv::new(false);
        let obs_value = env.set_state(&[-1.0, 0.0, 0.05, 0.0]).unwrap();
        let mut obs = vec![0f32; env.observation_space().flat_dim()];
        env.observation_space()
            .flatten_into(&obs_value, &mut obs)
            .unwrap();
        let r = CartPoleRenderer::default();
        let cart_col = |f: &str| f.lines().nth(5).unwrap().find('o').unwrap();
        let first = render_observation(&obs).unwrap();
        assert_eq!(
            cart_col(&first),
            14,
            "x = -1.0 is 10 columns left of the centre"
        );
        // Push right until the pole falls: the cart's column follows the observation's x.
        let action = rl_core::env::Value::Discrete(1);
        while !env.step_into(&action, &mut obs).unwrap().terminated {}
        let state = CartPoleState::from_observation(&obs).unwrap();
        let later = r.frame(&state);
        let expected = ((state.x + X_LIMIT) * 10.0).round() as usize;
        assert_eq!(cart_col(&later), expected);
        assert!(
            expected > 14 && state.theta < 0.0,
            "pushed right, the pole leans left"
        );
        assert!(later.lines().next().unwrap().ends_with('\\'));
    }
}
