//! HCL text helpers used by the templates: the one place where values become HCL string
//! literals, and where maps become `terraform fmt`-aligned object expressions.

use std::collections::BTreeMap;

/// Quotes `s` as an HCL string literal. Besides JSON-style escapes, `${` and `%{` are doubled
/// so that no user value can start a Terraform interpolation or template directive.
pub fn quote(s: &str) -> String {
    let mut out = String::with_capacity(s.len() + 2);
    out.push('"');
    let mut chars = s.chars().peekable();
    while let Some(c) = chars.next() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            '\n' => out.push_str("\\n"),
            '\r' => out.push_str("\\r"),
            '\t' => out.push_str("\\t"),
            '$' | '%' if chars.peek() == Some(&'{') => {
                out.push(c);
                out.push(c);
            }
            c if c.is_control() => out.push_str(&format!("\\u{:04x}", c as u32)),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// Quoted keys, each padded to the longest so that `=` signs line up as `terraform fmt` wants.
pub fn aligned_keys<'a>(keys: impl IntoIterator<Item = &'a str>) -> Vec<String> {
    let quoted: Vec<String> = keys.into_iter().map(quote).collect();
    let width = quoted.iter().map(|k| k.chars().count()).max().unwrap_or(0);
    quoted.into_iter().map(|k| format!("{k:<width$}")).collect()
}

/// An HCL object of string values, `indent` spaces in (the closing brace's column).
pub fn map(values: &BTreeMap<String, String>, indent: usize) -> String {
    if values.is_empty() {
        return "{}".to_string();
    }
    let pad = " ".repeat(indent);
    let keys = aligned_keys(values.keys().map(String::as_str));
    let mut out = String::from("{\n");
    for (key, value) in keys.iter().zip(values.values()) {
        out.push_str(&format!("{pad}  {key} = {}\n", quote(value)));
    }
    out.push_str(&pad);
    out.push('}');
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn quote_escapes_everything_terraform_would_interpret() {
        assert_eq!(quote("plain"), r#""plain""#);
        assert_eq!(quote(r#"a "b" \c"#), r#""a \"b\" \\c""#);
        assert_eq!(quote("${var.secret}"), r#""$${var.secret}""#);
        assert_eq!(quote("%{ if true }"), r#""%%{ if true }""#);
        assert_eq!(quote("cost: $5 and 5%"), r#""cost: $5 and 5%""#);
        assert_eq!(quote("two\nlines"), r#""two\nlines""#);
        assert_eq!(quote("bell\u{7}"), r#""bell\u0007""#);
    }

    #[test]
    fn map_aligns_keys() {
        let m = BTreeMap::from([
            ("A".to_string(), "1".to_string()),
            ("LONG".to_string(), "2".to_string()),
        ]);
        assert_eq!(
            map(&m, 2),
            "{\n    \"A\"    = \"1\"\n    \"LONG\" = \"2\"\n  }"
        );
        assert_eq!(map(&BTreeMap::new(), 2), "{}");
    }
}
