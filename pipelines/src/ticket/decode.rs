//! Decoding an event payload without buffering it.
//!
//! The payload is internally tagged (`{"kind": "received", …}`). serde's
//! derived decoder for that shape cannot know the variant before it has
//! read the whole object, so it copies every payload into a generic tree
//! and decodes the tree: about half of what decoding a ticket event from
//! RabbitMQ cost. minqing writes `kind` first, so this decoder reads it and
//! hands the rest of the object straight to the variant's fields. An object
//! with `kind` elsewhere (written by hand, or read back from `jsonb`, which
//! sorts keys) still decodes, through a `serde_json::Value`.
//!
//! [`payload!`] declares the enum once and derives both halves: `Serialize`
//! internally tagged, and an externally tagged mirror (serde's `remote`)
//! whose derived decoder is given the variant by [`Tagged`].

use serde::de::value::MapDeserializer;
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, IntoDeserializer, MapAccess, VariantAccess, Visitor};
use std::fmt;

/// Declares the payload enum with an internally tagged `Serialize` and a
/// `Deserialize` that reads `kind` first.
macro_rules! payload {
    (
        $(#[$meta:meta])*
        pub enum EventPayload {
            $( $(#[$vmeta:meta])* $variant:ident { $( $(#[$fmeta:meta])* $field:ident : $ty:ty ),* $(,)? } ),* $(,)?
        }
    ) => {
        $(#[$meta])*
        #[derive(Debug, Clone, PartialEq, Serialize)]
        #[serde(tag = "kind", rename_all = "snake_case")]
        pub enum EventPayload {
            $( $(#[$vmeta])* $variant { $( $(#[$fmeta])* $field: $ty ),* } ),*
        }

        /// The same variants externally tagged: the decoder of their fields.
        #[derive(Deserialize)]
        #[serde(remote = "EventPayload", rename_all = "snake_case")]
        enum PayloadFields {
            $( $variant { $( $(#[$fmeta])* $field: $ty ),* } ),*
        }

        impl<'de> Deserialize<'de> for EventPayload {
            fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                struct V;
                impl<'de> serde::de::Visitor<'de> for V {
                    type Value = EventPayload;
                    fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                        f.write_str("an event payload: an object with its `kind`")
                    }
                    fn visit_map<A: serde::de::MapAccess<'de>>(self, map: A) -> Result<EventPayload, A::Error> {
                        decode::visit(map, PayloadFields::deserialize, PayloadFields::deserialize)
                    }
                }
                d.deserialize_map(V)
            }
        }
    };
}
pub(crate) use payload;

/// The payload of an object whose remaining entries are `map`: `fast`
/// decodes when `kind` came first, `slow` after gathering the object.
pub fn visit<'de, A, T, Fast, Slow>(mut map: A, fast: Fast, slow: Slow) -> Result<T, A::Error>
where
    A: MapAccess<'de>,
    Fast: FnOnce(Tagged<A>) -> Result<T, A::Error>,
    Slow: FnOnce(Tagged<Gathered<'de>>) -> Result<T, serde_json::Error>,
{
    let first = match map.next_key::<Key>()? {
        Some(Key::Kind) => {
            let kind: String = map.next_value()?;
            return fast(Tagged { kind, map });
        }
        Some(Key::Other(k)) => k,
        None => return Err(de::Error::missing_field("kind")),
    };
    let mut rest = serde_json::Map::new();
    rest.insert(first, map.next_value()?);
    while let Some((k, v)) = map.next_entry::<String, serde_json::Value>()? {
        rest.insert(k, v);
    }
    let kind = match rest.remove("kind") {
        Some(serde_json::Value::String(k)) => k,
        Some(_) => return Err(de::Error::custom("the `kind` of an event payload must be a string")),
        None => return Err(de::Error::missing_field("kind")),
    };
    slow(Tagged {
        kind,
        map: MapDeserializer::new(rest.into_iter()),
    })
    .map_err(de::Error::custom)
}

/// The entries of a gathered object, `kind` taken out.
pub type Gathered<'de> = MapDeserializer<'de, serde_json::map::IntoIter, serde_json::Error>;

/// An object key: `kind`, or any other (kept for the slow path).
enum Key {
    Kind,
    Other(String),
}

impl<'de> de::Deserialize<'de> for Key {
    fn deserialize<D: Deserializer<'de>>(d: D) -> Result<Key, D::Error> {
        struct K;
        impl Visitor<'_> for K {
            type Value = Key;
            fn expecting(&self, f: &mut fmt::Formatter) -> fmt::Result {
                f.write_str("a field name")
            }
            fn visit_str<E: de::Error>(self, v: &str) -> Result<Key, E> {
                Ok(if v == "kind" { Key::Kind } else { Key::Other(v.to_owned()) })
            }
        }
        d.deserialize_str(K)
    }
}

/// An externally tagged enum as the mirror's decoder asks for it: the
/// variant is `kind`, its fields the rest of the map.
pub struct Tagged<A> {
    kind: String,
    map: A,
}

impl<'de, A: MapAccess<'de>> Deserializer<'de> for Tagged<A> {
    type Error = A::Error;

    fn deserialize_any<V: Visitor<'de>>(self, visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_enum(self)
    }

    serde::forward_to_deserialize_any! {
        bool i8 i16 i32 i64 i128 u8 u16 u32 u64 u128 f32 f64 char str string
        bytes byte_buf option unit unit_struct newtype_struct seq tuple
        tuple_struct map struct enum identifier ignored_any
    }
}

impl<'de, A: MapAccess<'de>> EnumAccess<'de> for Tagged<A> {
    type Error = A::Error;
    type Variant = Fields<A>;

    fn variant_seed<S: DeserializeSeed<'de>>(self, seed: S) -> Result<(S::Value, Fields<A>), A::Error> {
        let v = seed.deserialize(IntoDeserializer::<A::Error>::into_deserializer(self.kind))?;
        Ok((v, Fields(self.map)))
    }
}

/// A variant's fields: the rest of the map.
pub struct Fields<A>(A);

impl<'de, A: MapAccess<'de>> VariantAccess<'de> for Fields<A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), A::Error> {
        Err(de::Error::custom("an event payload has fields"))
    }

    fn newtype_variant_seed<S: DeserializeSeed<'de>>(self, _: S) -> Result<S::Value, A::Error> {
        Err(de::Error::custom("an event payload has named fields"))
    }

    fn tuple_variant<V: Visitor<'de>>(self, _: usize, _: V) -> Result<V::Value, A::Error> {
        Err(de::Error::custom("an event payload has named fields"))
    }

    fn struct_variant<V: Visitor<'de>>(self, _: &'static [&'static str], visitor: V) -> Result<V::Value, A::Error> {
        visitor.visit_map(self.0)
    }
}

