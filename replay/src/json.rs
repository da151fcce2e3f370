//! JSON as every tool prints it. JSON numbers are doubles in most JSON tools (JavaScript, `jq`),
//! exact only up to 2^53, so 64-bit values are written as strings: seeds (`seed`, `first_seed`)
//! in decimal, trace hashes and event digests (`trace_hash`, `digest`, `event_digests`) as 16 hex
//! digits, as the text output prints them; any other integer above 2^53 (a forged capability id,
//! a recorded choice) in decimal. Every other number stays a number.

use serde::Serialize;
use serde_json::Value;

/// Keys whose numbers are seeds: decimal strings.
const SEED_KEYS: [&str; 2] = ["seed", "first_seed"];

/// Keys whose numbers are hashes or digests: 16 hex digits.
const HASH_KEYS: [&str; 3] = ["trace_hash", "digest", "event_digests"];

/// The largest integer every JSON reader holds exactly.
pub const EXACT_LIMIT: u64 = 1 << 53;

/// `value` as pretty-printed JSON with 64-bit values as strings (see the module docs).
pub fn to_string_pretty<T: Serialize + ?Sized>(value: &T) -> Result<String, serde_json::Error> {
    serde_json::to_string_pretty(&to_value(value)?)
}

/// `value` as a JSON tree with 64-bit values as strings (see the module docs).
pub fn to_value<T: Serialize + ?Sized>(value: &T) -> Result<Value, serde_json::Error> {
    let mut tree = serde_json::to_value(value)?;
    convert(&mut tree, None);
    Ok(tree)
}

/// Rewrites the numbers below `value`; `key` is the object key it sits under (arrays pass their
/// key on to their elements, so `event_digests: [..]` are all hashes).
fn convert(value: &mut Value, key: Option<&str>) {
    match value {
        Value::Object(map) => map.iter_mut().for_each(|(k, v)| convert(v, Some(k))),
        Value::Array(items) => items.iter_mut().for_each(|v| convert(v, key)),
        Value::Number(n) => {
            let Some(u) = n.as_u64() else { return };
            if key.is_some_and(|k| HASH_KEYS.contains(&k)) {
                *value = Value::String(format!("{u:016x}"));
            } else if key.is_some_and(|k| SEED_KEYS.contains(&k)) || u > EXACT_LIMIT {
                *value = Value::String(u.to_string());
            }
        }
        _ => {}
    }
}

/// Serde for a 64-bit seed field as a decimal string (`#[serde(with = "replay::json::decimal")]`),
/// for types that are read back; a plain number is still read (files written before).
pub mod decimal {
    use serde::{Deserialize, Deserializer, Serializer};

    pub fn serialize<S: Serializer>(value: &u64, s: S) -> Result<S::Ok, S::Error> {
        s.serialize_str(&value.to_string())
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<u64, D::Error> {
        #[derive(Deserialize)]
        #[serde(untagged)]
        enum Either {
            Text(String),
            Number(u64),
        }
        match Either::deserialize(d)? {
            Either::Text(s) => s.parse().map_err(|_| serde::de::Error::custom(format!("expected a decimal 64-bit seed, found {s:?}"))),
            Either::Number(n) => Ok(n),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seeds_hashes_and_large_integers_become_strings_and_nothing_else_does() {
        let input = serde_json::json!({
            "seed": 7,
            "first_seed": u64::MAX,
            "trace_hash": 255,
            "event_digests": [1, u64::MAX],
            "events": [{"digest": 16, "index": 3}],
            "cap": (1u64 << 63) | 5,
            "events_total": EXACT_LIMIT,
            "ratio": 0.5,
            "delta": -4,
        });
        let expected = serde_json::json!({
            "seed": "7",
            "first_seed": "18446744073709551615",
            "trace_hash": "00000000000000ff",
            "event_digests": ["0000000000000001", "ffffffffffffffff"],
            "events": [{"digest": "0000000000000010", "index": 3}],
            "cap": "9223372036854775813",
            "events_total": EXACT_LIMIT,
            "ratio": 0.5,
            "delta": -4,
        });
        assert_eq!(to_value(&input).expect("converts"), expected);
    }

    #[derive(serde::Serialize, serde::Deserialize, Debug, PartialEq)]
    struct Seeded {
        #[serde(with = "super::decimal")]
        seed: u64,
    }

    #[test]
    fn decimal_seeds_round_trip_and_numbers_still_read() {
        let text = serde_json::to_string(&Seeded { seed: u64::MAX }).expect("encodes");
        assert_eq!(text, r#"{"seed":"18446744073709551615"}"#);
        assert_eq!(serde_json::from_str::<Seeded>(&text).expect("decodes"), Seeded { seed: u64::MAX });
        assert_eq!(serde_json::from_str::<Seeded>(r#"{"seed":7}"#).expect("a number"), Seeded { seed: 7 });
        assert!(serde_json::from_str::<Seeded>(r#"{"seed":"x"}"#).is_err());
    }
}
