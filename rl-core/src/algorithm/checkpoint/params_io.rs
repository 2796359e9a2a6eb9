//! Parameters and optimizer state in checkpoints, in PyTorch's layout: a module's weights as
//! one safetensors file under its parameter names (biases 1-D, linear weights `[out, in]`),
//! Adam's moments as `exp_avg.<name>` / `exp_avg_sq.<name>`, Adam's scalars as JSON.
//! Every algorithm's learner uses these, so checkpoints look alike whatever wrote them.

use std::borrow::Cow;
use std::collections::{BTreeMap, HashMap};

use ndarray::Array2;
use rl_nn::{Adam, ParamStore};
use serde::{Deserialize, Serialize};

use super::{encode_safetensors, CheckpointError, CheckpointReader, NamedTensor};

/// Torch's shape for a parameter: biases (`1 × n`, named `*bias`) are 1-D `[n]`.
fn torch_shape(name: &str, value: &Array2<f32>) -> Vec<usize> {
    if value.nrows() == 1 && name.ends_with("bias") {
        vec![value.ncols()]
    } else {
        vec![value.nrows(), value.ncols()]
    }
}

/// A safetensors file of named 2-D arrays (torch shapes, `{"format": "pt"}` metadata).
pub fn encode_arrays(entries: &[(String, &Array2<f32>)]) -> Vec<u8> {
    let shapes: Vec<Vec<usize>> = entries
        .iter()
        .map(|(name, a)| torch_shape(name, a))
        .collect();
    let owned: Vec<Cow<'_, [f32]>> = entries
        .iter()
        .map(|(_, a)| match a.as_slice() {
            Some(s) => Cow::Borrowed(s),
            None => Cow::Owned(a.iter().copied().collect()),
        })
        .collect();
    let tensors: Vec<(&str, &[usize], &[f32])> = entries
        .iter()
        .zip(&shapes)
        .zip(&owned)
        .map(|(((name, _), shape), data)| (name.as_str(), shape.as_slice(), &**data))
        .collect();
    let mut meta = BTreeMap::new();
    meta.insert("format".to_string(), "pt".to_string());
    encode_safetensors(&tensors, &meta)
}

/// A module's parameters as a safetensors file, under their names.
pub fn encode_params(params: &ParamStore) -> Vec<u8> {
    let entries: Vec<(String, &Array2<f32>)> =
        params.iter().map(|(_, n, v)| (n.to_string(), v)).collect();
    encode_arrays(&entries)
}

/// The array of `tensor`, which must fit `dim` (a 1-D `[n]` fits `1 × n`).
fn tensor_to_array(tensor: &NamedTensor, dim: (usize, usize)) -> Result<Array2<f32>, String> {
    let fits = match tensor.shape[..] {
        [n] => dim == (1, n),
        [r, c] => dim == (r, c),
        _ => false,
    };
    if !fits {
        return Err(format!(
            "tensor {:?} has shape {:?}, the module's parameter is {} × {}",
            tensor.name, tensor.shape, dim.0, dim.1
        ));
    }
    Array2::from_shape_vec(dim, tensor.data.clone()).map_err(|e| e.to_string())
}

/// Matches the tensors of a safetensors file with the parameters of `params`, one to one,
/// through `name_of(param_name)`; returns the arrays in parameter order.
pub fn arrays_for_params(
    tensors: Vec<NamedTensor>,
    params: &ParamStore,
    name_of: impl Fn(&str) -> String,
) -> Result<Vec<Array2<f32>>, String> {
    let mut by_name: HashMap<String, NamedTensor> =
        tensors.into_iter().map(|t| (t.name.clone(), t)).collect();
    let mut out = Vec::with_capacity(params.len());
    for (_, name, value) in params.iter() {
        let key = name_of(name);
        let t = by_name
            .remove(&key)
            .ok_or_else(|| format!("no tensor {key:?}; the module has this parameter"))?;
        out.push(tensor_to_array(&t, value.dim())?);
    }
    if let Some(extra) = by_name.keys().next() {
        return Err(format!(
            "tensor {extra:?} is not a parameter of the module (architectures differ?)"
        ));
    }
    Ok(out)
}

