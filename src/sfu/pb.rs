//! The protobuf wire format, read and written by hand: varints, keys, skipping unknown fields,
//! length-delimited bodies and the scalar field kinds the client reads. It behaves as
//! `prost::encoding` does for these (same checks, same order, the same error texts), in a few
//! hundred bytes of wasm instead of prost's unrolled varint decoder, boxed errors and their
//! `Display` machinery (about 3 KB). `tests/sfu_proto.rs` compares it with prost.

use std::num::NonZeroU64;

/// A field's wire type (the low three bits of its key).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum WireType {
    Varint = 0,
    SixtyFourBit = 1,
    LengthDelimited = 2,
    StartGroup = 3,
    EndGroup = 4,
    ThirtyTwoBit = 5,
}

/// The wire types by number, and their names as prost's error messages spell them.
const WIRE_TYPES: [(WireType, &str); 6] = [
    (WireType::Varint, "Varint"),
    (WireType::SixtyFourBit, "SixtyFourBit"),
    (WireType::LengthDelimited, "LengthDelimited"),
    (WireType::StartGroup, "StartGroup"),
    (WireType::EndGroup, "EndGroup"),
    (WireType::ThirtyTwoBit, "ThirtyTwoBit"),
];

/// Why bytes are not valid protobuf (prost's `DecodeErrorKind`s that these readers can hit),
/// packed in one non-zero word so that every reader's `Result` stays small and cheap to pass
/// on (a `Result<(), DecodeError>` is one word too): the kinds are small codes, and an invalid
/// key — the only error with a large number — is the key itself, always above `u32::MAX`, so
/// it is never mistaken for a code.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct DecodeError(NonZeroU64);

// The codes (an invalid wire type adds its value; an unexpected one `actual << 4 | expected`).
const INVALID_VARINT: u64 = 1;
const RECURSION_LIMIT_REACHED: u64 = 2;
const INVALID_TAG: u64 = 3;
const BUFFER_UNDERFLOW: u64 = 4;
const UNEXPECTED_END_GROUP: u64 = 5;
const INVALID_STRING: u64 = 6;
// Two errors of the `SignalResponse` walker (`wire.rs`) that prost has no kind for.
const LENGTH_EXCEEDS_FRAME: u64 = 7;
const INVALID_REFRESH_TOKEN: u64 = 8;
const INVALID_WIRE_TYPE: u64 = 0x10;
const UNEXPECTED_WIRE_TYPE: u64 = 0x100;

impl DecodeError {
    const fn code(code: u64) -> DecodeError {
        match NonZeroU64::new(code) {
            Some(code) => DecodeError(code),
            None => panic!("codes are not zero"),
        }
    }

    pub const INVALID_VARINT: DecodeError = DecodeError::code(INVALID_VARINT);
    pub const BUFFER_UNDERFLOW: DecodeError = DecodeError::code(BUFFER_UNDERFLOW);
    pub const INVALID_STRING: DecodeError = DecodeError::code(INVALID_STRING);
    pub const LENGTH_EXCEEDS_FRAME: DecodeError = DecodeError::code(LENGTH_EXCEEDS_FRAME);
    pub const INVALID_REFRESH_TOKEN: DecodeError = DecodeError::code(INVALID_REFRESH_TOKEN);

    /// The message prost's `DecodeError` displays for the same error (the walker's own two
    /// have their own texts).
    pub fn message(&self) -> String {
        let code = self.0.get();
        match code {
            LENGTH_EXCEEDS_FRAME => return "length exceeds the frame".to_string(),
            INVALID_REFRESH_TOKEN => return "refresh_token is not valid UTF-8".to_string(),
            _ => {}
        }
        let mut out = String::from("failed to decode Protobuf message: ");
        let (text, number) = match code {
            INVALID_VARINT => ("invalid varint", None),
            RECURSION_LIMIT_REACHED => ("recursion limit reached", None),
            INVALID_TAG => ("invalid tag value: 0", None),
            BUFFER_UNDERFLOW => ("buffer underflow", None),
            UNEXPECTED_END_GROUP => ("unexpected end group tag", None),
            INVALID_STRING => ("invalid string value: data is not UTF-8 encoded", None),
            0x10..=0x17 => ("invalid wire type value: ", Some(code & 7)),
            0x100..=0x1ff => {
                out.push_str("invalid wire type: ");
                out.push_str(WIRE_TYPES[(code >> 4 & 7) as usize].1);
                out.push_str(" (expected ");
                out.push_str(WIRE_TYPES[(code & 7) as usize].1);
                (")", None)
            }
            key => ("invalid key value: ", Some(key)),
        };
        out.push_str(text);
        if let Some(number) = number {
            crate::text::push_u64(&mut out, number);
        }
        out
    }
}

/// The result of every reader.
pub type Result<T> = std::result::Result<T, DecodeError>;

/// How deep groups may nest inside a skipped field (prost's recursion limit).
const RECURSION_LIMIT: u32 = 100;

