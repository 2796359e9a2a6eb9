//! The two TensorBoard protobuf messages an event file of scalars needs, encoded by hand.
//!
//! From TensorFlow's `event.proto` and `summary.proto`:
//! ```text
//! message Event   { double wall_time = 1; int64 step = 2;
//!                   oneof what { string file_version = 3; Summary summary = 5; } }
//! message Summary { repeated Value value = 1; }
//! message Value   { string tag = 1; float simple_value = 2; }   // Summary.Value
//! ```
//! Fields at their proto3 default (step 0, wall time +0.0) are omitted, as protobuf's own
//! encoders do, so the bytes are exactly those of `Event.SerializeToString()`.

/// The `file_version` of the first record, which TensorBoard reads to know the format.
pub const FILE_VERSION: &str = "brain.Event:2";

// Wire types.
const VARINT: u8 = 0;
const FIXED64: u8 = 1;
const LEN: u8 = 2;
const FIXED32: u8 = 5;

fn key(out: &mut Vec<u8>, field: u8, wire_type: u8) {
    out.push((field << 3) | wire_type);
}

fn varint(out: &mut Vec<u8>, mut v: u64) {
    while v >= 0x80 {
        out.push((v as u8) | 0x80);
        v >>= 7;
    }
    out.push(v as u8);
}

fn bytes_field(out: &mut Vec<u8>, field: u8, bytes: &[u8]) {
    key(out, field, LEN);
    varint(out, bytes.len() as u64);
    out.extend_from_slice(bytes);
}

fn event_header(wall_time: f64, step: i64) -> Vec<u8> {
    let mut out = Vec::new();
    if wall_time.to_bits() != 0 {
        key(&mut out, 1, FIXED64);
        out.extend_from_slice(&wall_time.to_le_bytes());
    }
    if step != 0 {
        key(&mut out, 2, VARINT);
        // int64 encodes negatives as their 64-bit two's complement.
        varint(&mut out, step as u64);
    }
    out
}

/// The `Event` that opens every event file: `file_version = "brain.Event:2"`.
pub fn file_version_event(wall_time: f64) -> Vec<u8> {
    let mut out = event_header(wall_time, 0);
    bytes_field(&mut out, 3, FILE_VERSION.as_bytes());
    out
}

/// An `Event` holding one `Summary` with a `simple_value` per `(tag, value)`.
pub fn scalars_event<'a>(
    wall_time: f64,
    step: i64,
    scalars: impl IntoIterator<Item = (&'a str, f32)>,
) -> Vec<u8> {
    let mut summary = Vec::new();
    let mut value = Vec::new();
    for (tag, v) in scalars {
        value.clear();
        bytes_field(&mut value, 1, tag.as_bytes());
        key(&mut value, 2, FIXED32);
        value.extend_from_slice(&v.to_le_bytes());
        bytes_field(&mut summary, 1, &value);
    }
    let mut out = event_header(wall_time, step);
    bytes_field(&mut out, 5, &summary);
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn hex(bytes: &[u8]) -> String {
        bytes.iter().map(|b| format!("{b:02x}")).collect()
    }

    #[test]
    fn encodes_like_protobuf() {
        // Expected bytes: `event_pb2.Event(...).SerializeToString().hex()` with TensorBoard's
        // own protobuf classes (`tensorboard.compat.proto`).
        // Event(wall_time=1.5, file_version="brain.Event:2")
        assert_eq!(
            hex(&file_version_event(1.5)),
            "09000000000000f83f1a0d627261696e2e4576656e743a32"
        );
        // Event(wall_time=0.0, step=300, summary=Summary(value=[Value(tag="a", simple_value=2.0)]))
        assert_eq!(
            hex(&scalars_event(0.0, 300, [("a", 2.0f32)])),
            "10ac022a0a0a080a01611500000040"
        );
        // Event(wall_time=0.0, step=-1, summary=Summary())
        assert_eq!(
            hex(&scalars_event(0.0, -1, std::iter::empty())),
            "10ffffffffffffffffff012a00"
        );
    }
}
