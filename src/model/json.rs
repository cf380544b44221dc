//! A very small JSON reader for the `architecture` metadata of a checkpoint (a flat object of
//! numbers, strings and arrays). The library has no JSON dependency of its own; this covers the
//! little that the checkpoints need, and rejects anything it does not understand.

use std::collections::BTreeMap;

/// A JSON value, as far as checkpoint metadata needs one.
#[derive(Clone, Debug, PartialEq)]
pub(crate) enum Json {
    /// `null`.
    Null,
    /// `true` or `false`.
    Bool(bool),
    /// Any number (JSON does not distinguish integers).
    Number(f64),
    /// A string, with escapes resolved.
    String(String),
    /// An array.
    Array(Vec<Json>),
    /// An object; keys in sorted order.
    Object(BTreeMap<String, Json>),
}

impl Json {
    /// Parses a complete JSON text; `None` if it is not valid JSON.
    pub(crate) fn parse(text: &str) -> Option<Self> {
        let mut parser = Parser {
            bytes: text.as_bytes(),
            pos: 0,
        };
        let value = parser.value(0)?;
        parser.skip_space();
        (parser.pos == parser.bytes.len()).then_some(value)
    }

    /// The value as a non-negative whole number that fits a `usize`.
    pub(crate) fn as_usize(&self) -> Option<usize> {
        match *self {
            Self::Number(n) if n >= 0.0 && n.fract() == 0.0 && n <= u32::MAX as f64 => {
                Some(n as usize)
            }
            _ => None,
        }
    }
}

/// Nesting deeper than this is refused (metadata is flat; this keeps a hostile file harmless).
const MAX_DEPTH: usize = 16;

struct Parser<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl Parser<'_> {
    fn skip_space(&mut self) {
        while let Some(b' ' | b'\t' | b'\n' | b'\r') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
    }

    fn eat(&mut self, byte: u8) -> bool {
        self.skip_space();
        if self.bytes.get(self.pos) == Some(&byte) {
            self.pos += 1;
            true
        } else {
            false
        }
    }

    fn keyword(&mut self, word: &str, value: Json) -> Option<Json> {
        let end = self.pos + word.len();
        (self.bytes.get(self.pos..end) == Some(word.as_bytes())).then(|| {
            self.pos = end;
            value
        })
    }

    fn value(&mut self, depth: usize) -> Option<Json> {
        if depth > MAX_DEPTH {
            return None;
        }
        self.skip_space();
        match *self.bytes.get(self.pos)? {
            b'{' => {
                self.pos += 1;
                let mut map = BTreeMap::new();
                if self.eat(b'}') {
                    return Some(Json::Object(map));
                }
                loop {
                    self.skip_space();
                    let key = self.string()?;
                    if !self.eat(b':') {
                        return None;
                    }
                    let value = self.value(depth + 1)?;
                    map.insert(key, value);
                    if self.eat(b'}') {
                        return Some(Json::Object(map));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'[' => {
                self.pos += 1;
                let mut items = Vec::new();
                if self.eat(b']') {
                    return Some(Json::Array(items));
                }
                loop {
                    items.push(self.value(depth + 1)?);
                    if self.eat(b']') {
                        return Some(Json::Array(items));
                    }
                    if !self.eat(b',') {
                        return None;
                    }
                }
            }
            b'"' => self.string().map(Json::String),
            b't' => self.keyword("true", Json::Bool(true)),
            b'f' => self.keyword("false", Json::Bool(false)),
            b'n' => self.keyword("null", Json::Null),
            _ => self.number(),
        }
    }

    fn number(&mut self) -> Option<Json> {
        let start = self.pos;
        while let Some(b'0'..=b'9' | b'-' | b'+' | b'.' | b'e' | b'E') = self.bytes.get(self.pos) {
            self.pos += 1;
        }
        let text = std::str::from_utf8(self.bytes.get(start..self.pos)?).ok()?;
        let n: f64 = text.parse().ok()?;
        n.is_finite().then_some(Json::Number(n))
    }

    fn string(&mut self) -> Option<String> {
        if self.bytes.get(self.pos) != Some(&b'"') {
            return None;
        }
        self.pos += 1;
        let mut out = Vec::new();
        loop {
            let byte = *self.bytes.get(self.pos)?;
            self.pos += 1;
            match byte {
                b'"' => return String::from_utf8(out).ok(),
                b'\\' => {
                    let escaped = *self.bytes.get(self.pos)?;
                    self.pos += 1;
                    let c = match escaped {
                        b'"' => '"',
                        b'\\' => '\\',
                        b'/' => '/',
                        b'b' => '\u{8}',
                        b'f' => '\u{c}',
                        b'n' => '\n',
                        b'r' => '\r',
                        b't' => '\t',
                        b'u' => {
                            let hex = std::str::from_utf8(self.bytes.get(self.pos..self.pos + 4)?)
                                .ok()?;
                            self.pos += 4;
                            // Surrogate pairs are not needed by any metadata we write.
                            char::from_u32(u32::from_str_radix(hex, 16).ok()?)?
                        }
                        _ => return None,
                    };
                    let mut buf = [0u8; 4];
                    out.extend_from_slice(c.encode_utf8(&mut buf).as_bytes());
                }
                _ => out.push(byte),
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::Json;

    #[test]
    fn parses_the_architecture_written_by_training() {
        let text = r#"{"channels": [16, 32, 64], "groups": 8, "sinusoid_dim": 32, "emb_dim": 128, "classes": 10, "name": "a\"b\u00e9"}"#;
        let Some(Json::Object(map)) = Json::parse(text) else {
            panic!("not an object");
        };
        assert_eq!(map["groups"].as_usize(), Some(8));
        assert_eq!(
            map["channels"],
            Json::Array(vec![
                Json::Number(16.0),
                Json::Number(32.0),
                Json::Number(64.0)
            ])
        );
        assert_eq!(map["name"], Json::String("a\"bé".to_owned()));
    }

    #[test]
    fn rejects_garbage() {
        for text in [
            "",
            "{",
            "{\"a\": }",
            "[1, 2",
            "{\"a\": 1} x",
            "nul",
            "{\"a\" 1}",
            "1e999",
        ] {
            assert_eq!(Json::parse(text), None, "{text}");
        }
        assert_eq!(Json::Number(2.5).as_usize(), None);
        assert_eq!(Json::Number(-1.0).as_usize(), None);
    }
}
