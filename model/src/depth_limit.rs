//! A serde deserializer adapter that bounds nesting depth, so decoding untrusted bytes can fail
//! with an error but never overflow the stack.
//!
//! Supervisors nest their children (`Behaviour::Supervisor { children: Vec<TaskSpec> }`), so a
//! scenario is a tree, and serde decodes a tree by recursion. postcard has no depth limit: a
//! crafted binary trace with a few thousand nested supervisors would abort the decoder with a
//! stack overflow (RON has its own limit, so text traces and scenario files are safe already).
//! [`DepthLimited`] wraps any deserializer and counts compound values (sequences, maps, enums,
//! options, newtypes) on the way down; one level more than the limit is a decoding error.
//!
//! The counter is a `Cell` owned by the caller of one decode, not global state, so concurrent
//! decodes on several threads never see each other's depth.

use core::cell::Cell;
use core::fmt;
use serde::de::{self, DeserializeSeed, Deserializer, EnumAccess, MapAccess, SeqAccess, VariantAccess, Visitor};

/// Why a bounded decode failed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum BoundedError<E> {
    /// The input nests values more deeply than the limit.
    TooDeep { limit: usize },
    /// The inner deserializer's own error.
    Inner(E),
}

impl<E: fmt::Display> fmt::Display for BoundedError<E> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            BoundedError::TooDeep { limit } => write!(f, "values nested deeper than {limit} levels"),
            BoundedError::Inner(e) => e.fmt(f),
        }
    }
}

/// Deserializes `T` from `inner` with at most `limit` nested compound values.
pub fn deserialize_bounded<'de, T, D>(inner: D, limit: usize) -> Result<T, BoundedError<D::Error>>
where
    T: de::Deserialize<'de>,
    D: Deserializer<'de>,
{
    let depth = Cell::new(0);
    let too_deep = Cell::new(false);
    let guard = Guard { depth: &depth, too_deep: &too_deep, limit };
    T::deserialize(wrap(inner, guard)).map_err(|e| if too_deep.get() { BoundedError::TooDeep { limit } } else { BoundedError::Inner(e) })
}

/// The shared depth counter, whether the limit was hit, and the limit, carried by every wrapper.
#[derive(Clone, Copy)]
struct Guard<'a> {
    depth: &'a Cell<usize>,
    too_deep: &'a Cell<bool>,
    limit: usize,
}

impl Guard<'_> {
    /// Runs `f` one level deeper, or fails if that level is past the limit.
    fn nested<T, E: de::Error>(self, f: impl FnOnce() -> Result<T, E>) -> Result<T, E> {
        let level = self.depth.get() + 1;
        if level > self.limit {
            self.too_deep.set(true);
            return Err(E::custom(format_args!("values nested deeper than {} levels", self.limit)));
        }
        self.depth.set(level);
        let result = f();
        self.depth.set(level - 1);
        result
    }
}

/// A deserializer whose visitors are all wrapped in the depth guard.
struct DepthLimited<'a, D> {
    inner: D,
    guard: Guard<'a>,
}

fn wrap<D>(inner: D, guard: Guard<'_>) -> DepthLimited<'_, D> {
    DepthLimited { inner, guard }
}

/// Forwards `deserialize_*` methods to the inner deserializer with a wrapped visitor.
macro_rules! forward {
    ($($method:ident($($arg:ident: $ty:ty),*);)*) => {
        $(fn $method<V: Visitor<'de>>(self, $($arg: $ty,)* visitor: V) -> Result<V::Value, Self::Error> {
            let guard = self.guard;
            self.inner.$method($($arg,)* Guarded { inner: visitor, guard })
        })*
    };
}

impl<'de, D: Deserializer<'de>> Deserializer<'de> for DepthLimited<'_, D> {
    type Error = D::Error;

