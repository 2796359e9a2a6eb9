//! The safetensors format for f32 tensors: an 8-byte little-endian header length, a JSON
//! header (dtype, shape, byte offsets per tensor), then the raw little-endian data.

use std::collections::BTreeMap;

use serde::{Deserialize, Serialize};

/// One f32 tensor of a safetensors file.
#[derive(Clone, Debug, PartialEq)]
pub struct NamedTensor {
    /// The tensor's name.
    pub name: String,
    /// Its shape (torch convention: a bias is `[n]`).
    pub shape: Vec<usize>,
    /// Its values, row-major.
    pub data: Vec<f32>,
}

#[derive(Serialize, Deserialize)]
struct TensorInfo {
    dtype: String,
    shape: Vec<usize>,
    data_offsets: [u64; 2],
}

/// Encodes f32 tensors in the safetensors layout: an 8-byte little-endian header length
/// `N`, `N` bytes of JSON header (`{"name": {"dtype": "F32", "shape": [...],
/// "data_offsets": [begin, end]}, ..., "__metadata__": {...}}`, space-padded so the data
/// starts 8-byte aligned), then the tensors' little-endian f32 values back to back, in the
/// order given. `safetensors.numpy.load_file` reads it.
pub fn encode_safetensors(
    tensors: &[(&str, &[usize], &[f32])],
    metadata: &BTreeMap<String, String>,
) -> Vec<u8> {
    let mut header = serde_json::Map::new();
    if !metadata.is_empty() {
        header.insert("__metadata__".into(), serde_json::json!(metadata));
    }
    let mut offset = 0u64;
    for (name, shape, data) in tensors {
        let end = offset + 4 * data.len() as u64;
        header.insert(
            (*name).to_string(),
            serde_json::to_value(TensorInfo {
                dtype: "F32".into(),
                shape: shape.to_vec(),
                data_offsets: [offset, end],
            })
            .unwrap_or(serde_json::Value::Null),
        );
        offset = end;
    }
    let mut head = serde_json::to_vec(&header).unwrap_or_else(|_| b"{}".to_vec());
    while (8 + head.len()) & 7 != 0 {
        head.push(b' ');
    }
    let mut out = Vec::with_capacity(8 + head.len() + offset as usize);
    out.extend_from_slice(&(head.len() as u64).to_le_bytes());
    out.extend_from_slice(&head);
    for (_, _, data) in tensors {
        for x in *data {
            out.extend_from_slice(&x.to_le_bytes());
        }
    }
    out
}

/// The largest header accepted (the `safetensors` crate's limit).
pub const MAX_HEADER_BYTES: u64 = 100_000_000;

/// Decodes a safetensors file of F32 tensors (see [`encode_safetensors`]); tensors come
/// back in the order of their data. Every inconsistency is an error, never a panic, and
/// nothing is allocated for a tensor before its shape and byte range are checked against
/// the data actually present: a header claiming a huge tensor costs nothing.
pub fn decode_safetensors(bytes: &[u8]) -> Result<Vec<NamedTensor>, String> {
    let head_len = bytes
        .get(..8)
        .map(|b| u64::from_le_bytes(b.try_into().unwrap_or([0; 8])))
        .ok_or("shorter than the 8-byte safetensors header length")?;
    if head_len > MAX_HEADER_BYTES {
        return Err(format!(
            "header length {head_len} exceeds the {MAX_HEADER_BYTES}-byte limit"
        ));
    }
    let data_start = 8u64
        .checked_add(head_len)
        .filter(|&s| s <= bytes.len() as u64)
        .ok_or_else(|| {
            format!(
                "header length {head_len} exceeds the file's {} bytes",
                bytes.len()
            )
        })? as usize;
    let header: serde_json::Map<String, serde_json::Value> =
        serde_json::from_slice(&bytes[8..data_start])
            .map_err(|e| format!("safetensors header is not a JSON object: {e}"))?;
    let data = &bytes[data_start..];
    let mut tensors = Vec::new();
    let mut spans = Vec::new();
    for (name, info) in header {
        if name == "__metadata__" {
            continue;
        }
        let info: TensorInfo = serde_json::from_value(info)
            .map_err(|e| format!("tensor {name:?}: bad header entry: {e}"))?;
        if info.dtype != "F32" {
            return Err(format!(
                "tensor {name:?} has dtype {}, only F32 is supported",
                info.dtype
            ));
        }
        let [begin, end] = info.data_offsets;
        let count = info
            .shape
            .iter()
            .try_fold(1u64, |acc, &d| acc.checked_mul(d as u64))
            .ok_or_else(|| format!("tensor {name:?}: shape {:?} overflows", info.shape))?;
        if begin > end || end > data.len() as u64 || end - begin != count.saturating_mul(4) {
            return Err(format!(
                "tensor {name:?}: data_offsets [{begin}, {end}] do not fit shape {:?} in {} data bytes",
                info.shape,
                data.len()
            ));
        }
        let values = data[begin as usize..end as usize]
            .chunks_exact(4)
            .map(|c| f32::from_le_bytes([c[0], c[1], c[2], c[3]]))
            .collect();
        spans.push((begin, end));
        tensors.push((
            begin,
            NamedTensor {
                name,
                shape: info.shape,
                data: values,
            },
        ));
    }
    spans.sort_unstable();
    let mut cursor = 0;
    for (b, e) in spans {
        if b != cursor {
            return Err("tensor data overlap or leave holes".into());
        }
        cursor = e;
    }
    if cursor != data.len() as u64 {
        return Err(format!(
            "{} data bytes but the tensors cover {cursor}",
            data.len()
        ));
    }
    tensors.sort_by_key(|(b, _)| *b);
    Ok(tensors.into_iter().map(|(_, t)| t).collect())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn safetensors_roundtrip_and_layout() {
        let a = [1.0f32, -2.5, 3.25, f32::MIN_POSITIVE, 0.1, 7.0];
        let b = [42.0f32];
        let bytes = encode_safetensors(&[("w", &[2, 3], &a), ("b", &[1], &b)], &BTreeMap::new());
        let n = u64::from_le_bytes(bytes[..8].try_into().unwrap()) as usize;
        assert_eq!((8 + n) % 8, 0);
        assert_eq!(bytes.len(), 8 + n + 4 * 7);
        let t = decode_safetensors(&bytes).unwrap();
        assert_eq!(t[0].name, "w");
        assert_eq!(t[0].shape, vec![2, 3]);
        assert_eq!(t[0].data, a);
        assert_eq!(t[1].data, b);
        assert!(decode_safetensors(&bytes[..bytes.len() - 1]).is_err());
        assert!(decode_safetensors(&bytes[..5]).is_err());
    }
}
