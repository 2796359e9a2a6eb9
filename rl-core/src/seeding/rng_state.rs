//! RNG states in a portable form (PCG-64 state and increment as decimal strings).

use serde::{Deserialize, Serialize};

use crate::Rng;

/// A PCG-64 (`Lcg128Xsl64`) RNG state in a portable form: the 128-bit `state` and
/// `increment` as decimal strings (JSON numbers cannot hold them exactly in most readers).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct RngState {
    /// `"pcg64"`: `rand_pcg::Pcg64` (`Lcg128Xsl64`), as NumPy's `PCG64` (state, inc).
    pub algorithm: String,
    /// The LCG state, decimal.
    pub state: String,
    /// The LCG increment (odd), decimal.
    pub increment: String,
}

#[derive(Serialize, Deserialize)]
struct RawPcg {
    state: u128,
    increment: u128,
}

impl RngState {
    /// The state of `rng`.
    pub fn of(rng: &Rng) -> Self {
        let raw: Option<RawPcg> = serde_json::to_string(rng)
            .ok()
            .and_then(|s| serde_json::from_str(&s).ok());
        let raw = raw.unwrap_or(RawPcg {
            state: 0,
            increment: 1,
        });
        RngState {
            algorithm: "pcg64".into(),
            state: raw.state.to_string(),
            increment: raw.increment.to_string(),
        }
    }

    /// The RNG this state describes; an error says what is wrong.
    pub fn to_rng(&self) -> Result<Rng, String> {
        if self.algorithm != "pcg64" {
            return Err(format!(
                "RNG algorithm {:?} is not \"pcg64\"",
                self.algorithm
            ));
        }
        let state: u128 = self
            .state
            .parse()
            .map_err(|e| format!("RNG state {:?}: {e}", self.state))?;
        let increment: u128 = self
            .increment
            .parse()
            .map_err(|e| format!("RNG increment {:?}: {e}", self.increment))?;
        if increment & 1 == 0 {
            return Err(format!("RNG increment {increment} must be odd"));
        }
        let json =
            serde_json::to_string(&RawPcg { state, increment }).map_err(|e| e.to_string())?;
        serde_json::from_str(&json).map_err(|e| format!("cannot rebuild the RNG: {e}"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use rand::{RngCore, SeedableRng};

    #[test]
    fn rng_state_roundtrip() {
        let mut rng = Rng::seed_from_u64(7);
        rng.next_u64();
        let s = RngState::of(&rng);
        let mut back = s.to_rng().unwrap();
        assert_eq!(back.next_u64(), rng.next_u64());
        assert!(RngState {
            increment: "2".into(),
            ..s.clone()
        }
        .to_rng()
        .is_err());
        assert!(RngState {
            state: "x".into(),
            ..s
        }
        .to_rng()
        .is_err());
    }
}