    forward! {
        deserialize_any(); deserialize_bool(); deserialize_i8(); deserialize_i16(); deserialize_i32();
        deserialize_i64(); deserialize_i128(); deserialize_u8(); deserialize_u16(); deserialize_u32();
        deserialize_u64(); deserialize_u128(); deserialize_f32(); deserialize_f64(); deserialize_char();
        deserialize_str(); deserialize_string(); deserialize_bytes(); deserialize_byte_buf();
        deserialize_option(); deserialize_unit(); deserialize_unit_struct(name: &'static str);
        deserialize_newtype_struct(name: &'static str); deserialize_seq(); deserialize_tuple(len: usize);
        deserialize_tuple_struct(name: &'static str, len: usize); deserialize_map();
        deserialize_struct(name: &'static str, fields: &'static [&'static str]);
        deserialize_enum(name: &'static str, variants: &'static [&'static str]);
        deserialize_identifier(); deserialize_ignored_any();
    }

    fn is_human_readable(&self) -> bool {
        self.inner.is_human_readable()
    }
}

/// A visitor, seed or access object wrapped so that everything below it stays guarded.
struct Guarded<'a, T> {
    inner: T,
    guard: Guard<'a>,
}

/// Forwards leaf `visit_*` methods unchanged.
macro_rules! leaf {
    ($($method:ident($ty:ty);)*) => {
        $(fn $method<E: de::Error>(self, v: $ty) -> Result<Self::Value, E> {
            self.inner.$method(v)
        })*
    };
}

impl<'de, V: Visitor<'de>> Visitor<'de> for Guarded<'_, V> {
    type Value = V::Value;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.inner.expecting(f)
    }

    leaf! {
        visit_bool(bool); visit_i8(i8); visit_i16(i16); visit_i32(i32); visit_i64(i64); visit_i128(i128);
        visit_u8(u8); visit_u16(u16); visit_u32(u32); visit_u64(u64); visit_u128(u128);
        visit_f32(f32); visit_f64(f64); visit_char(char); visit_str(&str); visit_borrowed_str(&'de str);
        visit_string(alloc::string::String); visit_bytes(&[u8]); visit_borrowed_bytes(&'de [u8]);
        visit_byte_buf(alloc::vec::Vec<u8>);
    }

    fn visit_none<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_none()
    }

    fn visit_unit<E: de::Error>(self) -> Result<Self::Value, E> {
        self.inner.visit_unit()
    }

    fn visit_some<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let guard = self.guard;
        guard.nested(|| self.inner.visit_some(wrap(d, guard)))
    }

    fn visit_newtype_struct<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        let guard = self.guard;
        guard.nested(|| self.inner.visit_newtype_struct(wrap(d, guard)))
    }

    fn visit_seq<A: SeqAccess<'de>>(self, seq: A) -> Result<Self::Value, A::Error> {
        let guard = self.guard;
        guard.nested(|| self.inner.visit_seq(Guarded { inner: seq, guard }))
    }

    fn visit_map<A: MapAccess<'de>>(self, map: A) -> Result<Self::Value, A::Error> {
        let guard = self.guard;
        guard.nested(|| self.inner.visit_map(Guarded { inner: map, guard }))
    }

    fn visit_enum<A: EnumAccess<'de>>(self, data: A) -> Result<Self::Value, A::Error> {
        let guard = self.guard;
        guard.nested(|| self.inner.visit_enum(Guarded { inner: data, guard }))
    }
}

impl<'de, S: DeserializeSeed<'de>> DeserializeSeed<'de> for Guarded<'_, S> {
    type Value = S::Value;

    fn deserialize<D: Deserializer<'de>>(self, d: D) -> Result<Self::Value, D::Error> {
        self.inner.deserialize(wrap(d, self.guard))
    }
}

impl<'de, A: SeqAccess<'de>> SeqAccess<'de> for Guarded<'_, A> {
    type Error = A::Error;

