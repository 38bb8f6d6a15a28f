//! An upstream's OpenAI-shaped `usage` read straight into a `Usage`, without building its
//! tree (serde visitors that skip what they do not need): the same counts `Usage::from_openai` reads from a `Value` (absent or null is 0,
//! anything but a non-negative integer is `u64::MAX`, see `reported_count`), and `None`
//! when `usage` is not an object.

use super::openai_object::Key;
use crate::api::usage::Usage;
use serde::de::{Deserialize, Deserializer, Error, IgnoredAny, MapAccess, SeqAccess, Visitor};
use std::fmt;

/// `usage` as an answer carries it: `Some` when it is an object.
pub struct ReportedUsage(pub Option<Usage>);

impl<'de> Deserialize<'de> for ReportedUsage {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(ObjectOr(UsageFields)).map(ReportedUsage)
    }
}

/// Reads an object's fields with `F`; any other value is skipped and reads as `None`.
struct ObjectOr<F>(F);

/// What to read from an object's fields.
trait Fields {
    type Value;
    fn read<'de, A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error>;
}

impl<'de, F: Fields> Visitor<'de> for ObjectOr<F> {
    type Value = Option<F::Value>;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("any JSON value")
    }

    fn visit_map<A: MapAccess<'de>>(self, access: A) -> Result<Self::Value, A::Error> {
        self.0.read(access).map(Some)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(None)
    }

    fn visit_bool<E: Error>(self, _: bool) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_i64<E: Error>(self, _: i64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_u64<E: Error>(self, _: u64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_f64<E: Error>(self, _: f64) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_str<E: Error>(self, _: &str) -> Result<Self::Value, E> {
        Ok(None)
    }

    fn visit_unit<E: Error>(self) -> Result<Self::Value, E> {
        Ok(None)
    }
}

struct UsageFields;

impl Fields for UsageFields {
    type Value = Usage;

    fn read<'de, A: MapAccess<'de>>(self, mut access: A) -> Result<Usage, A::Error> {
        let mut usage = Usage::default();
        while let Some(Key(key)) = access.next_key()? {
            match key.as_ref() {
                "prompt_tokens" => usage.prompt_tokens = access.next_value::<Count>()?.0,
                "completion_tokens" => usage.completion_tokens = access.next_value::<Count>()?.0,
                "prompt_tokens_details" => usage.cached_tokens = access.next_value::<Detail<CachedTokens>>()?.0,
                "completion_tokens_details" => usage.reasoning_tokens = access.next_value::<Detail<ReasoningTokens>>()?.0,
                _ => {
                    access.next_value::<IgnoredAny>()?;
                }
            }
        }
        Ok(usage)
    }
}

/// One count of a details object (`prompt_tokens_details.cached_tokens`, ...).
trait DetailName: Default {
    const NAME: &'static str;
}

#[derive(Default)]
struct CachedTokens;
impl DetailName for CachedTokens {
    const NAME: &'static str = "cached_tokens";
}

#[derive(Default)]
struct ReasoningTokens;
impl DetailName for ReasoningTokens {
    const NAME: &'static str = "reasoning_tokens";
}

/// The named count of a details object; 0 when the details are not an object.
struct Detail<N>(u64, std::marker::PhantomData<N>);

impl<'de, N: DetailName> Deserialize<'de> for Detail<N> {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let count = deserializer.deserialize_any(ObjectOr(DetailFields::<N>::default()))?;
        Ok(Detail(count.unwrap_or(0), std::marker::PhantomData))
    }
}

#[derive(Default)]
struct DetailFields<N>(N);

impl<N: DetailName> Fields for DetailFields<N> {
    type Value = u64;

    fn read<'de, A: MapAccess<'de>>(self, mut access: A) -> Result<u64, A::Error> {
        let mut count = 0;
        while let Some(Key(key)) = access.next_key()? {
            if key == N::NAME {
                count = access.next_value::<Count>()?.0;
            } else {
                access.next_value::<IgnoredAny>()?;
            }
        }
        Ok(count)
    }
}

/// One reported count, as `reported_count` reads it.
struct Count(u64);

impl<'de> Deserialize<'de> for Count {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        deserializer.deserialize_any(CountVisitor).map(Count)
    }
}

struct CountVisitor;

impl<'de> Visitor<'de> for CountVisitor {
    type Value = u64;

    fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
        f.write_str("a token count")
    }

    fn visit_unit<E: Error>(self) -> Result<u64, E> {
        Ok(0)
    }

    fn visit_u64<E: Error>(self, n: u64) -> Result<u64, E> {
        Ok(n)
    }

    fn visit_i64<E: Error>(self, n: i64) -> Result<u64, E> {
        Ok(u64::try_from(n).unwrap_or(u64::MAX))
    }

    fn visit_f64<E: Error>(self, _: f64) -> Result<u64, E> {
        Ok(u64::MAX)
    }

    fn visit_bool<E: Error>(self, _: bool) -> Result<u64, E> {
        Ok(u64::MAX)
    }

    fn visit_str<E: Error>(self, _: &str) -> Result<u64, E> {
        Ok(u64::MAX)
    }

    fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<u64, A::Error> {
        while seq.next_element::<IgnoredAny>()?.is_some() {}
        Ok(u64::MAX)
    }

    fn visit_map<A: MapAccess<'de>>(self, mut access: A) -> Result<u64, A::Error> {
        while access.next_entry::<IgnoredAny, IgnoredAny>()?.is_some() {}
        Ok(u64::MAX)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::Value;

    #[test]
    fn reads_what_from_openai_reads_from_the_tree() {
        let cases = [
            r#"{"prompt_tokens":3,"completion_tokens":2,"total_tokens":5}"#,
            r#"{"prompt_tokens":3,"completion_tokens":2,"prompt_tokens_details":{"cached_tokens":1,"audio_tokens":0},"completion_tokens_details":{"reasoning_tokens":2,"x":[1]}}"#,
            r#"{"prompt_tokens":null,"completion_tokens":-1,"prompt_tokens_details":null,"completion_tokens_details":{"reasoning_tokens":1.5}}"#,
            r#"{"prompt_tokens":"3","completion_tokens":true,"prompt_tokens_details":[1],"completion_tokens_details":{"reasoning_tokens":{"a":1}}}"#,
            r#"{"prompt_tokens":[1,2],"completion_tokens":{"n":1},"prompt_tokens_details":{"cached_tokens":[]},"completion_tokens_details":7}"#,
            r#"{"prompt_tokens":18446744073709551615,"completion_tokens":100000000000000000000000,"prompt_tokens_details":{"cached_tokens":2.0}}"#,
            r#"{"prompt_tokens":1,"prompt_tokens":4,"prompt_tokens_details":{"cached_tokens":3},"prompt_tokens_details":{},"c\u006fmpletion_tokens":9}"#,
            r#"{}"#,
        ];
        for case in cases {
            let tree: Value = serde_json::from_str(case).unwrap();
            let ReportedUsage(read) = serde_json::from_str(case).unwrap();
            assert_eq!(read, Some(Usage::from_openai(&tree)), "{case}");
        }
    }

    #[test]
    fn anything_but_an_object_is_none() {
        for case in ["null", "[1, {}]", "3", "-3", "1.5", "\"x\"", "true"] {
            let ReportedUsage(read) = serde_json::from_str(case).unwrap();
            assert_eq!(read, None, "{case}");
        }
        assert!(serde_json::from_str::<ReportedUsage>(r#"{"prompt_tokens":}"#).is_err());
    }
}
