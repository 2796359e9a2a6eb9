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
    /// The exact state of `rng`. Errors (never a silent default) if the RNG's serialized
    /// form cannot be read back, or does not rebuild the very same generator.
    pub fn of(rng: &Rng) -> Result<Self, String> {
        let json =
            serde_json::to_string(rng).map_err(|e| format!("cannot serialize the RNG: {e}"))?;
        let raw: RawPcg = serde_json::from_str(&json).map_err(|e| {
            format!("the RNG serializes as {json}, not as PCG-64 state and increment: {e}")
        })?;
        let state = RngState {
            algorithm: "pcg64".into(),
            state: raw.state.to_string(),
            increment: raw.increment.to_string(),
        };
        if state.to_rng()? != *rng {
            return Err(format!(
                "the RNG state {json} does not rebuild the same RNG"
            ));
        }
        Ok(state)
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
        let s = RngState::of(&rng).unwrap();
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
