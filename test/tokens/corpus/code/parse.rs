use std::collections::HashMap;
use std::fmt;

#[derive(Debug, Clone, PartialEq)]
pub enum Value {
    Int(i64),
    Text(String),
    List(Vec<Value>),
}

#[derive(Debug)]
pub struct ParseError {
    pub line: usize,
    pub message: String,
}

impl fmt::Display for ParseError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "line {}: {}", self.line, self.message)
    }
}

/// Parses `key = value` lines; values are integers, quoted text, or
/// comma-separated lists in brackets. Blank lines and `#` comments are skipped.
pub fn parse(input: &str) -> Result<HashMap<String, Value>, ParseError> {
    let mut out = HashMap::new();
    for (idx, raw) in input.lines().enumerate() {
        let line = raw.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let (key, value) = line.split_once('=').ok_or_else(|| ParseError {
            line: idx + 1,
            message: format!("expected `=` in {:?}", line),
        })?;
        out.insert(key.trim().to_string(), parse_value(value.trim(), idx + 1)?);
    }
    Ok(out)
}

fn parse_value(s: &str, line: usize) -> Result<Value, ParseError> {
    if let Some(inner) = s.strip_prefix('[').and_then(|r| r.strip_suffix(']')) {
        let items = inner
            .split(',')
            .filter(|p| !p.trim().is_empty())
            .map(|p| parse_value(p.trim(), line))
            .collect::<Result<Vec<_>, _>>()?;
        return Ok(Value::List(items));
    }
    if let Some(text) = s.strip_prefix('"').and_then(|r| r.strip_suffix('"')) {
        return Ok(Value::Text(text.to_string()));
    }
    s.parse::<i64>().map(Value::Int).map_err(|e| ParseError {
        line,
        message: e.to_string(),
    })
}
