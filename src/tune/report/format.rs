//! Python's number formatting as Ray Tune's console output uses it (`format(x, "g")`,
//! `repr(float)`, `repr(dict)`), Ray's `_max_len` abbreviation, and dates.

use serde_json::Value;

/// Python's `format(x, ".{precision}g")`.
pub fn py_g_prec(x: f64, precision: usize) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0" } else { "0" }.into();
    }
    let p = precision.max(1);
    let sci = format!("{:.*e}", p - 1, x);
    let (mantissa, exp) = sci.split_once('e').expect("scientific notation has an e");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    if exp < -4 || exp >= p as i32 {
        let m = strip_zeros(mantissa);
        let sign = if exp < 0 { '-' } else { '+' };
        format!("{m}e{sign}{:02}", exp.abs())
    } else {
        let decimals = (p as i32 - 1 - exp).max(0) as usize;
        strip_zeros(&format!("{x:.decimals$}")).to_string()
    }
}

/// Python's `format(x, "g")` (6 significant digits): what `tabulate` prints for floats.
pub fn py_g(x: f64) -> String {
    py_g_prec(x, 6)
}

fn strip_zeros(s: &str) -> &str {
    if s.contains('.') {
        s.trim_end_matches('0').trim_end_matches('.')
    } else {
        s
    }
}

/// Python's `repr(x)` of a float: the shortest digits that read back, `1e-05`, `600000.0`.
pub fn py_repr_float(x: f64) -> String {
    if x.is_nan() {
        return "nan".into();
    }
    if x.is_infinite() {
        return if x > 0.0 { "inf" } else { "-inf" }.into();
    }
    if x == 0.0 {
        return if x.is_sign_negative() { "-0.0" } else { "0.0" }.into();
    }
    let sci = format!("{:e}", x.abs());
    let (mantissa, exp) = sci.split_once('e').expect("scientific notation has an e");
    let exp: i32 = exp.parse().expect("exponent is an integer");
    let digits: String = mantissa.chars().filter(|c| *c != '.').collect();
    let sign = if x < 0.0 { "-" } else { "" };
    if (-4..16).contains(&exp) {
        let body = if exp >= 0 {
            let int_len = exp as usize + 1;
            if digits.len() <= int_len {
                format!("{digits}{}.0", "0".repeat(int_len - digits.len()))
            } else {
                format!("{}.{}", &digits[..int_len], &digits[int_len..])
            }
        } else {
            format!("0.{}{digits}", "0".repeat((-exp - 1) as usize))
        };
        format!("{sign}{body}")
    } else {
        let m = if digits.len() == 1 {
            digits
        } else {
            format!("{}.{}", &digits[..1], &digits[1..])
        };
        let esign = if exp < 0 { '-' } else { '+' };
        format!("{sign}{m}e{esign}{:02}", exp.abs())
    }
}

/// Python's `repr` of a JSON value: `{'a': 1, 'b': [0.5, 'x'], 'c': None, 'd': True}`.
pub fn py_repr(v: &Value) -> String {
    match v {
        Value::Null => "None".into(),
        Value::Bool(b) => if *b { "True" } else { "False" }.into(),
        Value::Number(n) => match (n.as_i64(), n.as_u64()) {
            (Some(i), _) => i.to_string(),
            (None, Some(u)) => u.to_string(),
            _ => py_repr_float(n.as_f64().unwrap_or(f64::NAN)),
        },
        Value::String(s) => format!("'{}'", s.replace('\\', "\\\\").replace('\'', "\\'")),
        Value::Array(a) => format!("[{}]", a.iter().map(py_repr).collect::<Vec<_>>().join(", ")),
        Value::Object(o) => format!(
            "{{{}}}",
            o.iter()
                .map(|(k, v)| format!("'{k}': {}", py_repr(v)))
                .collect::<Vec<_>>()
                .join(", ")
        ),
    }
}

/// Python's `str` of a JSON value as a table cell shows it (`[64, 64]`, `True`, `relu`).
pub fn py_str(v: &Value) -> String {
    match v {
        Value::String(s) => s.clone(),
        other => py_repr(other),
    }
}

/// Ray's `_max_len`: a string longer than `max_len` becomes `"..."` and its last
/// `max_len - 3` characters (`...lls_per_iteration`).
pub fn max_len(s: &str, max_len: usize) -> String {
    let n = s.chars().count();
    if n <= max_len {
        return s.to_string();
    }
    let keep = max_len.saturating_sub(3);
    let tail: String = s.chars().skip(n - keep).collect();
    format!("...{tail}")
}