/// Reads the safetensors file `rel` as values for every parameter of `params` (same names
/// and shapes, nothing more), in parameter order.
pub fn read_params(
    reader: &CheckpointReader,
    rel: &str,
    params: &ParamStore,
) -> Result<Vec<Array2<f32>>, CheckpointError> {
    let tensors = reader.read_safetensors(rel)?;
    arrays_for_params(tensors, params, str::to_string)
        .map_err(|r| CheckpointError::malformed(reader.path(rel), r))
}

/// Reads the safetensors file `rel` into `params` (same names and shapes, nothing more;
/// see [`read_params`]). On error `params` is left as it was.
pub fn load_params(
    reader: &CheckpointReader,
    rel: &str,
    params: &mut ParamStore,
) -> Result<(), CheckpointError> {
    let arrays = read_params(reader, rel, params)?;
    for (dst, src) in params.values_mut().iter_mut().zip(arrays) {
        *dst = src;
    }
    Ok(())
}

/// Adam's scalars, as checkpoints record them next to its moments.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
pub struct AdamScalars {
    /// `"Adam"`.
    pub r#type: String,
    /// Learning rate.
    pub lr: f32,
    /// `(β₁, β₂)`.
    pub betas: (f32, f32),
    /// Denominator ε.
    pub eps: f32,
    /// L2 penalty.
    pub weight_decay: f32,
    /// Steps taken.
    pub step: u64,
    /// Whether the moments exist (false before the first update).
    pub has_moments: bool,
}

impl AdamScalars {
    /// The scalars of `opt`.
    pub fn of(opt: &Adam) -> Self {
        AdamScalars {
            r#type: "Adam".into(),
            lr: opt.lr,
            betas: opt.betas,
            eps: opt.eps,
            weight_decay: opt.weight_decay,
            step: opt.step,
            has_moments: !opt.m.is_empty(),
        }
    }
}

/// Adam's moments as a safetensors file (`exp_avg.<name>`, `exp_avg_sq.<name>` for every
/// parameter of `params`; empty before the first step).
pub fn encode_adam_moments(opt: &Adam, params: &ParamStore) -> Vec<u8> {
    let mut moments: Vec<(String, &Array2<f32>)> = Vec::new();
    if !opt.m.is_empty() {
        let names: Vec<&str> = params.iter().map(|(_, n, _)| n).collect();
        for (prefix, arrays) in [("exp_avg", &opt.m), ("exp_avg_sq", &opt.v)] {
            for (name, a) in names.iter().zip(arrays.iter()) {
                moments.push((format!("{prefix}.{name}"), a));
            }
        }
    }
    encode_arrays(&moments)
}

/// Rebuilds an Adam from its scalars (read from `scalars_file`, for error messages) and the
/// moments file `moments_file`, checked against the parameters of `params`.
pub fn read_adam(
    reader: &CheckpointReader,
    scalars_file: &str,
    scalars: &AdamScalars,
    moments_file: &str,
    params: &ParamStore,
) -> Result<Adam, CheckpointError> {
    if scalars.r#type != "Adam" {
        return Err(CheckpointError::malformed(
            reader.path(scalars_file),
            format!("optimizer {:?} is not Adam", scalars.r#type),
        ));
    }
    let moments = reader.read_safetensors(moments_file)?;
    let bad_m = |r: String| CheckpointError::malformed(reader.path(moments_file), r);
    let (m, v) = if scalars.has_moments {
        let (exp_avg_sq, exp_avg): (Vec<_>, Vec<_>) = moments
            .into_iter()
            .partition(|t| t.name.starts_with("exp_avg_sq."));
        (
            arrays_for_params(exp_avg, params, |n| format!("exp_avg.{n}")).map_err(bad_m)?,
            arrays_for_params(exp_avg_sq, params, |n| format!("exp_avg_sq.{n}")).map_err(bad_m)?,
        )
    } else {
        if !moments.is_empty() {
            return Err(bad_m(format!(
                "holds moments but {scalars_file} says there are none"
            )));
        }
        (Vec::new(), Vec::new())
    };
    Ok(Adam {
        lr: scalars.lr,
        betas: scalars.betas,
        eps: scalars.eps,
        weight_decay: scalars.weight_decay,
        step: scalars.step,
        m,
        v,
    })
}
