//! serde_json's data model for what [`Value`] read: the maps of unknown fields that
//! core's public types keep as `serde_json` values, and the numbers serde_json made
//! of a document's text, bit for bit.

use super::Value;

impl Value {
    /// The same value in serde_json's data model, for the types that keep unknown
    /// fields as `serde_json` maps: an object keeps the last of a repeated key, a
    /// number becomes the `u64`, negative `i64` or `f64` serde_json's parser made of
    /// it (the same bits).
    pub fn into_serde(self) -> serde_json::Value {
        match self {
            Value::Null => serde_json::Value::Null,
            Value::Bool(b) => serde_json::Value::Bool(b),
            Value::Number(n) => number(&n),
            Value::String(s) => serde_json::Value::String(s),
            Value::Array(items) => {
                serde_json::Value::Array(items.into_iter().map(Value::into_serde).collect())
            }
            Value::Object(members) => {
                let mut map = serde_json::Map::new();
                for (k, v) in members {
                    map.insert(k, v.into_serde());
                }
                serde_json::Value::Object(map)
            }
        }
    }
}

/// A JSON number's text in serde_json's model (see [`Value::into_serde`]).
fn number(text: &str) -> serde_json::Value {
    let digits = |t: &str| !t.is_empty() && t.bytes().all(|b| b.is_ascii_digit());
    if digits(text)
        && let Ok(u) = text.parse::<u64>()
    {
        return u.into();
    }
    if text.strip_prefix('-').is_some_and(digits)
        && let Ok(i) = text.parse::<i64>()
        && i != 0
    {
        return i.into();
    }
    f64_of(text)
        .and_then(serde_json::Number::from_f64)
        .map_or(serde_json::Value::Null, serde_json::Value::Number)
}

/// The `f64` serde_json makes of a number's text (without its `float_roundtrip`
/// feature): a `u64` significand (digits past its range only count as powers of
/// ten) scaled by powers of ten — not always the nearest `f64`, but the same bits as
/// before this reader replaced it.
pub(super) fn f64_of(text: &str) -> Option<f64> {
    let (negative, rest) = match text.strip_prefix('-') {
        Some(r) => (true, r),
        None => (false, text),
    };
    let b = rest.as_bytes();
    let mut i = 0;
    let mut n = Significand::default();
    while i < b.len() && b[i].is_ascii_digit() {
        n.push(b[i], false);
        i += 1;
    }
    if b.get(i) == Some(&b'.') {
        i += 1;
        // serde_json takes fraction digits again after an integer overflow, until the
        // next one overflows.
        n.full = false;
        while i < b.len() && b[i].is_ascii_digit() {
            n.push(b[i], true);
            i += 1;
        }
    }
    let Significand {
        significand,
        mut exponent,
        ..
    } = n;
    if matches!(b.get(i), Some(b'e' | b'E')) {
        i += 1;
        let negative_exp = match b.get(i) {
            Some(b'-') => {
                i += 1;
                true
            }
            Some(b'+') => {
                i += 1;
                false
            }
            _ => false,
        };
        let mut exp: i32 = 0;
        while i < b.len() && b[i].is_ascii_digit() {
            match exp
                .checked_mul(10)
                .and_then(|x| x.checked_add(i32::from(b[i] - b'0')))
            {
                Some(x) => exp = x,
                // serde_json: zero, or out of range (refused by the reader).
                None if significand == 0 || negative_exp => {
                    return Some(if negative { -0.0 } else { 0.0 });
                }
                None => return None,
            }
            i += 1;
        }
        exponent = if negative_exp {
            exponent.saturating_sub(exp)
        } else {
            exponent.saturating_add(exp)
        };
    }
    #[allow(clippy::cast_precision_loss)]
    let mut f = significand as f64;
    loop {
        match POW10.get(exponent.unsigned_abs() as usize) {
            Some(&pow) => {
                if exponent >= 0 {
                    f *= pow;
                    if f.is_infinite() {
                        return None;
                    }
                } else {
                    f /= pow;
                }
                break;
            }
            None => {
                if f == 0.0 {
                    break;
                }
                if exponent >= 0 {
                    return None;
                }
                f /= 1e308;
                exponent += 308;
            }
        }
    }
    Some(if negative { -f } else { f })
}

/// serde_json's `u64` significand and power of ten while reading digits.
#[derive(Default)]
struct Significand {
    significand: u64,
    exponent: i32,
    /// A digit overflowed: the rest are ignored (integer digits count as powers of
    /// ten).
    full: bool,
}