    fn next_element_seed<T: DeserializeSeed<'de>>(&mut self, seed: T) -> Result<Option<T::Value>, Self::Error> {
        self.inner.next_element_seed(Guarded { inner: seed, guard: self.guard })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'de, A: MapAccess<'de>> MapAccess<'de> for Guarded<'_, A> {
    type Error = A::Error;

    fn next_key_seed<K: DeserializeSeed<'de>>(&mut self, seed: K) -> Result<Option<K::Value>, Self::Error> {
        self.inner.next_key_seed(Guarded { inner: seed, guard: self.guard })
    }

    fn next_value_seed<V: DeserializeSeed<'de>>(&mut self, seed: V) -> Result<V::Value, Self::Error> {
        self.inner.next_value_seed(Guarded { inner: seed, guard: self.guard })
    }

    fn size_hint(&self) -> Option<usize> {
        self.inner.size_hint()
    }
}

impl<'a, 'de, A: EnumAccess<'de>> EnumAccess<'de> for Guarded<'a, A> {
    type Error = A::Error;
    type Variant = Guarded<'a, A::Variant>;

    fn variant_seed<V: DeserializeSeed<'de>>(self, seed: V) -> Result<(V::Value, Self::Variant), Self::Error> {
        let guard = self.guard;
        let (value, variant) = self.inner.variant_seed(Guarded { inner: seed, guard })?;
        Ok((value, Guarded { inner: variant, guard }))
    }
}

impl<'de, A: VariantAccess<'de>> VariantAccess<'de> for Guarded<'_, A> {
    type Error = A::Error;

    fn unit_variant(self) -> Result<(), Self::Error> {
        self.inner.unit_variant()
    }

    fn newtype_variant_seed<T: DeserializeSeed<'de>>(self, seed: T) -> Result<T::Value, Self::Error> {
        self.inner.newtype_variant_seed(Guarded { inner: seed, guard: self.guard })
    }

    fn tuple_variant<V: Visitor<'de>>(self, len: usize, visitor: V) -> Result<V::Value, Self::Error> {
        self.inner.tuple_variant(len, Guarded { inner: visitor, guard: self.guard })
    }

    fn struct_variant<V: Visitor<'de>>(self, fields: &'static [&'static str], visitor: V) -> Result<V::Value, Self::Error> {
        self.inner.struct_variant(fields, Guarded { inner: visitor, guard: self.guard })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use alloc::vec::Vec;
    use serde::{Deserialize, Serialize};

    #[derive(Serialize, Deserialize, Debug, PartialEq)]
    enum Tree {
        Leaf(u32),
        Node { children: Vec<Tree> },
    }

    fn nested(levels: usize) -> Tree {
        let mut tree = Tree::Leaf(7);
        for _ in 0..levels {
            tree = Tree::Node { children: alloc::vec![tree] };
        }
        tree
    }

    fn decode(bytes: &[u8], limit: usize) -> Result<Tree, BoundedError<postcard::Error>> {
        let mut de = postcard::Deserializer::from_bytes(bytes);
        deserialize_bounded(&mut de, limit)
    }

    #[test]
    fn shallow_values_decode_unchanged() {
        let tree = nested(5);
        let bytes = postcard::to_allocvec(&tree).expect("encodes");
        assert_eq!(decode(&bytes, 64), Ok(tree));
    }

    #[test]
    fn other_errors_pass_through() {
        assert!(matches!(decode(&[1, 1], 64), Err(BoundedError::Inner(_))));
    }

    #[test]
    fn deep_values_are_an_error_not_a_stack_overflow() {
        // Far deeper than any stack allows without the guard.
        let mut bytes = Vec::new();
        for _ in 0..1_000_000 {
            bytes.extend([1, 1]); // variant Node, one child
        }
        bytes.extend([0, 7]);
        assert_eq!(decode(&bytes, 64), Err(BoundedError::TooDeep { limit: 64 }));
    }
}
