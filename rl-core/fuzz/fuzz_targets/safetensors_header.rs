//! Any bytes as a safetensors file: decoded or refused, never a panic or a huge allocation.
#![no_main]

use libfuzzer_sys::fuzz_target;
use rl_core::algorithm::checkpoint::decode_safetensors;

fuzz_target!(|data: &[u8]| {
    if let Ok(tensors) = decode_safetensors(data) {
        for t in tensors {
            assert_eq!(t.data.len(), t.shape.iter().product::<usize>());
        }
    }
});