impl Significand {
    fn push(&mut self, d: u8, fraction: bool) {
        let next = self
            .significand
            .checked_mul(10)
            .and_then(|x| x.checked_add(u64::from(d - b'0')));
        match next {
            Some(x) if !self.full => {
                self.significand = x;
                if fraction {
                    self.exponent -= 1;
                }
            }
            _ => {
                self.full = true;
                if !fraction {
                    self.exponent += 1;
                }
            }
        }
    }
}

/// 1e0 ..= 1e308, the powers of ten serde_json scales by (literals: each the
/// correctly rounded `f64`).
#[rustfmt::skip]
static POW10: [f64; 309] = [
    1e0, 1e1, 1e2, 1e3, 1e4, 1e5, 1e6, 1e7, 1e8, 1e9, 1e10, 1e11,
    1e12, 1e13, 1e14, 1e15, 1e16, 1e17, 1e18, 1e19, 1e20, 1e21, 1e22, 1e23,
    1e24, 1e25, 1e26, 1e27, 1e28, 1e29, 1e30, 1e31, 1e32, 1e33, 1e34, 1e35,
    1e36, 1e37, 1e38, 1e39, 1e40, 1e41, 1e42, 1e43, 1e44, 1e45, 1e46, 1e47,
    1e48, 1e49, 1e50, 1e51, 1e52, 1e53, 1e54, 1e55, 1e56, 1e57, 1e58, 1e59,
    1e60, 1e61, 1e62, 1e63, 1e64, 1e65, 1e66, 1e67, 1e68, 1e69, 1e70, 1e71,
    1e72, 1e73, 1e74, 1e75, 1e76, 1e77, 1e78, 1e79, 1e80, 1e81, 1e82, 1e83,
    1e84, 1e85, 1e86, 1e87, 1e88, 1e89, 1e90, 1e91, 1e92, 1e93, 1e94, 1e95,
    1e96, 1e97, 1e98, 1e99, 1e100, 1e101, 1e102, 1e103, 1e104, 1e105, 1e106, 1e107,
    1e108, 1e109, 1e110, 1e111, 1e112, 1e113, 1e114, 1e115, 1e116, 1e117, 1e118, 1e119,
    1e120, 1e121, 1e122, 1e123, 1e124, 1e125, 1e126, 1e127, 1e128, 1e129, 1e130, 1e131,
    1e132, 1e133, 1e134, 1e135, 1e136, 1e137, 1e138, 1e139, 1e140, 1e141, 1e142, 1e143,
    1e144, 1e145, 1e146, 1e147, 1e148, 1e149, 1e150, 1e151, 1e152, 1e153, 1e154, 1e155,
    1e156, 1e157, 1e158, 1e159, 1e160, 1e161, 1e162, 1e163, 1e164, 1e165, 1e166, 1e167,
    1e168, 1e169, 1e170, 1e171, 1e172, 1e173, 1e174, 1e175, 1e176, 1e177, 1e178, 1e179,
    1e180, 1e181, 1e182, 1e183, 1e184, 1e185, 1e186, 1e187, 1e188, 1e189, 1e190, 1e191,
    1e192, 1e193, 1e194, 1e195, 1e196, 1e197, 1e198, 1e199, 1e200, 1e201, 1e202, 1e203,
    1e204, 1e205, 1e206, 1e207, 1e208, 1e209, 1e210, 1e211, 1e212, 1e213, 1e214, 1e215,
    1e216, 1e217, 1e218, 1e219, 1e220, 1e221, 1e222, 1e223, 1e224, 1e225, 1e226, 1e227,
    1e228, 1e229, 1e230, 1e231, 1e232, 1e233, 1e234, 1e235, 1e236, 1e237, 1e238, 1e239,
    1e240, 1e241, 1e242, 1e243, 1e244, 1e245, 1e246, 1e247, 1e248, 1e249, 1e250, 1e251,
    1e252, 1e253, 1e254, 1e255, 1e256, 1e257, 1e258, 1e259, 1e260, 1e261, 1e262, 1e263,
    1e264, 1e265, 1e266, 1e267, 1e268, 1e269, 1e270, 1e271, 1e272, 1e273, 1e274, 1e275,
    1e276, 1e277, 1e278, 1e279, 1e280, 1e281, 1e282, 1e283, 1e284, 1e285, 1e286, 1e287,
    1e288, 1e289, 1e290, 1e291, 1e292, 1e293, 1e294, 1e295, 1e296, 1e297, 1e298, 1e299,
    1e300, 1e301, 1e302, 1e303, 1e304, 1e305, 1e306, 1e307, 1e308,
];