/// Reads a varint (at most 10 bytes; the 10th may only carry the top bit of a u64).
#[inline(never)]
pub fn varint(buf: &mut &[u8]) -> Result<u64> {
    let mut value = 0;
    for (count, &byte) in buf.iter().take(10).enumerate() {
        value |= u64::from(byte & 0x7f) << (count * 7);
        if byte < 0x80 {
            if count == 9 && byte >= 2 {
                break;
            }
            *buf = &buf[count + 1..];
            return Ok(value);
        }
    }
    Err(DecodeError::INVALID_VARINT)
}

/// Reads a field key: (field number, wire type).
pub fn key(buf: &mut &[u8]) -> Result<(u32, WireType)> {
    let key = varint(buf)?;
    if key > u64::from(u32::MAX) {
        // Above `u32::MAX`: the key is its own code (see `DecodeError`).
        return Err(DecodeError::code(key));
    }
    let Some(&(wire, _)) = WIRE_TYPES.get((key & 7) as usize) else {
        return Err(DecodeError::code(INVALID_WIRE_TYPE | key & 7));
    };
    let tag = key as u32 >> 3;
    if tag == 0 {
        return Err(DecodeError::code(INVALID_TAG));
    }
    Ok((tag, wire))
}

/// Fails unless the field has the `expected` wire type.
pub fn check(expected: WireType, actual: WireType) -> Result<()> {
    if expected == actual {
        Ok(())
    } else {
        Err(DecodeError::code(
            UNEXPECTED_WIRE_TYPE | (actual as u64) << 4 | expected as u64,
        ))
    }
}

/// Skips the body of field `tag` (groups included, nested at most 100 deep).
pub fn skip(wire: WireType, tag: u32, buf: &mut &[u8]) -> Result<()> {
    skip_nested(wire, tag, buf, RECURSION_LIMIT)
}

fn skip_nested(wire: WireType, tag: u32, buf: &mut &[u8], depth: u32) -> Result<()> {
    if depth == 0 {
        return Err(DecodeError::code(RECURSION_LIMIT_REACHED));
    }
    let len = match wire {
        WireType::Varint => varint(buf).map(|_| 0)?,
        WireType::ThirtyTwoBit => 4,
        WireType::SixtyFourBit => 8,
        WireType::LengthDelimited => varint(buf)?,
        WireType::StartGroup => loop {
            let (inner_tag, inner_wire) = key(buf)?;
            if inner_wire == WireType::EndGroup {
                if inner_tag != tag {
                    return Err(DecodeError::code(UNEXPECTED_END_GROUP));
                }
                break 0;
            }
            skip_nested(inner_wire, inner_tag, buf, depth - 1)?;
        },
        WireType::EndGroup => return Err(DecodeError::code(UNEXPECTED_END_GROUP)),
    };
    take(buf, len).map(|_| ())
}

/// Takes `len` bytes off the front of `buf`.
fn take<'a>(buf: &mut &'a [u8], len: u64) -> Result<&'a [u8]> {
    if len > buf.len() as u64 {
        return Err(DecodeError::BUFFER_UNDERFLOW);
    }
    let (body, rest) = buf.split_at(len as usize);
    *buf = rest;
    Ok(body)
}

/// A length-delimited field's body (a nested message, bytes or a string).
#[inline(never)]
pub fn bytes<'a>(wire: WireType, buf: &mut &'a [u8]) -> Result<&'a [u8]> {
    check(WireType::LengthDelimited, wire)?;
    let len = varint(buf)?;
    take(buf, len)
}

/// A string field (replaces `value`, as prost's merge does).
#[inline(never)]
pub fn string(wire: WireType, value: &mut String, buf: &mut &[u8]) -> Result<()> {
    let body = bytes(wire, buf)?;
    let text = std::str::from_utf8(body).map_err(|_| DecodeError::INVALID_STRING)?;
    value.clear();
    value.push_str(text);
    Ok(())
}

/// A varint scalar field (bool, enum, int32, int64, uint32: the caller narrows it as prost
/// does, `as` the field's type).
#[inline(never)]
pub fn scalar(wire: WireType, buf: &mut &[u8]) -> Result<u64> {
    check(WireType::Varint, wire)?;
    varint(buf)
}

/// A `float` field.
#[inline(never)]
pub fn float(wire: WireType, buf: &mut &[u8]) -> Result<f32> {
    check(WireType::ThirtyTwoBit, wire)?;
    let bytes = take(buf, 4)?;
    Ok(f32::from_le_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]))
}

/// Appends a varint.
pub fn put_varint(out: &mut Vec<u8>, mut value: u64) {
    while value >= 0x80 {
        out.push(value as u8 | 0x80);
        value >>= 7;
    }
    out.push(value as u8);
}

/// Appends a field key.
pub fn put_key(out: &mut Vec<u8>, tag: u32, wire: WireType) {
    put_varint(out, u64::from(tag) << 3 | wire as u64);
}