#[cfg(test)]
mod tests {
    use crate::ticket::{EventPayload, sample};
    use uuid::Uuid;

    fn payloads() -> Vec<EventPayload> {
        let mut t = sample();
        t.title = Some("路灯".into());
        t.attachments = vec!["a.jpg".into()];
        t.triage = Some(crate::ticket::decision::sample_decision());
        let decision = Box::new(t.triage.clone().unwrap());
        vec![
            EventPayload::Received { ticket: Box::new(t) },
            EventPayload::Updated {
                version: 2,
                title: None,
                // Quotes and escapes inside a field.
                content: "他说：\"灯坏了\"\\n".into(),
                content_truncated: true,
                text_hash: "h2".into(),
            },
            EventPayload::DuplicateLinked {
                duplicate_of: Uuid::nil(),
                original_no: "DY-1".into(),
                reply: "已受理".into(),
            },
            EventPayload::Triaged { decision, order: None },
            EventPayload::Supervision {
                level: "phone".into(),
                trigger: "overdue".into(),
                proposed: false,
            },
            EventPayload::Escalated {
                cluster_id: "c1".into(),
                trigger: "citizens".into(),
                citizen_key: None,
                count: 3,
                members: 4,
                citizens: 3,
                proposal: "现场督办".into(),
            },
            EventPayload::ClustersMerged {
                into: "c1".into(),
                from: vec!["c2".into(), "c3".into()],
            },
        ]
    }

    #[test]
    fn every_payload_comes_back_as_written_with_kind_first() {
        for p in payloads() {
            let text = serde_json::to_string(&p).unwrap();
            assert!(text.starts_with("{\"kind\":"), "{text}");
            assert_eq!(serde_json::from_str::<EventPayload>(&text).unwrap(), p, "{text}");
        }
    }

    #[test]
    fn kind_anywhere_in_the_object_decodes_the_same() {
        for p in payloads() {
            // A `Value` lists keys sorted, so `kind` is rarely first.
            let v = serde_json::to_value(&p).unwrap();
            assert_eq!(serde_json::from_value::<EventPayload>(v.clone()).unwrap(), p);
            let mut obj = v.as_object().unwrap().clone();
            let kind = obj.remove("kind").unwrap();
            let mut text = serde_json::to_string(&obj).unwrap();
            text.pop();
            let last = if obj.is_empty() { "" } else { "," };
            let text = format!("{text}{last}\"kind\":{kind}}}");
            assert_eq!(serde_json::from_str::<EventPayload>(&text).unwrap(), p, "{text}");
        }
    }

    #[test]
    fn defaults_apply_on_both_paths() {
        let want = EventPayload::DuplicateLinked {
            duplicate_of: Uuid::nil(),
            original_no: String::new(),
            reply: String::new(),
        };
        let nil = Uuid::nil();
        for text in [
            format!(r#"{{"kind":"duplicate_linked","duplicate_of":"{nil}"}}"#),
            format!(r#"{{"duplicate_of":"{nil}","kind":"duplicate_linked"}}"#),
        ] {
            assert_eq!(serde_json::from_str::<EventPayload>(&text).unwrap(), want);
        }
    }

    #[test]
    fn bad_payloads_say_what_is_wrong() {
        let err = |text: &str| serde_json::from_str::<EventPayload>(text).unwrap_err().to_string();
        assert!(err(r#"{"into":"c1","from":[]}"#).contains("missing field `kind`"));
        assert!(err("{}").contains("missing field `kind`"));
        assert!(err(r#"{"kind":"exploded","x":1}"#).contains("unknown variant `exploded`"));
        assert!(err(r#"{"x":1,"kind":"exploded"}"#).contains("unknown variant `exploded`"));
        assert!(err(r#"{"x":1,"kind":7}"#).contains("must be a string"));
        assert!(err(r#"{"kind":"clusters_merged","into":"c1"}"#).contains("missing field `from`"));
        assert!(err(r#"{"into":"c1","kind":"clusters_merged"}"#).contains("missing field `from`"));
        assert!(err(r#"{"kind":"clusters_merged","into":5,"from":[]}"#).contains("invalid type"));
        assert!(err(r#"["clusters_merged"]"#).contains("an event payload"));
    }
}