/// Days since 1970-01-01 → (year, month, day) in the proleptic Gregorian calendar.
fn civil_from_days(z: i64) -> (i64, u32, u32) {
    let z = z + 719_468;
    let era = z.div_euclid(146_097);
    let doe = z.rem_euclid(146_097);
    let yoe = (doe - doe / 1460 + doe / 36_524 - doe / 146_096) / 365;
    let y = yoe + era * 400;
    let doy = doe - (365 * yoe + yoe / 4 - yoe / 100);
    let mp = (5 * doy + 2) / 153;
    let d = (doy - (153 * mp + 2) / 5 + 1) as u32;
    let m = if mp < 10 { mp + 3 } else { mp - 9 } as u32;
    (if m <= 2 { y + 1 } else { y }, m, d)
}

/// `(year, month, day, hour, minute, second)` of a UNIX time, in UTC.
fn utc_parts(unix_s: f64) -> (i64, u32, u32, u32, u32, u32) {
    let secs = unix_s.floor() as i64;
    let (days, rem) = (secs.div_euclid(86_400), secs.rem_euclid(86_400));
    let (y, mo, d) = civil_from_days(days);
    (
        y,
        mo,
        d,
        (rem / 3600) as u32,
        (rem % 3600 / 60) as u32,
        (rem % 60) as u32,
    )
}

/// `2025-10-13 12:22:19` (UTC): Ray's "Current time".
pub fn datetime_str(unix_s: f64) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(unix_s);
    format!("{y:04}-{mo:02}-{d:02} {h:02}:{mi:02}:{s:02}")
}

/// `2025-10-13_12-15-26` (UTC): Ray's `date_str()`, in experiment and file names.
pub fn date_str(unix_s: f64) -> String {
    let (y, mo, d, h, mi, s) = utc_parts(unix_s);
    format!("{y:04}-{mo:02}-{d:02}_{h:02}-{mi:02}-{s:02}")
}

/// `6min 53s`, `1hr 0min 2s`, `12s`: Ray's "Total running time".
pub fn running_time_str(seconds: f64) -> String {
    let mut rest = seconds.max(0.0);
    let days = (rest / 86_400.0).floor() as u64;
    rest -= days as f64 * 86_400.0;
    let hours = (rest / 3600.0).floor() as u64;
    rest -= hours as f64 * 3600.0;
    let minutes = (rest / 60.0).floor() as u64;
    let secs = (rest - minutes as f64 * 60.0).floor() as u64;
    let mut out = String::new();
    if days > 0 {
        out.push_str(&format!("{days}d "));
    }
    if hours > 0 || !out.is_empty() {
        out.push_str(&format!("{hours}hr "));
    }
    if minutes > 0 || !out.is_empty() {
        out.push_str(&format!("{minutes}min "));
    }
    out.push_str(&format!("{secs}s"));
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn g_format_matches_python() {
        // Values from Python 3: format(x, "g").
        let cases = [
            (398.80912, "398.809"),
            (600000.0, "600000"),
            (1234567.0, "1.23457e+06"),
            (0.0003, "0.0003"),
            (3e-5, "3e-05"),
            (0.000123456789, "0.000123457"),
            (493.8, "493.8"),
            (1.0, "1"),
            (-2.5, "-2.5"),
            (999999.5, "1e+06"),
            (0.1 + 0.2, "0.3"),
        ];
        for (x, want) in cases {
            assert_eq!(py_g(x), want, "{x}");
        }
        assert_eq!(py_g_prec(3e-5, 4), "3e-05");
        assert_eq!(py_g_prec(0.00031622776, 4), "0.0003162");
    }

    #[test]
    fn repr_matches_python() {
        let cases = [
            (600000.0, "600000.0"),
            (1.0593122043094336e-05, "1.0593122043094336e-05"),
            (493.8, "493.8"),
            (1e16, "1e+16"),
            (123456789012345.6, "123456789012345.6"),
            (0.0001, "0.0001"),
            (-0.5, "-0.5"),
            (2.350804981293387, "2.350804981293387"),
        ];
        for (x, want) in cases {
            assert_eq!(py_repr_float(x), want, "{x}");
        }
        assert_eq!(
            py_repr(&json!({"a": [1, 0.5, "x"], "b": null, "c": true})),
            "{'a': [1, 0.5, 'x'], 'b': None, 'c': True}"
        );
    }

    #[test]
    fn abbreviation_and_times_as_ray() {
        assert_eq!(
            max_len("num_training_step_calls_per_iteration", 20),
            "...lls_per_iteration"
        );
        assert_eq!(
            max_len("num_env_steps_sampled_lifetime", 20),
            "..._sampled_lifetime"
        );
        assert_eq!(max_len("minibatch_size", 20), "minibatch_size");
        assert_eq!(running_time_str(413.2), "6min 53s");
        assert_eq!(running_time_str(12.9), "12s");
        assert_eq!(running_time_str(3602.0), "1hr 0min 2s");
        // 2025-10-13 12:15:26 UTC.
        assert_eq!(datetime_str(1_760_357_726.0), "2025-10-13 12:15:26");
        assert_eq!(date_str(1_760_357_726.0), "2025-10-13_12-15-26");
    }
}
